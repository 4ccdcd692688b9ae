#include "policy/plan.hpp"

#include <algorithm>
#include <map>
#include <optional>
#include <set>
#include <stdexcept>
#include <unordered_map>

#include "common/join.hpp"
#include "policy/digest.hpp"

namespace ndsip::policy {

using topology::Node;
using topology::Service;
using topology::Topology;

namespace {

// One node pair the topology asks to protect, with the reference points between them.
struct ProtectedPair {
  std::string x, y;                      // x < y
  std::set<std::string> reference_points;
  std::vector<std::string> reasons;
};

// One hop of a pair's path: a connection between two nodes carrying the pair's prefixes.
struct Hop {
  std::string from, to;  // as seen from `from`; the pair's x side is at `from`'s end
  Zone zone;
  std::string template_name;  // "seg-za", "seg-zb", or "" for the reference points' own
  // Through a SEG that is not its domain's preferred one: planned, not active (ChildPlan).
  bool standby = false;
  std::string standby_for;
  // Which end picks among its SEG hops for the pair (ChildPlan::picks_seg): the end with
  // more than one SEG to choose from.
  bool from_picks = false, to_picks = false;
};

std::set<std::string> access_points(const std::vector<Service>& services) {
  std::set<std::string> out;
  for (Service s : services) {
    if (s == Service::key_management) {
      out.insert(refpoint::km_s);
    } else if (s == Service::data_delivery) {
      out.insert(refpoint::sealdd_s);
    } else {
      out.insert(refpoint::seal_s);
    }
  }
  return out;
}

std::set<std::string> interconnect_points(const std::vector<Service>& services) {
  std::set<std::string> out;
  for (Service s : services) {
    // KM-E: key management servers of a distributed deployment (TS 23.434 13.2.5.6).
    out.insert(s == Service::data_delivery    ? refpoint::sealdd_e
               : s == Service::key_management ? refpoint::km_e
                                              : refpoint::seal_e);
  }
  return out;
}

std::string service_list(const std::vector<Service>& services) {
  std::vector<std::string> names;
  for (Service s : services) names.emplace_back(topology::to_string(s));
  return common::join(names, ", ");
}

using Pair = std::pair<std::string, std::string>;  // two node names, the smaller first

// The nodes and domains by name.
struct Model {
  std::unordered_map<std::string, Node> nodes;
  std::unordered_map<std::string, topology::Domain> domains;
  const Node& node(const std::string& name) const { return nodes.at(name); }
  const topology::Domain* domain(const std::string& name) const {
    auto it = domains.find(name);
    return it == domains.end() ? nullptr : &it->second;
  }
};

bool listed_seg(const topology::Domain& d, const std::string& node) {
  return std::find(d.segs.begin(), d.segs.end(), node) != d.segs.end();
}

// The SEGs that carry a domain's transit, in `segs` order (the first preferred): its
// dedicated SEGs (role seg); its integrated ones (other roles listed in `segs`) only when it
// has no dedicated SEG. Integrated SEGs otherwise cover their own pairs alone, so a SEAL
// server's host is not put on every VAL server's way out of the domain (docs/planner.md).
std::vector<std::string> transit_segs(const Model& t, const topology::Domain& d) {
  std::vector<std::string> dedicated;
  for (const std::string& s : d.segs) {
    auto it = t.nodes.find(s);
    if (it != t.nodes.end() && it->second.role == topology::Role::seg) dedicated.push_back(s);
  }
  return dedicated.empty() ? d.segs : dedicated;
}

// The nodes that do Za for `n`, the preferred first: itself when it is one of its domain's
// SEGs or its domain has none (it then runs Za end to end), otherwise its domain's transit
// SEGs.
std::vector<std::string> za_ends(const Model& t, const Node& n) {
  const topology::Domain* d = t.domain(n.domain);
  if (!d || d->segs.empty() || listed_seg(*d, n.name)) return {n.name};
  return transit_segs(t, *d);
}

// A pair's hops. With several transit SEGs on a side, through every one of them: the hops
// through the preferred SEGs are active, every other one is standby for them (one active,
// the others standby on every host: never two CHILD_SAs with the same selectors).
std::vector<Hop> path(const Model& t, const Node& x, const Node& y) {
  if (x.domain == y.domain) return {{x.name, y.name, Zone::zb, "", false, "", false, false}};
  const std::vector<std::string> sx = za_ends(t, x), sy = za_ends(t, y);
  const bool direct = sx.front() == x.name && sy.front() == y.name;
  std::vector<Hop> hops;
  // The end facing several SEGs picks among them (a node among its domain's SEGs, a SEG among
  // the far domain's): it sees which one answers.
  const bool x_picks = sx.size() > 1, y_picks = sy.size() > 1;
  for (std::size_t i = 0; i < sx.size(); ++i) {
    if (sx[i] != x.name)
      hops.push_back({x.name, sx[i], Zone::zb, "seg-zb", i > 0, i > 0 ? sx.front() : "", x_picks, false});
  }
  for (std::size_t i = 0; i < sx.size(); ++i) {
    for (std::size_t j = 0; j < sy.size(); ++j) {
      const bool standby = i > 0 || j > 0;
      const auto& [first, second] = std::minmax(sx.front(), sy.front());
      hops.push_back({sx[i], sy[j], Zone::za, direct ? "" : "seg-za", standby,
                      standby ? first + " <-> " + second : "", y_picks, x_picks});
    }
  }
  for (std::size_t j = 0; j < sy.size(); ++j) {
    if (sy[j] != y.name)
      hops.push_back({sy[j], y.name, Zone::zb, "seg-zb", j > 0, j > 0 ? sy.front() : "", false, y_picks});
  }
  return hops;
}

bool is_v6(const std::string& address) { return address.find(':') != std::string::npos; }

// Which address families a list of prefixes or addresses has.
struct Families {
  bool v4 = false, v6 = false;
};
Families families(const std::vector<std::string>& texts) {
  Families f;
  for (const std::string& t : texts) (is_v6(t) ? f.v6 : f.v4) = true;
  return f;
}

// The prefixes `n` protects (as written, or defaulted from its addresses) of the families
// the other end of the pair protects too: a packet goes from one end's selector to the
// other's, so a prefix of a family the other end lacks could never carry one.
std::vector<std::string> prefixes(const Node& n, const Node& other) {
  const Families keep = families(other.protects);
  std::vector<std::string> out;
  for (const std::string& p : n.protects) {
    if (is_v6(p) ? keep.v6 : keep.v4) out.push_back(p);
  }
  return out;
}

// A node as one end of a Za hop: a SEG (listed in its domain's segs, dedicated or integrated),
// or a node of a domain without SEGs, which runs Za itself.
std::string za_role(const Model& t, const Node& n) {
  const topology::Domain* d = t.domain(n.domain);
  if (d && std::find(d->segs.begin(), d->segs.end(), n.name) != d->segs.end()) return "SEG";
  return "node (" + n.domain + " has no SEG)";
}

std::string template_for(const std::set<std::string>& points) {
  // Reference point -> template file stem.
  static const std::map<std::string, std::string> stems = {
      {refpoint::seal_s, "seal-s"}, {refpoint::seal_e, "seal-e"}, {refpoint::km_s, "km-s"},
      {refpoint::sealdd_s, "sealdd-s"}, {refpoint::sealdd_e, "sealdd-e"},
      {refpoint::km_e, "km-e"}};
  return stems.at(*points.begin());
}

bool same_behaviour(const Template& a, const Template& b, Zone zone) {
  const auto& pa = zone == Zone::za ? a.za_profile : a.zb_profile;
  const auto& pb = zone == Zone::za ? b.za_profile : b.zb_profile;
  return pa == pb && a.start_action == b.start_action && a.close_action == b.close_action &&
         a.dpd_action == b.dpd_action;
}

}  // namespace

const char* to_string(Zone zone) { return zone == Zone::za ? "Za" : "Zb"; }
const char* to_string(OutsideKind kind) { return kind == OutsideKind::capif ? "capif" : "tls"; }

// The planner's view of one topology, kept up to date change by change (apply()), with the
// indexes that say whose plan a change can touch: every protected pair under each node its
// path passes (both ends and the SEGs doing their Za), and the reverse.
struct Planner::Context {
  explicit Context(const PolicySet& p) : policies(p) {}

