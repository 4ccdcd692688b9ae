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

}  // namespace ndsip::control
