// The state directory: accepted topologies survive, each stored as the objects it changes,
// history keeps 10, previous() is the one before, topologies of the old one-file-per-version
// store are imported, applied digests round-trip, and no temporary file is left behind.
#include <gtest/gtest.h>
#include <unistd.h>

#include <sys/stat.h>

#include <filesystem>
#include <fstream>
#include <memory>

#include "common/atomic_file.hpp"
#include "daemon/state_store.hpp"
#include "topology/load.hpp"

using namespace ndsip::daemon;
namespace fs = std::filesystem;

namespace {

// A valid topology with `vals` VAL servers, named `name`.
std::string topology(int vals, const std::string& name = "t") {
  std::string nodes = R"({"name": "gms", "role": "seal-server", "domain": "a", "services": ["group-management"],
                          "addresses": ["192.0.2.1"], "identity": "gms.example"})";
  std::string uses;
  for (int i = 0; i < vals; ++i) {
    const std::string n = "val" + std::to_string(i);
    nodes += R"(, {"name": ")" + n + R"(", "role": "val-server", "domain": "a", "addresses": ["198.18.0.)" +
             std::to_string(i + 1) + R"("], "identity": ")" + n + R"(.example"})";
    uses += std::string(i ? ", " : "") + R"({"val_server": ")" + n + R"(", "seal_server": "gms", "services": ["group-management"]})";
  }
  return R"({"version": 1, "name": ")" + name + R"(", "domains": [{"name": "a", "ca_id": "CN=A"}], "nodes": [)" + nodes +
         R"(], "service_uses": [)" + uses + "]}";
}

// The stored document means the same topology as `text`.
void same_topology(const std::string& stored, const std::string& text) {
  const auto a = ndsip::topology::load_topology_text(stored), b = ndsip::topology::load_topology_text(text);
  ASSERT_TRUE(a.topology && b.topology) << stored;
  EXPECT_EQ(a.topology->name, b.topology->name);
  EXPECT_EQ(a.topology->nodes.size(), b.topology->nodes.size());
  EXPECT_EQ(a.topology->service_uses.size(), b.topology->service_uses.size());
}

class Store : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("ndsip-store-" + std::to_string(::getpid()) + "-" +
                                        ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }
  fs::path dir_;
};

}  // namespace

TEST_F(Store, AcceptCurrentPrevious) {
  {
    StateStore s(dir_.string());
    EXPECT_FALSE(s.current());
    EXPECT_EQ(s.accept(topology(1, "one")), 1u);
    EXPECT_FALSE(s.previous());
    EXPECT_EQ(s.accept(topology(2, "two")), 2u);
    same_topology(s.current()->text, topology(2, "two"));
    same_topology(s.previous()->text, topology(1, "one"));
  }
  // A new instance (a restarted daemon) sees the same.
  StateStore again(dir_.string());
  EXPECT_EQ(again.current()->version, 2u);
  same_topology(again.current()->text, topology(2, "two"));
  for (const auto& e : fs::recursive_directory_iterator(dir_)) {
    EXPECT_NE(e.path().extension(), ".tmp") << "a temporary file was left: " << e.path();
  }
  // Something that is not a topology is not stored.
  EXPECT_THROW(again.accept("not json"), std::invalid_argument);
  EXPECT_EQ(again.current()->version, 2u);
}

TEST_F(Store, AVersionRecordsOnlyWhatChanged) {
  StateStore s(dir_.string());
  s.accept(topology(200));
  const auto before = fs::file_size(dir_ / "topology" / "journal");
  // One more VAL server: a node and a service use, a few hundred bytes, not the 200 others.
  s.accept(topology(201));
  const auto record = fs::file_size(dir_ / "topology" / "journal") - before;
  EXPECT_LT(record, 1000u);
  EXPECT_GT(before, 20000u);
  same_topology(s.current()->text, topology(201));
}

TEST_F(Store, HistoryKeepsTheLastTen) {
  StateStore s(dir_.string());
  for (int i = 1; i <= 15; ++i) s.accept(topology(i));
  EXPECT_EQ(s.versions().size(), StateStore::history_size);
  EXPECT_EQ(s.versions().front(), 6u);
  same_topology(s.current()->text, topology(15));
  same_topology(s.previous()->text, topology(14));
  same_topology(s.read(6)->text, topology(6));
  EXPECT_FALSE(s.read(5));
}

