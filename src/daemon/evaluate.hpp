// The one evaluate path (Kea's staged configure: config-test, config-set and reload share
// it): topology text + policies -> every problem, or this node's plan. push, diff, rollback,
// reload, start-up and --check-config all go through evaluate(); nothing is adopted that it
// did not pass.
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
