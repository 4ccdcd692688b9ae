#include <boost/program_options.hpp>
#include <iostream>

#include "cli/commands.hpp"
#include "cli/inputs.hpp"
#include "cli/options.hpp"
#include "policy/plan.hpp"
#include "policy/render.hpp"

namespace ndsip::cli {

namespace po = boost::program_options;

int plan_command(const Args& args, std::ostream& out, std::ostream& err) {
  po::options_description opts(
      "Usage: ndsipctl plan TOPOLOGY --node NAME [--json | --swanctl] [options]\n\n"
      "Shows the connections NAME must have and why each exists (reference point, Za/Zb,\n"
      "profile), offline. --json for machines, --swanctl for the equivalent swanctl.conf.\n\n"
      "Options");
  opts.add_options()("node", po::value<std::string>(), "the node to plan for (required)")(
      "json", "print the plan as JSON")("swanctl", "print the equivalent swanctl.conf");
  add_data_dir_options(opts);
  po::variables_map vm;
  std::string topology_path;
  if (int rc = parse(args, opts, "topology", &topology_path, vm, out, err); rc >= 0) return rc;
  if (!vm.count("node")) {
    err << "ndsipctl plan: --node NAME is required (see ndsipctl plan --help)\n";
    return exit_usage;
  }
  if (vm.count("json") && vm.count("swanctl")) {
    err << "ndsipctl plan: choose one of --json and --swanctl\n";
    return exit_usage;
  }
  const Inputs in = load_inputs(topology_path, vm["policies"].as<std::string>(),
                                vm["templates"].as<std::string>());
  if (!in.problems.empty()) {
    for (const std::string& p : in.problems) err << p << "\n";
    err << "ndsipctl plan: fix these problems first (ndsipctl validate shows the same)\n";
    return exit_invalid;
  }
  const std::string node = vm["node"].as<std::string>();
  if (!in.topology->node(node)) {
    err << "ndsipctl plan: node \"" << node << "\" is not in " << topology_path << "\n";
    return exit_invalid;
  }
  const policy::NodePlan plan = policy::plan_node(*in.topology, in.policies, node);
  if (vm.count("json")) {
    out << policy::render_json(plan);
  } else if (vm.count("swanctl")) {
    out << policy::render_swanctl(plan);
  } else {
    out << policy::render_table(plan);
  }
  return exit_ok;
}

}  // namespace ndsip::cli
