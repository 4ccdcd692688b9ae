// The policy checker: every item TS 33.210 and RFC 8221/8247 forbid is refused, naming the
// offending proposal, the file and the rule; the explicit opt-ins allow exactly what they say.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "policy/algorithms.hpp"
#include "policy/profile.hpp"

using namespace ndsip::policy;
using nlohmann::json;

namespace {

// A valid Za profile; each case edits one thing.
json za_profile() {
  return json::parse(R"({
    "description": "test",
    "zone": "za",
    "ike": {"version": 2, "auth": "certificate",
            "proposals": ["aes256gcm16-prfsha384-ecp384", "aes128-sha256-ecp256"],
            "rekey_time": "4h", "dpd_delay": "30s"},
    "esp": {"proposals": ["aes256gcm16-ecp384", "aes128-sha256-ecp256"],
            "mode": "tunnel", "rekey_time": "1h", "life_time": "70m"}
  })");
}

json zb_profile() {
  json p = za_profile();
  p["zone"] = "zb";
  return p;
}

std::vector<PolicyProblem> load(const json& doc) {
  Profile p;
  return load_profile_text(doc.dump(), "test", "policies/test.json", &p);
}

struct Case {
  const char* name;
  json (*make)();
  const char* pointer;
  const char* rule;
  const char* fragment;  // part of the message: names the offending proposal or value
};

