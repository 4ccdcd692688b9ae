#include "health/backoff.hpp"

#include <algorithm>

namespace ndsip::health {

Backoff::Duration Backoff::next() {
  const int shift = std::min(attempts_, 20);
  ++attempts_;
  const auto base = std::min<long long>(first_.count() << shift, max_.count());
  std::uniform_real_distribution<double> jitter(0.5, 1.0);
  return Duration(static_cast<long long>(static_cast<double>(base) * jitter(rng_)));
}

}  // namespace ndsip::health
