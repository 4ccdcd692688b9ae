// The kernel's answer to one request, read out of a socket's datagrams: the messages that
// carry the request's sequence number and our port, up to NLMSG_DONE for a dump or the one
// answer otherwise. Leftovers of an earlier request are skipped, so a socket is never read
// out of step. Pure over bytes: unit-tested with hand-made datagrams.
#pragma once

#include <cstdint>
#include <functional>
#include <span>
#include <vector>

struct nlmsghdr;

namespace ndsip::kernel {

class Answer {
 public:
  Answer(std::uint32_t port, std::uint32_t seq, bool dump, std::vector<int> nothing_on = {});

  // Feeds one datagram; `message` gets each data message of this answer.
  void feed(std::span<std::uint8_t> datagram, const std::function<void(nlmsghdr*)>& message);

  bool complete() const { return complete_; }
  // The errno the kernel answered with (0: none). An errno of `nothing_on` completes the
  // answer as empty instead.
  int error() const { return error_; }
  // NLM_F_DUMP_INTR: the table changed while it was dumped; what was read may be inconsistent.
  bool interrupted() const { return interrupted_; }

 private:
  void note(int error);

  std::uint32_t port_, seq_;
  bool dump_;
  std::vector<int> nothing_on_;
  bool complete_ = false, interrupted_ = false;
  int error_ = 0;
};

}  // namespace ndsip::kernel
