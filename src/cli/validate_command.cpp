#include <boost/program_options.hpp>
#include <iostream>

#include "cli/commands.hpp"
#include "cli/inputs.hpp"
#include "cli/options.hpp"

namespace ndsip::cli {

namespace po = boost::program_options;

int validate_command(const Args& args, std::ostream& out, std::ostream& err) {
  po::options_description opts(
      "Usage: ndsipctl validate TOPOLOGY [options]\n\n"
      "Checks a topology file, the policies and the templates, offline. Prints every problem,\n"
      "one per line as `JSON-pointer: message`; exit 0 when valid, 1 when not, 64 on usage "
      "errors.\n\nOptions");
  add_data_dir_options(opts);
  po::variables_map vm;
  std::string topology_path;
  if (int rc = parse(args, opts, "topology", &topology_path, vm, out, err); rc >= 0) return rc;

  const Inputs in = load_inputs(topology_path, vm["policies"].as<std::string>(),
                                vm["templates"].as<std::string>());
  if (!in.problems.empty()) {
    for (const std::string& p : in.problems) out << p << "\n";
    err << topology_path << ": " << in.problems.size() << " problem"
        << (in.problems.size() == 1 ? "" : "s") << "\n";
    return exit_invalid;
  }
  out << topology_path << ": valid (" << in.topology->nodes.size() << " nodes, "
      << in.topology->domains.size() << " domains)\n";
  for (const std::string& n : in.notes) out << "note: " << n << "\n";
  return exit_ok;
}

}  // namespace ndsip::cli
