// The control protocol between ndsipd and ndsipctl, in one place both sides include: one JSON
// object per line each way. Request: {"protocol": 1, "command": "status", ...arguments}.
// Answer: {"protocol": 1, "ok": true, ...} or {"protocol": 1, "ok": false, "error": "...",
// "problems": [...]}. docs/control.md documents every command and its answer.
#pragma once

#include <cstddef>

namespace ndsip::control {

inline constexpr int protocol_version = 1;
inline constexpr const char* default_socket = "/run/ndsip/ndsipd.sock";
// A push carries a topology of up to 64 MiB, JSON-escaped; anything longer is refused
// before it is buffered in full.
inline constexpr std::size_t max_request_bytes = 160u * 1024 * 1024;

// The keys both sides read. The protocol's version is "protocol", never "version", so it
// cannot collide with a topology's version in an answer.
namespace key {
inline constexpr const char* protocol = "protocol";
inline constexpr const char* command = "command";
inline constexpr const char* ok = "ok";
inline constexpr const char* error = "error";
inline constexpr const char* problems = "problems";
inline constexpr const char* note = "note";
// What a push, diff, rollback or reload did (or would do) to charon's connections.
inline constexpr const char* load = "load";
inline constexpr const char* unload = "unload";
inline constexpr const char* unchanged = "unchanged";
inline constexpr const char* topology_version = "topology_version";
inline constexpr const char* digest = "digest";
}  // namespace key

}  // namespace ndsip::control
