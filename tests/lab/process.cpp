#include "lab/process.hpp"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <sstream>
#include <stdexcept>
#include <thread>

#include "common/read_file.hpp"

extern char** environ;

namespace ndsip::lab::proc {
namespace {

using Clock = std::chrono::steady_clock;

std::runtime_error sys_error(const std::string& what, int err) {
  return std::runtime_error(what + ": " + std::strerror(err));
}

// A file descriptor that closes itself.
class Fd {
 public:
  Fd() = default;
  explicit Fd(int fd) : fd_(fd) {}
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  Fd(Fd&& o) noexcept : fd_(o.fd_) { o.fd_ = -1; }
  Fd& operator=(Fd&& o) noexcept {
    if (this != &o) {
      reset();
      fd_ = o.fd_;
      o.fd_ = -1;
    }
    return *this;
  }
  ~Fd() { reset(); }
  int get() const { return fd_; }
  void reset() {
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
  }

 private:
  int fd_ = -1;
};

struct Pipe {
  Fd read, write;
};

Pipe make_pipe() {
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0) throw sys_error("pipe2", errno);
  return Pipe{Fd(fds[0]), Fd(fds[1])};
}

Fd open_or_throw(const std::string& path, int flags, mode_t mode = 0) {
  int fd = ::open(path.c_str(), flags | O_CLOEXEC, mode);
  if (fd < 0) throw sys_error("open " + path, errno);
  return Fd(fd);
}

// Everything the child needs, prepared before fork(): between fork() and
// execve() the child only makes async-signal-safe calls.
struct ExecPlan {
  std::string path;
  std::vector<std::string> args;
  std::vector<std::string> env;
  std::vector<char*> argv_ptrs;
  std::vector<char*> env_ptrs;

  ExecPlan(const std::vector<std::string>& argv, const std::vector<std::string>& set_env,
           const std::vector<std::string>& unset_env) {
    if (argv.empty()) throw std::runtime_error("empty command line");
    path = find_program(argv[0]);
    args = argv;
    auto name_of = [](const std::string& kv) { return kv.substr(0, kv.find('=')); };
    auto dropped = [&](const std::string& name) {
      for (const auto& u : unset_env)
        if (u == name) return true;
      for (const auto& s : set_env)
        if (name_of(s) == name) return true;
      return false;
    };
    for (char** e = environ; e && *e; ++e) {
      std::string kv(*e);
      if (!dropped(name_of(kv))) env.push_back(std::move(kv));
    }
    for (const auto& s : set_env) env.push_back(s);
    for (auto& a : args) argv_ptrs.push_back(a.data());
    argv_ptrs.push_back(nullptr);
    for (auto& e : env) env_ptrs.push_back(e.data());
    env_ptrs.push_back(nullptr);
  }
};

// In the child, after fork(). Async-signal-safe calls only.
[[noreturn]] void exec_child(const ExecPlan& plan, int in_fd, int out_fd, int err_fd,
                             int report_fd, bool new_pgrp) {
  if (new_pgrp) ::setpgid(0, 0);
  // Signal dispositions set to "ignore" and the signal mask survive execve;
  // give the program the defaults it expects.
  sigset_t none;
  sigemptyset(&none);
  ::sigprocmask(SIG_SETMASK, &none, nullptr);
  struct sigaction dfl {};
  dfl.sa_handler = SIG_DFL;
  for (int sig : {SIGPIPE, SIGINT, SIGQUIT, SIGHUP, SIGTERM, SIGCHLD, SIGUSR1, SIGUSR2})
    ::sigaction(sig, &dfl, nullptr);
  if (::dup2(in_fd, 0) < 0 || ::dup2(out_fd, 1) < 0 || ::dup2(err_fd, 2) < 0) {
    int err = errno;
    [[maybe_unused]] auto n = ::write(report_fd, &err, sizeof err);
    ::_exit(127);
  }
  // Descriptors the test program opened without O_CLOEXEC must not leak into
  // long-running daemons.
  ::close_range(3, ~0U, CLOSE_RANGE_CLOEXEC);
  ::execve(plan.path.c_str(), plan.argv_ptrs.data(), plan.env_ptrs.data());
  int err = errno;
  [[maybe_unused]] auto n = ::write(report_fd, &err, sizeof err);
  ::_exit(127);
}

// Forks and execs; returns the child's PID once execve() has succeeded, or
// throws (after reaping the child) if it failed.
pid_t fork_exec(const ExecPlan& plan, int in_fd, int out_fd, int err_fd, bool new_pgrp) {
  Pipe report = make_pipe();
  pid_t pid = ::fork();
  if (pid < 0) throw sys_error("fork for " + quote(plan.args), errno);
  if (pid == 0) exec_child(plan, in_fd, out_fd, err_fd, report.write.get(), new_pgrp);
  if (new_pgrp) ::setpgid(pid, pid);  // also from here, so it holds when we return
  report.write.reset();
  int child_errno = 0;
  ssize_t n;
  do {
    n = ::read(report.read.get(), &child_errno, sizeof child_errno);
  } while (n < 0 && errno == EINTR);
  if (n > 0) {
    int status;
    while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
    throw sys_error("cannot execute " + quote(plan.args) + " (" + plan.path + ")", child_errno);
  }
  return pid;
}

void kill_and_reap(pid_t pid) {
  ::kill(pid, SIGKILL);
  int status;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
}

// /proc files of a process that may have exited meanwhile: gone reads as empty.
std::string read_whole_file(const std::string& path) {
  return common::read_file(path).value_or("");
}

}  // namespace

