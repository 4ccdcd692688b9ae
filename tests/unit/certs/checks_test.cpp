// Every check of a node's credentials, each with certificates made to fail exactly it.
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>

#include "certs/checks.hpp"
#include "test_pki.hpp"

using namespace ndsip::certs;
using namespace ndsip::certs::testing;
namespace fs = std::filesystem;

namespace {

class Checks : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("ndsip-certs-" + std::to_string(::getpid()) + "-" +
                                        ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
    ca_key_ = make_key("p384");
    CertSpec ca;
    ca.cn = "Operator A NDS/IP CA";
    ca.ca = true;
    ca.digest = EVP_sha384();
    ca_ = make_cert(ca, ca_key_.get(), nullptr, nullptr);
    write_cert(path("ca.pem"), ca_.get());
  }
  void TearDown() override { fs::remove_all(dir_); }

  std::string path(const std::string& name) const { return (dir_ / name).string(); }

  // Writes a node certificate and key made from `spec` (signed by the CA) and checks them.
  CheckResult check(CertSpec spec, const std::string& key_type = "p256", mode_t key_mode = 0600) {
    Key key = make_key(key_type);
    if (key_type == "ed25519") spec.digest = nullptr;
    Cert cert = make_cert(spec, key.get(), ca_.get(), ca_key_.get());
    write_cert(path("cert.pem"), cert.get());
    write_key(path("key.pem"), key.get());
    ::chmod(path("key.pem").c_str(), key_mode);
    return check_credentials({path("cert.pem"), path("key.pem"), path("ca.pem"), ""}, "gms-a.operator-a.example",
                             std::time(nullptr));
  }

  static CertSpec good() {
    CertSpec s;
    s.cn = "gms-a";
    s.san = "gms-a.operator-a.example";
    return s;
  }

  static std::string rules(const CheckResult& r) {
    std::string out;
    for (const auto& p : r.problems) out += (out.empty() ? "" : ",") + p.rule;
    return out;
  }

  fs::path dir_;
  Key ca_key_;
  Cert ca_;
};

}  // namespace

TEST_F(Checks, GoodCredentialsPassAndAreDescribed) {
  const CheckResult r = check(good());
  EXPECT_TRUE(r.problems.empty()) << rules(r);
  ASSERT_TRUE(r.own);
  EXPECT_EQ(r.own->dns_names, std::vector<std::string>{"gms-a.operator-a.example"});
  EXPECT_EQ(r.own->key, "ECDSA P-256");
  EXPECT_EQ(r.own->signature, "ecdsa-with-SHA256");
  EXPECT_EQ(r.own->serial, "01");
  EXPECT_EQ(r.own->issuer, "CN=Operator A NDS/IP CA");
  ASSERT_EQ(r.cas.size(), 1u);
  EXPECT_TRUE(r.cas[0].is_ca);
  EXPECT_EQ(days_until(r.own->not_after - 60, std::time(nullptr)), 89);  // 90 days minus a minute
  EXPECT_EQ(days_until(std::time(nullptr) - 1, std::time(nullptr)), -1);
}

TEST_F(Checks, AllowedKeyTypes) {
  for (const char* type : {"p256", "p384", "rsa2048", "ed25519"}) {
    EXPECT_TRUE(check(good(), type).problems.empty()) << type << ": " << rules(check(good(), type));
  }
}

TEST_F(Checks, WeakKeysAreRefused) {
  EXPECT_EQ(rules(check(good(), "rsa1024")), "key-type");
  EXPECT_EQ(rules(check(good(), "p521")), "key-type");
}

TEST_F(Checks, Sha1AndMd5SignaturesAreRefused) {
  CertSpec s = good();
  s.digest = EVP_sha1();
  const CheckResult r = check(s, "rsa2048");
  EXPECT_EQ(rules(r), "signature");
  EXPECT_NE(r.problems[0].message.find("SHA-1"), std::string::npos) << r.problems[0].message;
}

TEST_F(Checks, WrongOrMissingSan) {
  CertSpec s = good();
  s.san = "val-1.operator-a.example";
  CheckResult r = check(s);
  EXPECT_EQ(rules(r), "san");
  EXPECT_NE(r.problems[0].to_string().find("cert.pem: subjectAltName has no dNSName \"gms-a.operator-a.example\""),
            std::string::npos)
      << r.problems[0].to_string();
  s.san = "";
  EXPECT_EQ(rules(check(s)), "san");
}

TEST_F(Checks, ExpiredAndNotYetValid) {
  CertSpec s = good();
  s.not_before = -7200;
  s.not_after = -60;
  EXPECT_EQ(rules(check(s)), "expired");
  s.not_before = 3600;
  s.not_after = 7200;
  EXPECT_EQ(rules(check(s)), "not-yet-valid");
}