const Case cases[] = {
    {"ikev1", [] { auto p = za_profile(); p["ike"]["version"] = 1; return p; },
     "/ike/version", "ikev2-only", "IKEv2 only"},
    {"ah", [] { auto p = za_profile(); p["ah"] = json::object(); return p; },
     "/ah", "no-ah", "ESP only"},
    {"des_esp", [] { auto p = za_profile(); p["esp"]["proposals"][1] = "des-sha256-ecp256"; return p; },
     "/esp/proposals/1", "no-des", "\"des-sha256-ecp256\""},
    {"3des_ike", [] { auto p = za_profile(); p["ike"]["proposals"][1] = "3des-sha256-ecp256"; return p; },
     "/ike/proposals/1", "no-3des", "\"3des-sha256-ecp256\""},
    {"3des_esp", [] { auto p = za_profile(); p["esp"]["proposals"][0] = "3des-sha256-ecp256"; return p; },
     "/esp/proposals/0", "no-3des", "3DES"},
    {"md5_integrity", [] { auto p = za_profile(); p["esp"]["proposals"][1] = "aes128-md5-ecp256"; return p; },
     "/esp/proposals/1", "no-md5", "\"aes128-md5-ecp256\""},
    {"md5_prf", [] { auto p = za_profile(); p["ike"]["proposals"][0] = "aes256gcm16-prfmd5-ecp384"; return p; },
     "/ike/proposals/0", "no-md5", "prfmd5"},
    {"sha1_integrity", [] { auto p = za_profile(); p["ike"]["proposals"][1] = "aes128-sha1-ecp256"; return p; },
     "/ike/proposals/1", "no-sha1", "\"aes128-sha1-ecp256\""},
    {"sha1_prf", [] { auto p = za_profile(); p["ike"]["proposals"][0] = "aes256gcm16-prfsha1-ecp384"; return p; },
     "/ike/proposals/0", "no-sha1", "prfsha1"},
    {"sha1_esp", [] { auto p = za_profile(); p["esp"]["proposals"][1] = "aes128-sha1-ecp256"; return p; },
     "/esp/proposals/1", "no-sha1", "legacy_sha1"},
    {"modp768", [] { auto p = za_profile(); p["ike"]["proposals"][1] = "aes128-sha256-modp768"; return p; },
     "/ike/proposals/1", "no-weak-dh", "group 1"},
    {"modp1024", [] { auto p = za_profile(); p["ike"]["proposals"][1] = "aes128-sha256-modp1024"; return p; },
     "/ike/proposals/1", "no-weak-dh", "group 2"},
    {"modp1536_pfs", [] { auto p = za_profile(); p["esp"]["proposals"][1] = "aes128-sha256-modp1536"; return p; },
     "/esp/proposals/1", "no-weak-dh", "group 5"},
    {"null_no_integrity", [] { auto p = zb_profile(); p["allow"]["null_encryption"] = true;
                               p["esp"]["proposals"][1] = "null-ecp256"; return p; },
     "/esp/proposals/1", "null-without-integrity", "\"null-ecp256\""},
    {"null_on_za", [] { auto p = za_profile(); p["esp"]["proposals"][1] = "null-sha256-ecp256"; return p; },
     "/esp/proposals/1", "null-encryption-on-za", "Za requires encryption"},
    {"gmac_on_za", [] { auto p = za_profile(); p["esp"]["proposals"][0] = "aes256gmac-ecp384"; return p; },
     "/esp/proposals/0", "null-encryption-on-za", "\"aes256gmac-ecp384\""},
    {"za_allows_null", [] { auto p = za_profile(); p["allow"]["null_encryption"] = true; return p; },
     "/allow/null_encryption", "null-encryption-on-za", "Za"},
    {"null_on_zb_not_allowed", [] { auto p = zb_profile(); p["esp"]["proposals"][1] = "null-sha256-ecp256"; return p; },
     "/esp/proposals/1", "null-encryption-not-allowed", "allow.null_encryption"},
    {"cbc_without_integrity_esp", [] { auto p = za_profile(); p["esp"]["proposals"][1] = "aes256-ecp384"; return p; },
     "/esp/proposals/1", "integrity-required", "\"aes256-ecp384\""},
    {"cbc_without_integrity_ike", [] { auto p = za_profile(); p["ike"]["proposals"][1] = "aes256-prfsha256-ecp384"; return p; },
     "/ike/proposals/1", "integrity-required", "\"aes256-prfsha256-ecp384\""},
    {"psk", [] { auto p = za_profile(); p["ike"]["auth"] = "psk"; return p; },
     "/ike/auth", "no-psk", "certificates"},
    {"transport_on_za", [] { auto p = za_profile(); p["esp"]["mode"] = "transport"; return p; },
     "/esp/mode", "za-tunnel-only", "tunnel mode"},
    {"za_allows_transport", [] { auto p = za_profile(); p["allow"]["transport_mode"] = true; return p; },
     "/allow/transport_mode", "za-tunnel-only", "Za"},
    {"transport_on_zb_not_allowed", [] { auto p = zb_profile(); p["esp"]["mode"] = "transport"; return p; },
     "/esp/mode", "transport-not-allowed", "allow.transport_mode"},
    {"unknown_algorithm", [] { auto p = za_profile(); p["esp"]["proposals"][0] = "aes256gcm16-ecp348"; return p; },
     "/esp/proposals/0", "unknown-algorithm", "\"ecp348\""},
    {"no_pfs", [] { auto p = za_profile(); p["esp"]["proposals"][0] = "aes256gcm16"; return p; },
     "/esp/proposals/0", "esp-pfs", "PFS"},
    {"ike_no_dh", [] { auto p = za_profile(); p["ike"]["proposals"][0] = "aes256gcm16-prfsha384"; return p; },
     "/ike/proposals/0", "ike-needs-dh", "DH group"},
    {"ike_aead_no_prf", [] { auto p = za_profile(); p["ike"]["proposals"][0] = "aes256gcm16-ecp384"; return p; },
     "/ike/proposals/0", "ike-aead-needs-prf", "PRF"},
    {"ike_null", [] { auto p = za_profile(); p["ike"]["proposals"][1] = "null-sha256-ecp256"; return p; },
     "/ike/proposals/1", "ike-encryption-required", "no encryption"},
    {"no_ike_proposals", [] { auto p = za_profile(); p["ike"]["proposals"] = json::array(); return p; },
     "/ike/proposals", "no-proposals", "IKE"},
    {"bad_mode", [] { auto p = za_profile(); p["esp"]["mode"] = "beet"; return p; },
     "/esp/mode", "mode", "\"beet\""},
    {"bad_time", [] { auto p = za_profile(); p["ike"]["rekey_time"] = "4 hours"; return p; },
     "/ike/rekey_time", "time-syntax", "\"4 hours\""},
    {"life_before_rekey", [] { auto p = za_profile(); p["esp"]["life_time"] = "30m"; return p; },
     "/esp/life_time", "life-after-rekey", "30m"},
    {"unknown_key", [] { auto p = za_profile(); p["allow"]["null_encrypton"] = true; return p; },
     "/allow/null_encrypton", "unknown-key", "null_encryption"},
    {"wrong_type", [] { auto p = za_profile(); p["allow"]["psk"] = "yes"; return p; },
     "/allow/psk", "type", "true or false"},
    {"bad_zone", [] { auto p = za_profile(); p["zone"] = "zc"; return p; },
     "/zone", "zone", "\"zc\""},
    {"missing_esp", [] { auto p = za_profile(); p.erase("esp"); return p; },
     "/esp", "missing-key", "required"},
};

class Forbidden : public ::testing::TestWithParam<Case> {};

}  // namespace

