#include "kernel/netlink_socket.hpp"

#include <linux/netlink.h>
#include <netlink/errno.h>
#include <netlink/msg.h>
#include <netlink/netlink.h>
#include <netlink/socket.h>
#include <sys/socket.h>

#include <cerrno>
#include <cstring>

#ifndef NETLINK_GET_STRICT_CHK
#define NETLINK_GET_STRICT_CHK 12
#endif

namespace ndsip::kernel {
namespace {

// Large enough for any datagram the kernel sends: dump parts are at most 32 KiB, and a
// notification is one message. A datagram that still does not fit is reported truncated.
constexpr std::size_t kDatagramSize = 64 * 1024;

}  // namespace

std::string libnl_error(int nl_error) { return nl_geterror(nl_error); }
std::string errno_text(int error) { return std::strerror(error); }

NetlinkSocket::NetlinkSocket(SocketOptions options) : options_(std::move(options)), buffer_(kDatagramSize) {
  const std::string what = options_.what.empty() ? "netlink" : options_.what;
  sock_ = nl_socket_alloc();
  if (!sock_) throw Error(what + ": no memory for a socket");
  // Sequence numbers and acknowledgements are ours to check (Answer), on every message.
  nl_socket_disable_seq_check(sock_);
  nl_socket_disable_auto_ack(sock_);
  try {
    if (const int err = nl_connect(sock_, options_.protocol); err < 0) {
      throw Error(what + ": cannot open a netlink socket: " + libnl_error(err));
    }
    if (const int err = nl_socket_set_nonblocking(sock_); err < 0) {
      throw Error(what + ": cannot make the socket non-blocking: " + libnl_error(err));
    }
    for (unsigned group : options_.groups) {
      if (const int err = nl_socket_add_membership(sock_, static_cast<int>(group)); err < 0) {
        throw Error(what + ": cannot join netlink group " + std::to_string(group) + ": " + libnl_error(err));
      }
    }
    if (options_.receive_buffer > 0) {
      // A best effort: a larger buffer only makes overruns rarer, and they are handled.
      const int size = options_.receive_buffer;
      if (::setsockopt(fd(), SOL_SOCKET, SO_RCVBUFFORCE, &size, sizeof size) != 0) {
        ::setsockopt(fd(), SOL_SOCKET, SO_RCVBUF, &size, sizeof size);
      }
    }
    if (options_.strict) {
      // Kernels before 4.20 do not know it and dump everything; the caller filters anyway.
      const int on = 1;
      ::setsockopt(fd(), SOL_NETLINK, NETLINK_GET_STRICT_CHK, &on, sizeof on);
    }
  } catch (...) {
    nl_socket_free(sock_);
    throw;
  }
}

NetlinkSocket::~NetlinkSocket() {
  release_datagram();
  nl_socket_free(sock_);  // closes the descriptor
}

int NetlinkSocket::fd() const { return nl_socket_get_fd(sock_); }

std::uint32_t NetlinkSocket::port() const { return nl_socket_get_local_port(sock_); }

std::uint32_t NetlinkSocket::send(const Request& request) {
  const std::string what = request.what.empty() ? options_.what : request.what;
  const int flags = NLM_F_REQUEST | (request.dump ? NLM_F_DUMP : 0);
  nl_msg* msg = nlmsg_alloc_simple(request.type, flags);
  if (!msg) throw Error(what + ": no memory for a request");
  const std::uint32_t seq = next_seq_++;
  int err = request.build ? request.build(msg) : 0;
  if (err >= 0) {
    nlmsg_hdr(msg)->nlmsg_seq = seq;  // nl_send_auto keeps a sequence number already set
    err = nl_send_auto(sock_, msg);
  }
  nlmsg_free(msg);
  if (err < 0) throw Error(what + ": cannot send the request: " + libnl_error(err));
  return seq;
}

Datagram NetlinkSocket::receive() {
  release_datagram();
  for (;;) {
    sockaddr_nl from{};
    iovec iov{buffer_.data(), buffer_.size()};
    msghdr msg{};
    msg.msg_name = &from;
    msg.msg_namelen = sizeof from;
    msg.msg_iov = &iov;
    msg.msg_iovlen = 1;
    const ssize_t n = ::recvmsg(fd(), &msg, MSG_DONTWAIT);
    if (n < 0) {
      const int e = errno;
      if (e == EINTR) continue;
      if (e == EAGAIN || e == EWOULDBLOCK) return {Datagram::Status::again, 0, {}};
      if (e == ENOBUFS) return {Datagram::Status::overrun, e, {}};
      return {Datagram::Status::failed, e, {}};
    }
    last_size_ = static_cast<std::size_t>(n);
    if (msg.msg_flags & MSG_TRUNC) return {Datagram::Status::failed, EMSGSIZE, {}};
    // Any process may send to our port; only the kernel (port 0) speaks for the kernel.
    if (from.nl_pid != 0 || n == 0) {
      release_datagram();
      continue;
    }
    return {Datagram::Status::data, 0, std::span<std::uint8_t>(buffer_.data(), last_size_)};
  }
}

void NetlinkSocket::release_datagram() {
  if (options_.wipe && last_size_ > 0) ::explicit_bzero(buffer_.data(), std::min(last_size_, buffer_.size()));
  last_size_ = 0;
}

void for_each_message(std::span<std::uint8_t> datagram, const std::function<void(nlmsghdr*)>& f) {
  int remaining = static_cast<int>(datagram.size());
  for (auto* h = reinterpret_cast<nlmsghdr*>(datagram.data()); nlmsg_ok(h, remaining); h = nlmsg_next(h, &remaining)) {
    f(h);
  }
}

}  // namespace ndsip::kernel