  const PolicySet& policies;
  Model model;
  std::map<Pair, ProtectedPair> pairs;                           // from uses and interconnects
  std::map<Pair, topology::ServiceUse> capif;                     // uses through CAPIF, by (val, seal)
  std::unordered_map<std::string, std::set<Pair>> capif_of;      // node -> CAPIF uses naming it
  std::unordered_map<std::string, std::set<Pair>> by_node;       // node -> pairs whose path passes it
  std::map<Pair, std::set<std::string>> path_of;                 // pair -> nodes on its path
  std::unordered_map<std::string, std::set<Pair>> ends_of;       // node -> pairs it is an end of
  std::unordered_map<std::string, std::set<std::string>> members;  // domain -> its nodes

  static Pair key(const std::string& a, const std::string& b) { return a < b ? Pair(a, b) : Pair(b, a); }

  void add_pair(const std::string& a, const std::string& b, const std::set<std::string>& points, std::string reason) {
    const Pair k = key(a, b);
    ProtectedPair& p = pairs[k];
    p.x = k.first;
    p.y = k.second;
    p.reference_points.insert(points.begin(), points.end());
    p.reasons.push_back(std::move(reason));
    ends_of[k.first].insert(k);
    ends_of[k.second].insert(k);
  }
  void remove_pair(const Pair& k) {
    pairs.erase(k);
    for (const std::string& end : {k.first, k.second}) {
      if (auto it = ends_of.find(end); it != ends_of.end() && it->second.erase(k) && it->second.empty()) ends_of.erase(it);
    }
  }

