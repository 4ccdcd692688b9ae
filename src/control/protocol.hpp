// The control protocol between ndsipd and ndsipctl, in one place both sides include: one JSON
// object per line each way. Request: {"protocol": 1, "command": "status", ...arguments}.
// Answer: {"protocol": 1, "ok": true, ...} or {"protocol": 1, "ok": false, "error": "...",
// "problems": [...]}. docs/control.md documents every command and its answer.
#pragma once

#include <cstddef>

namespace ndsip::control {

inline constexpr int protocol_version = 1;
inline constexpr const char* default_socket = "/run/ndsip/ndsipd.sock";
// A request is one line of at most this many bytes; longer ones are refused before they are
// buffered in full. A push carries the topology file's text JSON-escaped: a 10,000-node
// topology is about 6 MB (bench/plan_bench), so 16 MiB leaves it room twice over and no more.
inline constexpr std::size_t max_request_bytes = 16u * 1024 * 1024;
// Requests nest one level (an object of strings and numbers); deeper is refused unparsed.
inline constexpr int max_request_depth = 8;

// The keys both sides read. The protocol's version is "protocol", never "version", so it
// cannot collide with a topology's version in an answer.
namespace key {
inline constexpr const char* protocol = "protocol";
inline constexpr const char* command = "command";
inline constexpr const char* ok = "ok";
inline constexpr const char* error = "error";
inline constexpr const char* problems = "problems";
inline constexpr const char* note = "note";
// Set in the answer that refuses a peer the socket (SO_PEERCRED): for ndsipctl that is as
// good as no ndsipd at all.
inline constexpr const char* denied = "denied";
// What a push, diff, rollback or reload did (or would do) to charon's connections.
inline constexpr const char* load = "load";
inline constexpr const char* unload = "unload";
inline constexpr const char* unchanged = "unchanged";
inline constexpr const char* topology_version = "topology_version";
inline constexpr const char* digest = "digest";
}  // namespace key

}  // namespace ndsip::control
