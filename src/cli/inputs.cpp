#include "cli/inputs.hpp"

#include <cstdlib>

#include "policy/plan.hpp"
#include "topology/load.hpp"

namespace ndsip::cli {

std::string default_data_dir() {
  if (const char* env = std::getenv("NDSIP_DATA_DIR"); env && *env) return env;
  return NDSIP_DEFAULT_DATA_DIR;
}

Inputs load_inputs(const std::string& topology_path, const std::string& policies_dir,
                   const std::string& templates_dir) {
  Inputs in;
  topology::LoadResult topo = topology::load_topology_file(topology_path);
  for (const topology::Problem& p : topo.problems) in.problems.push_back(p.to_string());
  policy::PolicyLoadResult pol = policy::load_policies(policies_dir, templates_dir);
  for (const policy::PolicyProblem& p : pol.problems) in.problems.push_back(p.to_string());
  in.policies = std::move(pol.set);
  in.topology = std::move(topo.topology);
  if (in.topology && pol.problems.empty()) {
    policy::PlanFindings found = policy::plan_findings(policy::Planner(*in.topology, in.policies), *in.topology);
    for (std::string& p : found.problems) in.problems.push_back(std::move(p));
    if (in.problems.empty()) in.notes = std::move(found.notes);
  }
  return in;
}

}  // namespace ndsip::cli
