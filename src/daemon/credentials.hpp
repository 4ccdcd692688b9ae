// The credential files ndsipd loads into charon (load-cert, load-key): own certificate, its
// key, the CA bundle and the CRL directory. Read and checked here; nothing of a key is
// ever logged or put into status.
#pragma once

#include <string>
#include <vector>

#include "certs/checks.hpp"
#include "vici/commands.hpp"

namespace ndsip::daemon {


struct Credentials {
  std::vector<std::string> ca_certs;  // one PEM block each
  std::string own_cert;               // PEM
  std::string key;                    // PEM (secret)
  vici::KeyType key_type = vici::KeyType::any;
  std::vector<std::string> crls;      // file contents (PEM or DER)
  std::vector<std::string> problems;  // "<file>: <what>"; nothing is loaded while non-empty
};

// Reads what is configured (empty paths are skipped). A key file readable by group or others
// is refused: TS 33.310 keys are secrets and the design says so.
Credentials read_credentials(const certs::CredentialPaths& files);

// The PEM blocks of one kind ("CERTIFICATE") in `text`, in order.
std::vector<std::string> pem_blocks(const std::string& text, const std::string& label);

}  // namespace ndsip::daemon
