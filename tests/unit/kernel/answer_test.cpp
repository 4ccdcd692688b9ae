// The answer to one request, picked out of hand-made datagrams: our sequence number and port
// only, up to DONE or the one answer, errors and "nothing there", interrupted dumps.
#include <gtest/gtest.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>

#include <cerrno>
#include <cstring>
#include <vector>

#include "kernel/answer.hpp"

using ndsip::kernel::Answer;

namespace {

constexpr std::uint32_t kPort = 4242, kSeq = 17;

// Appends one message (header + payload, padded) to a datagram.
void put(std::vector<std::uint8_t>& d, std::uint16_t type, std::uint16_t flags, std::uint32_t seq, std::uint32_t port,
         const void* payload = nullptr, std::size_t size = 0) {
  nlmsghdr h{};
  h.nlmsg_len = static_cast<std::uint32_t>(NLMSG_LENGTH(size));
  h.nlmsg_type = type;
  h.nlmsg_flags = flags;
  h.nlmsg_seq = seq;
  h.nlmsg_pid = port;
  const std::size_t at = d.size();
  d.resize(at + NLMSG_ALIGN(h.nlmsg_len));
  std::memcpy(d.data() + at, &h, sizeof h);
  if (size) std::memcpy(d.data() + at + NLMSG_HDRLEN, payload, size);
}

void put_route(std::vector<std::uint8_t>& d, std::uint32_t seq = kSeq, std::uint32_t port = kPort) {
  rtmsg r{};
  put(d, RTM_NEWROUTE, NLM_F_MULTI, seq, port, &r, sizeof r);
}

void put_error(std::vector<std::uint8_t>& d, int error) {
  nlmsgerr e{};
  e.error = -error;
  put(d, NLMSG_ERROR, 0, kSeq, kPort, &e, sizeof e);
}

int feed(Answer& a, std::vector<std::uint8_t>& d) {
  int n = 0;
  a.feed(d, [&](nlmsghdr* h) {
    EXPECT_EQ(h->nlmsg_type, RTM_NEWROUTE);
    ++n;
  });
  return n;
}

}  // namespace

TEST(KernelAnswer, ADumpRunsOverDatagramsUntilDone) {
  Answer a(kPort, kSeq, true);
  std::vector<std::uint8_t> first, second;
  put_route(first);
  put_route(first);
  put_route(second);
  const int status = 0;
  put(second, NLMSG_DONE, NLM_F_MULTI, kSeq, kPort, &status, sizeof status);
  EXPECT_EQ(feed(a, first), 2);
  EXPECT_FALSE(a.complete());
  EXPECT_EQ(feed(a, second), 1);
  EXPECT_TRUE(a.complete());
  EXPECT_EQ(a.error(), 0);
  EXPECT_FALSE(a.interrupted());
}

TEST(KernelAnswer, LeftoversOfOtherRequestsAndOtherPortsAreSkipped) {
  Answer a(kPort, kSeq, true);
  std::vector<std::uint8_t> d;
  put_route(d, kSeq - 1);            // an earlier dump's tail
  put(d, NLMSG_DONE, NLM_F_MULTI, kSeq - 1, kPort);
  put_route(d, kSeq, kPort + 1);     // not ours
  put_route(d);
  EXPECT_EQ(feed(a, d), 1);
  EXPECT_FALSE(a.complete());
}

TEST(KernelAnswer, NothingAfterDoneIsTaken) {
  Answer a(kPort, kSeq, true);
  std::vector<std::uint8_t> d;
  put(d, NLMSG_DONE, NLM_F_MULTI, kSeq, kPort);
  put_route(d);
  EXPECT_EQ(feed(a, d), 0);
  EXPECT_TRUE(a.complete());
}

TEST(KernelAnswer, AnErrorEndsIt) {
  Answer a(kPort, kSeq, true);
  std::vector<std::uint8_t> d;
  put_error(d, EPERM);
  feed(a, d);
  EXPECT_TRUE(a.complete());
  EXPECT_EQ(a.error(), EPERM);
}

TEST(KernelAnswer, AnErrorThatMeansNothingThereIsAnEmptyAnswer) {
  Answer a(kPort, kSeq, false, {ENODEV});
  std::vector<std::uint8_t> d;
  put_error(d, ENODEV);
  feed(a, d);
  EXPECT_TRUE(a.complete());
  EXPECT_EQ(a.error(), 0);
}

TEST(KernelAnswer, ADumpFailingPartWaySaysSoInDone) {
  Answer a(kPort, kSeq, true, {ENOENT});
  std::vector<std::uint8_t> d;
  put_route(d);
  const int status = -EINVAL;
  put(d, NLMSG_DONE, NLM_F_MULTI, kSeq, kPort, &status, sizeof status);
  feed(a, d);
  EXPECT_TRUE(a.complete());
  EXPECT_EQ(a.error(), EINVAL);

  Answer empty(kPort, kSeq, true, {ENOENT});  // "no such table": nothing there
  std::vector<std::uint8_t> e;
  const int enoent = -ENOENT;
  put(e, NLMSG_DONE, NLM_F_MULTI, kSeq, kPort, &enoent, sizeof enoent);
  feed(empty, e);
  EXPECT_TRUE(empty.complete());
  EXPECT_EQ(empty.error(), 0);
}

TEST(KernelAnswer, InterruptedDumpsAreFlagged) {
  Answer a(kPort, kSeq, true);
  std::vector<std::uint8_t> d;
  rtmsg r{};
  put(d, RTM_NEWROUTE, NLM_F_MULTI | NLM_F_DUMP_INTR, kSeq, kPort, &r, sizeof r);
  put(d, NLMSG_DONE, NLM_F_MULTI, kSeq, kPort);
  EXPECT_EQ(feed(a, d), 1);
  EXPECT_TRUE(a.complete());
  EXPECT_TRUE(a.interrupted());
}

TEST(KernelAnswer, ARequestThatIsNoDumpEndsWithItsAnswer) {
  Answer a(kPort, kSeq, false);
  std::vector<std::uint8_t> d;
  put_route(d);
  put_route(d);
  EXPECT_EQ(feed(a, d), 1);
  EXPECT_TRUE(a.complete());
}

TEST(KernelAnswer, ATruncatedMessageEndsTheWalk) {
  Answer a(kPort, kSeq, true);
  std::vector<std::uint8_t> d;
  put_route(d);
  put_route(d);
  d.resize(d.size() - 4);  // the second one's length now runs past the datagram
  EXPECT_EQ(feed(a, d), 1);
  EXPECT_FALSE(a.complete());
  // A short error message is an error, not a read past its end.
  Answer b(kPort, kSeq, true);
  std::vector<std::uint8_t> e;
  put(e, NLMSG_ERROR, 0, kSeq, kPort);
  feed(b, e);
  EXPECT_TRUE(b.complete());
  EXPECT_EQ(b.error(), EBADMSG);
}
