// The TS 33.310 / policy checks of a node's credentials: its certificate chains to the CA
// bundle, carries the node's identity as a SAN dNSName, has an allowed key (RSA >= 2048,
// ECDSA P-256/P-384, Ed25519) and no SHA-1/MD5 signature, is valid now, matches its private
// key, and the key file is private. Each failure names the file and the rule.
#pragma once

#include <ctime>
#include <optional>
#include <string>
#include <vector>

#include "certs/x509.hpp"

namespace ndsip::certs {

struct CertProblem {
  std::string file;
  std::string rule;     // "chain", "san", "key-type", "signature", "expired", "not-yet-valid",
                        // "revoked", "key-match", "key-permissions", "unreadable", "format"
  std::string message;
  std::string to_string() const;  // "<file>: <message> [<rule>]"
};

struct CredentialPaths {
  std::string cert, key, ca_bundle, crl_dir;
};

struct CrlInfo {
  std::string file, issuer;
  std::time_t last_update = 0, next_update = 0;
  std::size_t revoked = 0;
};

struct CheckResult {
  std::vector<CertProblem> problems;      // empty: the credentials may be loaded
  std::optional<CertificateInfo> own;     // the node's certificate, if it could be read
  std::vector<CertificateInfo> cas;       // the bundle, in order
  std::vector<CrlInfo> crls;
};

struct CredentialFiles;  // certs/files.hpp

// `identity`: the node's identity from the topology ("" skips the SAN check, e.g. before any
// topology is accepted). `now`: the time to check validity at. Checks exactly the bytes in
// `files`; the caller loads those same bytes.
CheckResult check_credentials(const CredentialFiles& files, const std::string& identity, std::time_t now);
// Reads the files (read_credential_files) and checks them: for tools and tests.
CheckResult check_credentials(const CredentialPaths& paths, const std::string& identity, std::time_t now);

// Whether one of the CRLs (PEM or DER texts) from `cert`'s issuer lists its serial.
bool revoked_by(X509* cert, const std::vector<std::string>& crl_texts);

// Days (rounded down) from `now` to `t`; negative once passed.
long days_until(std::time_t t, std::time_t now);

}  // namespace ndsip::certs