TEST_F(Checks, ForeignCaDoesNotChain) {
  Key other_key = make_key("p256");
  CertSpec other;
  other.cn = "rogue CA";
  other.ca = true;
  Cert other_ca = make_cert(other, other_key.get(), nullptr, nullptr);
  Key key = make_key("p256");
  Cert cert = make_cert(good(), key.get(), other_ca.get(), other_key.get());
  write_cert(path("cert.pem"), cert.get());
  write_key(path("key.pem"), key.get());
  ::chmod(path("key.pem").c_str(), 0600);
  const CheckResult r = check_credentials({path("cert.pem"), path("key.pem"), path("ca.pem"), ""},
                                          "gms-a.operator-a.example", std::time(nullptr));
  EXPECT_EQ(rules(r), "chain");
}

TEST_F(Checks, KeyMustMatchAndBePrivate) {
  Key key = make_key("p256");
  Cert cert = make_cert(good(), key.get(), ca_.get(), ca_key_.get());
  write_cert(path("cert.pem"), cert.get());
  write_key(path("key.pem"), make_key("p256").get());  // another key
  ::chmod(path("key.pem").c_str(), 0600);
  CheckResult r = check_credentials({path("cert.pem"), path("key.pem"), path("ca.pem"), ""}, "", std::time(nullptr));
  EXPECT_EQ(rules(r), "key-match");
  EXPECT_EQ(rules(check(good(), "p256", 0640)), "key-permissions");
}

TEST_F(Checks, RevokedByCrl) {
  Key key = make_key("p256");
  CertSpec s = good();
  s.serial = 77;
  Cert cert = make_cert(s, key.get(), ca_.get(), ca_key_.get());
  write_cert(path("cert.pem"), cert.get());
  write_key(path("key.pem"), key.get());
  ::chmod(path("key.pem").c_str(), 0600);
  // A CRL from the CA revoking serial 77.
  X509_CRL* crl = X509_CRL_new();
  X509_CRL_set_version(crl, 1);
  X509_CRL_set_issuer_name(crl, X509_get_subject_name(ca_.get()));
  ASN1_TIME* now = ASN1_TIME_set(nullptr, std::time(nullptr) - 60);
  ASN1_TIME* next = ASN1_TIME_set(nullptr, std::time(nullptr) + 86400);
  X509_CRL_set1_lastUpdate(crl, now);
  X509_CRL_set1_nextUpdate(crl, next);
  X509_REVOKED* rev = X509_REVOKED_new();
  ASN1_INTEGER* serial = ASN1_INTEGER_new();
  ASN1_INTEGER_set(serial, 77);
  X509_REVOKED_set_serialNumber(rev, serial);
  X509_REVOKED_set_revocationDate(rev, now);
  X509_CRL_add0_revoked(crl, rev);
  X509_CRL_sort(crl);
  X509_CRL_sign(crl, ca_key_.get(), EVP_sha384());
  fs::create_directories(dir_ / "crls");
  FILE* f = std::fopen(path("crls/ca.crl").c_str(), "w");
  PEM_write_X509_CRL(f, crl);
  std::fclose(f);
  X509_CRL_free(crl);
  ASN1_INTEGER_free(serial);
  ASN1_TIME_free(now);
  ASN1_TIME_free(next);
  const CheckResult r = check_credentials({path("cert.pem"), path("key.pem"), path("ca.pem"), path("crls")},
                                          "gms-a.operator-a.example", std::time(nullptr));
  EXPECT_EQ(rules(r), "revoked");
  ASSERT_EQ(r.crls.size(), 1u);
  EXPECT_EQ(r.crls[0].revoked, 1u);
  // The same question for a peer's certificate, as the daemon asks it.
  std::ifstream in(path("crls/ca.crl"));
  const std::string crl_text((std::istreambuf_iterator<char>(in)), {});
  EXPECT_TRUE(revoked_by(cert.get(), {crl_text}));
  Cert other = make_cert(good(), key.get(), ca_.get(), ca_key_.get());  // serial 1: not listed
  EXPECT_FALSE(revoked_by(other.get(), {crl_text}));
  EXPECT_FALSE(revoked_by(cert.get(), {}));
}

TEST_F(Checks, UnreadableAndMalformedFiles) {
  CheckResult r = check_credentials({path("none.pem"), "", path("ca.pem"), ""}, "", std::time(nullptr));
  EXPECT_EQ(rules(r), "unreadable");
  std::ofstream(path("junk.pem")) << "not a certificate";
  r = check_credentials({path("junk.pem"), "", path("ca.pem"), ""}, "", std::time(nullptr));
  EXPECT_EQ(rules(r), "format");
  r = check_credentials({"", "", path("junk.pem"), ""}, "", std::time(nullptr));
  EXPECT_EQ(rules(r), "format");
}