TEST_F(Store, TopologiesOfTheOldStoreAreImportedOnce) {
  // An ndsipd before the journal kept one file per version; a torn one is skipped.
  fs::create_directories(dir_ / "history");
  fs::permissions(dir_, fs::perms(0750));
  fs::permissions(dir_ / "history", fs::perms(0750));
  std::ofstream(dir_ / "history" / "00000003.json") << topology(1, "three");
  std::ofstream(dir_ / "history" / "00000004.json") << topology(2, "four");
  std::ofstream(dir_ / "history" / "00000005.json") << "{\"version\": 1, \"na";
  {
    StateStore s(dir_.string());
    EXPECT_EQ(s.versions().size(), 2u);
    same_topology(s.current()->text, topology(2, "four"));
    same_topology(s.previous()->text, topology(1, "three"));
  }
  StateStore again(dir_.string());
  EXPECT_EQ(again.versions().size(), 2u);  // not imported twice
}

TEST_F(Store, AReadOnlyStoreOfAFreshDirectoryIsEmpty) {
  fs::create_directories(dir_);
  fs::permissions(dir_, fs::perms(0750));
  const StateStore s(dir_.string(), StateStore::Access::read_only);
  EXPECT_FALSE(s.current());
  EXPECT_FALSE(fs::exists(dir_ / "topology"));  // wrote nothing
}

TEST_F(Store, AppliedRoundTripAndGarbageIsEmpty) {
  StateStore s(dir_.string());
  EXPECT_TRUE(s.load_applied().empty());
  s.save_applied({{"zb_a_b", "0123456789abcdef"}});
  EXPECT_EQ(s.load_applied().at("zb_a_b"), "0123456789abcdef");
  ndsip::common::write_file_atomically((dir_ / "applied.json").string(), "{ torn");
  EXPECT_TRUE(s.load_applied().empty());
}

TEST_F(Store, SegChoicesRoundTripApartFromAppliedAndGarbageIsEmpty) {
  StateStore s(dir_.string());
  EXPECT_TRUE(s.load_seg_choices().empty());
  s.save_applied({{"zb_a_b", "0123456789abcdef"}});
  s.save_seg_choices({{"val-1_gms-b", "zb_val-1_seg-a2"}});
  EXPECT_EQ(s.load_seg_choices(), (std::map<std::string, std::string>{{"val-1_gms-b", "zb_val-1_seg-a2"}}));
  EXPECT_EQ(s.load_applied().size(), 1u);
  ndsip::common::write_file_atomically((dir_ / "seg-choices.json").string(), "[1, 2");
  EXPECT_TRUE(s.load_seg_choices().empty());
  EXPECT_EQ(s.load_applied().size(), 1u);
}

TEST_F(Store, UnwritableDirectoryIsAClearError) {
  EXPECT_THROW(StateStore("/proc/ndsip-cannot-exist"), std::runtime_error);
  EXPECT_THROW(ndsip::common::write_file_atomically("/proc/ndsip-nope/x", "y"), std::runtime_error);
}

TEST_F(Store, OneOwnerAtATime) {
  auto first = std::make_unique<StateStore>(dir_.string());
  try {
    StateStore second(dir_.string());
    FAIL() << "two owners of one state directory";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("in use by another ndsipd (pid " + std::to_string(::getpid()) + ")"),
              std::string::npos)
        << e.what();
  }
  // Tools and --check-config read without owning.
  EXPECT_NO_THROW(StateStore(dir_.string(), StateStore::Access::read_only));
  first.reset();
  EXPECT_NO_THROW(StateStore(dir_.string()));
}

TEST_F(Store, APlantedSymlinkIsNotWrittenThrough) {
  StateStore s(dir_.string());
  const fs::path victim = dir_.string() + "-victim";
  std::ofstream(victim) << "precious";
  fs::create_symlink(victim, dir_ / "applied.json.tmp");
  s.save_applied({{"zb_a_b", "0123456789abcdef"}});
  std::ifstream in(victim);
  std::string text((std::istreambuf_iterator<char>(in)), {});
  EXPECT_EQ(text, "precious");
  EXPECT_FALSE(fs::is_symlink(dir_ / "applied.json"));
  fs::remove(victim);
}

TEST_F(Store, ADirectoryOthersCanWriteIsRefused) {
  fs::create_directories(dir_);
  ::chmod(dir_.c_str(), 0777);
  try {
    StateStore s(dir_.string());
    FAIL() << "a world-writable state directory was used";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("writable by group or others"), std::string::npos) << e.what();
  }
}
