// The planner: (topology, policies, node) -> the node's desired state. Deterministic: the
// same input gives byte-identical renderings. Pure: no I/O, no charon.
//
// Layout, chosen with charon's behaviour in mind: one connection (one IKE_SA) per peer node,
// because several IKE_SAs between the same two identities destroy each other through
// INITIAL_CONTACT; one CHILD_SA per protected node pair carried over that hop, so a SEG's
// Za connection carries exactly the prefix pairs the topology asks for and no cross product.
#pragma once

#include <algorithm>
#include <compare>
#include <cstddef>
#include <initializer_list>
#include <iterator>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "policy/profile.hpp"
#include "topology/delta.hpp"
#include "topology/model.hpp"

namespace ndsip::policy {

// Reference points, as TS 23.434 / TS 23.433 / TS 33.434 name them.
namespace refpoint {
inline constexpr const char* seal_s = "SEAL-S";
inline constexpr const char* seal_e = "SEAL-E";
inline constexpr const char* km_s = "KM-S";
inline constexpr const char* km_e = "KM-E";
inline constexpr const char* sealdd_s = "SEALDD-S";
inline constexpr const char* sealdd_e = "SEALDD-E";
}  // namespace refpoint

struct ChildPlan {
  std::string name;                      // "<near>_<far>": the protected node pair, this node's side first
  std::vector<std::string> local_ts, remote_ts;
  std::vector<std::string> esp_proposals;
  std::string mode, rekey_time, life_time;
  std::string start_action, close_action, dpd_action;
  std::vector<std::string> reference_points;  // carried by this child
  std::string why;                            // the relation(s) in the topology behind it
  // Carried through a domain's second (third, ...) SEG (docs/planner.md, "Dedicated,
  // integrated and redundant SEGs"): loaded in charon with no start or close action and never
  // initiated by ndsipd, so a host never holds two CHILD_SAs with the same selectors.
  // `standby_for` names the preferred SEG(s) whose hop is active instead ("seg-a1",
  // "seg-a1 <-> seg-b1").
  bool standby = false;
  std::string standby_for;
  // Who picks the SEG hop that carries the pair, where there are several (docs/planner.md,
  // "Failing over between SEGs"). `picks_seg`: this node; its ndsipd makes one of the hops
  // active (the preferred one while its SEG answers), initiates it, and keeps the others'
  // IKE_SAs up without children. `peer_picks_seg` (and not picks_seg): the peer does; this end
  // never initiates the child and gives charon no start, close or DPD action for it.
  bool picks_seg = false;
  bool peer_picks_seg = false;
  // Whether this end leaves the child to its peer alone: standby, or the peer picks the SEG.
  bool passive() const { return standby || (peer_picks_seg && !picks_seg); }
};

struct ConnectionPlan {
  std::string name;          // stable and readable: "<zone>_<local>_<peer>", e.g. "zb_val-1_gms-a"
  std::string digest;        // 16 hex digits of SHA-256 over the rendered content: changes iff content does
  std::string peer;          // node name
  Zone zone = Zone::zb;
  std::string profile;       // profile name
  std::string template_name; // template that set the actions
  std::vector<std::string> reference_points;  // union over children
  std::string why;           // one line for operators: kind of hop, then what it carries
  std::vector<std::string> local_addrs, remote_addrs;
  std::string local_id, remote_id, remote_ca_id;
  std::vector<std::string> ike_proposals;
  std::string rekey_time, dpd_delay, dpd_timeout;
  std::vector<ChildPlan> children;
  std::vector<std::string> problems;  // this connection's (NodePlan::problems holds them all)
};

// The connections of a plan, sorted by name. Reads like a std::vector<ConnectionPlan>, but
// holds each connection through a shared pointer: a re-plan after a change rebuilds only the
// connections the change touches and shares the others with the plan before, so one changed
// peer of a 10,000-connection node does not copy 10,000 connections.
class ConnectionList {
 public:
  using Ptr = std::shared_ptr<const ConnectionPlan>;
  class const_iterator {
   public:
    using iterator_category = std::random_access_iterator_tag;
    using value_type = ConnectionPlan;
    using difference_type = std::ptrdiff_t;
    using pointer = const ConnectionPlan*;
    using reference = const ConnectionPlan&;
    const_iterator() = default;
    explicit const_iterator(std::vector<Ptr>::const_iterator it) : it_(it) {}
    reference operator*() const { return **it_; }
    pointer operator->() const { return it_->get(); }
    reference operator[](difference_type n) const { return *it_[n]; }
    const_iterator& operator++() { ++it_; return *this; }
    const_iterator operator++(int) { auto old = *this; ++it_; return old; }
    const_iterator& operator--() { --it_; return *this; }
    const_iterator operator--(int) { auto old = *this; --it_; return old; }
    const_iterator& operator+=(difference_type n) { it_ += n; return *this; }
    const_iterator& operator-=(difference_type n) { it_ -= n; return *this; }
    friend const_iterator operator+(const_iterator a, difference_type n) { return a += n; }
    friend const_iterator operator+(difference_type n, const_iterator a) { return a += n; }
    friend const_iterator operator-(const_iterator a, difference_type n) { return a -= n; }
    friend difference_type operator-(const const_iterator& a, const const_iterator& b) { return a.it_ - b.it_; }
    friend auto operator<=>(const const_iterator&, const const_iterator&) = default;
    friend bool operator==(const const_iterator&, const const_iterator&) = default;

