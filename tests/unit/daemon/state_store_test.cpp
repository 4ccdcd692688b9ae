// The state directory: accepted topologies survive, history keeps 10, previous() is the one
// before, applied digests round-trip, and no temporary file is left behind.
#include <gtest/gtest.h>
#include <unistd.h>

#include <sys/stat.h>

#include <filesystem>
#include <fstream>
#include <memory>

#include "daemon/state_store.hpp"

using namespace ndsip::daemon;
namespace fs = std::filesystem;

namespace {

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
    EXPECT_EQ(s.accept("one"), 1u);
    EXPECT_FALSE(s.previous());
    EXPECT_EQ(s.accept("two"), 2u);
    EXPECT_EQ(s.current()->text, "two");
    EXPECT_EQ(s.previous()->text, "one");
  }
  // A new instance (a restarted daemon) sees the same.
  StateStore again(dir_.string());
  EXPECT_EQ(again.current()->version, 2u);
  for (const auto& e : fs::recursive_directory_iterator(dir_)) {
    EXPECT_NE(e.path().extension(), ".tmp") << "a temporary file was left: " << e.path();
  }
}

TEST_F(Store, HistoryKeepsTheLastTen) {
  StateStore s(dir_.string());
  for (int i = 1; i <= 15; ++i) s.accept("v" + std::to_string(i));
  std::size_t files = 0;
  for (const auto& e : fs::directory_iterator(dir_ / "history")) files += e.is_regular_file();
  EXPECT_EQ(files, StateStore::history_size);
  EXPECT_EQ(s.current()->text, "v15");
  EXPECT_EQ(s.previous()->text, "v14");
}

TEST_F(Store, AppliedRoundTripAndGarbageIsEmpty) {
  StateStore s(dir_.string());
  EXPECT_TRUE(s.load_applied().empty());
  s.save_applied({{"zb_a_b", "0123456789abcdef"}});
  EXPECT_EQ(s.load_applied().at("zb_a_b"), "0123456789abcdef");
  write_file_atomically((dir_ / "applied.json").string(), "{ torn");
  EXPECT_TRUE(s.load_applied().empty());
}

TEST_F(Store, UnwritableDirectoryIsAClearError) {
  EXPECT_THROW(StateStore("/proc/ndsip-cannot-exist"), std::runtime_error);
  EXPECT_THROW(write_file_atomically("/proc/ndsip-nope/x", "y"), std::runtime_error);
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
  fs::create_symlink(victim, dir_ / "history" / "00000001.json.tmp");
  fs::create_symlink(victim, dir_ / "applied.json.tmp");
  EXPECT_EQ(s.accept("topology"), 1u);
  s.save_applied({{"zb_a_b", "0123456789abcdef"}});
  std::ifstream in(victim);
  std::string text((std::istreambuf_iterator<char>(in)), {});
  EXPECT_EQ(text, "precious");
  EXPECT_EQ(s.current()->text, "topology");
  EXPECT_FALSE(fs::is_symlink(dir_ / "history" / "00000001.json"));
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
