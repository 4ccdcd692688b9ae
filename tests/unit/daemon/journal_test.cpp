// The journal of versioned objects: appends survive a reopen, the history keeps the last ten
// and compacts, and every way a crash can cut the files (any byte of the last record, any step
// of a compaction) opens to the old state or the new one, never to something in between.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/resource.h>
#include <unistd.h>

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iterator>
#include <string>
#include <vector>

#include "daemon/journal.hpp"
#include "support/temp_dir.hpp"

using namespace ndsip::daemon;
using ndsip::test::TempDir;
namespace fs = std::filesystem;

namespace {

std::string slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

void put(const std::string& path, const std::string& bytes) {
  std::ofstream(path, std::ios::binary | std::ios::trunc) << bytes;
}

// The record framing (journal.hpp): magic, u32 little-endian length, 8 bytes of checksum,
// payload. The test splits by it to count records and to pick the last one.
std::vector<std::string> records(const std::string& bytes) {
  std::vector<std::string> out;
  for (std::size_t at = 0; at + 16 <= bytes.size();) {
    std::uint32_t n = 0;
    for (std::size_t i = 4; i-- > 0;) n = (n << 8) | static_cast<unsigned char>(bytes[at + 4 + i]);
    if (at + 16 + n > bytes.size()) break;
    out.push_back(bytes.substr(at, 16 + n));
    at += 16 + n;
  }
  return out;
}

// Change i: puts one object, now and then erases another.
ObjectChange step(int i) {
  ObjectChange c;
  c.put["node/" + std::to_string(i % 7)] = R"({"seen":)" + std::to_string(i) + "}";
  if (i % 3 == 0) c.erase.push_back("node/" + std::to_string((i + 2) % 7));
  return c;
}

// states[v]: the objects at version v, as the test computes them.
std::vector<Objects> states_through(int n) {
  std::vector<Objects> states(1);
  for (int i = 1; i <= n; ++i) {
    states.push_back(states.back());
    apply_change(states.back(), step(i));
  }
  return states;
}

std::vector<std::uint64_t> range(std::uint64_t from, std::uint64_t to) {
  std::vector<std::uint64_t> out;
  for (std::uint64_t v = from; v <= to; ++v) out.push_back(v);
  return out;
}

std::string error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const std::runtime_error& e) {
    return e.what();
  }
  return "";
}

// A store holding versions 1..n.
void fill(const std::string& dir, int n) {
  Journal j(dir, true);
  for (int i = 1; i <= n; ++i) ASSERT_EQ(j.append(step(i)), static_cast<std::uint64_t>(i));
}

}  // namespace

TEST(Journal, EmptyDirectoryIsVersionZeroAndReadOnlyWritesNothing) {
  TempDir dir;
  {
    Journal j(dir.path(), false);
    EXPECT_EQ(j.version(), 0u);
    EXPECT_TRUE(j.current().empty());
    EXPECT_TRUE(j.versions().empty());
    EXPECT_FALSE(j.read(0));
    EXPECT_FALSE(j.read(1));
    EXPECT_EQ(j.recovery_note(), "");
  }
  EXPECT_TRUE(fs::is_empty(dir.path()));
  Journal w(dir.path(), true);
  EXPECT_EQ(w.version(), 0u);
  EXPECT_TRUE(fs::exists(dir.path("snapshot")));
  EXPECT_TRUE(fs::exists(dir.path("journal")));
}

TEST(Journal, AppendsSurviveAReopen) {
  TempDir dir;
  const auto states = states_through(4);
  {
    Journal j(dir.path(), true);
    for (int i = 1; i <= 4; ++i) EXPECT_EQ(j.append(step(i)), static_cast<std::uint64_t>(i));
    EXPECT_EQ(j.current(), states[4]);
    EXPECT_EQ(j.versions(), range(1, 4));
    EXPECT_EQ(j.read(2), states[2]);
  }
  for (bool writable : {false, true}) {
    Journal again(dir.path(), writable);
    EXPECT_EQ(again.version(), 4u);
    EXPECT_EQ(again.current(), states[4]);
    EXPECT_EQ(again.versions(), range(1, 4));
    for (std::uint64_t v = 1; v <= 4; ++v) EXPECT_EQ(again.read(v), states[v]) << v;
    EXPECT_EQ(again.recovery_note(), "");
  }
  for (const auto& e : fs::directory_iterator(dir.path())) {
    EXPECT_NE(e.path().extension(), ".tmp") << "a temporary file was left: " << e.path();
  }
}

