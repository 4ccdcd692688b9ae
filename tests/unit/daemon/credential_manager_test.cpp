// The credentials part: the bytes that passed the checks are the bytes charon is given, even
// when the file changes between; a refused renewal keeps the credentials in use; loading
// sends certificates and key in order and the key never reaches the log.
#include <gtest/gtest.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <csignal>
#include <fstream>
#include <sstream>
#include <thread>

#include "test_credentials.hpp"
#include "daemon/credential_manager.hpp"
#include "part_fixture.hpp"
#include "support/loop.hpp"
#include "support/scripted_charon.hpp"

using namespace ndsip;
using namespace ndsip::certs::testing;
using namespace std::chrono_literals;
using test::run_until;

namespace {

std::shared_ptr<const policy::NodePlan> gms_plan() {
  const daemon::Candidate c = daemon::evaluate(test::small_topology(), test::shipped_policies(), "gms");
  EXPECT_TRUE(c.ok());
  return c.plan;
}

}  // namespace

// The certificate file changes between reads (a renewal being written): the first read
// gives a valid certificate, every later one a certificate for another identity. What is
// checked and what is given to charon must both be the first.
TEST(CredentialManager, TheCheckedBytesAreTheLoadedBytes) {
  std::signal(SIGPIPE, SIG_IGN);
  test::Pki pki;
  const std::string valid = pki.cert_pem("gms.unit.test", 1);
  const std::string other = pki.cert_pem("intruder.unit.test", 2);
  ASSERT_EQ(::mkfifo(pki.dir.path("cert.pem").c_str(), 0644), 0);
  std::atomic<bool> stop{false};
  std::atomic<int> opened{0};
  std::thread writer([&] {
    while (!stop) {
      const int fd = ::open(pki.dir.path("cert.pem").c_str(), O_WRONLY | O_CLOEXEC);
      if (fd < 0 || stop) {
        if (fd >= 0) ::close(fd);
        break;
      }
      const std::string& text = opened++ == 0 ? valid : other;
      [[maybe_unused]] const ssize_t n = ::write(fd, text.data(), text.size());
      ::close(fd);
      // Wait for this reader to close before serving the next one (while a reader holds the
      // FIFO open, a non-blocking open for writing succeeds; without one it fails). Once the
      // test stops, the reader it opens to release this thread would keep this loop going.
      while (!stop) {
        const int probe = ::open(pki.dir.path("cert.pem").c_str(), O_WRONLY | O_NONBLOCK | O_CLOEXEC);
        if (probe < 0) break;
        ::close(probe);
        std::this_thread::sleep_for(1ms);
      }
    }
  });
  const daemon::CheckedCredentials c = daemon::read_and_check(pki.paths(), "gms.unit.test", std::time(nullptr));
  stop = true;
  // Release the writer if it waits for a reader that will not come.
  const int unblock = ::open(pki.dir.path("cert.pem").c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC);
  writer.join();
  ::close(unblock);
  EXPECT_TRUE(c.problems.empty()) << c.problems.front();
  EXPECT_EQ(c.charon.own_cert, valid);
  EXPECT_EQ(opened.load(), 1);  // read once
}

TEST(CredentialManager, ARefusedRenewalKeepsWhatIsInUse) {
  test::Pki pki;
  std::ofstream(pki.dir.path("cert.pem")) << pki.cert_pem("gms.unit.test", 1);
  boost::asio::io_context io;
  daemon::CharonLink link(io, "unix:///nonexistent/charon.vici", 1s);
  daemon::HealthSettings hs;
  daemon::HealthMonitor health(io, link, hs);
  daemon::CredentialManager creds(io, link, health, {pki.paths(), 30, 7, 4, 2s});
  creds.set_plan(gms_plan());
  ASSERT_TRUE(creds.refresh().empty());
  EXPECT_EQ(creds.summary()["serial"], "01");
  EXPECT_EQ(creds.summary()["state"], "ok");
  // A renewal for another identity is written: refused with the rule, serial 01 stays.
  std::ofstream(pki.dir.path("cert.pem"), std::ios::trunc) << pki.cert_pem("intruder.unit.test", 2);
  const auto problems = creds.refresh();
  ASSERT_EQ(problems.size(), 1u);
  EXPECT_NE(problems[0].find("[san]"), std::string::npos) << problems[0];
  EXPECT_EQ(creds.summary()["serial"], "01");
  EXPECT_EQ(creds.summary()["state"], "invalid");
}

TEST(CredentialManager, LoadsCasThenCertificateThenKeyAndNeverLogsTheKey) {
  test::Pki pki;
  std::ofstream(pki.dir.path("cert.pem")) << pki.cert_pem("gms.unit.test", 1);
  test::ScriptedCharon charon;
  charon.on("load-key", [](const vici::Message&) {
    test::ScriptedCharon::Answer a;
    a.response.set("success", "no").set("errmsg", "loading key failed");
    return a;
  });
  boost::asio::io_context io;
  daemon::CharonLink link(io, charon.uri(), 2s);
  daemon::HealthMonitor health(io, link, daemon::HealthSettings{});
  daemon::CredentialManager creds(io, link, health, {pki.paths(), 30, 7, 4, 2s});
  creds.set_plan(gms_plan());
  ASSERT_TRUE(creds.refresh().empty());
  link.start();
  ASSERT_TRUE(run_until(io, [&] { return link.up(); }));
  bool loaded = false;
  ::testing::internal::CaptureStderr();
  creds.load([&] { loaded = true; });
  ASSERT_TRUE(run_until(io, [&] { return loaded; }));
  const std::string logged = ::testing::internal::GetCapturedStderr();
  const auto seen = charon.seen();
  std::vector<std::string> order;
  for (const auto& s : seen) {
    if (s.command.rfind("load-", 0) == 0) order.push_back(s.command + ":" + s.args.value_or("flag"));
  }
  EXPECT_EQ(order, (std::vector<std::string>{"load-cert:CA", "load-cert:NONE", "load-key:"}));
  // The refusal is logged and shown, the key is not.
  EXPECT_NE(logged.find("loading key failed"), std::string::npos) << logged;
  EXPECT_EQ(logged.find("PRIVATE KEY"), std::string::npos);
  EXPECT_NE(creds.summary()["problems"].dump().find("loading key failed"), std::string::npos);
}
