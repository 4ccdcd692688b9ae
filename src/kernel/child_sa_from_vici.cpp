#include "kernel/child_sa_from_vici.hpp"

#include <netinet/in.h>

#include <charconv>

namespace ndsip::kernel {
namespace {

template <typename T>
T number(const std::string& text, int base) {
  T value = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value, base);
  return ec == std::errc() && end == text.data() + text.size() ? value : 0;
}

Role role_of(const std::string& state) {
  if (state == "INSTALLED" || state == "UPDATING" || state == "REKEYING") return Role::installed;
  if (state == "ROUTED") return Role::trap;
  return Role::leaving;
}

void add_selectors(const std::vector<std::string>& texts, std::vector<TrafficSelector>& into,
                   std::vector<std::string>& unparsed) {
  for (const std::string& t : texts) {
    if (auto ts = TrafficSelector::parse(t)) {
      into.push_back(*ts);
    } else {
      unparsed.push_back(t);
    }
  }
}

}  // namespace

ChildSaView view_of(const vici::ChildSa& child) {
  ChildSaView v;
  v.name = child.name;
  v.uniqueid = child.uniqueid;
  v.role = role_of(child.state);
  v.reqid = number<std::uint32_t>(child.reqid, 10);
  v.flows = default_flows(child.mode != "TRANSPORT");
  v.protocol = child.protocol == "AH" ? IPPROTO_AH : IPPROTO_ESP;
  v.spi_in = number<std::uint32_t>(child.spi_in, 16);
  v.spi_out = number<std::uint32_t>(child.spi_out, 16);
  add_selectors(child.local_ts, v.local_ts, v.unparsed_ts);
  add_selectors(child.remote_ts, v.remote_ts, v.unparsed_ts);
  return v;
}

std::vector<ChildSaView> views_of(const std::vector<vici::IkeSa>& sas) {
  std::vector<ChildSaView> out;
  for (const vici::IkeSa& ike : sas) {
    for (const vici::ChildSa& child : ike.children) out.push_back(view_of(child));
  }
  return out;
}

}  // namespace ndsip::kernel
