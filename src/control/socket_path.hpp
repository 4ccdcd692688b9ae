// Claiming the control socket's path safely. The directory must belong to root (or ndsipd's
// user) and be writable by nobody else, so nobody can swap the path under us. An existing
// path is removed only when it is a socket nobody answers on (a stale one of a crashed run):
// a live ndsipd keeps its socket, and a regular file or a link is never deleted.
#pragma once

#include <sys/types.h>

#include <optional>
#include <string>

namespace ndsip::control {

// Throws std::runtime_error saying what is wrong and what to do.
void check_socket_directory(const std::string& socket_path);
void clear_stale_socket(const std::string& socket_path);

// The group's id; throws when it does not exist. nullopt for "".
std::optional<gid_t> control_group_id(const std::string& group);

}  // namespace ndsip::control
