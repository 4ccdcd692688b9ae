// X.509 with OpenSSL: reading PEM/DER certificates, keys and CRLs, and describing them the way
// operators and TS 33.310 talk about them. RAII owners for the OpenSSL objects.
#pragma once

#include <openssl/evp.h>
#include <openssl/x509.h>

#include <ctime>
#include <memory>
#include <string>
#include <vector>

namespace ndsip::certs {

struct X509Free { void operator()(X509* x) const { X509_free(x); } };
struct KeyFree { void operator()(EVP_PKEY* k) const { EVP_PKEY_free(k); } };
struct CrlFree { void operator()(X509_CRL* c) const { X509_CRL_free(c); } };
using Cert = std::unique_ptr<X509, X509Free>;
using Key = std::unique_ptr<EVP_PKEY, KeyFree>;
using Crl = std::unique_ptr<X509_CRL, CrlFree>;

// Every certificate in `text` (PEM blocks; or one DER certificate).
std::vector<Cert> parse_certificates(const std::string& text);
Key parse_private_key(const std::string& pem);  // null when it is not one
std::vector<Crl> parse_crls(const std::string& text);  // PEM blocks or one DER CRL

struct CertificateInfo {
  std::string subject, issuer, serial;     // serial in hex, upper case
  std::vector<std::string> dns_names;      // subjectAltName dNSName entries
  std::time_t not_before = 0, not_after = 0;
  std::string key;                         // "ECDSA P-256", "RSA 2048", "Ed25519", ...
  std::string signature;                   // "ecdsa-with-SHA256", "sha1WithRSAEncryption", ...
  bool is_ca = false;
  std::string fingerprint;                 // SHA-256 of the DER, hex (first 16 digits)
};

CertificateInfo describe(X509* cert);

// Seconds since the epoch for an ASN1_TIME.
std::time_t to_time_t(const ASN1_TIME* t);

// "2026-12-31 23:59:59 UTC"
std::string format_time(std::time_t t);

}  // namespace ndsip::certs
