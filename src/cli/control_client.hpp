// ndsipctl's side of the control socket: one request, one response (see
// daemon/control_protocol.hpp). Blocking with a timeout: a tool, not a daemon.
#pragma once

#include <chrono>
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

namespace ndsip::cli {

inline constexpr const char* default_control_socket = "/run/ndsip/ndsipd.sock";

struct ControlResult {
  std::optional<nlohmann::json> response;  // absent when the daemon could not be reached
  std::string error;                       // why not
};

// Adds "version" to the request, sends it, and reads one response line.
ControlResult control_request(const std::string& socket_path, nlohmann::json request,
                              std::chrono::milliseconds timeout = std::chrono::seconds(120));

}  // namespace ndsip::cli