TEST(Journal, ChangeBetweenAndApplyChangeRoundTrip) {
  const Objects before = {{"a", "1"}, {"b", "2"}, {"c", "3"}};
  const Objects after = {{"a", "1"}, {"b", "two"}, {"d", "4"}};
  const ObjectChange c = change_between(before, after);
  EXPECT_EQ(c.put, (std::map<std::string, std::string>{{"b", "two"}, {"d", "4"}}));
  EXPECT_EQ(c.erase, std::vector<std::string>{"c"});
  Objects o = before;
  apply_change(o, c);
  EXPECT_EQ(o, after);
  EXPECT_TRUE(change_between(after, after).empty());
  EXPECT_FALSE(c.empty());
  // Back again.
  apply_change(o, change_between(after, before));
  EXPECT_EQ(o, before);
}

TEST(Journal, HistoryKeepsTheLastTenAndCompacts) {
  TempDir dir;
  const auto states = states_through(25);
  auto check = [&](const Journal& j) {
    EXPECT_EQ(j.version(), 25u);
    EXPECT_EQ(j.current(), states[25]);
    EXPECT_EQ(j.versions(), range(16, 25));
    for (std::uint64_t v = 16; v <= 25; ++v) EXPECT_EQ(j.read(v), states[v]) << "version " << v;
    EXPECT_FALSE(j.read(15));
    EXPECT_FALSE(j.read(1));
    EXPECT_FALSE(j.read(26));
  };
  {
    Journal j(dir.path(), true);
    for (int i = 1; i <= 25; ++i) j.append(step(i));
    check(j);
    EXPECT_EQ(j.compaction_error(), "");
  }
  // Compacted at version 21 (21 records > 2 * 10): snapshot at 12, then records 13..25.
  EXPECT_EQ(records(slurp(dir.path("journal"))).size(), 13u);
  check(Journal(dir.path(), false));
  for (const auto& e : fs::directory_iterator(dir.path())) {
    EXPECT_NE(e.path().extension(), ".tmp") << "a temporary file was left: " << e.path();
  }
}

// ndsipd appends with the compaction deferred and compacts once the change is applied: the
// append leaves every record in the journal, compact_if_due() then compacts as append would
// have, and the state read back is the same either way.
TEST(Journal, ADeferredCompactionWaitsForCompactIfDue) {
  TempDir dir;
  const auto states = states_through(25);
  Journal j(dir.path(), true);
  for (int i = 1; i <= 25; ++i) j.append(step(i), Journal::Compaction::deferred);
  EXPECT_EQ(records(slurp(dir.path("journal"))).size(), 25u);
  EXPECT_EQ(j.versions(), range(16, 25));
  j.compact_if_due();
  EXPECT_EQ(j.compaction_error(), "");
  EXPECT_EQ(records(slurp(dir.path("journal"))).size(), 9u);  // snapshot at 16 (the oldest kept), records 17..25
  Journal reread(dir.path(), false);
  EXPECT_EQ(reread.current(), states[25]);
  EXPECT_EQ(reread.versions(), range(16, 25));
  for (std::uint64_t v = 16; v <= 25; ++v) EXPECT_EQ(reread.read(v), states[v]) << "version " << v;
  j.compact_if_due();  // not due again: nothing changes
  EXPECT_EQ(records(slurp(dir.path("journal"))).size(), 9u);
}

TEST(Journal, LargeRecordsCompactBySize) {
  TempDir dir;
  Objects expected;
  {
    Journal j(dir.path(), true);
    for (int i = 1; i <= 15; ++i) {
      ObjectChange c;
      c.put["big/" + std::to_string(i)] = std::string(100 * 1024, static_cast<char>('a' + i));
      apply_change(expected, c);
      j.append(c);
    }
    EXPECT_EQ(j.versions(), range(6, 15));
    EXPECT_EQ(j.read(6)->size(), 6u);
  }
  // Past 1 MiB and the snapshot's size, well before 2 * history_size records.
  EXPECT_LT(records(slurp(dir.path("journal"))).size(), 15u);
  Journal again(dir.path(), false);
  EXPECT_EQ(again.version(), 15u);
  EXPECT_EQ(again.current(), expected);
}

