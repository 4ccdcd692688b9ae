// A netlink socket on the daemon's Asio loop: libnl owns the descriptor, Asio only watches it
// for read readiness (stream_descriptor::async_wait), and gives it back before libnl closes
// it, so the descriptor is closed exactly once.
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/system/error_code.hpp>
#include <functional>
#include <memory>

#include "kernel/netlink_socket.hpp"

namespace ndsip::kernel {

class NetlinkChannel {
 public:
  NetlinkChannel(boost::asio::io_context& io, SocketOptions options);  // throws Error
  ~NetlinkChannel();
  NetlinkChannel(const NetlinkChannel&) = delete;
  NetlinkChannel& operator=(const NetlinkChannel&) = delete;

  NetlinkSocket& socket() { return socket_; }
  // `ready` runs once the socket has something to read (or with the wait's error); never
  // after the channel is gone.
  void when_readable(std::function<void(const boost::system::error_code&)> ready);

 private:
  NetlinkSocket socket_;
  boost::asio::posix::stream_descriptor stream_;
  std::shared_ptr<int> life_ = std::make_shared<int>(0);  // handlers hold a weak_ptr to it
};

}  // namespace ndsip::kernel
