// The state directory: the last accepted topology, a history of the last accepted ones for
// rollback, and what ndsipd last loaded into charon (connection -> digest), so a restarted
// ndsipd knows what is already in place and touches nothing that did not change.
//
// Every write is atomic (write a temporary file, fsync, rename, fsync the directory): a crash
// or power loss leaves the old file or the new one, never a torn one. The current topology is
// the newest file in history/ (a rollback is stored as a new version), so accepting one costs
// one durable write.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "reconcile/diff.hpp"

namespace ndsip::daemon {

struct StoredTopology {
  std::uint64_t version = 0;  // 1, 2, ... in order of acceptance
  std::string text;
};

class StateStore {
 public:
  static constexpr std::size_t history_size = 10;

  // owner: creates the directory (and history/) if needed, and locks it for this process
  // (one ndsipd per state directory). read_only (--check-config, tools): neither.
  // Either way the directory must belong to root or ndsipd's user and be writable by nobody
  // else. Throws std::runtime_error saying what is wrong.
  enum class Access { owner, read_only };
  explicit StateStore(std::string dir, Access access = Access::owner);
  ~StateStore();
  StateStore(const StateStore&) = delete;
  StateStore& operator=(const StateStore&) = delete;

  // Stores an accepted topology as the current one and in the history (keeping the last
  // history_size). Returns its version.
  std::uint64_t accept(const std::string& text);
  std::optional<StoredTopology> current() const;
  // The accepted topology before the current one, if any.
  std::optional<StoredTopology> previous() const;
  // Every stored version, oldest first, and one of them (nullopt when it cannot be read).
  std::vector<std::uint64_t> versions() const { return history_versions(); }
  std::optional<StoredTopology> read(std::uint64_t version) const;

  void save_applied(const reconcile::Applied& applied);
  reconcile::Applied load_applied() const;  // empty when missing or unreadable

  const std::string& dir() const { return dir_; }

 private:
  std::vector<std::uint64_t> history_versions() const;  // ascending
  std::string dir_;
  int lock_fd_ = -1;
};

// Writes `data` to `path` atomically (see above). `durable`: fsync the file and the directory,
// so it survives a power loss; without, a crash may leave the old content (never a torn
// file). Throws std::runtime_error naming the path.
void write_file_atomically(const std::string& path, const std::string& data, unsigned mode = 0640,
                           bool durable = true);

}  // namespace ndsip::daemon