// A crash while a record is written leaves any prefix of it: each must open to the state
// before it (and a writable open cut it off, so the next record follows), the whole record to
// the state after it.
TEST(Journal, EveryCrashCutOfARecordOpensToTheOldOrTheNewState) {
  TempDir dir;
  const auto states = states_through(4);
  fill(dir.path(), 3);
  const std::string snapshot = slurp(dir.path("snapshot"));
  const std::string before = slurp(dir.path("journal"));
  {
    Journal j(dir.path(), true);
    j.append(step(4));
  }
  const std::string after = slurp(dir.path("journal"));
  ASSERT_GT(after.size(), before.size());
  ASSERT_EQ(after.substr(0, before.size()), before);
  ASSERT_EQ(slurp(dir.path("snapshot")), snapshot) << "the test needs no compaction here";

  for (std::size_t cut = before.size(); cut <= after.size(); ++cut) {
    SCOPED_TRACE("journal cut at byte " + std::to_string(cut));
    const bool whole = cut == after.size();
    const std::uint64_t expect = whole ? 4 : 3;
    TempDir crashed;
    put(crashed.path("snapshot"), snapshot);
    put(crashed.path("journal"), after.substr(0, cut));
    {
      Journal r(crashed.path(), false);
      EXPECT_EQ(r.version(), expect);
      EXPECT_EQ(r.current(), states[expect]);
      EXPECT_EQ(r.recovery_note().empty(), cut == before.size() || whole) << r.recovery_note();
      EXPECT_EQ(slurp(crashed.path("journal")).size(), cut) << "a read-only open wrote";
    }
    Objects next = states[expect];
    {
      Journal w(crashed.path(), true);
      EXPECT_EQ(w.version(), expect);
      EXPECT_EQ(slurp(crashed.path("journal")).size(), whole ? after.size() : before.size());
      EXPECT_EQ(w.append(step(99)), expect + 1);
      apply_change(next, step(99));
    }
    Journal again(crashed.path(), false);
    EXPECT_EQ(again.version(), expect + 1);
    EXPECT_EQ(again.current(), next);
    EXPECT_EQ(again.recovery_note(), "");
  }
}

TEST(Journal, AFlippedByteInTheLastRecordDropsIt) {
  TempDir dir;
  const auto states = states_through(4);
  fill(dir.path(), 4);
  const std::string snapshot = slurp(dir.path("snapshot"));
  const std::string journal = slurp(dir.path("journal"));
  const auto recs = records(journal);
  ASSERT_EQ(recs.size(), 4u);
  // Every byte of the last record: header (magic, length, checksum) and payload.
  for (std::size_t at = journal.size() - recs.back().size(); at < journal.size(); ++at) {
    SCOPED_TRACE("byte " + std::to_string(at) + " flipped");
    TempDir bad;
    std::string flipped = journal;
    flipped[at] = static_cast<char>(flipped[at] ^ 0x20);
    put(bad.path("snapshot"), snapshot);
    put(bad.path("journal"), flipped);
    Journal r(bad.path(), false);
    EXPECT_EQ(r.version(), 3u);
    EXPECT_EQ(r.current(), states[3]);
    EXPECT_NE(r.recovery_note(), "");
  }
}

TEST(Journal, ACorruptRecordDropsItAndEverythingAfter) {
  TempDir dir;
  const auto states = states_through(4);
  fill(dir.path(), 4);
  std::string journal = slurp(dir.path("journal"));
  const auto recs = records(journal);
  const std::size_t second = recs[0].size();
  journal[second + 20] = static_cast<char>(journal[second + 20] ^ 1);  // in record 2's payload
  put(dir.path("journal"), journal);
  {
    Journal w(dir.path(), true);
    EXPECT_EQ(w.version(), 1u);
    EXPECT_EQ(w.current(), states[1]);
    EXPECT_NE(w.recovery_note().find("corrupt record at byte " + std::to_string(second)), std::string::npos)
        << w.recovery_note();
    EXPECT_EQ(slurp(dir.path("journal")), recs[0]) << "the writable open cuts at the corrupt record";
    EXPECT_EQ(w.append(step(2)), 2u);
  }
  Journal again(dir.path(), false);
  EXPECT_EQ(again.version(), 2u);
  EXPECT_EQ(again.current(), states[2]);
  EXPECT_EQ(again.recovery_note(), "");
}

