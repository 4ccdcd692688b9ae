// ndsipctl: the operator's tool. Offline today: validate and plan. The daemon work adds
// push, diff, status, certs, rollback and reconnect over the control socket.
#include <iostream>
#include <string>

#include "cli/commands.hpp"

namespace {

const char* usage =
    "Usage: ndsipctl COMMAND [ARGS]\n\n"
    "Commands:\n"
    "  validate TOPOLOGY               check a topology, the policies and the templates\n"
    "  plan TOPOLOGY --node NAME       show the connections NAME must have, and why\n"
    "                                  (--json, --swanctl)\n\n"
    "`ndsipctl COMMAND --help` describes each command.\n";

}  // namespace

int main(int argc, char** argv) {
  using namespace ndsip::cli;
  if (argc < 2) {
    std::cerr << usage;
    return exit_usage;
  }
  const std::string command = argv[1];
  const Args args(argv + 2, argv + argc);
  try {
    if (command == "validate") return validate_command(args, std::cout, std::cerr);
    if (command == "plan") return plan_command(args, std::cout, std::cerr);
    if (command == "--help" || command == "-h" || command == "help") {
      std::cout << usage;
      return exit_ok;
    }
  } catch (const std::exception& e) {
    // Inputs are validated before planning, so this is a bug; say so rather than crash.
    std::cerr << "ndsipctl " << command << ": internal error: " << e.what() << "\n";
    return 3;
  }
  std::cerr << "ndsipctl: unknown command \"" << command << "\"\n\n" << usage;
  return exit_usage;
}
