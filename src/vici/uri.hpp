// VICI socket URIs. charon's default is unix:///var/run/charon.vici; ndsip speaks only to
// the local charon, so only unix:// is accepted (tcp:// would expose an unauthenticated
// control channel).
#pragma once

#include <string>
#include <string_view>

namespace ndsip::vici {

inline constexpr std::string_view default_uri = "unix:///var/run/charon.vici";

// The socket path of a unix:// URI. Throws Error(usage) for anything else.
std::string socket_path_of(std::string_view uri);

}  // namespace ndsip::vici