// An intact record out of sequence (here record 2 again after 4, as a botched copy would leave
// it) ends replay like a corrupt one: applying it would turn version 4 back into something else.
TEST(Journal, ARecordOutOfSequenceEndsReplay) {
  TempDir dir;
  const auto states = states_through(5);
  fill(dir.path(), 4);
  const std::string journal = slurp(dir.path("journal"));
  put(dir.path("journal"), journal + records(journal)[1]);
  {
    Journal w(dir.path(), true);
    EXPECT_EQ(w.version(), 4u);
    EXPECT_EQ(w.current(), states[4]);
    EXPECT_NE(w.recovery_note().find("version 2 where 5 was expected"), std::string::npos) << w.recovery_note();
    EXPECT_EQ(slurp(dir.path("journal")), journal);
    EXPECT_EQ(w.append(step(5)), 5u);
  }
  EXPECT_EQ(Journal(dir.path(), false).current(), states[5]);
}

// Compaction at version 21 writes the snapshot at 12, then replaces the journal with records
// 13..21. A crash can stop it after any step; each leftover must open to version 21.
TEST(Journal, ACrashDuringCompactionOpensToTheSameState) {
  TempDir dir;
  const auto states = states_through(22);
  fill(dir.path(), 20);
  const std::string old_snapshot = slurp(dir.path("snapshot"));
  const std::string journal20 = slurp(dir.path("journal"));
  {
    Journal j(dir.path(), true);
    j.append(step(21));
  }
  const std::string new_snapshot = slurp(dir.path("snapshot"));
  const std::string new_journal = slurp(dir.path("journal"));
  ASSERT_NE(new_snapshot, old_snapshot) << "no compaction happened";
  ASSERT_EQ(records(new_journal).size(), 9u);
  // The journal as it was before compaction started: records 1..21.
  const std::string journal21 = journal20 + records(new_journal).back();
  ASSERT_EQ(records(journal21).size(), 21u);

  struct Leftover {
    const char* what;
    std::string snapshot, journal, snapshot_tmp, journal_tmp;
  };
  const std::vector<Leftover> leftovers = {
      {"crash while writing the new snapshot", old_snapshot, journal21, new_snapshot.substr(0, 30), ""},
      {"new snapshot in place, journal not yet replaced", new_snapshot, journal21, "", ""},
      {"crash while writing the new journal", new_snapshot, journal21, "", new_journal.substr(0, 50)},
      {"compaction done", new_snapshot, new_journal, "", ""},
  };
  for (const Leftover& l : leftovers) {
    SCOPED_TRACE(l.what);
    TempDir crashed;
    put(crashed.path("snapshot"), l.snapshot);
    put(crashed.path("journal"), l.journal);
    if (!l.snapshot_tmp.empty()) put(crashed.path("snapshot.tmp"), l.snapshot_tmp);
    if (!l.journal_tmp.empty()) put(crashed.path("journal.tmp"), l.journal_tmp);
    {
      Journal r(crashed.path(), false);
      EXPECT_EQ(r.version(), 21u);
      EXPECT_EQ(r.current(), states[21]);
      EXPECT_EQ(r.versions(), range(12, 21));
      for (std::uint64_t v = 12; v <= 21; ++v) EXPECT_EQ(r.read(v), states[v]) << "version " << v;
      EXPECT_EQ(r.recovery_note(), "");
    }
    {
      // Appending after the leftover works, and compacts what the crash left.
      Journal w(crashed.path(), true);
      EXPECT_EQ(w.append(step(22)), 22u);
      EXPECT_EQ(w.compaction_error(), "");
    }
    Journal again(crashed.path(), false);
    EXPECT_EQ(again.version(), 22u);
    EXPECT_EQ(again.current(), states[22]);
    EXPECT_EQ(again.versions(), range(13, 22));
    EXPECT_LE(records(slurp(crashed.path("journal"))).size(), 10u);
  }
}

