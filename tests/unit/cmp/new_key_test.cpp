// The key a renewal certifies: every allowed spec makes its key type, key_spec reads it back,
// weak or unknown specs are refused with a sentence that says why, PEM round-trips.
#include <gtest/gtest.h>

#include <stdexcept>

#include "cmp/new_key.hpp"

using namespace ndsip;

namespace {

TEST(NewKey, EachSpecMakesItsTypeAndRoundTrips) {
  struct Case {
    std::string spec;
    const char* type;
    int bits;
  };
  for (const Case& c : {Case{"rsa:2048", "RSA", 2048}, Case{"rsa:3072", "RSA", 3072}, Case{"ec:P-256", "EC", 256},
                        Case{"ec:P-384", "EC", 384}, Case{"ed25519", "ED25519", 256}}) {
    SCOPED_TRACE(c.spec);
    std::string error;
    EXPECT_TRUE(cmp::valid_key_spec(c.spec, &error)) << error;
    certs::Key key = cmp::generate_key(c.spec);
    ASSERT_TRUE(key);
    EXPECT_TRUE(EVP_PKEY_is_a(key.get(), c.type));
    EXPECT_EQ(EVP_PKEY_get_bits(key.get()), c.bits);
    EXPECT_EQ(cmp::key_spec(key.get()), c.spec);
  }
}

TEST(NewKey, WeakOrUnknownSpecsAreRefused) {
  struct Case {
    std::string spec, says;
  };
  for (const Case& c : {Case{"rsa:1024", "1024 bits is too small (at least 2048)"},
                        Case{"rsa:", "no RSA size"}, Case{"rsa:2048x", "no RSA size"},
                        Case{"rsa:65536", "too large"}, Case{"dsa", "unsupported key spec \"dsa\""},
                        Case{"ec:P-521", "unsupported key spec \"ec:P-521\""}, Case{"", "no key spec given"}}) {
    SCOPED_TRACE(c.spec);
    std::string error;
    EXPECT_FALSE(cmp::valid_key_spec(c.spec, &error));
    EXPECT_NE(error.find(c.says), std::string::npos) << error;
    try {
      cmp::generate_key(c.spec);
      ADD_FAILURE() << "generated a key for \"" << c.spec << "\"";
    } catch (const std::runtime_error& e) {
      EXPECT_EQ(std::string(e.what()), error);
    }
  }
  // A null error pointer is allowed.
  EXPECT_FALSE(cmp::valid_key_spec("dsa", nullptr));
}

TEST(NewKey, KeysOutsideThePolicyHaveNoSpec) {
  EXPECT_EQ(cmp::key_spec(nullptr), "");
  certs::Key small(EVP_PKEY_Q_keygen(nullptr, nullptr, "RSA", static_cast<size_t>(1024)));
  EXPECT_EQ(cmp::key_spec(small.get()), "");
  certs::Key p521(EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-521"));
  EXPECT_EQ(cmp::key_spec(p521.get()), "");
  certs::Key x25519(EVP_PKEY_Q_keygen(nullptr, nullptr, "X25519"));
  EXPECT_EQ(cmp::key_spec(x25519.get()), "");
}

TEST(NewKey, PemRoundTripsThroughTheCertsParser) {
  for (const std::string spec : {"rsa:2048", "ec:P-256", "ed25519"}) {
    SCOPED_TRACE(spec);
    certs::Key key = cmp::generate_key(spec);
    const std::string pem = cmp::private_key_pem(key.get());
    EXPECT_EQ(pem.rfind("-----BEGIN PRIVATE KEY-----", 0), 0u) << "PKCS#8, unencrypted";
    certs::Key back = certs::parse_private_key(pem);
    ASSERT_TRUE(back);
    EXPECT_EQ(EVP_PKEY_eq(key.get(), back.get()), 1);
    EXPECT_EQ(cmp::key_spec(back.get()), spec);
  }
  EXPECT_EQ(cmp::private_key_pem(nullptr), "");
}

TEST(NewKey, CertificatePem) {
  EXPECT_EQ(cmp::certificate_pem(nullptr), "");
  certs::Key key = cmp::generate_key("ec:P-256");
  X509* x = X509_new();
  X509_set_version(x, 2);
  X509_gmtime_adj(X509_getm_notBefore(x), 0);
  X509_gmtime_adj(X509_getm_notAfter(x), 3600);
  X509_set_pubkey(x, key.get());
  X509_sign(x, key.get(), EVP_sha256());
  certs::Cert cert(x);
  const std::string pem = cmp::certificate_pem(cert.get());
  auto back = certs::parse_certificates(pem);
  ASSERT_EQ(back.size(), 1u);
  EXPECT_EQ(X509_cmp(back[0].get(), cert.get()), 0);
}

}  // namespace
