// The kernel's XFRM entries as ndsip reads them: policies (selector, direction, templates)
// and states (SPI, protocol, reqid, end points). Plain values, filled from libnl-xfrm
// (xfrm_read.hpp) or by tests; no key material is ever kept.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "kernel/prefix.hpp"

namespace ndsip::kernel {

// The kernel's numbering (XFRM_POLICY_IN, _OUT, _FWD).
enum class Direction : std::uint8_t { in = 0, out = 1, fwd = 2 };
const char* to_string(Direction direction);

struct XfrmTemplate {
  std::uint32_t reqid = 0;
  std::uint8_t proto = 0;  // IPPROTO_ESP, IPPROTO_AH, IPPROTO_COMP
  std::uint8_t mode = 0;   // XFRM_MODE_TRANSPORT (0), XFRM_MODE_TUNNEL (1), ...
  Prefix src, dst;         // the tunnel's end points (family 0 in transport mode)
  bool optional = false;
};

struct XfrmPolicy {
  Direction dir = Direction::out;
  Prefix src, dst;
  std::uint8_t proto = 0;  // 0: any
  std::uint16_t sport = 0, sport_mask = 0, dport = 0, dport_mask = 0;
  std::uint32_t priority = 0, index = 0;
  bool block = false;     // XFRM_POLICY_BLOCK; otherwise ALLOW
  bool sub = false;       // a sub policy (XFRM_POLICY_TYPE_SUB); charon installs main ones
  std::vector<XfrmTemplate> templates;

  // An IPsec policy: it allows traffic through at least one template with a reqid, as an IKE
  // daemon installs it (bypass, drop and hand-made reqid-less policies are not).
  bool ipsec() const;
  // "out policy 10.0.0.0/24 -> 10.1.0.0/24 reqid 7 (index 1234, priority 375423)"
  std::string str() const;
  // "out policy 10.0.0.0/24 -> 10.1.0.0/24[tcp/80]": direction and selector only.
  std::string selector_str() const;
};

struct XfrmState {
  std::uint32_t spi = 0;  // host byte order, as charon prints it
  std::uint8_t proto = 0;
  std::uint32_t reqid = 0;
  std::uint8_t mode = 0;
  Prefix src, dst;  // the SA's end points
  // "ESP state c1a2b3c4 192.0.2.10 -> 192.0.2.11 reqid 7"
  std::string str() const;
};

struct XfrmSnapshot {
  std::vector<XfrmPolicy> policies;
  std::vector<XfrmState> states;
};

// "ESP", "AH", "IPCOMP", or the number.
std::string ipsec_protocol_name(std::uint8_t proto);
// An SPI as charon prints it: eight hex digits.
std::string spi_str(std::uint32_t spi);

}  // namespace ndsip::kernel
