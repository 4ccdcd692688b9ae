#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "daemon/credentials.hpp"

using namespace ndsip::daemon;
namespace fs = std::filesystem;

namespace {

const char* cert_pem = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n";

fs::path file(const std::string& name, const std::string& text, mode_t mode) {
  const fs::path p = fs::temp_directory_path() / ("ndsip-cred-" + std::to_string(::getpid()) + "-" + name);
  std::ofstream(p) << text;
  ::chmod(p.c_str(), mode);
  return p;
}

}  // namespace

TEST(Credentials, BundleSplitsIntoCertificates) {
  const std::string two = std::string(cert_pem) + "junk\n" + cert_pem;
  EXPECT_EQ(pem_blocks(two, "CERTIFICATE").size(), 2u);
  EXPECT_TRUE(pem_blocks("-----BEGIN CERTIFICATE-----\nno end", "CERTIFICATE").empty());
}

TEST(Credentials, KeyReadableByOthersIsRefusedAndNotRead) {
  const fs::path key = file("key-open", "-----BEGIN EC PRIVATE KEY-----\nsecret\n-----END EC PRIVATE KEY-----\n", 0644);
  const Credentials c = read_credentials({"", key.string(), "", ""});
  fs::remove(key);
  ASSERT_EQ(c.problems.size(), 1u);
  EXPECT_NE(c.problems[0].find("accessible by group or others (mode 644)"), std::string::npos) << c.problems[0];
  EXPECT_EQ(c.problems[0].find("secret"), std::string::npos);
  EXPECT_TRUE(c.key.empty());
}

TEST(Credentials, PrivateKeyTypesAndMissingFiles) {
  const fs::path key = file("key-ok", "-----BEGIN EC PRIVATE KEY-----\nx\n-----END EC PRIVATE KEY-----\n", 0600);
  const fs::path ca = file("ca", cert_pem, 0644);
  Credentials c = read_credentials({"", key.string(), ca.string(), ""});
  EXPECT_TRUE(c.problems.empty());
  EXPECT_EQ(c.key_type, ndsip::vici::KeyType::ecdsa);
  EXPECT_EQ(c.ca_certs.size(), 1u);
  fs::remove(key);
  fs::remove(ca);
  c = read_credentials({"/nonexistent/cert.pem", "", "", "/nonexistent/crls"});
  EXPECT_EQ(c.problems.size(), 2u);
}

TEST(Credentials, AKeyBehindASymlinkOrOwnedBySomeoneElseIsRefusedAndNotRead) {
  const fs::path key = file("key-real", "-----BEGIN EC PRIVATE KEY-----\nsecret\n-----END EC PRIVATE KEY-----\n", 0600);
  const fs::path link = fs::temp_directory_path() / ("ndsip-cred-" + std::to_string(::getpid()) + "-key-link");
  fs::remove(link);
  fs::create_symlink(key, link);
  Credentials c = read_credentials({"", link.string(), "", ""});
  ASSERT_EQ(c.problems.size(), 1u);
  EXPECT_NE(c.problems[0].find("is a symbolic link"), std::string::npos) << c.problems[0];
  EXPECT_TRUE(c.key.empty());
  fs::remove(link);
  if (::geteuid() == 0) {  // only root can give a file away
    ASSERT_EQ(::chown(key.c_str(), 65534, 65534), 0);
    c = read_credentials({"", key.string(), "", ""});
    ASSERT_EQ(c.problems.size(), 1u);
    EXPECT_NE(c.problems[0].find("owned by uid 65534, not by this process's user"), std::string::npos) << c.problems[0];
    EXPECT_TRUE(c.key.empty());
  }
  fs::remove(key);
}
