// The credentials as ndsipd loads them into charon (load-cert, load-key): PEM blocks cut from
// the very bytes the TS 33.310 checks ran on (certs/files.hpp). Nothing of a key is ever
// logged or put into status.
#pragma once

#include <string>
#include <vector>

#include "certs/files.hpp"
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

// What charon is given from `files`; `problems` are those of cutting it (no PEM block, not a
// key). The files' read problems are in `files.problems` (and so in the check's).
Credentials credentials_for_charon(const certs::CredentialFiles& files);

// Reads and cuts in one go, the read problems included (tests and tools).
Credentials read_credentials(const certs::CredentialPaths& paths);

// The PEM blocks of one kind ("CERTIFICATE") in `text`, in order.
std::vector<std::string> pem_blocks(const std::string& text, const std::string& label);

}  // namespace ndsip::daemon