std::string quote(const std::vector<std::string>& argv) {
  std::string out;
  for (const auto& a : argv) {
    if (!out.empty()) out += ' ';
    bool plain = !a.empty() && a.find_first_not_of("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
                                                   "0123456789_-+=.,:/@%") == std::string::npos;
    if (plain) {
      out += a;
      continue;
    }
    out += '\'';
    for (char c : a) {
      if (c == '\'')
        out += "'\\''";
      else
        out += c;
    }
    out += '\'';
  }
  return out;
}

std::string find_program(const std::string& name) {
  if (name.find('/') != std::string::npos) return name;
  std::string dirs;
  if (const char* p = std::getenv("PATH")) dirs = p;
  dirs += ":/usr/sbin:/sbin:/usr/bin:/bin";
  std::stringstream ss(dirs);
  std::string dir;
  while (std::getline(ss, dir, ':')) {
    if (dir.empty()) continue;
    std::string candidate = dir + "/" + name;
    struct stat st {};
    if (::stat(candidate.c_str(), &st) == 0 && S_ISREG(st.st_mode) &&
        ::access(candidate.c_str(), X_OK) == 0)
      return candidate;
  }
  throw std::runtime_error("program not found: " + name + " (searched $PATH and sbin dirs)");
}

int exit_code(int wait_status) {
  if (WIFEXITED(wait_status)) return WEXITSTATUS(wait_status);
  if (WIFSIGNALED(wait_status)) return 128 + WTERMSIG(wait_status);
  return 255;
}

std::string describe_status(int wait_status) {
  if (WIFEXITED(wait_status)) return "exit status " + std::to_string(WEXITSTATUS(wait_status));
  if (WIFSIGNALED(wait_status)) {
    int sig = WTERMSIG(wait_status);
    const char* name = ::strsignal(sig);
    return "killed by signal " + std::to_string(sig) + " (" + (name ? name : "?") + ")";
  }
  return "wait status " + std::to_string(wait_status);
}

int run(const std::vector<std::string>& argv, std::string* output, const RunOptions& opts) {
  ExecPlan plan(argv, {}, {});
  Fd devnull = open_or_throw("/dev/null", O_RDONLY);
  Pipe out = make_pipe();
  Fd file;
  if (!opts.stdout_file.empty())
    file = open_or_throw(opts.stdout_file, O_WRONLY | O_CREAT | O_TRUNC, 0600);
  int stdout_fd = file.get() >= 0 ? file.get() : out.write.get();

  const auto deadline = Clock::now() + opts.timeout;
  pid_t pid = fork_exec(plan, devnull.get(), stdout_fd, out.write.get(), false);
  out.write.reset();
  file.reset();
  ::fcntl(out.read.get(), F_SETFL, O_NONBLOCK);

  std::string captured;
  std::optional<int> status;
  bool eof = false;
  char buf[4096];
  // Read until EOF. Stop early if the child is gone but something it started
  // in the background still holds the pipe open.
  while (!eof) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
    if (left.count() <= 0) {
      kill_and_reap(pid);
      throw std::runtime_error("timeout after " + std::to_string(opts.timeout.count()) +
                               " ms: " + quote(argv) + "\n--- output so far ---\n" + captured);
    }
    pollfd pfd{out.read.get(), POLLIN, 0};
    int slice = static_cast<int>(std::min<std::chrono::milliseconds::rep>(left.count(), 50));
    int r = ::poll(&pfd, 1, slice);
    if (r < 0 && errno != EINTR) {
      int err = errno;
      kill_and_reap(pid);
      throw sys_error("poll on output of " + quote(argv), err);
    }
    for (;;) {
      ssize_t n = ::read(out.read.get(), buf, sizeof buf);
      if (n > 0) {
        captured.append(buf, static_cast<std::size_t>(n));
        continue;
      }
      if (n == 0) eof = true;
      break;  // EOF, EAGAIN or error
    }
    if (!eof && !status) {
      status = wait_for(pid, std::chrono::milliseconds(0));
      if (status) {
        // One last non-blocking drain; whatever a leftover grandchild writes
        // later is not ours to wait for.
        ssize_t n;
        while ((n = ::read(out.read.get(), buf, sizeof buf)) > 0)
          captured.append(buf, static_cast<std::size_t>(n));
        eof = true;
      }
    }
  }
  if (!status) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
    status = wait_for(pid, std::max(left, std::chrono::milliseconds(0)));
    if (!status) {
      kill_and_reap(pid);
      throw std::runtime_error("timeout after " + std::to_string(opts.timeout.count()) +
                               " ms (output closed, process still running): " + quote(argv) +
                               "\n--- output ---\n" + captured);
    }
  }
  if (output) *output = std::move(captured);
  return exit_code(*status);
}

