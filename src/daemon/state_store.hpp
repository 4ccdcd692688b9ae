// The state directory: the accepted topologies (a journal of object changes with a history
// of the last ten, journal.hpp, in topology/), and what ndsipd last loaded into charon
// (connection -> digest), so a restarted ndsipd knows what is already in place and touches
// nothing that did not change.
//
// Accepting a topology appends the objects it changes to the journal (one fdatasync'ed
// record: O(size of the change)); the current one and every retained version are rebuilt from
// it. Topologies stored as whole files by an earlier ndsipd (history/NNNNNNNN.json) are
// imported into the journal once, oldest first, when it is still empty.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "daemon/journal.hpp"
#include "reconcile/diff.hpp"

namespace ndsip::daemon {

struct StoredTopology {
  std::uint64_t version = 0;  // 1, 2, ... in order of acceptance
  std::string text;           // the document, assembled from its objects (topology/state.hpp)
};

class StateStore {
 public:
  static constexpr std::size_t history_size = Journal::history_size;

  // owner: creates the directory (and topology/) if needed, and locks it for this process
  // (one ndsipd per state directory). read_only (--check-config, tools): neither.
  // Either way the directory must belong to root or ndsipd's user and be writable by nobody
  // else. Throws std::runtime_error saying what is wrong.
  enum class Access { owner, read_only };
  explicit StateStore(std::string dir, Access access = Access::owner);
  ~StateStore();
  StateStore(const StateStore&) = delete;
  StateStore& operator=(const StateStore&) = delete;

  // The accepted topologies, object by object.
  Journal& journal() { return *journal_; }
  const Journal& journal() const { return *journal_; }

  // Stores the document `text` (which must split into objects: any topology that passed the
  // check does) as a new version, recording only what changed. Returns its version. For
  // tools and tests; ndsipd appends the change it has already worked out.
  std::uint64_t accept(const std::string& text);
  std::optional<StoredTopology> current() const;
  std::optional<StoredTopology> previous() const;  // the accepted topology before the current one
  std::vector<std::uint64_t> versions() const { return journal_->versions(); }  // oldest first
  std::optional<StoredTopology> read(std::uint64_t version) const;

  void save_applied(const reconcile::Applied& applied);
  reconcile::Applied load_applied() const;  // empty when missing or unreadable
  // The SEG hop each pair is on (pair -> connection; health::SegChoices), so a restart of
  // ndsipd keeps a failover rather than reload charon to the preferred SEG.
  void save_seg_choices(const std::map<std::string, std::string>& choices);
  std::map<std::string, std::string> load_seg_choices() const;  // empty when missing or unreadable

  const std::string& dir() const { return dir_; }

 private:
  void import_history();
  std::string dir_;
  int lock_fd_ = -1;
  std::unique_ptr<Journal> journal_;
};

}  // namespace ndsip::daemon
