// What validate and plan both need: the topology and the policy set, loaded with every
// problem reported in one list, and the default location of policies/ and templates/.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "policy/profile.hpp"
#include "topology/model.hpp"

namespace ndsip::cli {

struct Inputs {
  std::optional<topology::Topology> topology;
  policy::PolicySet policies;
  std::vector<std::string> problems;  // formatted, one line each, prefixed with their file
  std::vector<std::string> notes;     // the plans' notes (an idle SEG), when there is no problem
};

// $NDSIP_DATA_DIR, else the directory the build was configured with.
std::string default_data_dir();

// Loads both; problems in either are collected. Also plans every node to surface problems
// only the planner can see (e.g. two peers with no common address family).
Inputs load_inputs(const std::string& topology_path, const std::string& policies_dir,
                   const std::string& templates_dir);

}  // namespace ndsip::cli
