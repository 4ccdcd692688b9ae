#include "kernel/xfrm_match.hpp"

#include <netinet/in.h>

#include <algorithm>
#include <map>
#include <optional>
#include <set>

namespace ndsip::kernel {
namespace {

Direction direction(Flow flow) {
  switch (flow) {
    case Flow::out: return Direction::out;
    case Flow::in: return Direction::in;
    case Flow::fwd_in:
    case Flow::fwd_out: return Direction::fwd;
  }
  return Direction::out;
}

bool has_reqid(const XfrmPolicy& p, std::uint32_t reqid) {
  return std::any_of(p.templates.begin(), p.templates.end(), [&](const XfrmTemplate& t) { return t.reqid == reqid; });
}

// The policy's reqids, for "has reqid 5, not 7".
std::string reqids(const XfrmPolicy& p) {
  std::string out;
  for (const XfrmTemplate& t : p.templates) out += (out.empty() ? "" : ",") + std::to_string(t.reqid);
  return out;
}

bool ipsec_state(const XfrmState& s) { return s.proto == IPPROTO_ESP || s.proto == IPPROTO_AH; }

// The snapshot's policies by direction and prefixes: a check runs after every list-sas, at
// 10,000 CHILD_SAs too, so each expected policy is a lookup, not a scan.
struct Key {
  Direction dir;
  Prefix src, dst;
  auto operator<=>(const Key&) const = default;
};

std::map<Key, std::vector<std::size_t>> index_policies(const XfrmSnapshot& kernel) {
  std::map<Key, std::vector<std::size_t>> index;
  for (std::size_t i = 0; i < kernel.policies.size(); ++i) {
    const XfrmPolicy& p = kernel.policies[i];
    if (!p.sub) index[{p.dir, p.src, p.dst}].push_back(i);
  }
  return index;
}

// Policies of the snapshot an expected one finds: same selector, and (when the child's reqid
// is known) a template with that reqid (`exact`, all of them: with marks or interface ids the
// kernel may hold several); else the first with the selector alone (`near`, for saying what
// is wrong with it).
struct Found {
  std::vector<std::size_t> exact;
  std::optional<std::size_t> near;
};

Found find(const XfrmSnapshot& kernel, const std::map<Key, std::vector<std::size_t>>& index, const ExpectedPolicy& e) {
  Found f;
  const auto it = index.find({e.dir, e.src.net, e.dst.net});
  if (it == index.end()) return f;
  for (std::size_t i : it->second) {
    const XfrmPolicy& p = kernel.policies[i];
    if (!same_selector(p, e)) continue;
    const bool good = p.ipsec() && (e.reqid == 0 || has_reqid(p, e.reqid));
    if (good) f.exact.push_back(i);
    if (!good && !f.near) f.near = i;
  }
  return f;
}

std::string why_not(const XfrmPolicy& p, const ExpectedPolicy& e) {
  if (p.block) return e.str() + ": the kernel's blocks";
  if (!p.ipsec()) return e.str() + ": the kernel's has no IPsec template";
  return e.str() + ": the kernel's has reqid " + reqids(p);
}

}  // namespace

std::string ExpectedPolicy::str() const {
  std::string out = std::string(to_string(dir)) + " policy " + src.str() + " -> " + dst.str();
  if (reqid != 0) out += " reqid " + std::to_string(reqid);
  return out;
}

std::vector<ExpectedPolicy> expected_policies(const ChildSaView& child) {
  std::vector<ExpectedPolicy> out;
  for (const TrafficSelector& local : child.local_ts) {
    for (const TrafficSelector& remote : child.remote_ts) {
      // charon pairs selectors of one family only.
      if (local.net.family != remote.net.family) continue;
      for (Flow flow : child.flows) {
        ExpectedPolicy e;
        e.flow = flow;
        e.dir = direction(flow);
        const bool outbound = flow == Flow::out || flow == Flow::fwd_out;
        e.src = outbound ? local : remote;
        e.dst = outbound ? remote : local;
        e.reqid = child.reqid;
        out.push_back(e);
      }
    }
  }
  return out;
}

bool same_selector(const XfrmPolicy& p, const ExpectedPolicy& e) {
  if (p.dir != e.dir || p.src != e.src.net || p.dst != e.dst.net) return false;
  if (p.proto != std::max(e.src.proto, e.dst.proto)) return false;
  const auto [sport, smask] = e.src.kernel_ports();
  const auto [dport, dmask] = e.dst.kernel_ports();
  if (e.src.ports_compared() && (p.sport != sport || p.sport_mask != smask)) return false;
  if (e.dst.ports_compared() && (p.dport != dport || p.dport_mask != dmask)) return false;
  return true;
}

XfrmMatch match_xfrm(const std::vector<ChildSaView>& children, const XfrmSnapshot& kernel) {
  XfrmMatch m;
  m.missing.resize(children.size());
  std::vector<bool> policy_owned(kernel.policies.size(), false);
  const auto index = index_policies(kernel);
  std::map<std::uint32_t, std::vector<std::size_t>> states_by_spi;
  for (std::size_t i = 0; i < kernel.states.size(); ++i) states_by_spi[kernel.states[i].spi].push_back(i);
  std::set<std::uint32_t> owned_spis, owned_reqids;  // reqids: of children whose SPIs are unknown

  for (std::size_t c = 0; c < children.size(); ++c) {
    const ChildSaView& child = children[c];
    std::vector<Entry>& missing = m.missing[c];
    for (const std::string& ts : child.unparsed_ts) {
      missing.push_back({EntryKind::selector, "traffic selector '" + ts + "' not understood"});
    }
    for (const ExpectedPolicy& e : expected_policies(child)) {
      const Found f = find(kernel, index, e);
      for (std::size_t i : f.exact) policy_owned[i] = true;
      if (!f.exact.empty() || child.role == Role::leaving) continue;
      missing.push_back({EntryKind::policy, f.near ? why_not(kernel.policies[*f.near], e) : e.str()});
    }

    const bool spis_known = child.spi_in != 0 && child.spi_out != 0;
    if (child.spi_in) owned_spis.insert(child.spi_in);
    if (child.spi_out) owned_spis.insert(child.spi_out);
    if (!spis_known && child.reqid != 0) owned_reqids.insert(child.reqid);
    if (child.role != Role::installed) continue;
    for (const auto& [spi, way] : {std::pair{child.spi_in, "in"}, std::pair{child.spi_out, "out"}}) {
      if (spi == 0) continue;
      const std::string what = std::string(way) + " " + ipsec_protocol_name(child.protocol) + " state " + spi_str(spi);
      const XfrmState* s = nullptr;
      if (const auto it = states_by_spi.find(spi); it != states_by_spi.end()) {
        for (std::size_t i : it->second) {
          if (kernel.states[i].proto == child.protocol) s = &kernel.states[i];
        }
      }
      if (!s) {
        missing.push_back({EntryKind::state, what + (child.reqid ? " reqid " + std::to_string(child.reqid) : "")});
      } else if (child.reqid != 0 && s->reqid != child.reqid) {
        missing.push_back({EntryKind::state, what + ": the kernel's has reqid " + std::to_string(s->reqid) +
                                                 ", not " + std::to_string(child.reqid)});
      }
    }
  }

  for (std::size_t i = 0; i < kernel.policies.size(); ++i) {
    const XfrmPolicy& p = kernel.policies[i];
    if (!policy_owned[i] && !p.sub && p.ipsec()) m.stale.push_back({EntryKind::policy, p.str()});
  }
  for (const XfrmState& s : kernel.states) {
    if (!ipsec_state(s) || owned_spis.count(s.spi) || owned_reqids.count(s.reqid)) continue;
    m.stale.push_back({EntryKind::state, s.str()});
  }
  return m;
}

}  // namespace ndsip::kernel
