// ndsipctl's side of the control socket: one request, one answer (control/protocol.hpp).
// Blocking with a timeout: a tool, not a daemon.
#pragma once

#include <chrono>
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

namespace ndsip::control {

struct ControlResult {
  std::optional<nlohmann::json> response;  // absent when the daemon could not be reached
  std::string error;                       // why not
};

// Adds the protocol version to the request, sends it, and reads one response line.
ControlResult control_request(const std::string& socket_path, nlohmann::json request,
                              std::chrono::milliseconds timeout = std::chrono::seconds(120));

struct ControlText {
  std::optional<std::string> line;  // the answer as ndsipd sent it, without the newline
  std::string error;                // why there is none
};

// The same exchange, the answer left unparsed: for a caller that passes it on whole (status
// --json at 10,000 tunnels is 3.5 MB; parsing it only to print it again costs more than the
// rest of the command).
ControlText control_request_text(const std::string& socket_path, nlohmann::json request,
                                 std::chrono::milliseconds timeout = std::chrono::seconds(120));

}  // namespace ndsip::control
