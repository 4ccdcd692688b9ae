// The etcd user and password: the password file's text, the file's permissions (a secret like
// a private key), and errors that name the file and the fix, never the password.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "etcd/credentials.hpp"

using namespace ndsip::etcd;
namespace fs = std::filesystem;

namespace {

std::string error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const std::invalid_argument& e) {
    return e.what();
  }
  ADD_FAILURE() << "no std::invalid_argument";
  return "";
}

fs::path file(const std::string& name, const std::string& text, fs::perms mode) {
  const fs::path p = fs::temp_directory_path() / ("ndsip-etcd-cred-" + std::to_string(::getpid()) + "-" + name);
  fs::remove(p);
  std::ofstream(p) << text;
  fs::permissions(p, mode, fs::perm_options::replace);
  return p;
}

}  // namespace

TEST(EtcdCredentials, ThePasswordIsTheFilesOneLine) {
  EXPECT_EQ(password_from_text("s3cret\n"), "s3cret");
  EXPECT_EQ(password_from_text("s3cret\r\n"), "s3cret");
  EXPECT_EQ(password_from_text("s3cret"), "s3cret");
  EXPECT_EQ(password_from_text(" with spaces "), " with spaces ");  // spaces are the password's
  EXPECT_EQ(password_from_text("pässwörd\n"), "pässwörd");
  EXPECT_NE(error_of([] { password_from_text(""); }).find("is empty"), std::string::npos);
  EXPECT_NE(error_of([] { password_from_text("\n"); }).find("is empty"), std::string::npos);
  for (const std::string& bad : {std::string("one\ntwo\n"), std::string("one\n\n"), std::string("a\0b", 3)}) {
    EXPECT_NE(error_of([&] { password_from_text(bad); }).find("more than one line or a NUL byte"), std::string::npos);
  }
  EXPECT_NE(error_of([] { password_from_text("\xff\xfe"); }).find("not UTF-8"), std::string::npos);
}

TEST(EtcdCredentials, APasswordFileMustBeTheOwnersAlone) {
  const fs::path good = file("good", "s3cret-pw\n", fs::perms::owner_read | fs::perms::owner_write);
  EXPECT_EQ(read_password_file(good.string()), "s3cret-pw");
  const fs::path shared = file("shared", "s3cret-pw\n", fs::perms::owner_read | fs::perms::owner_write |
                                                             fs::perms::group_read | fs::perms::others_read);
  const std::string why = error_of([&] { read_password_file(shared.string()); });
  EXPECT_NE(why.find("etcd password file " + shared.string()), std::string::npos) << why;
  EXPECT_NE(why.find("accessible by group or others (mode 644); chmod 600 it"), std::string::npos) << why;
  EXPECT_EQ(why.find("s3cret"), std::string::npos) << why;  // never the password
  const fs::path link = fs::temp_directory_path() / ("ndsip-etcd-cred-" + std::to_string(::getpid()) + "-link");
  fs::remove(link);
  fs::create_symlink(good, link);
  EXPECT_NE(error_of([&] { read_password_file(link.string()); }).find("symbolic link"), std::string::npos);
  EXPECT_NE(error_of([] { read_password_file("/nonexistent/etcd-password"); }).find("cannot be read"),
            std::string::npos);
  const fs::path empty = file("empty", "", fs::perms::owner_read);
  EXPECT_NE(error_of([&] { read_password_file(empty.string()); }).find("is empty"), std::string::npos);
  for (const fs::path& p : {good, shared, link, empty}) fs::remove(p);
}

TEST(EtcdCredentials, AUserAndAPasswordGoTogether) {
  check_credentials("", "");
  check_credentials("fleet", "pw");
  EXPECT_NE(error_of([] { check_credentials("fleet", ""); }).find("etcd user \"fleet\" needs a password"),
            std::string::npos);
  EXPECT_NE(error_of([] { check_credentials("", "pw"); }).find("needs an etcd user name"), std::string::npos);
  EXPECT_NE(error_of([] { check_credentials("\xff", "pw"); }).find("user name is not UTF-8"), std::string::npos);
  const std::string why = error_of([] { check_credentials("fleet", "\xffpw"); });
  EXPECT_NE(why.find("password is not UTF-8"), std::string::npos);
  EXPECT_EQ(why.find("pw"), std::string::npos);
}
