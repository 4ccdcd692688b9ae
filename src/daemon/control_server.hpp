// The control socket: a unix stream socket (mode 0660, owner root, group configurable) on the
// daemon's io_context. Each connection's peer is checked with SO_PEERCRED before anything is
// read: root, the daemon's own user, or a member of the configured group. Requests are JSON
// lines; an oversized, malformed or unknown request gets an error response, never a crash.
#pragma once

#include <boost/asio/io_context.hpp>
#include <functional>
#include <memory>
#include <string>

#include <nlohmann/json.hpp>

namespace ndsip::daemon {

class ControlServer {
 public:
  // Handles one well-formed request; calls `reply` exactly once (possibly later, e.g. after
  // a push has been applied).
  using Reply = std::function<void(nlohmann::json response)>;
  using Handler = std::function<void(const nlohmann::json& request, Reply reply)>;

  // Binds `path` (replacing a stale socket file), chmods it 0660 and chowns it to the group.
  // Throws std::runtime_error when it cannot.
  ControlServer(boost::asio::io_context& io, const std::string& path, const std::string& group,
                Handler handler);
  ~ControlServer();
  ControlServer(const ControlServer&) = delete;
  ControlServer& operator=(const ControlServer&) = delete;

 private:
  struct Impl;
  std::shared_ptr<Impl> impl_;
};

// An error response.
nlohmann::json control_error(const std::string& message);

}  // namespace ndsip::daemon
