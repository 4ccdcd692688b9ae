// The checks an issued certificate passes before it is written: the TS 33.310 checks ndsipd
// runs on its credential files, on bytes from the CA. Each bad answer names its rule.
#include <gtest/gtest.h>

#include "certs/test_pki.hpp"
#include "cmp/new_key.hpp"
#include "cmp/obtain.hpp"

using namespace ndsip;
using namespace ndsip::certs::testing;

namespace {

CertSpec ca_spec() {
  CertSpec s;
  s.cn = "Test CA";
  s.ca = true;
  return s;
}

// The node's certificate as asked for, to be spoilt by each case.
CertSpec node_spec() {
  CertSpec s;
  s.cn = s.san = "node.example";
  return s;
}

struct Pki {
  certs::Key ca_key = make_key("p256");
  certs::Cert ca = make_cert(ca_spec(), ca_key.get(), nullptr, nullptr);
  certs::Key other_ca_key = make_key("p256");
  certs::Cert other_ca = make_cert(ca_spec(), other_ca_key.get(), nullptr, nullptr);
  certs::Key key = make_key("p256");
  std::string ca_pem = cmp::certificate_pem(ca.get());
  std::string key_pem = cmp::private_key_pem(key.get());

  std::string issue(CertSpec spec, EVP_PKEY* for_key = nullptr, bool by_other_ca = false) {
    const certs::Cert c = make_cert(spec, for_key ? for_key : key.get(), by_other_ca ? other_ca.get() : ca.get(),
                                    by_other_ca ? other_ca_key.get() : ca_key.get());
    return cmp::certificate_pem(c.get());
  }
  std::vector<std::string> check(const std::string& cert) {
    return cmp::check_issued(cert, key_pem, ca_pem, "/etc/ndsip/ca.pem", "node.example", std::time(nullptr));
  }
};

bool has_rule(const std::vector<std::string>& problems, const std::string& rule) {
  for (const auto& p : problems) {
    if (p.find("[" + rule + "]") != std::string::npos) return true;
  }
  return false;
}

}  // namespace

TEST(CheckIssued, AGoodCertificatePasses) {
  Pki pki;
  EXPECT_EQ(pki.check(pki.issue(node_spec())), std::vector<std::string>{});
}

TEST(CheckIssued, EachBadAnswerIsRefusedByItsRule) {
  Pki pki;
  const certs::Key other_key = make_key("p256");
  CertSpec other_identity = node_spec(), sha1 = node_spec(), expired = node_spec(), early = node_spec();
  other_identity.san = "other.example";
  sha1.digest = EVP_sha1();
  expired.not_before = -7200;
  expired.not_after = -3600;
  early.not_before = 3600;
  const struct {
    const char* rule;
    std::string cert;
  } cases[] = {
      {"san", pki.issue(other_identity)},
      {"key-match", pki.issue(node_spec(), other_key.get())},
      {"signature", pki.issue(sha1)},
      {"expired", pki.issue(expired)},
      {"not-yet-valid", pki.issue(early)},
      {"chain", pki.issue(node_spec(), nullptr, true)},
      {"format", "not a certificate"},
  };
  for (const auto& c : cases) {
    const auto problems = pki.check(c.cert);
    EXPECT_TRUE(has_rule(problems, c.rule)) << c.rule << ": " << ::testing::PrintToString(problems);
  }
  // The names an operator reads: the issued certificate and the configured bundle.
  const auto chain = pki.check(cases[5].cert);
  ASSERT_FALSE(chain.empty());
  EXPECT_NE(chain.front().find("issued certificate"), std::string::npos) << chain.front();
  EXPECT_NE(chain.front().find("/etc/ndsip/ca.pem"), std::string::npos) << chain.front();
}
