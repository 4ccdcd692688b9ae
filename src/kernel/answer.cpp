#include "kernel/answer.hpp"

#include <linux/netlink.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "kernel/netlink_socket.hpp"

namespace ndsip::kernel {

Answer::Answer(std::uint32_t port, std::uint32_t seq, bool dump, std::vector<int> nothing_on)
    : port_(port), seq_(seq), dump_(dump), nothing_on_(std::move(nothing_on)) {}

void Answer::note(int error) {
  if (error != 0 && std::find(nothing_on_.begin(), nothing_on_.end(), error) == nothing_on_.end()) error_ = error;
}

void Answer::feed(std::span<std::uint8_t> datagram, const std::function<void(nlmsghdr*)>& message) {
  for_each_message(datagram, [&](nlmsghdr* h) {
    if (complete_ || h->nlmsg_seq != seq_ || h->nlmsg_pid != port_) return;
    if (h->nlmsg_flags & NLM_F_DUMP_INTR) interrupted_ = true;
    switch (h->nlmsg_type) {
      case NLMSG_NOOP:
        return;
      case NLMSG_DONE: {
        // A dump that failed part way says why in DONE's payload (a negative errno).
        if (h->nlmsg_len >= NLMSG_LENGTH(sizeof(int))) {
          int status = 0;
          std::memcpy(&status, NLMSG_DATA(h), sizeof status);
          if (status < 0) note(-status);
        }
        complete_ = true;
        return;
      }
      case NLMSG_OVERRUN:
        error_ = ENOBUFS;
        complete_ = true;
        return;
      case NLMSG_ERROR: {
        if (h->nlmsg_len < NLMSG_LENGTH(sizeof(nlmsgerr))) {
          error_ = EBADMSG;
        } else {
          // 0 is an acknowledgement, which ends a request that was not a dump.
          note(-static_cast<const nlmsgerr*>(NLMSG_DATA(h))->error);
        }
        complete_ = true;
        return;
      }
      default:
        message(h);
        if (!dump_) complete_ = true;
        return;
    }
  });
}

}  // namespace ndsip::kernel
