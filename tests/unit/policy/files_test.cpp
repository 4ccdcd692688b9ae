// The shipped policies/ and templates/, and loading directories: missing, broken and
// inconsistent files are reported with their path, never thrown.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "policy/profile.hpp"

using namespace ndsip::policy;
namespace fs = std::filesystem;

namespace {

// A scratch copy of the shipped directories that a test may break.
class Scratch : public ::testing::Test {
 protected:
  void SetUp() override {
    root_ = fs::temp_directory_path() /
            ("ndsip-policy-" + std::to_string(::getpid()) + "-" +
             ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(root_);
    fs::create_directories(root_);
    fs::copy(NDSIP_SOURCE_DIR "/policies", root_ / "policies");
    fs::copy(NDSIP_SOURCE_DIR "/templates", root_ / "templates");
  }
  void TearDown() override { fs::remove_all(root_); }
  void write(const std::string& rel, const std::string& text) {
    std::ofstream(root_ / rel, std::ios::binary) << text;
  }
  PolicyLoadResult load() {
    return load_policies((root_ / "policies").string(), (root_ / "templates").string());
  }
  fs::path root_;
};

bool has_rule(const PolicyLoadResult& r, const std::string& rule, const std::string& file_end) {
  for (const auto& p : r.problems) {
    if (p.rule == rule && p.file.size() >= file_end.size() &&
        p.file.compare(p.file.size() - file_end.size(), file_end.size(), file_end) == 0) {
      return true;
    }
  }
  return false;
}

std::string all(const PolicyLoadResult& r) {
  std::string out;
  for (const auto& p : r.problems) out += p.to_string() + "\n";
  return out;
}

}  // namespace

TEST(Shipped, PoliciesAndTemplatesAreValid) {
  const PolicyLoadResult r =
      load_policies(NDSIP_SOURCE_DIR "/policies", NDSIP_SOURCE_DIR "/templates");
  ASSERT_TRUE(r.problems.empty()) << all(r);
  EXPECT_EQ(r.set.profiles.count("za"), 1u);
  EXPECT_EQ(r.set.profiles.count("zb"), 1u);
  EXPECT_EQ(r.set.profiles.count("zb-integrity-only"), 1u);
  for (const std::string& t : required_templates()) EXPECT_EQ(r.set.templates.count(t), 1u) << t;
  // Za: tunnel mode and encryption; AES-GCM first.
  const Profile& za = r.set.profiles.at("za");
  EXPECT_EQ(za.zone, Zone::za);
  EXPECT_EQ(za.mode, "tunnel");
  EXPECT_EQ(za.ike_proposals.front().rfind("aes256gcm16", 0), 0u);
  EXPECT_EQ(za.esp_proposals.front().rfind("aes256gcm16", 0), 0u);
  EXPECT_FALSE(za.encryption_optional);
  const Template& seal_s = r.set.templates.at("seal-s");
  EXPECT_EQ(seal_s.reference_point, "SEAL-S");
  EXPECT_EQ(seal_s.za_profile, "za");
}

TEST_F(Scratch, ForbiddenAlgorithmInAShippedFileNamesFileAndRule) {
  write("policies/za.json", R"({"zone": "za",
    "ike": {"proposals": ["aes256gcm16-prfsha384-ecp384"]},
    "esp": {"proposals": ["aes256gcm16-ecp384", "3des-sha256-ecp384"]}})");
  const PolicyLoadResult r = load();
  ASSERT_TRUE(has_rule(r, "no-3des", "policies/za.json")) << all(r);
  EXPECT_NE(all(r).find("za.json: /esp/proposals/1: ESP proposal \"3des-sha256-ecp384\""),
            std::string::npos)
      << all(r);
}

TEST_F(Scratch, TemplateNamingAMissingProfile) {
  write("templates/seal-s.json", R"({"reference_point": "SEAL-S", "zb_profile": "zb-strict"})");
  const PolicyLoadResult r = load();
  EXPECT_TRUE(has_rule(r, "unknown-profile", "templates/seal-s.json")) << all(r);
}

TEST_F(Scratch, TemplateUsingAZbProfileForZa) {
  write("templates/seal-e.json", R"({"reference_point": "SEAL-E", "za_profile": "zb"})");
  const PolicyLoadResult r = load();
  EXPECT_TRUE(has_rule(r, "zone-mismatch", "templates/seal-e.json")) << all(r);
}

TEST_F(Scratch, TemplateWithBadValuesAndUnknownKey) {
  write("templates/km-s.json",
        R"({"reference_point": "KM-X", "start_action": "go", "dpd_action": "hold", "mode": "tunnel"})");
  const PolicyLoadResult r = load();
  EXPECT_TRUE(has_rule(r, "reference-point", "templates/km-s.json")) << all(r);
  EXPECT_TRUE(has_rule(r, "action", "templates/km-s.json")) << all(r);
  EXPECT_TRUE(has_rule(r, "unknown-key", "templates/km-s.json")) << all(r);
  // Broken, not missing: reported once for what is wrong in it.
  EXPECT_FALSE(has_rule(r, "missing-template", "templates/km-s.json")) << all(r);
}

TEST_F(Scratch, MissingTemplate) {
  fs::remove(root_ / "templates/seg-za.json");
  const PolicyLoadResult r = load();
  EXPECT_TRUE(has_rule(r, "missing-template", "templates/seg-za.json")) << all(r);
}

TEST_F(Scratch, NotJsonAndUnreadableDirectory) {
  write("policies/zb.json", "not json");
  fs::remove_all(root_ / "templates");
  const PolicyLoadResult r = load();
  EXPECT_TRUE(has_rule(r, "json", "policies/zb.json")) << all(r);
  EXPECT_TRUE(has_rule(r, "read", "templates")) << all(r);
}