  void add(const topology::ServiceUse& use) {
    if (use.via_capif) {
      const Pair k(use.val_server, use.seal_server);
      capif.emplace(k, use);
      capif_of[use.val_server].insert(k);
      capif_of[use.seal_server].insert(k);
      return;
    }
    add_pair(use.val_server, use.seal_server, access_points(use.services),
             use.val_server + " uses " + use.seal_server + " (" + service_list(use.services) + ")");
  }
  void remove(const topology::ServiceUse& use) {
    if (use.via_capif) {
      const Pair k(use.val_server, use.seal_server);
      capif.erase(k);
      for (const std::string& n : {use.val_server, use.seal_server}) {
        if (auto it = capif_of.find(n); it != capif_of.end() && it->second.erase(k) && it->second.empty()) capif_of.erase(it);
      }
      return;
    }
    remove_pair(key(use.val_server, use.seal_server));
  }
  void add(const topology::Interconnect& ic) {
    add_pair(ic.a, ic.b, interconnect_points(ic.services),
             ic.a + " and " + ic.b + " interconnect (" + service_list(ic.services) + ")");
  }
  void remove(const topology::Interconnect& ic) { remove_pair(key(ic.a, ic.b)); }
  void add(const Node& n) {
    members[n.domain].insert(n.name);
    model.nodes.insert_or_assign(n.name, n);
  }
  void remove(const Node& n) {
    if (auto it = members.find(n.domain); it != members.end() && it->second.erase(n.name) && it->second.empty()) members.erase(it);
    model.nodes.erase(n.name);
  }
  void add(const topology::Domain& d) { model.domains.insert_or_assign(d.name, d); }
  void remove(const topology::Domain& d) { model.domains.erase(d.name); }

  // Puts a pair under the nodes of its path (again, after its ends or their domains changed).
  void link(const Pair& k) {
    const ProtectedPair& pair = pairs.at(k);
    const Node& x = model.node(pair.x);
    const Node& y = model.node(pair.y);
    std::set<std::string> on_path = {pair.x, pair.y};
    for (const Node* end : {&x, &y}) {
      for (std::string& s : za_ends(model, *end)) on_path.insert(std::move(s));
    }
    for (const std::string& n : on_path) by_node[n].insert(k);
    path_of[k] = std::move(on_path);
  }
  void unlink(const Pair& k) {
    auto it = path_of.find(k);
    if (it == path_of.end()) return;
    for (const std::string& n : it->second) {
      if (auto b = by_node.find(n); b != by_node.end() && b->second.erase(k) && b->second.empty()) by_node.erase(b);
    }
    path_of.erase(it);
  }

  std::map<std::string, ConnectionPlan> connections(const std::string& name, const std::vector<Pair>& pair_keys,
                                                    const std::set<std::string>* peers) const;
  std::map<std::string, ConnectionPlan> connections_to(const std::string& name, const std::set<std::string>& peers) const;
  // The peers of `name` whose connection the last apply() can have changed; nullopt when the
  // node itself (or its domain) changed, and its whole plan is to be made again.
  std::optional<std::set<std::string>> changed_peers(const std::string& name) const;

