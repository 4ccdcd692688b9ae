// A node's credential files, read once into memory. Everything downstream (the TS 33.310
// checks, the load into charon) works on these bytes, never on the paths again: a renewal
// written between the check and the load cannot slip into charon unchecked.
#pragma once

#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "certs/checks.hpp"

namespace ndsip::certs {

struct CredentialFiles {
  CredentialPaths paths;
  std::optional<std::string> ca_bundle, cert, key;  // nullopt: not configured or unreadable
  std::vector<std::pair<std::string, std::string>> crls;  // (file, contents), sorted by file
  std::vector<CertProblem> problems;  // unreadable files, a key file that is not private
};

// Reads what is configured (empty paths are skipped). The key file is opened once without
// following symlinks and checked on that descriptor: a regular file, owned by this process's
// user, no group or other permission bits; otherwise it is refused, not read.
CredentialFiles read_credential_files(const CredentialPaths& paths);

}  // namespace ndsip::certs
