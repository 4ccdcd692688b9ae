#include "certs/checks.hpp"

#include <openssl/x509_vfy.h>
#include <openssl/x509v3.h>

#include <algorithm>

#include "certs/files.hpp"

namespace ndsip::certs {

namespace {

bool weak_signature(const std::string& algorithm) {
  std::string lower = algorithm;
  std::transform(lower.begin(), lower.end(), lower.begin(), [](unsigned char c) { return std::tolower(c); });
  return lower.find("sha1") != std::string::npos || lower.find("md5") != std::string::npos ||
         lower.find("sha-1") != std::string::npos;
}

bool iequals(const std::string& a, const std::string& b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](unsigned char x, unsigned char y) {
           return std::tolower(x) == std::tolower(y);
         });
}

struct StoreFree { void operator()(X509_STORE* s) const { X509_STORE_free(s); } };
struct CtxFree { void operator()(X509_STORE_CTX* c) const { X509_STORE_CTX_free(c); } };

}  // namespace

bool revoked_by(X509* cert, const std::vector<std::string>& crl_texts) {
  for (const std::string& text : crl_texts) {
    for (const Crl& crl : parse_crls(text)) {
      if (X509_NAME_cmp(X509_CRL_get_issuer(crl.get()), X509_get_issuer_name(cert)) != 0) continue;
      X509_REVOKED* entry = nullptr;
      if (X509_CRL_get0_by_cert(crl.get(), &entry, cert) == 1) return true;
    }
  }
  return false;
}

std::string CertProblem::to_string() const { return file + ": " + message + " [" + rule + "]"; }

long days_until(std::time_t t, std::time_t now) {
  const long long diff = static_cast<long long>(t) - static_cast<long long>(now);
  return static_cast<long>(diff >= 0 ? diff / 86400 : -((-diff + 86399) / 86400));
}

CheckResult check_credentials(const CredentialPaths& paths, const std::string& identity, std::time_t now) {
  return check_credentials(read_credential_files(paths), identity, now);
}

