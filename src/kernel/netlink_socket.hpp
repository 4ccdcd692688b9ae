// One netlink socket, through libnl: opened non-blocking, requests sent with our own
// sequence numbers, and datagrams read without waiting. Reading is ours (recvmsg) rather than
// nl_recvmsgs' because the loop must tell "nothing yet" (EAGAIN) from "the kernel dropped
// notifications" (ENOBUFS: libnl 3.7 turns both into error codes, the second into
// NLE_NOMEM), and must drop datagrams another process sent to our port. libnl still frames
// and parses every message.
#pragma once

#include <cstdint>
#include <functional>
#include <span>
#include <stdexcept>
#include <string>
#include <vector>

struct nl_sock;
struct nl_msg;
struct nlmsghdr;

namespace ndsip::kernel {

// Netlink could not be used: no socket (a sandbox without AF_NETLINK), no permission (XFRM
// needs CAP_NET_ADMIN), a failed request. Callers turn it into an error state, never a crash.
struct Error : std::runtime_error {
  using std::runtime_error::runtime_error;
};

struct SocketOptions {
  int protocol = 0;               // NETLINK_ROUTE, NETLINK_XFRM
  std::vector<unsigned> groups;   // multicast groups to join (RTNLGRP_*, XFRMNLGRP_*)
  int receive_buffer = 0;         // bytes; 0: the kernel's default
  bool strict = false;            // NETLINK_GET_STRICT_CHK: the kernel filters dumps (by table)
  bool wipe = false;              // zero every datagram once used (XFRM state dumps carry keys)
  std::string what;               // "XFRM events": named in errors
};

// What to ask: the message type, whether it is a dump, and the body (family header and
// attributes) added by `build`.
struct Request {
  std::uint16_t type = 0;
  bool dump = true;
  std::function<int(nl_msg*)> build;  // returns 0 or a (negative) libnl error
  std::vector<int> nothing_on;        // errnos meaning "nothing there" (ENOENT: no such table)
  std::string what;                   // "XFRM policy dump"
};

struct Datagram {
  enum class Status {
    data,     // `bytes` holds one datagram from the kernel
    again,    // nothing to read now
    overrun,  // ENOBUFS: the kernel dropped notifications; the copy must be dumped again
    failed,   // `error` (errno)
  };
  Status status = Status::again;
  int error = 0;
  std::span<std::uint8_t> bytes;  // valid until the next receive()
};

class NetlinkSocket {
 public:
  explicit NetlinkSocket(SocketOptions options);  // throws Error
  ~NetlinkSocket();                               // closes the descriptor (libnl owns it)
  NetlinkSocket(const NetlinkSocket&) = delete;
  NetlinkSocket& operator=(const NetlinkSocket&) = delete;

  int fd() const;
  std::uint32_t port() const;
  const SocketOptions& options() const { return options_; }

  // Sends `request` with a fresh sequence number and returns it. Throws Error.
  std::uint32_t send(const Request& request);
  // One datagram, without waiting. Datagrams not sent by the kernel are dropped unread.
  Datagram receive();
  // Done with the last datagram: zeroed when the socket was opened with `wipe`.
  void release_datagram();

 private:
  SocketOptions options_;
  nl_sock* sock_ = nullptr;
  std::vector<std::uint8_t> buffer_;
  std::size_t last_size_ = 0;
  std::uint32_t next_seq_ = 1;
};

// Calls `f` on each well-formed message of a datagram (nlmsg_ok / nlmsg_next: a message
// whose length runs past the datagram ends the walk).
void for_each_message(std::span<std::uint8_t> datagram, const std::function<void(nlmsghdr*)>& f);

// "Operation not permitted" and friends, for libnl's error codes and errno alike.
std::string libnl_error(int nl_error);
std::string errno_text(int error);

}  // namespace ndsip::kernel
