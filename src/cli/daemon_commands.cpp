// The subcommands that talk to ndsipd over its control socket: push, diff, status, rollback,
// reconnect, reload, version, certs, list-commands.
#include <boost/program_options.hpp>
#include <functional>
#include <optional>
#include <iomanip>
#include <iostream>
#include <sstream>

#include "cli/commands.hpp"
#include "cli/json_indent.hpp"
#include "cli/status_summary.hpp"
#include "cli/status_table.hpp"
#include "common/read_file.hpp"
#include "control/client.hpp"
#include "control/protocol.hpp"

namespace ndsip::cli {

namespace po = boost::program_options;
using nlohmann::json;
namespace key = control::key;

namespace {

std::string socket_default() {
  if (const char* env = std::getenv("NDSIP_SOCKET"); env && *env) return env;
  return control::default_socket;
}

// Common parsing: --socket, --help, --json, up to one positional argument, and the
// command's own flag, if any (status's --fresh).
struct Parsed {
  int exit = -1;
  std::string socket, positional;
  bool json = false;
  bool flag = false;
};

struct Flag {
  const char* name;
  const char* help;
};

Parsed parse_daemon_args(const Args& args, const std::string& usage, const char* positional,
                         bool positional_required, std::ostream& out, std::ostream& err,
                         std::optional<Flag> flag = std::nullopt) {
  Parsed p;
  po::options_description opts(usage + "\n\nOptions");
  opts.add_options()("socket", po::value(&p.socket)->default_value(socket_default()),
                     "ndsipd's control socket (or $NDSIP_SOCKET)")(
      "json", "print the daemon's answer as JSON")("help,h", "show this help");
  if (flag) opts.add_options()(flag->name, flag->help);
  po::options_description all;
  all.add(opts);
  po::positional_options_description pos;
  if (positional) {
    all.add_options()(positional, po::value(&p.positional), "");
    pos.add(positional, 1);
  }
  po::variables_map vm;
  try {
    po::store(po::command_line_parser(args).options(all).positional(pos).run(), vm);
    po::notify(vm);
  } catch (const po::error& e) {
    err << "ndsipctl: " << e.what() << " (see --help)\n";
    p.exit = exit_usage;
    return p;
  }
  if (vm.count("help")) {
    out << opts << "\n";
    p.exit = exit_ok;
    return p;
  }
  if (positional && positional_required && p.positional.empty()) {
    err << "ndsipctl: missing " << positional << " (see --help)\n";
    p.exit = exit_usage;
    return p;
  }
  p.json = vm.count("json") > 0;
  p.flag = flag && vm.count(flag->name) > 0;
  return p;
}

// Sends the request; nullopt (after saying why) when ndsipd cannot be reached or refuses
// this user the socket: the caller exits with exit_unreachable, whatever the command.
std::optional<json> ask(const Parsed& p, json request, std::ostream& err) {
  control::ControlResult r = control::control_request(p.socket, std::move(request));
  if (!r.response) {
    err << "ndsipctl: " << r.error << "\n";
    return std::nullopt;
  }
  if (r.response->value(key::denied, false)) {
    err << "ndsipd: " << r.response->value(key::error, "permission denied") << "\n";
    return std::nullopt;
  }
  return r.response;
}

int report(const json& response, bool as_json, std::ostream& out, std::ostream& err,
           const std::function<void(const json&)>& print) {
  if (as_json) {
    out << response.dump(2) << "\n";
  } else if (response.value("ok", false)) {
    print(response);
  } else {
    err << "ndsipd: " << response.value("error", "failed") << "\n";
    if (response.contains("problems")) {
      for (const auto& p : response["problems"]) err << p.get<std::string>() << "\n";
    }
  }
  return response.value("ok", false) ? exit_ok : exit_invalid;
}

std::string list(const json& names) {
  std::string out;
  for (const auto& n : names) out += (out.empty() ? "" : ", ") + n.get<std::string>();
  return out.empty() ? "-" : out;
}

void print_changes(const json& r, std::ostream& out) {
  out << "load:      " << list(r.value(key::load, json::array())) << "\n"
      << "unload:    " << list(r.value(key::unload, json::array())) << "\n"
      << "unchanged: " << r.value(key::unchanged, 0) << " connection(s)\n";
  if (r.contains(key::note)) out << "note: " << r[key::note].get<std::string>() << "\n";
}

bool read_topology(const std::string& path, std::string* text, std::ostream& err) {
  common::ReadResult r = common::read_file_or_error(path);
  if (!r.text) {
    err << "ndsipctl: " << r.error << "\n";
    return false;
  }
  *text = std::move(*r.text);
  return true;
}

// One subcommand: parse, build the request (nullopt: an error was printed), send it, print
// the answer.
int daemon_command(const Args& args, const std::string& usage, const char* positional,
                   const std::function<std::optional<json>(const Parsed&)>& request,
                   const std::function<void(const json&)>& print, std::ostream& out, std::ostream& err) {
  const Parsed p = parse_daemon_args(args, usage, positional, positional != nullptr, out, err);
  if (p.exit >= 0) return p.exit;
  const std::optional<json> req = request(p);
  if (!req) return exit_invalid;
  const auto r = ask(p, *req, err);
  if (!r) return exit_unreachable;
  return report(*r, p.json, out, err, print);
}

// push and diff send the topology file's text.
std::function<std::optional<json>(const Parsed&)> with_topology(const char* command, std::ostream& err) {
  return [command, &err](const Parsed& p) -> std::optional<json> {
    std::string text;
    if (!read_topology(p.positional, &text, err)) return std::nullopt;
    return json{{"command", command}, {"topology", text}};
  };
}

std::function<std::optional<json>(const Parsed&)> plain(const char* command) {
  return [command](const Parsed&) -> std::optional<json> { return json{{"command", command}}; };
}

}  // namespace

int push_command(const Args& args, std::ostream& out, std::ostream& err) {
  return daemon_command(args,
      "Usage: ndsipctl push TOPOLOGY [--socket PATH] [--json]\n\n"
      "Sends the topology to ndsipd, which validates it in full (the same errors as validate)\n"
      "and either rejects it (exit 1, every problem shown, nothing changed) or stores it and\n"
      "applies it, answering with what changed.",
      "topology", with_topology("push", err),
      [&](const json& x) {
        if (x.value("topology_unchanged", false)) {
          out << x.value(key::note, "unchanged") << "\n";
          return;
        }
        out << "accepted as version " << x.value(key::topology_version, 0) << " (digest " << x.value(key::digest, "")
            << ")\n";
        if (x.contains("topology_changes")) {
          for (const char* what : {"added", "changed", "removed"}) {
            const json& ids = x["topology_changes"].value(what, json::array());
            if (!ids.empty()) out << std::left << std::setw(11) << (std::string(what) + ":") << list(ids) << "\n";
          }
        }
        print_changes(x, out);
      },
      out, err);
}

int diff_command(const Args& args, std::ostream& out, std::ostream& err) {
  return daemon_command(args,
      "Usage: ndsipctl diff TOPOLOGY [--socket PATH] [--json]\n\n"
      "Shows what `ndsipctl push TOPOLOGY` would change on this host, without changing it.",
      "topology", with_topology("diff", err), [&](const json& x) { print_changes(x, out); }, out, err);
}

int rollback_command(const Args& args, std::ostream& out, std::ostream& err) {
  return daemon_command(args,
      "Usage: ndsipctl rollback [--socket PATH] [--json]\n\n"
      "Re-applies the previous accepted topology (it becomes the newest version).",
      nullptr, plain("rollback"),
      [&](const json& x) {
        out << "rolled back; now version " << x.value(key::topology_version, 0) << "\n";
        print_changes(x, out);
      },
      out, err);
}

int reconnect_command(const Args& args, std::ostream& out, std::ostream& err) {
  return daemon_command(args,
      "Usage: ndsipctl reconnect PEER [--socket PATH] [--json]\n\n"
      "Tears down the tunnel to PEER (a node name) and brings it up again.",
      "peer", [](const Parsed& p) -> std::optional<json> { return json{{"command", "reconnect"}, {"peer", p.positional}}; },
      [&](const json& x) { out << "reconnecting " << x.value("peer", "") << "\n"; }, out, err);
}

int reload_command(const Args& args, std::ostream& out, std::ostream& err) {
  return daemon_command(args,
      "Usage: ndsipctl reload [--socket PATH] [--json]\n\n"
      "Makes ndsipd re-read its policies, templates and credentials and apply the result.",
      nullptr, plain("reload"), [&](const json& x) { print_changes(x, out); }, out, err);
}

int renew_command(const Args& args, std::ostream& out, std::ostream& err) {
  return daemon_command(args,
      "Usage: ndsipctl renew [--socket PATH] [--json]\n\n"
      "Asks ndsipd to renew the node's certificate now over CMPv2 (cmp-server in its settings):\n"
      "a key update request to the CA, protected with the certificate in use; the issued\n"
      "certificate must pass the TS 33.310 checks before the certificate and key files are\n"
      "replaced, and ndsipd then rolls its tunnels over to it without dropping traffic. Waits\n"
      "for the CA's answer (polling included, up to cmp-timeout). On any failure the files and\n"
      "the tunnels stay as they were and ndsipd retries later. Exit 0 when renewed, 1 when the\n"
      "renewal failed (the reason is printed), 2 when ndsipd cannot be reached.",
      nullptr, plain("renew"),
      [&](const json& x) {
        out << "renewed: serial " << x.value("serial", "") << ", valid until " << x.value("not_after", "")
            << ", key " << x.value("key", "") << "\n"
            << "ndsipd rolls over to it once it has checked the new files (see ndsipctl certs)\n";
      },
      out, err);
}

int list_commands_command(const Args& args, std::ostream& out, std::ostream& err) {
  return daemon_command(args,
      "Usage: ndsipctl list-commands [--socket PATH] [--json]\n\n"
      "The commands this ndsipd answers on its control socket, with a line on each.",
      nullptr, plain("list-commands"),
      [&](const json& x) {
        // Named: items() of the temporary value() returns would outlive it.
        const json commands = x.value("commands", json::object());
        for (const auto& [name, summary] : commands.items()) {
          out << std::left << std::setw(16) << name << summary.get<std::string>() << "\n";
        }
      },
      out, err);
}

int version_command(const Args& args, std::ostream& out, std::ostream& err) {
  return daemon_command(args, "Usage: ndsipctl version [--socket PATH] [--json]", nullptr, plain("version"),
      [&](const json& x) {
        out << "ndsipd " << x.value("ndsipd", "") << ", control protocol " << x.value(key::protocol, 0)
            << ", charon " << x.value("charon", "(not connected)") << "\n";
      },
      out, err);
}

int certs_command(const Args& args, std::ostream& out, std::ostream& err) {
  int code = exit_ok;
  const int rc = daemon_command(args,
      "Usage: ndsipctl certs [--socket PATH] [--json]\n\n"
      "The node's certificate, its CAs and CRLs, and the certificates the peers presented, with\n"
      "expiry and a state (ok / warning / critical / expired / invalid, and why). Exit 0 when\n"
      "the node's own certificate is ok, 1 otherwise, 2 when ndsipd cannot be reached.",
      nullptr, plain("certs"),
      [&](const json& x) {
        const json& own = x["own"];
        auto line = [&](const std::string& what, const json& c) {
          out << std::left << std::setw(10) << what << std::setw(40) << c.value("subject", "")
              << " serial " << std::setw(10) << c.value("serial", "") << " not after " << c.value("not_after", "")
              << "  " << c.value("days_left", 0L) << " days  " << c.value("state", "") << "\n";
        };
        if (own.contains("subject")) {
          line("own", own);
        } else {
          out << std::left << std::setw(10) << "own" << "no certificate "
              << (own.value("problems", json::array()).empty() ? "configured (set cert, key and ca in ndsipd's settings)"
                                                               : "in use")
              << "\n";
        }
        if (own.contains("san")) {
          std::string sans;
          for (const auto& s2 : own["san"]) sans += (sans.empty() ? "" : ", ") + s2.get<std::string>();
          out << "          SAN " << sans << ", issuer " << own.value("issuer", "") << ", key "
              << own.value("key", "") << ", " << own.value("signature", "") << "\n";
        }
        for (const auto& p : own.value("problems", json::array())) out << "          problem: " << p.get<std::string>() << "\n";
        if (own.contains("renewal")) out << "          " << renewal_line(own["renewal"]) << "\n";
        for (const auto& c : x["cas"]) line("CA", c);
        for (const auto& c : x["crls"]) {
          out << std::left << std::setw(10) << "CRL" << c.value("issuer", "") << "  " << c.value("revoked", 0)
              << " revoked, next update " << c.value("next_update", "") << "  " << c.value("state", "") << "\n";
        }
        for (const auto& c : x["peers"]) line("peer", c);
        if (x.contains("note")) out << "note: " << x["note"].get<std::string>() << "\n";
        if (own.value("state", "") != "ok") code = exit_invalid;
      },
      out, err);
  return rc == exit_ok ? code : rc;
}

int status_command(const Args& args, std::ostream& out, std::ostream& err) {
  const Parsed p = parse_daemon_args(args,
      "Usage: ndsipctl status [--socket PATH] [--json] [--fresh]\n\n"
      "A line per desired tunnel under a header. ndsipd answers from the state it keeps from\n"
      "charon's events and its list-sas polls, and says how old its last list-sas is; --fresh\n"
      "makes it ask charon first (counters as of now). Exit 0 when a topology is accepted and\n"
      "every tunnel is up; 1 when any is down, connecting, degraded or revoked, when no topology\n"
      "is accepted, or when the stored one was refused at start; 2 when ndsipd or charon cannot\n"
      "be reached.",
      nullptr, false, out, err, Flag{"fresh", "a list-sas first: states and counters as of now"});
  if (p.exit >= 0) return p.exit;
  json request{{"command", "status"}};
  if (p.flag) request["fresh"] = true;
  // The answer is kept as text: --json passes it on, and the exit code needs a few fields
  // that come before the 10,000-row table (status_summary.hpp).
  const control::ControlText r = control::control_request_text(p.socket, std::move(request));
  if (!r.line) {
    err << "ndsipctl: " << r.error << "\n";
    return exit_unreachable;
  }
  const std::optional<StatusSummary> s = summarize_status(*r.line);
  if (!s) {
    err << "ndsipctl: ndsipd sent something that is not a JSON object\n";
    return exit_unreachable;
  }
  if (s->denied || !s->ok) {
    err << "ndsipd: " << (s->error.empty() ? (s->denied ? "permission denied" : "failed") : s->error) << "\n";
    return exit_unreachable;
  }
  if (p.json) {
    // As it printed when it parsed the answer and dumped it again: dump(2), byte for byte.
    write_indented_json(*r.line, out);
    out << "\n";
  } else {
    // The table needs every row: parsed whole here (it was read only up to the table above).
    const json answer = json::parse(*r.line, nullptr, false);
    if (!answer.is_object()) {
      err << "ndsipctl: ndsipd sent something that is not a JSON object\n";
      return exit_unreachable;
    }
    print_status(answer, out);
  }
  if (!s->charon_connected) return exit_unreachable;
  return s->healthy() ? exit_ok : exit_invalid;
}

}  // namespace ndsip::cli
