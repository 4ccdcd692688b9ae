// A whole-topology evaluation: topology text + policies -> every problem, or this node's plan,
// from scratch. --check-config uses it; push, diff, rollback and start-up go through
// TopologyHolder's incremental check, which gives the same problems (property-tested for the
// topology and the planner). Folding --check-config into TopologyHolder, so there is one path
// again, is open work (issue 11's closing note).
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "policy/plan.hpp"
#include "policy/profile.hpp"
#include "topology/model.hpp"

namespace ndsip::daemon {

struct Candidate {
  std::string text;    // the topology as pushed or stored
  std::string digest;  // short digest of `text`
  std::shared_ptr<const topology::Topology> topology;  // set when problems is empty
  std::shared_ptr<const policy::NodePlan> plan;        // this node's, set when problems is empty
  std::vector<std::string> problems;                   // every one, as "JSON-pointer: message"
  bool ok() const { return problems.empty(); }
};

// Validates `text` in full, plans every node (problems only the planner sees), and plans
// `node`. A topology without `node` is refused: applied, it would remove every tunnel of this
// host at once.
Candidate evaluate(std::string text, const policy::PolicySet& policies, const std::string& node);

// The policies and templates ndsipd uses: the configured directories, or the data directory.
policy::PolicyLoadResult load_policy_set(const std::string& policies_dir, const std::string& templates_dir);

}  // namespace ndsip::daemon
