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

#include "control/command_table.hpp"

namespace ndsip::control {

class Server {
 public:
  // Binds `path` (replacing a stale socket file), chmods it 0660 and chowns it to the group.
  // Throws std::runtime_error when it cannot.
  // `handler` gets each well-formed request (usually CommandTable::dispatch).
  Server(boost::asio::io_context& io, const std::string& path, const std::string& group, Handler handler);
  ~Server();
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

 private:
  struct Impl;
  std::shared_ptr<Impl> impl_;
};

}  // namespace ndsip::control
