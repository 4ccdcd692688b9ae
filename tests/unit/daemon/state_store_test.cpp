// The state directory: accepted topologies survive, history keeps 10, previous() is the one
// before, applied digests round-trip, and no temporary file is left behind.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>

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
  StateStore s(dir_.string());
  EXPECT_FALSE(s.current());
  EXPECT_EQ(s.accept("one"), 1u);
  EXPECT_FALSE(s.previous());
  EXPECT_EQ(s.accept("two"), 2u);
  EXPECT_EQ(s.current()->text, "two");
  EXPECT_EQ(s.previous()->text, "one");
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