CheckResult check_credentials(const CredentialFiles& files, const std::string& identity, std::time_t now) {
  CheckResult r;
  r.problems = files.problems;  // unreadable files, a key that is not private
  const CredentialPaths& paths = files.paths;
  auto problem = [&](const std::string& file, const char* rule, const std::string& message) {
    r.problems.push_back({file, rule, message});
  };

  // The CA bundle.
  std::vector<Cert> cas;
  if (!paths.ca_bundle.empty()) {
    if (files.ca_bundle) {
      cas = parse_certificates(*files.ca_bundle);
      if (cas.empty()) problem(paths.ca_bundle, "format", "no certificate in the CA bundle");
      for (const Cert& c : cas) r.cas.push_back(describe(c.get()));
    }
  }
  // CRLs.
  std::vector<Crl> crls;
  {
    for (const auto& [file, text] : files.crls) {
      auto parsed = parse_crls(text);
      if (parsed.empty()) {
        problem(file, "format", "not a CRL (PEM or DER)");
        continue;
      }
      for (Crl& c : parsed) {
        CrlInfo info;
        info.file = file;
        char* issuer = X509_NAME_oneline(X509_CRL_get_issuer(c.get()), nullptr, 0);
        info.issuer = issuer ? issuer : "";
        OPENSSL_free(issuer);
        info.last_update = to_time_t(X509_CRL_get0_lastUpdate(c.get()));
        info.next_update = to_time_t(X509_CRL_get0_nextUpdate(c.get()));
        const auto* revoked = X509_CRL_get_REVOKED(c.get());
        info.revoked = revoked ? static_cast<std::size_t>(sk_X509_REVOKED_num(revoked)) : 0;
        r.crls.push_back(info);
        crls.push_back(std::move(c));
      }
    }
  }
  if (paths.cert.empty()) return r;

  // The node's certificate.
  if (!files.cert) return r;  // unreadable: already a problem
  std::vector<Cert> own = parse_certificates(*files.cert);
  if (own.empty()) {
    problem(paths.cert, "format", "no certificate in it");
    return r;
  }
  X509* cert = own.front().get();
  const CertificateInfo info = describe(cert);
  r.own = info;

  if (now < info.not_before) {
    problem(paths.cert, "not-yet-valid", "not valid before " + format_time(info.not_before));
  }
  if (now > info.not_after) {
    problem(paths.cert, "expired", "expired on " + format_time(info.not_after));
  }
  if (!identity.empty() &&
      std::none_of(info.dns_names.begin(), info.dns_names.end(), [&](const std::string& n) { return iequals(n, identity); })) {
    std::string have;
    for (const auto& n : info.dns_names) have += (have.empty() ? "" : ", ") + n;
    problem(paths.cert, "san", "subjectAltName has no dNSName \"" + identity + "\" (the node's identity" +
                                   std::string(have.empty() ? "; it has none" : "; it has " + have) + ")");
  }
  const bool key_ok = info.key == "ECDSA P-256" || info.key == "ECDSA P-384" || info.key == "Ed25519" ||
                      (info.key.rfind("RSA ", 0) == 0 && std::stoi(info.key.substr(4)) >= 2048);
  if (!key_ok) {
    problem(paths.cert, "key-type", "key " + info.key + " is not allowed (RSA >= 2048, ECDSA P-256/P-384, Ed25519)");
  }
  if (weak_signature(info.signature)) {
    problem(paths.cert, "signature", "signed with " + info.signature + " (SHA-1 and MD5 are refused, TS 33.310)");
  }
  for (std::size_t i = 0; i < cas.size(); ++i) {
    // A root's self-signature proves nothing; an intermediate's signature does.
    const bool self_signed = X509_check_issued(cas[i].get(), cas[i].get()) == X509_V_OK;
    if (!self_signed && weak_signature(r.cas[i].signature)) {
      problem(paths.ca_bundle, "signature", "CA \"" + r.cas[i].subject + "\" is signed with " + r.cas[i].signature);
    }
  }

  // Chains to the bundle (and is not revoked, when CRLs are configured). Time is checked above.
  if (!cas.empty()) {
    std::unique_ptr<X509_STORE, StoreFree> store(X509_STORE_new());
    for (const Cert& c : cas) X509_STORE_add_cert(store.get(), c.get());
    unsigned long flags = X509_V_FLAG_NO_CHECK_TIME | X509_V_FLAG_PARTIAL_CHAIN;
    if (!crls.empty()) {
      for (const Crl& c : crls) X509_STORE_add_crl(store.get(), c.get());
      flags |= X509_V_FLAG_CRL_CHECK;
    }
    X509_STORE_set_flags(store.get(), flags);
    std::unique_ptr<X509_STORE_CTX, CtxFree> ctx(X509_STORE_CTX_new());
    STACK_OF(X509)* chain = sk_X509_new_null();
    for (std::size_t i = 1; i < own.size(); ++i) sk_X509_push(chain, own[i].get());
    X509_STORE_CTX_init(ctx.get(), store.get(), cert, chain);
    if (X509_verify_cert(ctx.get()) != 1) {
      const int err = X509_STORE_CTX_get_error(ctx.get());
      if (err == X509_V_ERR_CERT_REVOKED) {
        problem(paths.cert, "revoked", "revoked by a CRL in " + paths.crl_dir);
      } else if (err == X509_V_ERR_UNABLE_TO_GET_CRL) {
        // No CRL from this certificate's issuer: not a failure of the certificate.
      } else {
        problem(paths.cert, "chain", std::string("does not chain to the CA bundle ") + paths.ca_bundle + ": " +
                                         X509_verify_cert_error_string(err));
      }
    }
    sk_X509_free(chain);
  }

  // The private key: private, and the certificate's.
  // The private key (its file's type, owner and mode were checked when it was read).
  if (files.key) {
    const Key key = parse_private_key(*files.key);
    if (!key) {
      problem(paths.key, "format", "not a PEM private key");
    } else if (X509_check_private_key(cert, key.get()) != 1) {
      problem(paths.key, "key-match", "does not match the certificate " + paths.cert);
    }
  }
  return r;
}

}  // namespace ndsip::certs