std::string run_checked(const std::vector<std::string>& argv, const RunOptions& opts) {
  std::string output;
  int rc = run(argv, &output, opts);
  if (rc != 0) {
    std::string msg = "command failed with exit status " + std::to_string(rc) + ": " + quote(argv);
    if (!opts.stdout_file.empty()) msg += " > " + opts.stdout_file;
    msg += "\n--- output ---\n" + output;
    throw std::runtime_error(msg);
  }
  return output;
}

pid_t spawn(const std::vector<std::string>& argv, const SpawnOptions& opts) {
  ExecPlan plan(argv, opts.set_env, opts.unset_env);
  Fd devnull_in = open_or_throw("/dev/null", O_RDONLY);
  Fd out = opts.output_file.empty()
               ? open_or_throw("/dev/null", O_WRONLY)
               : open_or_throw(opts.output_file, O_WRONLY | O_CREAT | O_APPEND, 0600);
  return fork_exec(plan, devnull_in.get(), out.get(), out.get(), opts.new_process_group);
}

std::optional<int> wait_for(pid_t pid, std::chrono::milliseconds timeout) {
  const auto deadline = Clock::now() + timeout;
  auto nap = std::chrono::milliseconds(1);
  for (;;) {
    int status = 0;
    pid_t r = ::waitpid(pid, &status, WNOHANG);
    if (r == pid) return status;
    if (r < 0) {
      if (errno == EINTR) continue;
      throw sys_error("waitpid(" + std::to_string(pid) + ")", errno);
    }
    auto now = Clock::now();
    if (now >= deadline) return std::nullopt;
    std::this_thread::sleep_for(std::min<Clock::duration>(nap, deadline - now));
    nap = std::min(nap * 2, std::chrono::milliseconds(20));
  }
}

namespace {

// Fields of /proc/PID/stat after the command name: [0] is the state (field 3),
// [19] the start time (field 22).
std::vector<std::string> stat_fields(pid_t pid) {
  std::string stat = read_whole_file("/proc/" + std::to_string(pid) + "/stat");
  auto close = stat.rfind(')');
  if (close == std::string::npos) return {};
  std::istringstream in(stat.substr(close + 1));
  std::vector<std::string> fields;
  std::string f;
  while (in >> f) fields.push_back(f);
  return fields;
}

}  // namespace

std::optional<std::uint64_t> start_time(pid_t pid) {
  if (pid <= 0) return std::nullopt;
  auto f = stat_fields(pid);
  if (f.size() < 20) return std::nullopt;
  try {
    return std::stoull(f[19]);
  } catch (const std::exception&) {
    return std::nullopt;
  }
}

bool alive(pid_t pid, std::optional<std::uint64_t> expected_start) {
  if (pid <= 0) return false;
  auto f = stat_fields(pid);
  if (f.size() < 20) return false;
  if (f[0] == "Z" || f[0] == "X" || f[0] == "x") return false;
  if (expected_start) {
    try {
      if (std::stoull(f[19]) != *expected_start) return false;
    } catch (const std::exception&) {
      return false;
    }
  }
  return true;
}

std::string cmdline(pid_t pid) {
  std::string c = read_whole_file("/proc/" + std::to_string(pid) + "/cmdline");
  while (!c.empty() && c.back() == '\0') c.pop_back();
  for (char& ch : c)
    if (ch == '\0') ch = ' ';
  return c;
}

}  // namespace ndsip::lab::proc
