// Helpers for the kernel part's integration tests: a network namespace of the test's own,
// entering it for a moment (sockets made there stay there), running the loop until something
// holds, counting descriptors, and a forked child for sandboxed or unprivileged runs.
#pragma once

#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <boost/asio/io_context.hpp>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <functional>
#include <regex>
#include <stdexcept>
#include <string>
#include <vector>

#include "lab/process.hpp"

namespace ndsip::kernel_test {

// Inside a namespace until destroyed: this thread's network namespace only.
class Entered {
 public:
  explicit Entered(const std::string& netns) : self_(::open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC)) {
    if (self_ < 0) throw std::runtime_error("cannot open this thread's network namespace");
    const int target = ::open(("/run/netns/" + netns).c_str(), O_RDONLY | O_CLOEXEC);
    const bool ok = target >= 0 && ::setns(target, CLONE_NEWNET) == 0;
    if (target >= 0) ::close(target);
    if (!ok) {
      ::close(self_);
      throw std::runtime_error("cannot enter network namespace " + netns);
    }
  }
  ~Entered() {
    if (::setns(self_, CLONE_NEWNET) != 0) {
      // Going on in the wrong namespace would let the next test touch the host: stop here.
      std::fputs("kernel tests: cannot return to the original network namespace\n", stderr);
      std::abort();
    }
    ::close(self_);
  }
  Entered(const Entered&) = delete;
  Entered& operator=(const Entered&) = delete;

 private:
  int self_;
};

// Moves this thread into a namespace for good: for a forked child that drops its privileges
// (it could not come back) and ends there.
inline void enter_for_good(const std::string& netns) {
  const int target = ::open(("/run/netns/" + netns).c_str(), O_RDONLY | O_CLOEXEC);
  const bool ok = target >= 0 && ::setns(target, CLONE_NEWNET) == 0;
  if (target >= 0) ::close(target);
  if (!ok) throw std::runtime_error("cannot enter network namespace " + netns);
}

// `ip netns add ndsip-kernel-<pid>-<n>`, deleted by the destructor, also when the test fails.
// Namespaces of earlier runs whose process is gone are deleted first (only this prefix, only
// when /proc has no such process).
class TestNetns {
 public:
  TestNetns() {
    sweep();
    static int counter = 0;
    name_ = "ndsip-kernel-" + std::to_string(::getpid()) + "-" + std::to_string(counter++);
    lab::proc::run_checked({"ip", "netns", "add", name_});
    try {
      ip({"link", "set", "lo", "up"});
    } catch (...) {
      remove();
      throw;
    }
  }
  ~TestNetns() { remove(); }
  TestNetns(const TestNetns&) = delete;
  TestNetns& operator=(const TestNetns&) = delete;

  const std::string& name() const { return name_; }

  // `ip -n <ns> args...`; throws with the output on failure.
  std::string ip(std::vector<std::string> args) const {
    args.insert(args.begin(), {"ip", "-n", name_});
    return lab::proc::run_checked(args);
  }

  // `ip -n <ns> -batch <file>` with `lines`, one command each.
  void ip_batch(const std::vector<std::string>& lines) const {
    const std::string path = "/tmp/" + name_ + ".batch";
    {
      FILE* f = std::fopen(path.c_str(), "w");
      if (!f) throw std::runtime_error("cannot write " + path);
      for (const std::string& l : lines) std::fprintf(f, "%s\n", l.c_str());
      std::fclose(f);
    }
    std::string out;
    int status = -1;
    try {
      status = lab::proc::run({"ip", "-n", name_, "-batch", path}, &out);
    } catch (...) {
      std::filesystem::remove(path);
      throw;
    }
    std::filesystem::remove(path);
    if (status != 0) throw std::runtime_error("ip -batch failed: " + out);
  }

  // Runs `f` with this thread in the namespace.
  template <typename F>
  auto inside(F&& f) const {
    Entered entered(name_);
    return f();
  }

  static void sweep() {
    static const std::regex ours("ndsip-kernel-([0-9]+)-[0-9]+");
    std::error_code ec;
    for (const auto& entry : std::filesystem::directory_iterator("/run/netns", ec)) {
      const std::string name = entry.path().filename().string();
      std::smatch m;
      if (!std::regex_match(name, m, ours)) continue;
      if (std::filesystem::exists("/proc/" + m[1].str())) continue;
      std::string out;
      lab::proc::run({"ip", "netns", "del", name}, &out);
    }
  }

 private:
  void remove() const {
    std::string out;
    try {
      if (lab::proc::run({"ip", "netns", "del", name_}, &out) != 0) {
        std::fprintf(stderr, "kernel tests: ip netns del %s: %s\n", name_.c_str(), out.c_str());
      }
    } catch (const std::exception& e) {
      std::fprintf(stderr, "kernel tests: ip netns del %s: %s\n", name_.c_str(), e.what());
    }
  }

  std::string name_;
};

inline std::size_t open_fds() {
  std::size_t n = 0;
  for ([[maybe_unused]] const auto& e : std::filesystem::directory_iterator("/proc/self/fd")) ++n;
  return n;
}

inline bool run_until(boost::asio::io_context& io, const std::function<bool()>& done,
                      std::chrono::milliseconds timeout = std::chrono::seconds(5)) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (!done()) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    io.restart();
    io.run_for(std::chrono::milliseconds(10));
  }
  return true;
}

// Runs `body` in a forked child and returns its exit status (`body`'s result; 99 when it
// threw; 128+N when killed by signal N). The child leaves with _exit: no test state of the
// parent is torn down twice.
inline int in_child(const std::function<int()>& body, std::chrono::seconds timeout = std::chrono::seconds(30)) {
  std::fflush(nullptr);
  const pid_t pid = ::fork();
  if (pid < 0) throw std::runtime_error("fork failed");
  if (pid == 0) {
    int code = 99;
    try {
      code = body();
    } catch (const std::exception& e) {
      std::fprintf(stderr, "child: %s\n", e.what());
    }
    std::fflush(nullptr);
    ::_exit(code);
  }
  const auto status = lab::proc::wait_for(pid, timeout);
  if (!status) {
    ::kill(pid, SIGKILL);
    lab::proc::wait_for(pid, std::chrono::seconds(5));
    return 128 + SIGKILL;
  }
  return lab::proc::exit_code(*status);
}

}  // namespace ndsip::kernel_test
