#include "certs/x509.hpp"

#include <openssl/bio.h>
#include <openssl/core_names.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include <cstring>

namespace ndsip::certs {

namespace {

struct BioFree { void operator()(BIO* b) const { BIO_free(b); } };
using Bio = std::unique_ptr<BIO, BioFree>;

Bio memory(const std::string& text) {
  return Bio(BIO_new_mem_buf(text.data(), static_cast<int>(text.size())));
}

std::string name_text(const X509_NAME* name) {
  Bio out(BIO_new(BIO_s_mem()));
  X509_NAME_print_ex(out.get(), name, 0, XN_FLAG_RFC2253);
  char* data = nullptr;
  const long n = BIO_get_mem_data(out.get(), &data);
  return std::string(data, static_cast<std::size_t>(n));
}

std::string hex(const unsigned char* p, std::size_t n) {
  static const char* digits = "0123456789abcdef";
  std::string out;
  for (std::size_t i = 0; i < n; ++i) {
    out += digits[p[i] >> 4];
    out += digits[p[i] & 15];
  }
  return out;
}

}  // namespace

std::vector<Cert> parse_certificates(const std::string& text) {
  std::vector<Cert> out;
  if (text.find("-----BEGIN") != std::string::npos) {
    Bio bio = memory(text);
    while (X509* x = PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr)) out.emplace_back(x);
  } else {
    const unsigned char* p = reinterpret_cast<const unsigned char*>(text.data());
    if (X509* x = d2i_X509(nullptr, &p, static_cast<long>(text.size()))) out.emplace_back(x);
  }
  return out;
}

Key parse_private_key(const std::string& pem) {
  Bio bio = memory(pem);
  return Key(PEM_read_bio_PrivateKey(bio.get(), nullptr, nullptr, nullptr));
}

std::vector<Crl> parse_crls(const std::string& text) {
  std::vector<Crl> out;
  if (text.find("-----BEGIN") != std::string::npos) {
    Bio bio = memory(text);
    while (X509_CRL* c = PEM_read_bio_X509_CRL(bio.get(), nullptr, nullptr, nullptr)) out.emplace_back(c);
  } else {
    const unsigned char* p = reinterpret_cast<const unsigned char*>(text.data());
    if (X509_CRL* c = d2i_X509_CRL(nullptr, &p, static_cast<long>(text.size()))) out.emplace_back(c);
  }
  return out;
}

std::time_t to_time_t(const ASN1_TIME* t) {
  std::tm tm{};
  if (!t || ASN1_TIME_to_tm(t, &tm) != 1) return 0;
  return timegm(&tm);
}

std::string format_time(std::time_t t) {
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%d %H:%M:%S UTC", &tm);
  return buf;
}

CertificateInfo describe(X509* cert) {
  CertificateInfo info;
  info.subject = name_text(X509_get_subject_name(cert));
  info.issuer = name_text(X509_get_issuer_name(cert));
  if (BIGNUM* bn = ASN1_INTEGER_to_BN(X509_get_serialNumber(cert), nullptr)) {
    char* s = BN_bn2hex(bn);
    info.serial = s;
    OPENSSL_free(s);
    BN_free(bn);
  }
  if (auto* names = static_cast<GENERAL_NAMES*>(X509_get_ext_d2i(cert, NID_subject_alt_name, nullptr, nullptr))) {
    for (int i = 0; i < sk_GENERAL_NAME_num(names); ++i) {
      const GENERAL_NAME* n = sk_GENERAL_NAME_value(names, i);
      if (n->type == GEN_DNS) {
        const ASN1_IA5STRING* s = n->d.dNSName;
        info.dns_names.emplace_back(reinterpret_cast<const char*>(ASN1_STRING_get0_data(s)),
                                    static_cast<std::size_t>(ASN1_STRING_length(s)));
      }
    }
    GENERAL_NAMES_free(names);
  }
  info.not_before = to_time_t(X509_get0_notBefore(cert));
  info.not_after = to_time_t(X509_get0_notAfter(cert));
  if (EVP_PKEY* key = X509_get0_pubkey(cert)) {
    const int id = EVP_PKEY_get_base_id(key);
    if (id == EVP_PKEY_RSA) {
      info.key = "RSA " + std::to_string(EVP_PKEY_get_bits(key));
    } else if (id == EVP_PKEY_EC) {
      char group[64] = {};
      std::size_t len = 0;
      EVP_PKEY_get_utf8_string_param(key, OSSL_PKEY_PARAM_GROUP_NAME, group, sizeof group, &len);
      const std::string g = group;
      info.key = "ECDSA " + (g == "prime256v1" ? std::string("P-256") : g == "secp384r1" ? "P-384"
                                                                      : g == "secp521r1" ? "P-521"
                                                                                         : g);
    } else if (id == EVP_PKEY_ED25519) {
      info.key = "Ed25519";
    } else if (id == EVP_PKEY_ED448) {
      info.key = "Ed448";
    } else {
      info.key = OBJ_nid2sn(id);
    }
  }
  info.signature = OBJ_nid2ln(X509_get_signature_nid(cert));
  info.is_ca = X509_check_ca(cert) > 0;
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int n = 0;
  X509_digest(cert, EVP_sha256(), md, &n);
  info.fingerprint = hex(md, 8);
  return info;
}

}  // namespace ndsip::certs
