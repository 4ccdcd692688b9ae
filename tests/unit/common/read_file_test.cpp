// common::read_file: byte-exact, and every way it can fail says so instead of returning "".
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>

#include "common/read_file.hpp"

namespace fs = std::filesystem;
using ndsip::common::read_file;
using ndsip::common::read_file_or_error;

namespace {

// A fresh directory per test, removed afterwards.
class ReadFile : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/ndsip-read-file-XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
  }
  void TearDown() override { fs::remove_all(dir_); }

  std::string write(const std::string& name, const std::string& bytes) const {
    const std::string path = dir_ + "/" + name;
    std::ofstream(path, std::ios::binary) << bytes;
    return path;
  }

  std::string dir_;
};

TEST_F(ReadFile, KeepsNulBytesAndEverythingAfterThem) {
  const std::string bytes("a\0b\r\n\0\xff", 7);
  const std::string path = write("binary", bytes);
  const auto text = read_file(path);
  ASSERT_TRUE(text.has_value());
  EXPECT_EQ(text->size(), 7u);
  EXPECT_EQ(*text, bytes);
}

TEST_F(ReadFile, ReadsAFileLargerThanOneBuffer) {
  std::string bytes(200000, 'x');
  bytes[123456] = '\0';
  EXPECT_EQ(read_file(write("large", bytes)), bytes);
}

TEST_F(ReadFile, EmptyFileIsAnEmptyStringNotAFailure) {
  const auto result = read_file_or_error(write("empty", ""));
  ASSERT_TRUE(result.text.has_value());
  EXPECT_EQ(*result.text, "");
  EXPECT_EQ(result.error, "");
}

TEST_F(ReadFile, MissingFileIsNulloptWithTheReason) {
  const std::string path = dir_ + "/missing";
  EXPECT_FALSE(read_file(path).has_value());
  const auto result = read_file_or_error(path);
  EXPECT_FALSE(result.text.has_value());
  EXPECT_EQ(result.error, "cannot read " + path + ": No such file or directory");
}

TEST_F(ReadFile, DirectoryIsNulloptNotAnEmptyString) {
  EXPECT_FALSE(read_file(dir_).has_value());
  const auto result = read_file_or_error(dir_);
  EXPECT_FALSE(result.text.has_value());
  EXPECT_EQ(result.error, "cannot read " + dir_ + ": Is a directory");
}

TEST_F(ReadFile, ProcFilesThatReportSizeZeroAreReadWhole) {
  const auto text = read_file("/proc/self/cmdline");
  ASSERT_TRUE(text.has_value());
  EXPECT_FALSE(text->empty());
}

}  // namespace
