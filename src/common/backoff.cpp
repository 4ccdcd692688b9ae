#include "common/backoff.hpp"

#include <algorithm>
#include <random>

namespace ndsip::common {
namespace {

// One engine for the process, seeded once on first use. Jitter needs no cryptographic
// quality, and the daemon is single-threaded, so the engine is not locked.
std::minstd_rand& engine() {
  static std::minstd_rand rng{std::random_device{}()};
  return rng;
}

}  // namespace

Backoff::Duration Backoff::next() {
  // Capping the shift keeps first << shift from overflowing after many attempts.
  const int shift = std::min(attempts_, 20);
  ++attempts_;
  const auto base = std::min<long long>(first_.count() << shift, max_.count());
  std::uniform_real_distribution<double> jitter(0.5, 1.0);
  return Duration(static_cast<long long>(static_cast<double>(base) * jitter(engine())));
}

}  // namespace ndsip::common