TEST(Journal, AMissingOrBadSnapshotBesideRecordsIsRefused) {
  TempDir dir;
  fill(dir.path(), 3);
  const std::string snapshot = dir.path("snapshot");
  const std::string good = slurp(snapshot);

  fs::remove(snapshot);
  for (bool writable : {false, true}) {
    const std::string e = error_of([&] { Journal j(dir.path(), writable); });
    EXPECT_NE(e.find(snapshot), std::string::npos) << e;
    EXPECT_NE(e.find("missing"), std::string::npos) << e;
  }
  EXPECT_FALSE(fs::exists(snapshot)) << "a writable open must not start afresh";

  std::string flipped = good;
  flipped[flipped.size() - 3] = static_cast<char>(flipped[flipped.size() - 3] ^ 1);
  for (const std::string& bad : {std::string("{}"), good.substr(0, good.size() - 1), flipped}) {
    put(snapshot, bad);
    const std::string e = error_of([&] { Journal j(dir.path(), true); });
    EXPECT_NE(e.find(snapshot), std::string::npos) << e;
    EXPECT_NE(e.find("corrupt"), std::string::npos) << e;
    EXPECT_EQ(slurp(snapshot), bad) << "the bad snapshot was replaced";
  }
  put(snapshot, good);
  EXPECT_EQ(Journal(dir.path(), false).version(), 3u);
}

TEST(Journal, ASnapshotOlderThanTheJournalIsRefused) {
  TempDir dir;
  TempDir fresh;
  { Journal j(fresh.path(), true); }
  fill(dir.path(), 21);  // compacted: snapshot at 12, records 13..21
  put(dir.path("snapshot"), slurp(fresh.path("snapshot")));  // version 0
  const std::string e = error_of([&] { Journal j(dir.path(), false); });
  EXPECT_NE(e.find("starts at version 13"), std::string::npos) << e;
}

TEST(Journal, AppendToAReadOnlyJournalThrows) {
  TempDir dir;
  fill(dir.path(), 2);
  const std::string bytes = slurp(dir.path("journal"));
  Journal r(dir.path(), false);
  const Objects before = r.current();
  const std::string e = error_of([&] { r.append(step(3)); });
  EXPECT_NE(e.find(dir.path("journal")), std::string::npos) << e;
  EXPECT_EQ(r.version(), 2u);
  EXPECT_EQ(r.current(), before);
  EXPECT_EQ(slurp(dir.path("journal")), bytes);
}

// A write that stops part-way (here: the file size limit, so it fails even for root) is cut
// off again and changes nothing; the next append works.
TEST(Journal, AFailedWriteIsCutOffAndChangesNothing) {
  TempDir dir;
  const auto states = states_through(3);
  Journal j(dir.path(), true);
  j.append(step(1));
  j.append(step(2));
  const std::string bytes = slurp(dir.path("journal"));

  struct Limit {
    rlimit old{};
    void (*handler)(int);
    explicit Limit(rlim_t bytes) {
      getrlimit(RLIMIT_FSIZE, &old);
      handler = ::signal(SIGXFSZ, SIG_IGN);
      rlimit now = old;
      now.rlim_cur = bytes;
      setrlimit(RLIMIT_FSIZE, &now);
    }
    ~Limit() {
      setrlimit(RLIMIT_FSIZE, &old);
      ::signal(SIGXFSZ, handler);
    }
  };
  std::string e;
  {
    const Limit limit(bytes.size() + 10);  // part of the header fits: a short write, then EFBIG
    e = error_of([&] { j.append(step(3)); });
  }
  EXPECT_NE(e.find(dir.path("journal")), std::string::npos) << e;
  EXPECT_EQ(j.version(), 2u);
  EXPECT_EQ(j.current(), states[2]);
  EXPECT_EQ(slurp(dir.path("journal")), bytes);

  EXPECT_EQ(j.append(step(3)), 3u);
  Journal again(dir.path(), false);
  EXPECT_EQ(again.version(), 3u);
  EXPECT_EQ(again.current(), states[3]);
  EXPECT_EQ(again.recovery_note(), "");
}

TEST(Journal, AJournalThatIsALinkIsRefused) {
  TempDir dir;
  TempDir elsewhere;
  put(elsewhere.path("target"), "");
  fs::create_symlink(elsewhere.path("target"), dir.path("journal"));
  const std::string e = error_of([&] { Journal j(dir.path(), true); });
  EXPECT_NE(e.find(dir.path("journal")), std::string::npos) << e;
}

TEST(Journal, ContentThatIsNotUtf8IsRefusedBeforeAnythingIsWritten) {
  TempDir dir;
  Journal j(dir.path(), true);
  j.append(step(1));
  const std::string bytes = slurp(dir.path("journal"));
  ObjectChange c;
  c.put["k"] = std::string("\xff\xfe", 2);
  EXPECT_NE(error_of([&] { j.append(c); }), "");
  EXPECT_EQ(j.version(), 1u);
  EXPECT_EQ(slurp(dir.path("journal")), bytes);
}
