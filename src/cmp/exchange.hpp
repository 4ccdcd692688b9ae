// One CMPv2 exchange (RFC 4210, as TS 33.310 profiles it) with the operator's CA, through
// OpenSSL 3's CMP client (OSSL_CMP_*): a key update request (KUR) protected with the node's
// current certificate and key, or an initial request (IR) protected with a pre-shared
// reference and secret (PBM) or with an existing (vendor) certificate. Polling ("waiting")
// is followed until the total timeout. Blocking: ndsipd runs it on a worker thread, never on
// its loop. Nothing of a key or a secret is ever put into an error or a log line.
#pragma once

#include <chrono>
#include <functional>
#include <string>
#include <vector>

#include "certs/x509.hpp"

namespace ndsip::cmp {

enum class Kind { kur, ir };
const char* to_string(Kind k);  // "key update (KUR)", "initial request (IR)"

struct Request {
  Kind kind = Kind::kur;
  std::string server_url;  // "http://host:port/path" (https is not offered: CMP protects itself)
  // PEM: the certificates a response's protection must chain to (the operator's CA, or the
  // CA's CMP signer pinned). A response protected by anyone else is refused.
  std::string trusted_pem;
  // What protects the request. KUR: the current certificate and key (required). IR: either
  // these (a vendor certificate) or reference + secret (PBM).
  std::string auth_cert_pem;  // the certificate first; further certificates are sent as extraCerts
  std::string auth_key_pem;   // secret
  std::string reference, secret;  // secret: never logged
  // The certificate asked for. IR: subject ("CN=<identity>" when empty) and the SAN dNSName
  // `identity`. KUR: taken from the current certificate when empty.
  std::string subject, identity;
  EVP_PKEY* new_key = nullptr;  // the key to certify (generated or read by the caller); not owned
  std::chrono::seconds message_timeout{30};  // each HTTP round trip
  std::chrono::seconds total_timeout{120};   // the whole exchange, polling included
  // Runs on the issued certificate before it is confirmed: "" accepts it; otherwise the
  // reason, and the certificate is rejected in the certConf sent to the CA.
  std::function<std::string(X509* cert, const std::vector<X509*>& extra_certs)> accept;
};

struct Result {
  bool ok = false;
  std::string cert_pem;           // the issued certificate (when ok)
  std::vector<std::string> chain_pem;  // extraCerts and caPubs the CA sent, PEM each
  // When not ok: one sentence an operator can act on, e.g. "cannot reach the CMP server
  // http://ca:8080/pkix/: Connection refused", "the CA refused: rejection (badPOP): <text>",
  // "response not protected by a trusted certificate: ...", "certificate refused: <accept's reason>".
  std::string error;
  // Which step failed: "" (ok), "transfer" (no answer), "protection", "status" (an error
  // PKIStatus or an error message), "accept" (accept() refused), "timeout", "other".
  std::string failed_at;
  std::string pki_status;  // "accepted", "rejection", "waiting", ... as the CA last said; "" if none
  std::vector<std::string> fail_info;  // the PKIFailureInfo bit names ("badPOP", ...)
};

Result exchange(const Request& request);

}  // namespace ndsip::cmp