TEST_P(Forbidden, RefusedWithPointerRuleAndProposal) {
  const Case& c = GetParam();
  const auto problems = load(c.make());
  std::string listed;
  for (const auto& x : problems) listed += x.to_string() + "\n";
  ASSERT_EQ(problems.size(), 1u) << listed;
  EXPECT_EQ(problems[0].file, "policies/test.json");
  EXPECT_EQ(problems[0].pointer, c.pointer);
  EXPECT_EQ(problems[0].rule, c.rule);
  EXPECT_NE(problems[0].message.find(c.fragment), std::string::npos) << problems[0].message;
  // The one-line form names the file, the pointer and the rule.
  const std::string line = problems[0].to_string();
  EXPECT_EQ(line.rfind(std::string("policies/test.json: ") + c.pointer + ": ", 0), 0u) << line;
  EXPECT_NE(line.find(std::string("[") + c.rule + "]"), std::string::npos) << line;
}

// Not `info`: the macro's generated function has a parameter of that name (-Wshadow in g++).
INSTANTIATE_TEST_SUITE_P(Policy, Forbidden, ::testing::ValuesIn(cases),
                         [](const auto& p) { return std::string(p.param.name); });

TEST(Checker, BaseProfilesAreValid) {
  EXPECT_TRUE(load(za_profile()).empty());
  EXPECT_TRUE(load(zb_profile()).empty());
}

TEST(Checker, LegacySha1FlagAllowsSha1Only) {
  json p = za_profile();
  p["allow"]["legacy_sha1"] = true;
  p["ike"]["proposals"][1] = "aes128-sha1-prfsha1-ecp256";
  EXPECT_TRUE(load(p).empty());
  // The flag does not let anything else through.
  p["esp"]["proposals"][1] = "aes128-md5-ecp256";
  const auto problems = load(p);
  ASSERT_EQ(problems.size(), 1u);
  EXPECT_EQ(problems[0].rule, "no-md5");
}

TEST(Checker, PskFlagAllowsPsk) {
  json p = za_profile();
  p["ike"]["auth"] = "psk";
  p["allow"]["psk"] = true;
  EXPECT_TRUE(load(p).empty());
}

TEST(Checker, ZbOptInsAllowIntegrityOnlyAndTransport) {
  json p = zb_profile();
  p["allow"]["null_encryption"] = true;
  p["allow"]["transport_mode"] = true;
  p["esp"]["mode"] = "transport";
  p["esp"]["proposals"] = {"aes256gmac-ecp384", "null-sha256-ecp256"};
  EXPECT_TRUE(load(p).empty());
}

TEST(Checker, EveryProblemOfAProfileAtOnce) {
  json p = za_profile();
  p["ike"]["proposals"] = {"3des-md5-modp1024"};
  p["esp"]["proposals"] = {"null-ecp256"};
  const auto problems = load(p);
  std::vector<std::string> rules;
  for (const auto& x : problems) rules.push_back(x.rule);
  EXPECT_EQ(rules, (std::vector<std::string>{"no-3des", "no-md5", "no-weak-dh",
                                             "null-without-integrity"}));
}

TEST(Checker, NotJsonOrNotAnObject) {
  Profile out;
  auto a = load_profile_text("{", "x", "policies/x.json", &out);
  ASSERT_EQ(a.size(), 1u);
  EXPECT_EQ(a[0].rule, "json");
  auto b = load_profile_text("[1]", "x", "policies/x.json", &out);
  ASSERT_EQ(b.size(), 1u);
  EXPECT_EQ(b[0].rule, "type");
  auto c = load_profile_text(std::string(1024 * 1024 + 1, ' '), "x", "policies/x.json", &out);
  ASSERT_EQ(c.size(), 1u);
  EXPECT_EQ(c[0].rule, "size");
}

TEST(Algorithms, Classification) {
  EXPECT_EQ(classify_algorithm("aes256gcm16").kind, AlgorithmKind::aead);
  EXPECT_EQ(classify_algorithm("chacha20poly1305").kind, AlgorithmKind::aead);
  EXPECT_EQ(classify_algorithm("aes128gmac").kind, AlgorithmKind::gmac);
  EXPECT_EQ(classify_algorithm("aes256").kind, AlgorithmKind::encryption);
  EXPECT_EQ(classify_algorithm("sha384").kind, AlgorithmKind::integrity);
  EXPECT_EQ(classify_algorithm("prfsha384").kind, AlgorithmKind::prf);
  EXPECT_EQ(classify_algorithm("curve25519").kind, AlgorithmKind::dh);
  EXPECT_EQ(classify_algorithm("ecp384").kind, AlgorithmKind::dh);
  EXPECT_EQ(classify_algorithm("esn").kind, AlgorithmKind::esn);
  EXPECT_EQ(classify_algorithm("AES256").kind, AlgorithmKind::unknown);  // strongSwan is lower case
  EXPECT_EQ(classify_algorithm("").kind, AlgorithmKind::unknown);
  EXPECT_EQ(parse_proposal("aes256gcm16-prfsha384-ecp384").size(), 3u);
  EXPECT_EQ(parse_proposal("aes256--ecp384")[1].kind, AlgorithmKind::unknown);
}
