// Turning a topology text into this node's plan, with every problem, and adopting it.
#include "daemon/daemon.hpp"
#include "policy/digest.hpp"
#include "reconcile/connection_section.hpp"
#include "topology/load.hpp"

namespace ndsip::daemon {

Daemon::Candidate Daemon::evaluate(const std::string& text) const {
  Candidate c;
  topology::LoadResult loaded = topology::load_topology_text(text);
  for (const auto& p : loaded.problems) c.problems.push_back(p.to_string());
  if (!loaded.topology) return c;
  // One Planner for the check of every node and for this node's plan.
  const policy::Planner planner(*loaded.topology, policies_);
  for (std::string& p : policy::plan_problems(planner, *loaded.topology)) c.problems.push_back(std::move(p));
  if (!loaded.topology->node(config_.node)) {
    // Refused rather than applied: it would remove every tunnel of this host at once.
    c.problems.push_back("/nodes: this host's node \"" + config_.node +
                         "\" is not in the topology (push it to the hosts it describes)");
  }
  if (!c.problems.empty()) return c;
  c.plan = planner.plan(config_.node);
  c.topology = std::move(loaded.topology);
  return c;
}

void Daemon::adopt(Candidate c, const std::string& text, std::uint64_t version) {
  topology_ = std::move(c.topology);
  plan_ = std::move(c.plan);
  if (!text.empty()) topology_digest_ = policy::short_digest(text);
  topology_version_ = version;
  tunnels_.set_desired(plan_, &reconcile::is_initiator);
}

}  // namespace ndsip::daemon
