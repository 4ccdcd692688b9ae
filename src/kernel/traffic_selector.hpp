// A traffic selector as charon reports it in list-sas (`local-ts`, `remote-ts`) and as its
// kernel interface turns it into an XFRM selector or a route: a prefix (a range becomes the
// smallest prefix holding it, as charon installs it), a protocol and a port range.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

#include "kernel/prefix.hpp"

namespace ndsip::kernel {

struct TrafficSelector {
  Prefix net;
  std::uint8_t proto = 0;  // 0: any protocol
  std::uint16_t from_port = 0, to_port = 0xffff;

  // charon's text: "10.0.0.0/24", "198.51.100.10/32", "10.0.0.1..10.0.0.9", each optionally
  // followed by "[proto]" or "[proto/port]" or "[proto/from-to]" (protocol by number or as
  // tcp, udp, icmp, ipv6-icmp, sctp, gre; ports by number). nullopt for anything else
  // (service names charon prints from /etc/services are not looked up).
  static std::optional<TrafficSelector> parse(std::string_view text);

  // The kernel's form of the port range, as charon's kernel-netlink computes it (ts2ports):
  // a single port with mask 0xffff, a range as its common leading bits, any as 0/0.
  std::pair<std::uint16_t, std::uint16_t> kernel_ports() const;
  // ICMP carries type and code in the ports: charon maps them differently, and selectors of
  // ndsip's tunnels never use them, so ports are compared only for other protocols.
  bool ports_compared() const;
  std::string str() const;
};

// "tcp", "udp", ..., or the number.
std::string protocol_name(std::uint8_t proto);

}  // namespace ndsip::kernel
