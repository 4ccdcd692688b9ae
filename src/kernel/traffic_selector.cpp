#include "kernel/traffic_selector.hpp"

#include <netinet/in.h>

#include <array>
#include <charconv>

namespace ndsip::kernel {
namespace {

struct Named {
  const char* name;
  std::uint8_t number;
};
// The names charon prints (getprotobynumber on Debian's /etc/protocols) for the protocols a
// tunnel selector plausibly carries.
constexpr std::array<Named, 7> kProtocols{{{"icmp", IPPROTO_ICMP},
                                           {"tcp", IPPROTO_TCP},
                                           {"udp", IPPROTO_UDP},
                                           {"gre", IPPROTO_GRE},
                                           {"ipv6-icmp", IPPROTO_ICMPV6},
                                           {"icmpv6", IPPROTO_ICMPV6},
                                           {"sctp", IPPROTO_SCTP}}};

template <typename T>
std::optional<T> number(std::string_view s) {
  T value{};
  const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), value);
  if (s.empty() || ec != std::errc() || end != s.data() + s.size()) return std::nullopt;
  return value;
}

std::optional<std::uint8_t> protocol(std::string_view s) {
  for (const Named& p : kProtocols) {
    if (s == p.name) return p.number;
  }
  return number<std::uint8_t>(s);
}

}  // namespace

std::string protocol_name(std::uint8_t proto) {
  for (const Named& p : kProtocols) {
    if (p.number == proto) return p.name;
  }
  return std::to_string(proto);
}

std::optional<TrafficSelector> TrafficSelector::parse(std::string_view text) {
  TrafficSelector ts;
  std::string_view net = text;
  const auto bracket = text.find('[');
  if (bracket != std::string_view::npos) {
    if (text.back() != ']') return std::nullopt;
    net = text.substr(0, bracket);
    const std::string_view inside = text.substr(bracket + 1, text.size() - bracket - 2);
    const auto slash = inside.find('/');
    const auto proto = protocol(inside.substr(0, slash));
    if (!proto) return std::nullopt;
    ts.proto = *proto;
    if (slash != std::string_view::npos) {
      const std::string_view ports = inside.substr(slash + 1);
      if (ts.proto == IPPROTO_ICMP || ts.proto == IPPROTO_ICMPV6) {
        // Type and code: kept out of the comparison (ports_compared), so not parsed.
      } else if (ports == "OPAQUE") {
        ts.from_port = 0xffff;
        ts.to_port = 0;
      } else {
        const auto dash = ports.find('-');
        const auto from = number<std::uint16_t>(ports.substr(0, dash));
        const auto to = dash == std::string_view::npos ? from : number<std::uint16_t>(ports.substr(dash + 1));
        if (!from || !to || *to < *from) return std::nullopt;
        ts.from_port = *from;
        ts.to_port = *to;
      }
    }
  }
  const auto dots = net.find("..");
  if (dots != std::string_view::npos) {
    const auto first = Prefix::parse(net.substr(0, dots));
    const auto last = Prefix::parse(net.substr(dots + 2));
    if (!first || !last || first->family != last->family || !first->is_host() || !last->is_host()) {
      return std::nullopt;
    }
    ts.net = Prefix::covering(*first, *last);
  } else {
    const auto p = Prefix::parse(net);
    if (!p) return std::nullopt;
    ts.net = *p;
  }
  return ts;
}

std::pair<std::uint16_t, std::uint16_t> TrafficSelector::kernel_ports() const {
  if (from_port == to_port) return {from_port, 0xffff};
  // The leading bits the two ends share; the first differing bit ends the mask.
  std::uint16_t mask = 0;
  for (int bit = 15; bit >= 0; --bit) {
    const auto b = static_cast<std::uint16_t>(1u << bit);
    if ((from_port & b) != (to_port & b)) break;
    mask = static_cast<std::uint16_t>(mask | b);
  }
  return {static_cast<std::uint16_t>(from_port & mask), mask};
}

bool TrafficSelector::ports_compared() const { return proto != IPPROTO_ICMP && proto != IPPROTO_ICMPV6; }

std::string TrafficSelector::str() const {
  std::string out = net.str();
  const bool any_ports = from_port == 0 && to_port == 0xffff;
  if (proto != 0 || !any_ports) {
    out += "[" + (proto ? protocol_name(proto) : std::string("0"));
    if (!any_ports && ports_compared()) {
      out += "/" + std::to_string(from_port);
      if (to_port != from_port) out += "-" + std::to_string(to_port);
    }
    out += "]";
  }
  return out;
}

}  // namespace ndsip::kernel
