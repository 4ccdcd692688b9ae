#include "kernel/xfrm_model.hpp"

#include <netinet/in.h>

#include <cstdio>

#include "kernel/traffic_selector.hpp"

namespace ndsip::kernel {
namespace {

std::string with_ports(const Prefix& net, std::uint8_t proto, std::uint16_t port, std::uint16_t mask) {
  std::string out = net.str();
  if (proto == 0 && mask == 0) return out;
  out += "[" + (proto ? protocol_name(proto) : std::string("0"));
  if (mask != 0) out += "/" + std::to_string(port) + (mask == 0xffff ? "" : "&" + std::to_string(mask));
  return out + "]";
}

}  // namespace

const char* to_string(Direction direction) {
  switch (direction) {
    case Direction::in: return "in";
    case Direction::out: return "out";
    case Direction::fwd: return "fwd";
  }
  return "?";
}

std::string ipsec_protocol_name(std::uint8_t proto) {
  switch (proto) {
    case IPPROTO_ESP: return "ESP";
    case IPPROTO_AH: return "AH";
    case IPPROTO_COMP: return "IPCOMP";
    default: return std::to_string(proto);
  }
}

std::string spi_str(std::uint32_t spi) {
  char buffer[16];
  std::snprintf(buffer, sizeof buffer, "%08x", spi);
  return buffer;
}

bool XfrmPolicy::ipsec() const {
  if (block) return false;
  for (const XfrmTemplate& t : templates) {
    if (t.reqid != 0) return true;
  }
  return false;
}

std::string XfrmPolicy::selector_str() const {
  return std::string(to_string(dir)) + " policy " + with_ports(src, proto, sport, sport_mask) + " -> " +
         with_ports(dst, proto, dport, dport_mask);
}

std::string XfrmPolicy::str() const {
  std::string out = selector_str();
  if (block) out += " block";
  for (const XfrmTemplate& t : templates) out += " reqid " + std::to_string(t.reqid);
  if (templates.empty() && !block) out += " (no template)";
  return out + " (index " + std::to_string(index) + ", priority " + std::to_string(priority) + ")";
}

std::string XfrmState::str() const {
  return ipsec_protocol_name(proto) + " state " + spi_str(spi) + " " + src.str(true) + " -> " + dst.str(true) +
         " reqid " + std::to_string(reqid);
}

}  // namespace ndsip::kernel
