// ndsipctl: the operator's tool. validate and plan work offline; the other commands talk to
// ndsipd over its control socket.
#include <algorithm>
#include <iostream>
#include <string>

#include "cli/commands.hpp"

namespace {

const char* usage =
    "Usage: ndsipctl COMMAND [ARGS]\n\n"
    "Commands:\n"
    "  validate TOPOLOGY               check a topology, the policies and the templates\n"
    "  plan TOPOLOGY --node NAME       show the connections NAME must have, and why\n"
    "                                  (--json, --swanctl)\n"
    "  push TOPOLOGY                   send a topology to ndsipd, which validates and applies it\n"
    "  diff TOPOLOGY                   what a push would change, without changing it\n"
    "  status                          every desired tunnel and its state (--json)\n"
    "  rollback                        re-apply the previous accepted topology\n"
    "  publish TOPOLOGY --etcd URL     validate and publish a topology to the fleet's etcd\n"
    "  rollback --etcd URL             publish again the fleet's previous topology\n"
    "  fleet-status --etcd URL         every node of the fleet: applied revision, tunnels (--json)\n"
    "  reconnect PEER                  tear down and re-establish the tunnel to PEER\n"
    "  reload                          make ndsipd re-read policies, templates, credentials\n"
    "  certs                           certificates, CAs, CRLs and peers' certificates, expiry\n"
    "  renew                           renew the node's certificate over CMPv2 now\n"
    "  enrol --server URL ...          this host's first certificate from the CA over CMPv2\n"
    "  version                         ndsipd's and charon's versions\n"
    "  list-commands                   the commands ndsipd answers on its control socket\n\n"
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
    if (command == "push") return push_command(args, std::cout, std::cerr);
    if (command == "diff") return diff_command(args, std::cout, std::cerr);
    if (command == "status") return status_command(args, std::cout, std::cerr);
    if (command == "publish") return publish_command(args, std::cout, std::cerr);
    if (command == "fleet-status") return fleet_status_command(args, std::cout, std::cerr);
    if (command == "rollback") {
      const bool fleet = std::any_of(args.begin(), args.end(),
                                     [](const std::string& a) { return a == "--etcd" || a.rfind("--etcd=", 0) == 0; });
      return fleet ? fleet_rollback_command(args, std::cout, std::cerr) : rollback_command(args, std::cout, std::cerr);
    }
    if (command == "reconnect") return reconnect_command(args, std::cout, std::cerr);
    if (command == "reload") return reload_command(args, std::cout, std::cerr);
    if (command == "version") return version_command(args, std::cout, std::cerr);
    if (command == "certs") return certs_command(args, std::cout, std::cerr);
    if (command == "renew") return renew_command(args, std::cout, std::cerr);
    if (command == "enrol") return enrol_command(args, std::cout, std::cerr);
    if (command == "list-commands") return list_commands_command(args, std::cout, std::cerr);
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