  // What the last apply() touched.
  struct {
    std::set<std::string> self_changed;
    // Each node on the path of a dirty pair (before or after), and the other nodes on those
    // paths: made once per apply, so asking for each affected node costs no walk over them all.
    std::unordered_map<std::string, std::set<std::string>> peers;
  } last;
  NodePlan assemble(const std::string& name, ConnectionList connections) const;

  // A node, and every node that carries a pair with it or through it.
  void near(const std::string& n, std::set<std::string>& out) const {
    out.insert(n);
    if (auto it = by_node.find(n); it != by_node.end()) {
      for (const Pair& k : it->second) out.insert(path_of.at(k).begin(), path_of.at(k).end());
    }
    if (auto it = capif_of.find(n); it != capif_of.end()) {
      for (const Pair& k : it->second) out.insert({k.first, k.second});
    }
  }
};

Planner::Planner(const Topology& topology, const PolicySet& policies)
    : context_(std::make_unique<Context>(policies)) {
  Context& c = *context_;
  for (const topology::Domain& d : topology.domains) c.add(d);
  for (const Node& n : topology.nodes) c.add(n);
  for (const topology::ServiceUse& u : topology.service_uses) c.add(u);
  for (const topology::Interconnect& ic : topology.interconnects) c.add(ic);
  for (const auto& [k, pair] : c.pairs) c.link(k);
}

std::set<std::string> Planner::apply(const topology::ModelChange& change) {
  Context& c = *context_;
  std::set<Pair> dirty;                 // pairs whose content, path or nodes change
  std::set<std::string> self_changed;   // nodes whose own content or domain changes
  auto pairs_of = [&](const auto& index, const std::string& n) {
    if (auto it = index.find(n); it != index.end()) dirty.insert(it->second.begin(), it->second.end());
  };
  std::set<std::string> capif_ends;
  auto touched = [&](const std::string& n) {
    self_changed.insert(n);
    pairs_of(c.by_node, n);  // it is an end or a SEG of these: its addresses and identity show
    pairs_of(c.ends_of, n);  // its domain decides their path
    // Its domain decides whether its CAPIF partners list CAPIF-2 or CAPIF-2e.
    if (auto it = c.capif_of.find(n); it != c.capif_of.end()) {
      for (const Pair& k : it->second) capif_ends.insert({k.first, k.second});
    }
  };
  // A domain's CA and SEGs show in its members' plans and, through the paths, in their peers'.
  auto domain_members = [&](const std::string& d) {
    if (auto it = c.members.find(d); it != c.members.end()) {
      for (const std::string& m : it->second) touched(m);
    }
  };
  auto relation = [&](const std::string& a, const std::string& b, bool via_capif) {
    if (via_capif) {
      capif_ends.insert({a, b});
    } else {
      dirty.insert(Context::key(a, b));
    }
  };
  // Before: what is about to go.
  // A SEG's role (dedicated or integrated) decides its domain's transit SEGs, and with them
  // every member's paths.
  auto seg_of_domain = [&](const Node& n) {
    const topology::Domain* d = c.model.domain(n.domain);
    if (d && listed_seg(*d, n.name)) domain_members(n.domain);
  };
  for (const Node& n : change.old_nodes) {
    touched(n.name);
    seg_of_domain(n);
  }
  for (const Node& n : change.nodes) {
    touched(n.name);
    seg_of_domain(n);
  }
  for (const topology::Domain& d : change.old_domains) domain_members(d.name);
  for (const topology::Domain& d : change.domains) domain_members(d.name);
  for (const auto& u : change.old_uses) relation(u.val_server, u.seal_server, u.via_capif);
  for (const auto& u : change.uses) relation(u.val_server, u.seal_server, u.via_capif);
  for (const auto& ic : change.old_interconnects) relation(ic.a, ic.b, false);
  for (const auto& ic : change.interconnects) relation(ic.a, ic.b, false);
  std::map<Pair, std::set<std::string>> paths;  // each dirty pair's nodes, before and after
  for (const Pair& k : dirty) {
    if (auto it = c.path_of.find(k); it != c.path_of.end()) paths[k] = it->second;
    c.unlink(k);
  }

  // The change itself: the old content out, the new in.
  for (const auto& u : change.old_uses) c.remove(u);
  for (const auto& ic : change.old_interconnects) c.remove(ic);
  for (const Node& n : change.old_nodes) c.remove(n);
  for (const auto& d : change.old_domains) c.remove(d);
  for (const auto& d : change.domains) c.add(d);
  for (const Node& n : change.nodes) c.add(n);
  for (const auto& u : change.uses) c.add(u);
  for (const auto& ic : change.interconnects) c.add(ic);

  // After: the paths again.
  for (const Pair& k : dirty) {
    if (c.pairs.count(k)) {
      c.link(k);
      paths[k].insert(c.path_of.at(k).begin(), c.path_of.at(k).end());
    }
  }
  for (const topology::Domain& d : change.domains) {
    if (auto it = c.members.find(d.name); it != c.members.end()) self_changed.insert(it->second.begin(), it->second.end());
  }
  std::set<std::string> affected = self_changed;
  affected.insert(capif_ends.begin(), capif_ends.end());
  c.last.peers.clear();
  for (const auto& [k, on_path] : paths) {
    affected.insert(on_path.begin(), on_path.end());
    for (const std::string& n : on_path) c.last.peers[n].insert(on_path.begin(), on_path.end());
  }
  for (auto it = affected.begin(); it != affected.end();) {
    it = c.model.nodes.count(*it) ? std::next(it) : affected.erase(it);
  }
  c.last.self_changed = std::move(self_changed);
  return affected;
}

std::optional<std::set<std::string>> Planner::Context::changed_peers(const std::string& name) const {
  if (last.self_changed.count(name)) return std::nullopt;
  const auto it = last.peers.find(name);
  std::set<std::string> peers = it == last.peers.end() ? std::set<std::string>() : it->second;
  peers.erase(name);
  return peers;
}

std::map<std::string, ConnectionPlan> Planner::Context::connections_to(const std::string& name,
                                                                       const std::set<std::string>& peers) const {
  // The pairs a connection to a peer carries pass both ends: the intersection of their pair
  // sets, walked from the smaller one.
  std::set<Pair> keys;
  const auto mine = by_node.find(name);
  if (mine == by_node.end()) return {};
  for (const std::string& peer : peers) {
    const auto theirs = by_node.find(peer);
    if (theirs == by_node.end()) continue;
    const auto& [small, large] = theirs->second.size() < mine->second.size()
                                     ? std::pair(&theirs->second, &mine->second)
                                     : std::pair(&mine->second, &theirs->second);
    for (const Pair& k : *small) {
      if (large->count(k)) keys.insert(k);
    }
  }
  return connections(name, std::vector<Pair>(keys.begin(), keys.end()), &peers);
}

NodePlan Planner::replan(const NodePlan& before) const {
  const Context& c = *context_;
  const auto peers = c.changed_peers(before.node);
  if (!peers) return plan(before.node);
  std::map<std::string, ConnectionPlan> rebuilt = c.connections_to(before.node, *peers);
  // The connections to other peers are shared with the plan before; the rebuilt ones take
  // their places (in name order).
  ConnectionList list;
  for (std::size_t i = 0; i < before.connections.size(); ++i) {
    if (!peers->count(before.connections[i].peer)) list.push_back(before.connections.shared(i));
  }
  for (auto& [peer, conn] : rebuilt) list.push_back(std::move(conn));
  list.sort_by_name();
  return c.assemble(before.node, std::move(list));
}

std::vector<std::string> Planner::problems_after_apply(const std::string& name) const {
  const Context& c = *context_;
  std::vector<std::string> out;
  const auto peers = c.changed_peers(name);
  if (!peers) {
    for (const PlanProblem& p : plan(name).problems) out.push_back(p.message);
    return out;
  }
  // The other connections were the accepted topology's, which had none.
  for (const auto& [peer, conn] : c.connections_to(name, *peers)) out.insert(out.end(), conn.problems.begin(), conn.problems.end());
  return out;
}

Planner::~Planner() = default;

std::vector<std::string> plan_problems(const Topology& t, const PolicySet& policies) {
  return plan_problems(Planner(t, policies), t);
}

std::vector<std::string> plan_problems(const Planner& planner, const Topology& t) {
  return plan_findings(planner, t).problems;
}

PlanFindings plan_findings(const Planner& planner, const Topology& t) {
  PlanFindings out;
  for (const Node& n : t.nodes) {
    const NodePlan plan = planner.plan(n.name);  // each node planned once for both lists
    for (const PlanProblem& p : plan.problems) out.problems.push_back("plan for " + n.name + ": " + p.message);
    for (const std::string& note : plan.notes) out.notes.push_back("plan for " + n.name + ": " + note);
  }
  return out;
}

NodePlan plan_node(const Topology& t, const PolicySet& policies, const std::string& name) {
  return Planner(t, policies).plan(name);
}

bool Planner::has_node(const std::string& name) const { return context_->model.nodes.count(name) != 0; }

std::map<std::string, ConnectionPlan> Planner::Context::connections(const std::string& name,
                                                                    const std::vector<Pair>& pair_keys,
                                                                    const std::set<std::string>* peers) const {
  const Model& index = model;
  const Node* self = &index.node(name);
  // Connections by peer; children by protected pair, in pair order on every run.
  std::map<std::string, ConnectionPlan> by_peer;
  for (const Pair& k : pair_keys) {
    const ProtectedPair& pair = pairs.at(k);
    const Node& x = index.node(pair.x);
    const Node& y = index.node(pair.y);
    for (const Hop& hop : path(index, x, y)) {
      // Orient the hop from this node's side; skip hops this node is not on.
      bool forward = hop.from == name;
      if (!forward && hop.to != name) continue;
      const std::string peer = forward ? hop.to : hop.from;
      if (peers && !peers->count(peer)) continue;
      // Which end of the pair is behind this node: the end on the hop's `from` side is x.
      const Node& near = forward ? x : y;
      const Node& far = forward ? y : x;
      const Node& peer_node = index.node(peer);

      ConnectionPlan& c = by_peer[peer];
      const std::string tmpl = hop.template_name.empty() ? template_for(pair.reference_points)
                                                         : hop.template_name;
      if (hop.template_name.empty()) {
        // Reference points sharing one hop must agree on its profile and actions.
        for (const std::string& point : pair.reference_points) {
          const std::string other = template_for({point});
          if (!same_behaviour(policies.templates.at(other), policies.templates.at(tmpl), hop.zone)) {
            c.problems.push_back({"templates " + tmpl + " and " + other + " disagree for " +
                                     pair.x + " <-> " + pair.y +
                                     ", which share one tunnel; align their profiles and actions"});
          }
        }
      }
      const Template& tp = policies.templates.at(tmpl);
      const std::string profile_name = hop.zone == Zone::za ? tp.za_profile : tp.zb_profile;
      const Profile& profile = policies.profiles.at(profile_name);

      if (c.name.empty()) {
        c.peer = peer;
        c.zone = hop.zone;
        c.profile = profile_name;
        c.template_name = tmpl;
        c.name = std::string(hop.zone == Zone::za ? "za" : "zb") + "_" + name + "_" + peer;
        c.local_addrs = self->addresses;
        c.remote_addrs = peer_node.addresses;
        c.local_id = self->identity;
        c.remote_id = peer_node.identity;
        if (const topology::Domain* pd = index.domain(peer_node.domain)) c.remote_ca_id = pd->ca_id;
        c.ike_proposals = profile.ike_proposals;
        c.rekey_time = profile.ike_rekey_time;
        c.dpd_delay = profile.dpd_delay;
        c.dpd_timeout = profile.dpd_timeout;
      } else if (c.profile != profile_name) {
        c.problems.push_back(
            {"the connection to " + peer + " would need both profile \"" + c.profile +
             "\" and \"" + profile_name + "\" (templates " + c.template_name + " and " + tmpl +
             " disagree); one IKE_SA per peer pair can have only one"});
      }

      ChildPlan child;
      // "_" separates: node names use only [a-z0-9-], and "." would be read as a path by
      // swanctl's settings parser.
      child.name = near.name + "_" + far.name;
      // Every prefix each end protects of a family the other end protects too, on every hop
      // of the path alike (the hops' own families need not be the pair's: ESP carries IPv6 in
      // IPv4 and the reverse).
      child.local_ts = prefixes(near, far);
      child.remote_ts = prefixes(far, near);
      if (child.local_ts.empty() || child.remote_ts.empty()) {
        // Refused by the topology's rule 39 before a plan is made; a model built otherwise
        // gets no child whose empty selectors charon would read as "this host's address".
        c.problems.push_back({pair.x + " and " + pair.y +
                              " protect no common address family (IPv4/IPv6); no packet between them could "
                              "be carried"});
      }
      child.esp_proposals = profile.esp_proposals;
      child.mode = profile.mode;
      child.rekey_time = profile.esp_rekey_time;
      child.life_time = profile.esp_life_time;
      child.start_action = tp.start_action;
      child.close_action = tp.close_action;
      child.dpd_action = tp.dpd_action;
      child.reference_points.assign(pair.reference_points.begin(), pair.reference_points.end());
      child.standby = hop.standby;
      child.standby_for = hop.standby_for;
      child.picks_seg = forward ? hop.from_picks : hop.to_picks;
      child.peer_picks_seg = forward ? hop.to_picks : hop.from_picks;
      c.reference_points.insert(c.reference_points.end(), pair.reference_points.begin(),
                                pair.reference_points.end());
      // Why this hop exists, for operators: the kind of hop, then what it carries.
      std::string kind;
      if (hop.template_name.empty() && hop.zone == Zone::zb) {
        kind = "Zb inside " + self->domain;
      } else if (hop.template_name.empty()) {
        kind = "Za end to end, " + self->domain + " <-> " + peer_node.domain;
      } else if (hop.zone == Zone::za) {
        // One end may be a node of a domain without SEGs: say so rather than "SEG <-> SEG".
        kind = za_role(index, *self) + " <-> " + za_role(index, peer_node) + ", Za " + self->domain + " <-> " +
               peer_node.domain;
      } else if (near.name == name || far.name == name) {
        kind = "to own SEG " + peer + ", Zb";
      } else {
        kind = "as SEG of " + self->domain + ", Zb";
      }
      if (c.why.empty()) c.why = kind;
      child.why = common::join(pair.reasons, "; ");
      if (!child.local_ts.empty() && !child.remote_ts.empty()) c.children.push_back(std::move(child));
    }
  }

  for (auto& [peer, c] : by_peer) {
    // Address families: the hop works only over a family both ends have.
    const bool v4 = std::any_of(c.local_addrs.begin(), c.local_addrs.end(),
                                [](const auto& a) { return !is_v6(a); }) &&
                    std::any_of(c.remote_addrs.begin(), c.remote_addrs.end(),
                                [](const auto& a) { return !is_v6(a); });
    const bool v6 = std::any_of(c.local_addrs.begin(), c.local_addrs.end(), is_v6) &&
                    std::any_of(c.remote_addrs.begin(), c.remote_addrs.end(), is_v6);
    if (!v4 && !v6) {
      c.problems.push_back({name + " and " + peer + " share no address family (IPv4/IPv6)"});
    }
    std::sort(c.reference_points.begin(), c.reference_points.end());
    c.reference_points.erase(std::unique(c.reference_points.begin(), c.reference_points.end()),
                             c.reference_points.end());
    std::sort(c.children.begin(), c.children.end(),
              [](const ChildPlan& a, const ChildPlan& b) { return a.name < b.name; });
    // One line per connection: the hop's kind, then the reason itself or how many pairs a
    // SEG hop carries (each child keeps its own reason).
    c.why += c.children.size() == 1
                 ? ": " + c.children.front().why
                 : ": carries " + std::to_string(c.children.size()) + " node pairs";
    c.digest = connection_digest(c);
  }
  return by_peer;
}

NodePlan Planner::Context::assemble(const std::string& name, ConnectionList connections) const {
  const Model& index = model;
  const Node* self = &index.node(name);
  NodePlan plan;
  plan.node = self->name;
  plan.domain = self->domain;
  plan.role = topology::to_string(self->role);
  plan.credentials.identity = self->identity;
  std::set<std::string> trusted;
  if (const topology::Domain* d = index.domain(self->domain)) {
    plan.credentials.own_ca_id = d->ca_id;
    trusted.insert(d->ca_id);
  }
  for (const ConnectionPlan& c : connections) {
    if (!c.remote_ca_id.empty()) trusted.insert(c.remote_ca_id);
    for (const std::string& p : c.problems) plan.problems.push_back({p});
  }
  plan.connections = std::move(connections);
  // A listed SEG is used, or the plan says why it is not (validate prints it).
  if (const topology::Domain* d = index.domain(self->domain);
      d && listed_seg(*d, name) && plan.connections.empty()) {
    const std::vector<std::string> transit = transit_segs(index, *d);
    const bool carries_transit = std::find(transit.begin(), transit.end(), name) != transit.end();
    plan.notes.push_back(
        name + " is listed in " + d->name + "'s segs but carries nothing: " +
        (carries_transit ? "no node of " + d->name + " has a pair with another domain"
                         : "while " + d->name + " has dedicated SEGs (" + common::join(transit, ", ") +
                               "), a node with an integrated SEG function carries only its own pairs with other "
                               "domains, and " + name + " has none"));
  }

  // CAPIF relations get no tunnel but are reported by both ends.
  std::vector<OutsidePoint> outside;
  if (auto it = capif_of.find(name); it != capif_of.end()) {
    for (const Pair& k : it->second) {
      const topology::ServiceUse& use = capif.at(k);
      // TS 33.122: CAPIF-2 inside the SEAL server's (the API provider's) trust domain,
      // CAPIF-2e from outside it.
      const bool inside = index.node(use.val_server).domain == index.node(use.seal_server).domain;
      outside.push_back({std::string(refpoint::seal_s) + " (CAPIF)", name == use.val_server ? use.seal_server : use.val_server,
                         inside ? "CAPIF-2 security (TS 33.122), no tunnel" : "CAPIF-2e security (TS 33.122), no tunnel",
                         use.val_server + " reaches " + use.seal_server + " through CAPIF (" + service_list(use.services) + ")",
                         OutsideKind::capif});
    }
  }
  // UE-facing and CAPIF reference points: accounted for, not ours.
  if (self->role == topology::Role::seal_server) {
    outside.push_back({"SEAL-UU", "", "TLS, outside NDS/IP",
                       "VAL UEs reach " + name + "'s SEAL services over SEAL-UU"});
    const auto offers = [&](Service s) {
      return std::find(self->services.begin(), self->services.end(), s) != self->services.end();
    };
    if (offers(Service::identity_management)) {
      outside.push_back({"IM-UU", "", "TLS, outside NDS/IP", "identity management client on UEs"});
    }
    if (offers(Service::key_management)) {
      outside.push_back({"KM-UU", "", "TLS, outside NDS/IP", "key management client on UEs"});
    }
    if (offers(Service::data_delivery)) {
      outside.push_back({"SEALDD-UU", "", "TLS, outside NDS/IP", "SEALDD clients on UEs (TS 23.433)"});
    }
    // Between SEAL services of this server (TS 23.434): HTTPS inside the SEAL server.
    if (offers(Service::key_management) && offers(Service::group_management)) {
      outside.push_back({"SEAL-X1", "", "TLS, outside NDS/IP",
                         "key management <-> group management inside " + name});
    }
    if (offers(Service::group_management) && offers(Service::location_management)) {
      outside.push_back({"SEAL-X2", "", "TLS, outside NDS/IP",
                         "group management <-> location management inside " + name});
    }
  }
  std::sort(outside.begin(), outside.end(), [](const OutsidePoint& a, const OutsidePoint& b) {
    return std::tie(a.reference_point, a.peer) < std::tie(b.reference_point, b.peer);
  });
  plan.outside = std::move(outside);
  plan.credentials.trusted_ca_ids.assign(trusted.begin(), trusted.end());
  return plan;
}


NodePlan Planner::plan(const std::string& name) const {
  const Context& context = *context_;
  if (!context.model.nodes.count(name)) throw std::invalid_argument("node \"" + name + "\" is not in the topology");
  std::vector<Pair> pair_keys;
  if (auto mine = context.by_node.find(name); mine != context.by_node.end()) {
    pair_keys.assign(mine->second.begin(), mine->second.end());
  }
  ConnectionList list;
  for (auto& [peer, c] : context.connections(name, pair_keys, nullptr)) list.push_back(std::move(c));
  list.sort_by_name();
  return context.assemble(name, std::move(list));
}

}  // namespace ndsip::policy
