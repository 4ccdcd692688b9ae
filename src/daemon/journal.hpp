// An append-only journal of versioned objects (key -> opaque text): each accepted change is
// one record appended and fdatasync'ed, so accepting one costs O(size of the change), not a
// rewrite of everything. Two files in the directory:
//   snapshot  the full objects at some version S (written atomically, see state_store.hpp)
//   journal   one record per version S+1 .. C
// Both are framed the same way: magic (4 bytes), payload length (u32 LE), the first 8 bytes of
// SHA-256 over length and payload, then the payload (JSON). A crash mid-append leaves a torn
// last record; replay stops at the first record that is incomplete, fails its checksum or breaks
// the version sequence, and a writable Journal cuts the file there. Now and then the journal is
// compacted: a new snapshot at the oldest version still kept in the history, then a journal
// holding only the records after it. Every step is atomic and records at or below the
// snapshot's version are skipped, so a crash between the steps opens to the same state.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace ndsip::daemon {

using Objects = std::map<std::string, std::string>;  // object key -> content (opaque text, e.g. JSON)

struct ObjectChange {
  std::map<std::string, std::string> put;  // key -> new content (added or changed)
  std::vector<std::string> erase;          // keys removed
  bool empty() const { return put.empty() && erase.empty(); }
};

// What `after` differs from `before` by (put: added or different content; erase: gone).
ObjectChange change_between(const Objects& before, const Objects& after);
// Erases first, then puts: a key in both ends up with the put content.
void apply_change(Objects& objects, const ObjectChange& change);

class Journal {
 public:
  static constexpr std::size_t history_size = 10;

  // Opens the journal in directory `dir` (which exists and is private; the caller checks it),
  // creating its files when missing. Replays snapshot + records to the newest intact record.
  // writable=false: never writes (tools, --check-config). Throws std::runtime_error naming the
  // file when a file cannot be read, or when the snapshot is missing or corrupt (or older than
  // the journal's first record) while the journal holds records: starting from less would
  // silently lose accepted state.
  Journal(std::string dir, bool writable);
  ~Journal();
  Journal(const Journal&) = delete;
  Journal& operator=(const Journal&) = delete;

  std::uint64_t version() const { return version_; }  // 0 when nothing was ever appended
  const Objects& current() const { return current_; }  // the state at version()
  // Retained versions, ascending: the last history_size that can be reconstructed (>= the
  // snapshot's version, >= 1). Empty when version() == 0.
  std::vector<std::uint64_t> versions() const;
  // The objects at `version`, replayed from the files; nullopt unless retained.
  std::optional<Objects> read(std::uint64_t version) const;

  // Appends one record (the change as version()+1), fdatasyncs it, applies it in memory,
  // compacts when due; returns the new version. Keys and contents must be valid UTF-8 (the
  // payload is JSON). Throws std::runtime_error naming the file on any error, and then nothing
  // changed (in memory, and on disk the record is cut off again). A failed compaction does not
  // fail the append (the record is durable by then): it is retried on the next append and
  // compaction_error() says why.
  // Compaction::deferred leaves it to compact_if_due(): a compaction writes every object (at
  // 10,000 nodes about 100 ms), and ndsipd runs it after the change is applied, not on its way.
  enum class Compaction { when_due, deferred };
  std::uint64_t append(const ObjectChange& change, Compaction compaction = Compaction::when_due);
  // Compacts if it is due (an append since the last one made it so); a failure is kept in
  // compaction_error() and retried next time.
  void compact_if_due();

  // Empty, or one line for the log saying what replay dropped at open (a torn tail record
  // after a crash, a corrupt record and everything after it).
  const std::string& recovery_note() const { return recovery_note_; }
  // Empty, or why the last compaction failed (the store is consistent either way).
  const std::string& compaction_error() const { return compaction_error_; }

 private:
  void open_for_append();
  void compact();
  std::string snapshot_path() const { return dir_ + "/snapshot"; }
  std::string journal_path() const { return dir_ + "/journal"; }

  std::string dir_;
  bool writable_;
  int fd_ = -1;  // the journal, O_APPEND; -1 until needed (or after a compaction replaced it)
  bool cut_pending_ = false;  // a failed append could not cut its bytes off again
  std::uint64_t version_ = 0;
  std::uint64_t snapshot_version_ = 0;
  std::size_t snapshot_bytes_ = 0;
  std::size_t journal_bytes_ = 0;    // intact records only: where the next record goes
  std::size_t journal_records_ = 0;  // including records at or below the snapshot's version
  Objects current_;
  std::string recovery_note_;
  std::string compaction_error_;
};

}  // namespace ndsip::daemon
