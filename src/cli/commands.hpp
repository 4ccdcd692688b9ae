// ndsipctl's subcommands. Each takes its own arguments (after the subcommand name) and
// returns the process exit code; output goes to the given streams so tests can capture it.
#pragma once

#include <iosfwd>
#include <string>
#include <vector>

namespace ndsip::cli {

using Args = std::vector<std::string>;

int validate_command(const Args& args, std::ostream& out, std::ostream& err);
int plan_command(const Args& args, std::ostream& out, std::ostream& err);
// Over ndsipd's control socket.
int push_command(const Args& args, std::ostream& out, std::ostream& err);
int diff_command(const Args& args, std::ostream& out, std::ostream& err);
int status_command(const Args& args, std::ostream& out, std::ostream& err);
int rollback_command(const Args& args, std::ostream& out, std::ostream& err);
int reconnect_command(const Args& args, std::ostream& out, std::ostream& err);
int reload_command(const Args& args, std::ostream& out, std::ostream& err);
int version_command(const Args& args, std::ostream& out, std::ostream& err);
int certs_command(const Args& args, std::ostream& out, std::ostream& err);
int renew_command(const Args& args, std::ostream& out, std::ostream& err);
// Offline: the first certificate from the CA over CMPv2 (enrol_command.cpp).
int enrol_command(const Args& args, std::ostream& out, std::ostream& err);
int list_commands_command(const Args& args, std::ostream& out, std::ostream& err);
// The fleet, over etcd (fleet_commands.cpp).
int publish_command(const Args& args, std::ostream& out, std::ostream& err);
int fleet_rollback_command(const Args& args, std::ostream& out, std::ostream& err);  // rollback --etcd
int fleet_status_command(const Args& args, std::ostream& out, std::ostream& err);

// Exit codes shared by the subcommands.
inline constexpr int exit_ok = 0;
inline constexpr int exit_invalid = 1;  // the input has problems (listed)
inline constexpr int exit_unreachable = 2;  // ndsipd (or, for status, charon) cannot be reached, or refuses us
inline constexpr int exit_usage = 64;       // bad command line (EX_USAGE), apart from unreachable
inline constexpr int exit_conflict = 75;    // another publish came first; nothing written (EX_TEMPFAIL)

}  // namespace ndsip::cli
