// The lab's own promises: teardown leaves no namespace, process or directory behind, and a
// lab whose process died without teardown is swept by the next one, touching only what it
// recorded.
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <csignal>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include "lab/lab.hpp"

namespace fs = std::filesystem;
using ndsip::lab::Lab;

namespace {

bool netns_exists(const std::string& name) { return fs::exists("/run/netns/" + name); }

bool is_charon(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/cmdline");
  std::string cmd;
  std::getline(in, cmd, '\0');
  return cmd.find("charon-systemd") != std::string::npos;
}

class LabTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (geteuid() != 0) GTEST_SKIP() << "the lab needs root (network namespaces)";
  }
};

}  // namespace

TEST_F(LabTest, TeardownLeavesNothingBehind) {
  std::string host_ns, switch_ns, workdir;
  pid_t charon = -1;
  {
    Lab lab("cleanup");
    ndsip::lab::Host& a = lab.add_host("a");
    lab.make_pki();
    lab.start_charon(a);
    host_ns = a.netns;
    switch_ns = lab.switch_netns();
    workdir = lab.workdir();
    charon = a.charon_pid;
    ASSERT_TRUE(netns_exists(host_ns));
    ASSERT_TRUE(is_charon(charon));
  }  // destructor: teardown
  EXPECT_FALSE(netns_exists(host_ns));
  EXPECT_FALSE(netns_exists(switch_ns));
  EXPECT_FALSE(is_charon(charon));
  EXPECT_FALSE(fs::exists(workdir));
}

TEST_F(LabTest, StaleLabOfACrashedProcessIsSwept) {
  int fds[2];
  ASSERT_EQ(pipe(fds), 0);
  const pid_t child = fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    // A test process that dies with its lab up: no destructor, no teardown.
    close(fds[0]);
    try {
      Lab* lab = new Lab("crashed");
      ndsip::lab::Host& a = lab->add_host("a");
      lab->start_charon(a);
      const std::string report = a.netns + "\n" + lab->switch_netns() + "\n" +
                                 std::to_string(a.charon_pid) + "\n" + lab->workdir() + "\n";
      if (write(fds[1], report.data(), report.size()) < 0) _exit(2);
    } catch (...) {
      _exit(1);
    }
    _exit(0);
  }
  close(fds[1]);
  std::string report;
  char buf[512];
  for (ssize_t n; (n = read(fds[0], buf, sizeof buf)) > 0;) report.append(buf, static_cast<size_t>(n));
  close(fds[0]);
  int status = 0;
  ASSERT_EQ(waitpid(child, &status, 0), child);
  ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << "child lab failed";

  std::istringstream in(report);
  std::string host_ns, switch_ns, pid_text, workdir;
  std::getline(in, host_ns);
  std::getline(in, switch_ns);
  std::getline(in, pid_text);
  std::getline(in, workdir);
  const pid_t charon = static_cast<pid_t>(std::stoi(pid_text));
  ASSERT_TRUE(netns_exists(host_ns)) << "the crashed lab should have left its namespace";
  ASSERT_TRUE(is_charon(charon)) << "the crashed lab should have left charon running";

  Lab sweeper("sweeper");  // the constructor sweeps labs whose owner is gone
  EXPECT_FALSE(netns_exists(host_ns));
  EXPECT_FALSE(netns_exists(switch_ns));
  EXPECT_FALSE(fs::exists(workdir));
  // Orphans are reaped by PID 1; give it a moment before checking the process is gone.
  for (int i = 0; i < 50 && is_charon(charon); ++i) usleep(20000);
  EXPECT_FALSE(is_charon(charon));
  bool reported = false;
  for (pid_t p : sweeper.sweep_report().killed) reported |= (p == charon);
  EXPECT_TRUE(reported) << sweeper.sweep_report().summary();
}
