// What the lab benchmarks share: their clock, how they print, and the addresses of nodes that
// exist only on paper.
#pragma once

#include <chrono>
#include <cstdio>
#include <string>

namespace ndsip::bench {

using Clock = std::chrono::steady_clock;

inline double ms_between(Clock::time_point a, Clock::time_point b) {
  return std::chrono::duration<double, std::milli>(b - a).count();
}
inline double ms_since(Clock::time_point t0) { return ms_between(t0, Clock::now()); }

// The i-th address of 198.18.0.0/15, the benchmarking range (RFC 2544): paper nodes only, no
// packet is ever sent to one.
inline std::string paper_ip(int i) {
  return "198." + std::to_string(18 + ((i >> 16) & 1)) + "." + std::to_string((i >> 8) & 255) + "." +
         std::to_string(i & 255);
}

inline std::string fmt(const char* f, double v) {
  char buf[64];
  std::snprintf(buf, sizeof buf, f, v);
  return buf;
}

}  // namespace ndsip::bench