   private:
    std::vector<Ptr>::const_iterator it_;
  };
  using iterator = const_iterator;
  using value_type = ConnectionPlan;

  ConnectionList() = default;
  ConnectionList(std::initializer_list<ConnectionPlan> connections) {
    for (const ConnectionPlan& c : connections) push_back(c);
  }
  void push_back(ConnectionPlan c) { items_.push_back(std::make_shared<const ConnectionPlan>(std::move(c))); }
  void push_back(Ptr c) { items_.push_back(std::move(c)); }
  std::size_t size() const { return items_.size(); }
  bool empty() const { return items_.empty(); }
  const ConnectionPlan& operator[](std::size_t i) const { return *items_[i]; }
  const ConnectionPlan& front() const { return *items_.front(); }
  const ConnectionPlan& back() const { return *items_.back(); }
  const_iterator begin() const { return const_iterator(items_.begin()); }
  const_iterator end() const { return const_iterator(items_.end()); }
  const Ptr& shared(std::size_t i) const { return items_[i]; }
  void sort_by_name() {
    std::sort(items_.begin(), items_.end(), [](const Ptr& a, const Ptr& b) { return a->name < b->name; });
  }

 private:
  std::vector<Ptr> items_;
};

// A reference point of the node that NDS/IP does not cover (TLS, or CAPIF-2 / CAPIF-2e).
enum class OutsideKind { tls, capif };
const char* to_string(OutsideKind kind);  // "tls" / "capif"

struct OutsidePoint {
  std::string reference_point;  // "SEAL-UU", "KM-UU", "SEAL-S (CAPIF)", ...
  std::string peer;             // node name, or "" for UE-facing points
  std::string protection;       // "TLS, outside NDS/IP" / "CAPIF-2[e] security (TS 33.122), no tunnel"
  std::string why;
  OutsideKind kind = OutsideKind::tls;
};

struct Credentials {
  std::string identity;                 // own certificate's SAN / IKE identity
  std::string own_ca_id;                // own domain's CA
  std::vector<std::string> trusted_ca_ids;  // CAs the node must trust: its own and its peers' domains
};

struct PlanProblem {
  std::string message;  // e.g. "val-1 and gms-b share no address family (IPv4/IPv6)"
};

struct NodePlan {
  std::string node, domain, role;
  Credentials credentials;
  ConnectionList connections;               // sorted by name
  std::vector<OutsidePoint> outside;        // sorted
  std::vector<PlanProblem> problems;        // the plan is unusable while non-empty
  // What an operator should know but that does not make the plan unusable: why a SEG listed
  // in its domain's `segs` carries nothing.
  std::vector<std::string> notes;
};

// Plans nodes of one topology. The name look-ups and the protected pairs are built once, so
// planning every node (as validate does) is linear in the size of the topology, not
// quadratic. Keeps its own copy of the topology and a reference to the policies, which must
// outlive it. Inputs must be validated (load_topology_* and load_policies without problems).
class Planner {
 public:
  Planner(const topology::Topology& topology, const PolicySet& policies);
  ~Planner();
  Planner(const Planner&) = delete;
  Planner& operator=(const Planner&) = delete;

  // Throws std::invalid_argument when `node` is not in the topology.
  NodePlan plan(const std::string& node) const;
  bool has_node(const std::string& node) const;

  // Takes in a change of the topology (validated, as a whole, with its result) and returns
  // the nodes whose plan it can change: the neighbourhood of what it touches (each node
  // touched, the nodes that carry a pair with it or through it, the members of a touched
  // domain and their peers). Every other node's plan is the same as before, byte for byte;
  // a property test holds it to that. The inverse change (topology::inverse) undoes it.
  std::set<std::string> apply(const topology::ModelChange& change);
  // After apply(): the plan of a node it named, made from `before` (its plan before the
  // change) by rebuilding only the connections the change can touch and sharing the others;
  // equal, byte for byte, to plan(node). And the problems of those rebuilt connections (the
  // others had none: they were the accepted topology's), or of the whole plan when the node
  // itself changed.
  NodePlan replan(const NodePlan& before) const;
  std::vector<std::string> problems_after_apply(const std::string& node) const;

 private:
  struct Context;
  std::unique_ptr<Context> context_;
};

// Problems only the planner sees (no common address family, templates that disagree on a
// shared tunnel), for every node, as "plan for <node>: <message>". validate and push refuse a
// topology with any.
std::vector<std::string> plan_problems(const topology::Topology& topology, const PolicySet& policies);
// The same with a Planner the caller keeps (to plan its own node from it afterwards).
std::vector<std::string> plan_problems(const Planner& planner, const topology::Topology& topology);

// Both, from one planning of every node: the problems, and the notes (an idle SEG) that
// validate prints, each as "plan for <node>: <message>".
struct PlanFindings {
  std::vector<std::string> problems, notes;
};
PlanFindings plan_findings(const Planner& planner, const topology::Topology& topology);

// One node, for callers that plan just one.
NodePlan plan_node(const topology::Topology& topology, const PolicySet& policies,
                   const std::string& node);

const char* to_string(Zone zone);  // "Za" / "Zb"

}  // namespace ndsip::policy
