#include "daemon/evaluate.hpp"

#include "policy/digest.hpp"
#include "topology/load.hpp"

namespace ndsip::daemon {

Candidate evaluate(std::string text, const policy::PolicySet& policies, const std::string& node) {
  Candidate c;
  c.digest = policy::short_digest(text);
  c.text = std::move(text);
  topology::LoadResult loaded = topology::load_topology_text(c.text);
  for (const auto& p : loaded.problems) c.problems.push_back(p.to_string());
  if (!loaded.topology) return c;
  // One Planner for the check of every node and for this node's plan.
  const policy::Planner planner(*loaded.topology, policies);
  for (std::string& p : policy::plan_problems(planner, *loaded.topology)) c.problems.push_back(std::move(p));
  if (!loaded.topology->node(node)) {
    c.problems.push_back("/nodes: this host's node \"" + node +
                         "\" is not in the topology (push it to the hosts it describes)");
  }
  if (!c.problems.empty()) return c;
  c.plan = std::make_shared<const policy::NodePlan>(planner.plan(node));
  c.topology = std::make_shared<const topology::Topology>(std::move(*loaded.topology));
  return c;
}

policy::PolicyLoadResult load_policy_set(const std::string& policies_dir, const std::string& templates_dir) {
  const auto or_default = [](const std::string& configured, const char* sub) {
    return configured.empty() ? std::string(NDSIP_DEFAULT_DATA_DIR) + "/" + sub : configured;
  };
  return policy::load_policies(or_default(policies_dir, "policies"), or_default(templates_dir, "templates"));
}

}  // namespace ndsip::daemon
