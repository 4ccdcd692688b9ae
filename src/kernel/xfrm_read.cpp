#include "kernel/xfrm_read.hpp"

#include <linux/netlink.h>
#include <linux/xfrm.h>
#include <netlink/addr.h>
#include <netlink/xfrm/sa.h>
#include <netlink/xfrm/selector.h>
#include <netlink/xfrm/sp.h>
#include <netlink/xfrm/template.h>

#include <array>
#include <cstring>

#include "kernel/libnl_prefix.hpp"

namespace ndsip::kernel {
namespace {

// libnl-xfrm before 3.10 keeps a second reference on every address it parses into a policy
// (upstream c4c22d26, "xfrm/sp: fix reference counters of sa selector/tmpl addresses"), so
// each parsed policy would leak four addresses, on every dump. An address the freshly parsed
// policy does not share with anything has exactly one reference; one that is shared carries
// the stray one, dropped here. A fixed libnl leaves nothing shared, and nothing is dropped.
void drop_stray_reference(nl_addr* address) {
  if (address && nl_addr_shared(address)) nl_addr_put(address);
}

struct PolicyRef {
  xfrmnl_sp* sp = nullptr;
  ~PolicyRef() {
    if (sp) xfrmnl_sp_put(sp);
  }
};

struct StateRef {
  xfrmnl_sa* sa = nullptr;
  ~StateRef() {
    if (sa) xfrmnl_sa_put(sa);
  }
};

}  // namespace

std::optional<XfrmPolicy> read_policy(nlmsghdr* message) {
  if (message->nlmsg_type != XFRM_MSG_NEWPOLICY) return std::nullopt;
  PolicyRef ref;
  if (xfrmnl_sp_parse(message, &ref.sp) < 0 || !ref.sp) return std::nullopt;
  xfrmnl_sel* sel = xfrmnl_sp_get_sel(ref.sp);
  if (!sel) return std::nullopt;
  drop_stray_reference(xfrmnl_sel_get_saddr(sel));
  drop_stray_reference(xfrmnl_sel_get_daddr(sel));

  XfrmPolicy p;
  const int dir = xfrmnl_sp_get_dir(ref.sp);
  if (dir < XFRM_POLICY_IN || dir > XFRM_POLICY_FWD) return std::nullopt;  // socket policies are not dumped
  p.dir = static_cast<Direction>(dir);
  p.src = prefix_of(xfrmnl_sel_get_saddr(sel));
  p.dst = prefix_of(xfrmnl_sel_get_daddr(sel));
  p.proto = static_cast<std::uint8_t>(xfrmnl_sel_get_proto(sel));
  p.sport = static_cast<std::uint16_t>(xfrmnl_sel_get_sport(sel));
  p.sport_mask = static_cast<std::uint16_t>(xfrmnl_sel_get_sportmask(sel));
  p.dport = static_cast<std::uint16_t>(xfrmnl_sel_get_dport(sel));
  p.dport_mask = static_cast<std::uint16_t>(xfrmnl_sel_get_dportmask(sel));
  p.priority = static_cast<std::uint32_t>(xfrmnl_sp_get_priority(ref.sp));
  p.index = static_cast<std::uint32_t>(xfrmnl_sp_get_index(ref.sp));
  p.block = xfrmnl_sp_get_action(ref.sp) == XFRM_POLICY_BLOCK;
  p.sub = xfrmnl_sp_get_userpolicy_type(ref.sp) == XFRM_POLICY_TYPE_SUB;
  const int n = xfrmnl_sp_get_nusertemplates(ref.sp);
  for (int i = 0; i < n; ++i) {
    xfrmnl_user_tmpl* t = xfrmnl_sp_usertemplate_n(ref.sp, i);
    if (!t) continue;
    drop_stray_reference(xfrmnl_user_tmpl_get_saddr(t));
    drop_stray_reference(xfrmnl_user_tmpl_get_daddr(t));
    XfrmTemplate tmpl;
    tmpl.reqid = static_cast<std::uint32_t>(xfrmnl_user_tmpl_get_reqid(t));
    tmpl.proto = static_cast<std::uint8_t>(xfrmnl_user_tmpl_get_proto(t));
    tmpl.mode = static_cast<std::uint8_t>(xfrmnl_user_tmpl_get_mode(t));
    tmpl.optional = xfrmnl_user_tmpl_get_optional(t) != 0;
    if (tmpl.mode != XFRM_MODE_TRANSPORT) {
      tmpl.src = address_of(xfrmnl_user_tmpl_get_saddr(t));
      tmpl.dst = address_of(xfrmnl_user_tmpl_get_daddr(t));
    }
    p.templates.push_back(tmpl);
  }
  return p;
}

std::optional<XfrmState> read_state(const nlmsghdr* message) {
  constexpr std::size_t kFixed = NLMSG_LENGTH(sizeof(xfrm_usersa_info));
  if (message->nlmsg_type != XFRM_MSG_NEWSA || message->nlmsg_len < kFixed) return std::nullopt;
  // The header and xfrm_usersa_info alone, in a buffer aligned for both.
  alignas(NLMSG_ALIGNTO * 2) std::array<std::uint8_t, NLMSG_ALIGN(kFixed)> copy{};
  std::memcpy(copy.data(), message, kFixed);
  auto* h = reinterpret_cast<nlmsghdr*>(copy.data());
  h->nlmsg_len = kFixed;
  StateRef ref;
  if (xfrmnl_sa_parse(h, &ref.sa) < 0 || !ref.sa) return std::nullopt;
  xfrmnl_sel* sel = xfrmnl_sa_get_sel(ref.sa);
  if (sel) {
    drop_stray_reference(xfrmnl_sel_get_saddr(sel));
    drop_stray_reference(xfrmnl_sel_get_daddr(sel));
  }
  XfrmState s;
  s.spi = static_cast<std::uint32_t>(xfrmnl_sa_get_spi(ref.sa));
  s.proto = static_cast<std::uint8_t>(xfrmnl_sa_get_proto(ref.sa));
  s.reqid = static_cast<std::uint32_t>(xfrmnl_sa_get_reqid(ref.sa));
  s.mode = static_cast<std::uint8_t>(xfrmnl_sa_get_mode(ref.sa));
  s.src = address_of(xfrmnl_sa_get_saddr(ref.sa));
  s.dst = address_of(xfrmnl_sa_get_daddr(ref.sa));
  return s;
}

}  // namespace ndsip::kernel
