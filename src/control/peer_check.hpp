// Who may use the control socket: root, ndsipd's own user, or a member of the control group
// (primary or supplementary, however many groups the user has).
#pragma once

#include <sys/socket.h>
#include <sys/types.h>

#include <optional>
#include <string>

namespace ndsip::control {

// Empty when allowed; otherwise why not ("permission denied: uid 1000 is not root ...").
std::string refusal_of(const ucred& peer, std::optional<gid_t> group);

}  // namespace ndsip::control
