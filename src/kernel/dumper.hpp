// Reads kernel tables through requests on one socket: the one blocking dump allowed at
// start-up (run_now: poll() with a deadline; the kernel builds each dump part inside recvmsg,
// so it never waits on anything but its own work), and every later one on the loop (run:
// each answer read as the socket becomes readable). One run at a time, since the kernel runs
// one dump per socket. A run that fails gets a fresh socket next time, so a dump abandoned
// half-way cannot answer the next request.
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "kernel/netlink_channel.hpp"

namespace ndsip::kernel {

// One message of the answer to requests[index].
using Collect = std::function<void(std::size_t index, nlmsghdr* message)>;

struct Outcome {
  enum class Status {
    complete,     // every request answered in full
    interrupted,  // a table changed during its dump: read again
    failed,       // see error
  };
  Status status = Status::complete;
  std::string error;
};

class Dumper {
 public:
  Dumper(boost::asio::io_context& io, SocketOptions options);
  ~Dumper();
  Dumper(const Dumper&) = delete;
  Dumper& operator=(const Dumper&) = delete;

  // Blocking, at most `timeout` in all: for start-up only.
  Outcome run_now(const std::vector<Request>& requests, const Collect& collect, std::chrono::milliseconds timeout);
  // On the loop; `done` gets the outcome (not called when the Dumper is destroyed first).
  void run(std::vector<Request> requests, Collect collect, std::function<void(Outcome)> done,
           std::chrono::milliseconds timeout);
  bool busy() const { return busy_; }

 private:
  struct Run;
  NetlinkChannel& channel();  // opens it when there is none; throws Error
  void send_next();
  void read();
  void finish(Outcome outcome);

  boost::asio::io_context& io_;
  SocketOptions options_;
  std::unique_ptr<NetlinkChannel> channel_;
  boost::asio::steady_timer deadline_;
  std::unique_ptr<Run> run_;
  bool busy_ = false;
  std::shared_ptr<int> life_ = std::make_shared<int>(0);
};

}  // namespace ndsip::kernel
