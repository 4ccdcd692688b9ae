#include "kernel/netlink_channel.hpp"

namespace ndsip::kernel {

NetlinkChannel::NetlinkChannel(boost::asio::io_context& io, SocketOptions options)
    : socket_(std::move(options)), stream_(io) {
  boost::system::error_code ec;
  stream_.assign(socket_.fd(), ec);
  if (ec) throw Error(socket_.options().what + ": cannot watch the socket: " + ec.message());
}

NetlinkChannel::~NetlinkChannel() {
  // Cancels the wait (its handler sees the channel gone) and hands the descriptor back
  // unclosed: ~NetlinkSocket closes it.
  if (stream_.is_open()) stream_.release();
}

void NetlinkChannel::when_readable(std::function<void(const boost::system::error_code&)> ready) {
  std::weak_ptr<int> life = life_;
  stream_.async_wait(boost::asio::posix::stream_descriptor::wait_read,
                     [life, ready = std::move(ready)](const boost::system::error_code& ec) {
                       if (!life.expired()) ready(ec);
                     });
}

}  // namespace ndsip::kernel
