// Obtaining a certificate end to end, for ndsipd's renewal (KUR) and `ndsipctl enrol` (IR):
// the key to certify (from a file, or generated), the CMP exchange, the TS 33.310 checks on
// the issued certificate (the very checks ndsipd runs before it loads credentials: chain to
// the CA bundle, the node's identity, key type, no SHA-1, validity, the key's match), and,
// only when all passed, the key and certificate written atomically where ndsipd reads them.
// Bad answers never touch the files. Blocking: run it off the event loop.
#pragma once

#include <chrono>
#include <ctime>
#include <string>
#include <vector>

#include "certs/x509.hpp"
#include "cmp/exchange.hpp"

namespace ndsip::cmp {

struct ObtainJob {
  Kind kind = Kind::kur;
  std::string server_url, trusted_pem;            // see Request
  std::string auth_cert_pem, auth_key_pem;        // KUR: the credentials in use; IR: a vendor's
  std::string reference, secret;                  // IR with PBM
  std::string identity;                           // the node's identity (SAN dNSName)
  std::string subject;                            // IR: "" is "CN=<identity>"
  // The key to certify: read from `new_key_file` (owner-only, like every secret file) when
  // set; else generated as `key_spec` ("ec:P-256", ...); "" is the type and size of the
  // current key (KUR), or ec:P-256 (IR).
  std::string new_key_file, key_spec;
  std::string ca_bundle_pem, ca_bundle_name;      // what the issued certificate must chain to
  std::string cert_path, key_path;                // where it is written
  std::chrono::seconds message_timeout{30}, total_timeout{120};
};

struct ObtainOutcome {
  bool ok = false;
  std::string error;      // when not ok: what failed, for the log and status (no secrets)
  std::string failed_at;  // Result::failed_at, or "key" (the new key), "check" (TS 33.310), "write"
  std::string pki_status;
  std::vector<std::string> problems;   // failed_at "check": each refused rule
  certs::CertificateInfo issued;       // when ok (and for "check": the refused one, if parsed)
  std::string key_spec;                // the certified key's type
};

ObtainOutcome obtain(const ObtainJob& job);

// The checks alone (also used by tests): the issued certificate `cert_pem` with `key_pem` as
// its key, against the bundle, for `identity`, at `now`. Empty: acceptable.
std::vector<std::string> check_issued(const std::string& cert_pem, const std::string& key_pem,
                                      const std::string& ca_bundle_pem, const std::string& ca_bundle_name,
                                      const std::string& identity, std::time_t now);

}  // namespace ndsip::cmp
