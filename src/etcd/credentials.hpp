// The etcd user and password (etcd's --auth): for ndsipd (etcd-user, etcd-password-file) and
// ndsipctl (--etcd-user, and --etcd-password-file or NDSIP_ETCD_PASSWORD). The password is
// never taken from a command line, where every user of the host can read it in /proc; a
// password file is a secret like a private key: owner-only (common/secret_file.hpp), or it is
// refused, not read. Errors name the file and what is wrong, never the password.
#pragma once

#include <string>

namespace ndsip::etcd {

// Throws std::invalid_argument for a user without a password or a password without a user,
// or either not UTF-8 text (the gateway takes them as JSON strings).
void check_credentials(const std::string& user, const std::string& password);

// The password a file's text holds: the text without one trailing newline ("\n" or "\r\n"),
// as `echo PASS > file` or an editor leaves it. Throws std::invalid_argument when that is
// empty, holds a line break or a NUL byte (a second line is a mistake, not a password), or is
// not UTF-8.
std::string password_from_text(std::string text);

// Reads `path` (owner-only, no links) and takes the password from its text.
std::string read_password_file(const std::string& path);

}  // namespace ndsip::etcd
