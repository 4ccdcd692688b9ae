// The control socket's protocol, shared by ndsipd and ndsipctl: one JSON object per line each
// way. Request: {"version": 1, "command": "status", ...arguments}. Response:
// {"version": 1, "ok": true, ...} or {"version": 1, "ok": false, "error": "...",
// "problems": [...]}. A request of another version gets an error naming both versions.
#pragma once

#include <cstddef>

namespace ndsip::daemon {

inline constexpr int control_protocol_version = 1;
// A push carries a topology of up to 64 MiB, JSON-escaped; anything longer is refused
// before it is buffered in full.
inline constexpr std::size_t max_control_request_bytes = 160u * 1024 * 1024;

}  // namespace ndsip::daemon
