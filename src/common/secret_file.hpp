// Reading a file that holds a secret (a private key, a password). One rule for every such
// file: opened once without following links and checked on that descriptor (what is checked
// is what is read): a regular file, owned by this process's user, with no group or other
// permission bits. Otherwise it is refused, not read: a secret others can read is no secret,
// and one others own can be swapped under us.
#pragma once

#include <optional>
#include <string>

namespace ndsip::common {

struct SecretRead {
  enum class Problem { none, unreadable, permissions };
  std::optional<std::string> text;  // the whole file; nullopt when refused or unreadable
  Problem problem = Problem::none;
  // What is wrong, without the path, saying the fix: "is accessible by group or others
  // (mode 640); chmod 600 it", "is a symbolic link; name the file itself", ...
  std::string error;
};

SecretRead read_secret_file(const std::string& path);

}  // namespace ndsip::common
