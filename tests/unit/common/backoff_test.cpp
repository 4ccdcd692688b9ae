// common::Backoff: doubling from `first` to `max`, each wait jittered into [base/2, base].
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>

#include "common/backoff.hpp"

using ndsip::common::Backoff;
using namespace std::chrono_literals;

namespace {

// The un-jittered wait of attempt `n` (0-based).
std::chrono::milliseconds base(std::chrono::milliseconds first, std::chrono::milliseconds max,
                               int n) {
  return std::min<std::chrono::milliseconds>(first * (1 << std::min(n, 20)), max);
}

TEST(Backoff, EachWaitIsWithinHalfAndAllOfTheUnjitteredValue) {
  // Many instances and attempts: the bounds must hold for every draw of the shared engine.
  for (int run = 0; run < 200; ++run) {
    Backoff b(100ms, 5s);
    for (int n = 0; n < 30; ++n) {
      const auto wait = b.next();
      const auto full = base(100ms, 5s, n);
      EXPECT_LE(wait, full) << "attempt " << n;
      EXPECT_GE(wait, full / 2) << "attempt " << n;
      EXPECT_LE(wait, 5s);
    }
  }
}

TEST(Backoff, GrowsUntilTheBound) {
  Backoff b(10ms, 10s);
  // Attempt 0 is at most 10 ms; attempt 10 at least half of 10.24 s capped to 10 s.
  EXPECT_LE(b.next(), 10ms);
  for (int i = 1; i < 10; ++i) b.next();
  EXPECT_GE(b.next(), 5s);
  EXPECT_EQ(b.attempts(), 11);
}

TEST(Backoff, ManyAttemptsNeitherOverflowNorExceedTheBound) {
  Backoff b(1s, 60s);
  // 1 s << 1000 would overflow; the shift is capped, so late waits stay in [30 s, 60 s].
  for (int i = 0; i < 1000; ++i) {
    const auto wait = b.next();
    EXPECT_LE(wait, 60s);
    EXPECT_GE(wait, base(1s, 60s, i) / 2);
  }
}

TEST(Backoff, ResetStartsOverFromFirst) {
  Backoff b(100ms, 1s);
  for (int i = 0; i < 5; ++i) b.next();
  EXPECT_EQ(b.attempts(), 5);
  b.reset();
  EXPECT_EQ(b.attempts(), 0);
  const auto wait = b.next();
  EXPECT_LE(wait, 100ms);
  EXPECT_GE(wait, 50ms);
  EXPECT_EQ(b.attempts(), 1);
}

TEST(Backoff, JitterSpreadsWaits) {
  // Tunnels that failed together must not all retry after the same wait.
  bool differ = false;
  Backoff first(1s, 1s);
  const auto w0 = first.next();
  for (int i = 0; i < 50 && !differ; ++i) differ = Backoff(1s, 1s).next() != w0;
  EXPECT_TRUE(differ);
}

}  // namespace
