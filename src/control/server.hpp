// The control socket: a unix stream socket on the daemon's io_context, mode 0660, group
// configurable. Bounded against its users: a cap on connections, a time limit to send a
// request, a size and nesting limit on each and a memory budget for all together, and a
// pause (not a spin) when the process runs out of file descriptors. Requests are JSON lines
// (connection.hpp); a malformed, oversized or unknown one gets an error, never a crash.
#pragma once

#include <sys/types.h>

#include <boost/asio/io_context.hpp>
#include <memory>
#include <string>

#include "control/command_table.hpp"
#include "control/connection.hpp"

namespace ndsip::control {

class Server {
 public:
  // Claims `path` (socket_path.hpp: a safe directory; a stale socket replaced, a live one or
  // anything else refused), binds it 0660 and gives it to `group`. `handler` gets each
  // well-formed request (usually CommandTable::dispatch). Throws std::runtime_error when it
  // cannot.
  Server(boost::asio::io_context& io, const std::string& path, const std::string& group, Handler handler,
         Limits limits = {});
  // Closes the socket and removes its path, if the path is still this socket.
  ~Server();
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

 private:
  struct Impl;
  std::shared_ptr<Impl> impl_;
};

}  // namespace ndsip::control
