// Process helpers for the test lab: run a program (fork + execve), capture its
// output, wait with a timeout, and look at other processes through /proc.
//
// Everything here works on argv vectors; nothing goes through a shell unless the
// caller puts "sh -c" into argv itself.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace ndsip::lab::proc {

// Quote argv for error messages and logs ("ip -n 'a b' link ...").
std::string quote(const std::vector<std::string>& argv);

// Absolute path of a program: argv0 itself if it contains '/', else the first
// executable match in $PATH, then /usr/sbin, /sbin, /usr/bin, /bin.
// Throws std::runtime_error if nothing is found.
std::string find_program(const std::string& name);

struct RunOptions {
  // Give up after this long: the child is sent SIGKILL and run() throws.
  std::chrono::milliseconds timeout = std::chrono::seconds(60);
  // If not empty, the child's stdout goes to this file (created/truncated,
  // mode 0600) and only stderr is captured; otherwise stdout and stderr are
  // captured together, in order.
  std::string stdout_file;
};

// Runs argv to completion and returns its exit status (WEXITSTATUS, or
// 128 + signal number if it was killed by a signal). Captured output goes to
// *output if output is not null. Throws std::runtime_error (with the command
// line) if the program cannot be started or the timeout expires.
int run(const std::vector<std::string>& argv, std::string* output = nullptr,
        const RunOptions& opts = {});

// Like run(), but throws std::runtime_error with the command line, the exit
// status and the output if the exit status is not 0. Returns the output.
std::string run_checked(const std::vector<std::string>& argv, const RunOptions& opts = {});

struct SpawnOptions {
  // Variables to set ("NAME=value") and names to remove in the child's
  // environment; the rest is inherited.
  std::vector<std::string> set_env;
  std::vector<std::string> unset_env;
  // stdout and stderr of the child are appended to this file (empty: /dev/null).
  std::string output_file;
  // Put the child in a new process group of its own (setpgid(0, 0)).
  bool new_process_group = true;
};

// Starts argv as a direct child and returns its PID without waiting for it.
// Throws std::runtime_error (with the command line) if fork or exec fails;
// an exec failure is reported here, not as a mysterious exit status later.
pid_t spawn(const std::vector<std::string>& argv, const SpawnOptions& opts = {});

// Waits for a direct child. Returns its raw wait status, or std::nullopt if it
// is still running after `timeout` (0: just poll once).
std::optional<int> wait_for(pid_t pid, std::chrono::milliseconds timeout);

// Raw wait status -> the exit status convention of run().
int exit_code(int wait_status);

// Human readable wait status: "exit status 1", "killed by signal 9 (Killed)".
std::string describe_status(int wait_status);

// ---- other processes, through /proc -----------------------------------------

// Start time of a process (field 22 of /proc/PID/stat, clock ticks since boot),
// or std::nullopt if there is no such process. PID + start time identifies a
// process even when PIDs are reused.
std::optional<std::uint64_t> start_time(pid_t pid);

// True if the process exists, is not a zombie and, when `expected_start` is
// given, has that start time.
bool alive(pid_t pid, std::optional<std::uint64_t> expected_start = std::nullopt);

// /proc/PID/cmdline with the NUL separators turned into spaces ("" if gone).
std::string cmdline(pid_t pid);

}  // namespace ndsip::lab::proc
