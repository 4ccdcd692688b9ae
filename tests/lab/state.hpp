// Crash safety for the test lab: what a lab created is written to
// <workdir>/lab.state while it runs, so that a later lab can clean up after a
// lab whose process died (abort, SIGKILL, Ctrl-C) before its teardown ran.
//
// Liveness: the owning process holds an exclusive flock() on lab.state for as
// long as the lab exists. The kernel drops that lock when the process dies, so
// "the lock can be taken" means "the owner is gone" without trusting PIDs. The
// recorded owner PID (+ start time) is checked as well.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace ndsip::lab {

// Labs live in /tmp/ndsip-lab-<tag>-XXXXXX.
inline constexpr const char* kLabDirPrefix = "/tmp/ndsip-lab-";
inline constexpr const char* kStateFileName = "lab.state";

struct LabState {
  struct Netns {
    std::string name;
    std::uint64_t inode = 0;  // 0: recorded before it was created
  };
  struct Charon {
    pid_t pid = -1;
    std::uint64_t start_time = 0;
    std::string netns;
  };
  pid_t owner_pid = -1;
  std::uint64_t owner_start_time = 0;
  bool keep = false;  // NDSIP_LAB_KEEP=1: keep the directory (logs) when cleaning up
  std::vector<Netns> netns;
  std::vector<Charon> charons;

  std::string serialize() const;
  // std::nullopt if the text is not a complete lab state.
  static std::optional<LabState> parse(const std::string& text);
};

// The owner's side: creates <dir>/lab.state already locked, rewrites it in place.
class StateFile {
 public:
  StateFile(const std::string& dir, const LabState& initial);
  ~StateFile();
  StateFile(const StateFile&) = delete;
  StateFile& operator=(const StateFile&) = delete;

  void write(const LabState& state);
  // Everything recorded has been cleaned up. With keep, lab.state is renamed
  // to lab.state.done (so sweeps ignore the kept directory); the lock is
  // released either way.
  void close(bool keep);

 private:
  std::string dir_;
  int fd_ = -1;
};

struct SweepReport {
  std::vector<std::string> dirs;   // stale lab directories handled
  std::vector<std::string> netns;  // namespaces deleted
  std::vector<pid_t> killed;       // charon PIDs killed
  std::vector<std::string> errors;
  bool empty() const { return dirs.empty() && errors.empty(); }
  std::string summary() const;
};

// Cleans up every /tmp/ndsip-lab-*/lab.state whose owner is gone: SIGKILLs the
// recorded charon PIDs (only if they are still charon-systemd with the recorded
// start time) and any charon-systemd still inside the recorded namespaces,
// deletes the recorded namespaces (only if they are still the same namespace),
// then removes the directory (or, if it was made with NDSIP_LAB_KEEP=1, renames
// lab.state to lab.state.swept and keeps the directory). Never throws; problems
// go into SweepReport::errors. Safe to run from several processes at once.
SweepReport sweep_stale_labs();

}  // namespace ndsip::lab
