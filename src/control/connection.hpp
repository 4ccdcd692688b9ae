// One client of the control socket: its peer checked, its requests read one line at a time
// within the limits (size, depth, time, the server's shared memory budget), dispatched, and
// answered in order.
#pragma once

#include <boost/asio/local/stream_protocol.hpp>
#include <boost/asio/steady_timer.hpp>
#include <array>
#include <chrono>
#include <memory>
#include <optional>
#include <string>

#include "control/command_table.hpp"

namespace ndsip::control {

struct Limits {
  std::size_t max_connections = 64;             // at once; more are answered "busy" and closed
  std::size_t max_request_bytes = 16u << 20;    // one request line
  std::size_t max_buffered_bytes = 64u << 20;   // all connections' unfinished requests together
  std::chrono::milliseconds request_timeout{std::chrono::seconds(10)};  // to send a whole request
  int max_depth = 8;                            // JSON nesting of a request
};

// What the connections of one server share.
struct Shared {
  Handler handler;
  Limits limits;
  std::optional<gid_t> group;
  std::size_t connections = 0;  // open now
  std::size_t buffered = 0;     // bytes of unfinished requests, all connections
};

class Connection : public std::enable_shared_from_this<Connection> {
 public:
  using Socket = boost::asio::local::stream_protocol::socket;
  Connection(Socket socket, std::shared_ptr<Shared> shared);
  ~Connection();

  void start();
  // Answers `why` and closes (too many connections).
  void refuse(const std::string& why);

 private:
  void read_more();
  void arm_deadline();
  bool next_request();  // dispatches a complete line if there is one
  void dispatch(const std::string& line);
  void send(Json answer, bool close_after);
  void linger_then_close();
  void discard();
  void release(std::size_t bytes);

  Socket socket_;
  boost::asio::steady_timer deadline_, linger_;
  std::shared_ptr<Shared> shared_;
  std::string pending_;   // received, not yet a complete request
  std::size_t scanned_ = 0;  // bytes of pending_ known to hold no newline
  std::array<char, 65536> chunk_{};
  bool counted_ = false;
};

}  // namespace ndsip::control
