// The planner: (topology, policies, node) -> the node's desired state. Deterministic: the
// same input gives byte-identical renderings. Pure: no I/O, no charon.
//
// Layout, chosen with charon's behaviour in mind: one connection (one IKE_SA) per peer node,
// because several IKE_SAs between the same two identities destroy each other through
// INITIAL_CONTACT; one CHILD_SA per protected node pair carried over that hop, so a SEG's
// Za connection carries exactly the prefix pairs the topology asks for and no cross product.
#pragma once

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
};

// A reference point of the node that NDS/IP does not cover (TLS, or CAPIF-2e).
enum class OutsideKind { tls, capif };
const char* to_string(OutsideKind kind);  // "tls" / "capif"

struct OutsidePoint {
  std::string reference_point;  // "SEAL-UU", "KM-UU", "SEAL-S (CAPIF)", ...
  std::string peer;             // node name, or "" for UE-facing points
  std::string protection;       // "TLS, outside NDS/IP" / "CAPIF-2e security (TS 33.122), no tunnel"
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
  std::vector<ConnectionPlan> connections;  // sorted by name
  std::vector<OutsidePoint> outside;        // sorted
  std::vector<PlanProblem> problems;        // the plan is unusable while non-empty
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

// One node, for callers that plan just one.
NodePlan plan_node(const topology::Topology& topology, const PolicySet& policies,
                   const std::string& node);

const char* to_string(Zone zone);  // "Za" / "Zb"

}  // namespace ndsip::policy
