// Certificate generation for the test lab with strongSwan's `pki` tool:
// ECDSA P-256 keys, a self-signed CA, end-entity certificates with one subjectAltName
// (a dNSName, or an iPAddress when it is an IP address: pki encodes what the string is).
#pragma once

#include <string>

namespace ndsip::lab::pki {

struct Credential {
  std::string key;   // path of the private key (PEM, mode 0600)
  std::string cert;  // path of the certificate (PEM)
};

// ECDSA P-256 private key in PEM at `path`.
void generate_key(const std::string& path);

// Self-signed CA certificate (subject "CN=<common_name>") with a fresh key:
// writes <dir>/ca.key.pem and <dir>/ca.cert.pem.
Credential make_ca(const std::string& dir, const std::string& common_name, int lifetime_days = 365);

// End-entity certificate for `fqdn`, issued by `ca`: subject "CN=<fqdn>",
// subjectAltName dNSName <fqdn>, fresh key. Writes key_path and cert_path.
Credential issue(const Credential& ca, const std::string& fqdn, const std::string& key_path,
                 const std::string& cert_path, int lifetime_days = 365);

// The same with the flaws a test needs (certificate renewals that must be refused).
struct IssueOptions {
  std::string digest;                 // "" (pki's default, SHA-256) or e.g. "sha1"
  std::string not_before, not_after;  // "YYYY-MM-DD HH:MM:SS" (UTC), "" for now / lifetime
  bool reuse_key = false;             // sign the existing key at key_path instead of a new one
  std::string san;                    // "" : fqdn; an IP address ("192.0.2.10") is an iPAddress SAN,
                                      // which TLS clients need to reach a server by address
  std::string serial;                 // "" : random; hex (OpenSSL's mock CMP server wants a KUR's answer
                                      // to carry the old certificate's serial)
};
Credential issue(const Credential& ca, const std::string& fqdn, const std::string& key_path,
                 const std::string& cert_path, const IssueOptions& options);

}  // namespace ndsip::lab::pki
