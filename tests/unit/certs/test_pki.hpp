// Certificates made by the tests themselves (OpenSSL), with exactly the flaw a case needs:
// key type and size, signature digest, SAN, validity window, issuer.
#pragma once

#include <openssl/ec.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <openssl/x509v3.h>

#include <ctime>
#include <fstream>
#include <stdexcept>
#include <string>

#include "certs/x509.hpp"

namespace ndsip::certs::testing {

inline Key make_key(const std::string& type) {
  EVP_PKEY* key = nullptr;
  if (type == "rsa1024" || type == "rsa2048") {
    key = EVP_PKEY_Q_keygen(nullptr, nullptr, "RSA", static_cast<size_t>(type == "rsa1024" ? 1024 : 2048));
  } else if (type == "ed25519") {
    key = EVP_PKEY_Q_keygen(nullptr, nullptr, "ED25519");
  } else {
    key = EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", type == "p384" ? "P-384" : type == "p521" ? "P-521" : "P-256");
  }
  if (!key) throw std::runtime_error("keygen " + type);
  return Key(key);
}

struct CertSpec {
  std::string cn = "node";
  std::string san;              // dNSName, "" for none
  long not_before = -3600;      // seconds from now
  long not_after = 86400 * 90;  // seconds from now
  bool ca = false;
  const EVP_MD* digest = EVP_sha256();  // nullptr for Ed25519 keys
  long serial = 1;
};

// Signs `key`'s certificate with issuer_key (self-signed when issuer is null).
inline Cert make_cert(const CertSpec& s, EVP_PKEY* key, X509* issuer, EVP_PKEY* issuer_key) {
  X509* x = X509_new();
  X509_set_version(x, 2);
  ASN1_INTEGER_set(X509_get_serialNumber(x), s.serial);
  X509_gmtime_adj(X509_getm_notBefore(x), s.not_before);
  X509_gmtime_adj(X509_getm_notAfter(x), s.not_after);
  X509_NAME* name = X509_get_subject_name(x);
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, reinterpret_cast<const unsigned char*>(s.cn.c_str()), -1, -1, 0);
  X509_set_issuer_name(x, issuer ? X509_get_subject_name(issuer) : name);
  X509_set_pubkey(x, key);
  X509V3_CTX ctx;
  X509V3_set_ctx(&ctx, issuer ? issuer : x, x, nullptr, nullptr, 0);
  auto add = [&](int nid, const std::string& value) {
    X509_EXTENSION* e = X509V3_EXT_conf_nid(nullptr, &ctx, nid, value.c_str());
    X509_add_ext(x, e, -1);
    X509_EXTENSION_free(e);
  };
  add(NID_basic_constraints, s.ca ? "critical,CA:TRUE" : "CA:FALSE");
  if (s.ca) add(NID_key_usage, "critical,keyCertSign,cRLSign");
  if (!s.san.empty()) add(NID_subject_alt_name, "DNS:" + s.san);
  if (X509_sign(x, issuer_key ? issuer_key : key, s.digest) == 0) {
    X509_free(x);
    throw std::runtime_error("X509_sign");
  }
  return Cert(x);
}

inline void write_cert(const std::string& path, X509* cert) {
  FILE* f = std::fopen(path.c_str(), "w");
  PEM_write_X509(f, cert);
  std::fclose(f);
}

inline void write_key(const std::string& path, EVP_PKEY* key) {
  FILE* f = std::fopen(path.c_str(), "w");
  PEM_write_PrivateKey(f, key, nullptr, nullptr, 0, nullptr, nullptr);
  std::fclose(f);
}

}  // namespace ndsip::certs::testing
