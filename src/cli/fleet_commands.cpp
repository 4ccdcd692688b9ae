// The fleet's commands (issue 12): publish a topology to etcd, where every ndsipd of the fleet
// watches it, and roll back to the publish before. Both write one transaction guarded by the
// publish key's revision: of two operators publishing from the same reading, one commits and
// the other is told to run again, and nothing is ever half written.
#include <unistd.h>

#include <boost/program_options.hpp>
#include <chrono>
#include <ctime>
#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <map>

#include <nlohmann/json.hpp>

#include "cli/commands.hpp"
#include "cli/inputs.hpp"
#include "cli/options.hpp"
#include "common/read_file.hpp"
#include "etcd/client.hpp"
#include "etcd/credentials.hpp"
#include "etcd/publication.hpp"
#include "topology/state.hpp"

namespace ndsip::cli {

namespace po = boost::program_options;

namespace {

// Where ndsipctl takes the etcd password from when --etcd-password-file is not given: an
// environment variable, because a password on the command line is visible to every user of
// the host (/proc/PID/cmdline).
constexpr const char* password_variable = "NDSIP_ETCD_PASSWORD";

void add_etcd_options(po::options_description& opts) {
  opts.add_options()("etcd", po::value<std::string>(), "etcd endpoints: http(s)://HOST:PORT[,...] (required)")(
      "etcd-prefix", po::value<std::string>()->default_value("/ndsip/v1/"), "the fleet's key prefix")(
      "etcd-cacert", po::value<std::string>()->default_value(""), "CA bundle that signed etcd's certificate")(
      "etcd-cert", po::value<std::string>()->default_value(""), "client certificate (PEM)")(
      "etcd-key", po::value<std::string>()->default_value(""), "client key (PEM)")(
      "etcd-user", po::value<std::string>()->default_value(""),
      "etcd user (etcd with authentication enabled); its password comes from --etcd-password-file "
      "or the environment variable NDSIP_ETCD_PASSWORD, never from the command line")(
      "etcd-password-file", po::value<std::string>()->default_value(""),
      "file holding the etcd user's password on one line (owner-only: mode 0600 or stricter)")(
      "etcd-timeout", po::value<int>()->default_value(5), "seconds per etcd request");
}

// Throws std::invalid_argument (a usage error) for a bad endpoint, a password file that is
// unreadable or not private, or a user without a password.
etcd::ClientSettings etcd_settings(const po::variables_map& vm) {
  etcd::ClientSettings s;
  s.endpoints = etcd::parse_endpoints(vm["etcd"].as<std::string>());
  s.ca_file = vm["etcd-cacert"].as<std::string>();
  s.cert_file = vm["etcd-cert"].as<std::string>();
  s.key_file = vm["etcd-key"].as<std::string>();
  s.user = vm["etcd-user"].as<std::string>();
  const std::string password_file = vm["etcd-password-file"].as<std::string>();
  if (!password_file.empty()) {
    if (s.user.empty()) throw std::invalid_argument("--etcd-password-file needs --etcd-user");
    s.password = etcd::read_password_file(password_file);
  } else if (const char* env = std::getenv(password_variable); env && !s.user.empty()) {
    s.password = env;  // without --etcd-user a stray variable is ignored: no user, no auth
  }
  if (!s.user.empty() && s.password.empty()) {
    throw std::invalid_argument("--etcd-user " + s.user + " needs a password: --etcd-password-file FILE or " +
                                password_variable);
  }
  etcd::check_credentials(s.user, s.password);
  s.timeout = std::chrono::seconds(std::max(1, vm["etcd-timeout"].as<int>()));
  return s;
}

std::string who() {
  for (const char* var : {"SUDO_USER", "USER", "LOGNAME"}) {
    if (const char* v = std::getenv(var); v && *v) return v;
  }
  return "uid " + std::to_string(::getuid());
}

std::string now_utc() {
  const std::time_t t = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

// The publish key first, then the objects at the revision that answer carries: one snapshot.
etcd::Held read_held(etcd::BlockingClient& c, const etcd::Layout& layout, std::int64_t at = 0) {
  const etcd::RangeResult publish = c.range(layout.publish_key(), "", at);
  const etcd::RangeResult objects =
      c.range(layout.objects_prefix(), etcd::prefix_end(layout.objects_prefix()), at ? at : publish.header.revision);
  return etcd::held_from(objects, publish, layout);
}

void print_change(const etcd::Publication& p, std::ostream& out) {
  for (const auto& [sign, list] : {std::pair{"+", &p.added}, std::pair{"~", &p.changed}, std::pair{"-", &p.removed}}) {
    for (const std::string& id : *list) out << "  " << sign << " " << id << "\n";
  }
}

// A publish is one transaction, never cut in parts (nothing half written), so etcd's limits
// on one (defaults: 128 operations, 1.5 MiB) bound the first publish of a large topology. When
// etcd refuses it for that, say what to raise and to how much.
std::string etcd_limits_hint(const etcd::Error& e, std::size_t ops, std::size_t bytes) {
  const std::string what = e.what();
  if (what.find("too many operations in txn") == std::string::npos &&
      what.find("larger than max") == std::string::npos && what.find("request is too large") == std::string::npos) {
    return "";
  }
  return " (a publish is one transaction: start etcd with --max-txn-ops " + std::to_string(ops) +
         " or more and --max-request-bytes " + std::to_string(bytes) +
         " or more for this one; see docs/fleet.md)";
}

// Commits `wanted` over `held` as one guarded transaction; prints the outcome.
int commit(etcd::BlockingClient& c, const etcd::Layout& layout, const etcd::Objects& wanted, const etcd::Held& held,
           etcd::PublishRecord record, const std::string& what, std::ostream& out, std::ostream& err) {
  const etcd::Publication p = etcd::publication(wanted, held, layout);
  if (p.empty()) {
    out << "unchanged: etcd holds this topology already";
    if (held.record) out << " (published by " << held.record->by << " at " << held.record->at << ")";
    out << "\n";
    return exit_ok;
  }
  record.previous = held.publish ? held.publish->mod_revision : 0;
  const std::string txn = etcd::publish_txn(p, held, record, layout);
  etcd::TxnResult r;
  try {
    r = etcd::parse_txn(c.post("/v3/kv/txn", txn));
  } catch (const etcd::Error& e) {
    throw etcd::Error(e.kind(), e.what() + etcd_limits_hint(e, p.ops.size() + 1, txn.size()), e.code());
  }
  if (!r.succeeded) {
    err << "ndsipctl " << what << ": another publish was committed after this one read etcd (at revision "
        << held.revision << "); nothing was written. Run ndsipctl " << what << " again.\n";
    return exit_conflict;
  }
  out << what << ": " << p.added.size() << " added, " << p.changed.size() << " changed, " << p.removed.size()
      << " removed; etcd revision " << r.header.revision << " (topology " << record.name << ", digest "
      << record.digest << ")\n";
  print_change(p, out);
  return exit_ok;
}

// How every fleet command ends on a bad option value or on etcd's trouble.
template <typename Body>
int guarded(const char* command, const char* unwritten, std::ostream& err, Body&& body) {
  try {
    return body();
  } catch (const std::invalid_argument& e) {
    err << "ndsipctl " << command << ": " << e.what() << "\n";
    return exit_usage;
  } catch (const etcd::Error& e) {
    err << "ndsipctl " << command << ": " << e.what() << unwritten << "\n";
    return exit_unreachable;
  }
}

}  // namespace

int publish_command(const Args& args, std::ostream& out, std::ostream& err) {
  po::options_description opts(
      "Usage: ndsipctl publish TOPOLOGY --etcd URL[,URL...] [options]\n\n"
      "Validates TOPOLOGY in full (every problem, exit 1, nothing written) and writes what differs\n"
      "from what etcd holds, object by object, in one transaction that commits only if no other\n"
      "publish came in between (exit 75 then: run it again). Every ndsipd watching the prefix\n"
      "applies it. Exit 2 when etcd cannot be reached or refuses the request (a TLS or\n"
      "authentication failure, named).\n\nOptions");
  add_data_dir_options(opts);
  add_etcd_options(opts);
  opts.add_options()("dry-run", "print what would change, write nothing");
  po::variables_map vm;
  std::string path;
  if (int rc = parse(args, opts, "topology", &path, vm, out, err); rc >= 0) return rc;
  if (!vm.count("etcd")) {
    err << "ndsipctl publish: --etcd URL is required (see --help)\n";
    return exit_usage;
  }
  const Inputs in = load_inputs(path, vm["policies"].as<std::string>(), vm["templates"].as<std::string>());
  if (!in.problems.empty()) {
    for (const std::string& p : in.problems) out << p << "\n";
    err << path << ": " << in.problems.size() << " problem" << (in.problems.size() == 1 ? "" : "s")
        << "; nothing was published\n";
    return exit_invalid;
  }
  const auto text = common::read_file(path);
  if (!text) {
    err << "ndsipctl publish: cannot read " << path << "\n";
    return exit_invalid;
  }
  topology::TopologyState state;
  const topology::Proposal proposal = state.propose(*text);
  if (!proposal.problems.empty()) {  // validated above; a second reading of a changing file
    err << "ndsipctl publish: " << path << " changed while it was read; nothing was published\n";
    return exit_invalid;
  }
  state.commit();
  return guarded("publish", "; nothing was published", err, [&] {
    const etcd::Layout layout(vm["etcd-prefix"].as<std::string>());
    etcd::BlockingClient c(etcd_settings(vm));
    const etcd::Held held = read_held(c, layout);
    const etcd::Objects wanted = state.objects();
    if (vm.count("dry-run")) {
      const etcd::Publication p = etcd::publication(wanted, held, layout);
      out << (p.empty() ? "unchanged" : "would publish") << ": " << p.added.size() << " added, " << p.changed.size()
          << " changed, " << p.removed.size() << " removed (dry run: nothing written)\n";
      print_change(p, out);
      return exit_ok;
    }
    etcd::PublishRecord record{state.digest(), state.name(), who(), now_utc(), wanted.size(), 0};
    return commit(c, layout, wanted, held, record, "publish", out, err);
  });
}

int fleet_rollback_command(const Args& args, std::ostream& out, std::ostream& err) {
  po::options_description opts(
      "Usage: ndsipctl rollback --etcd URL[,URL...] [options]\n\n"
      "Publishes again the topology of the publish before the last one (read from etcd's history\n"
      "at that revision), as one guarded transaction like publish.\n\nOptions");
  add_etcd_options(opts);
  opts.add_options()("help,h", "show this help");
  po::variables_map vm;
  if (int rc = parse_flags(args, opts, vm, out, err); rc >= 0) return rc;
  return guarded("rollback", "; nothing was written", err, [&] {
    const etcd::Layout layout(vm["etcd-prefix"].as<std::string>());
    etcd::BlockingClient c(etcd_settings(vm));
    const etcd::Held held = read_held(c, layout);
    if (!held.record || held.record->previous == 0) {
      err << "ndsipctl rollback: no earlier publish to roll back to\n";
      return exit_invalid;
    }
    const std::int64_t at = held.record->previous;
    etcd::Held before;
    try {
      before = read_held(c, layout, at);
    } catch (const etcd::Error& e) {
      if (e.kind() != etcd::Error::Kind::refused) throw;
      err << "ndsipctl rollback: the previous publish (etcd revision " << at
          << ") is no longer in etcd's history (" << e.what() << "); publish its file again\n";
      return exit_invalid;
    }
    if (!before.record) {
      err << "ndsipctl rollback: etcd revision " << at << " holds no publish record\n";
      return exit_invalid;
    }
    etcd::PublishRecord record{before.record->digest, before.record->name, who(), now_utc(), before.objects.size(), 0};
    return commit(c, layout, before.objects, held, record, "rollback", out, err);
  });
}

int fleet_status_command(const Args& args, std::ostream& out, std::ostream& err) {
  po::options_description opts(
      "Usage: ndsipctl fleet-status --etcd URL[,URL...] [--json] [options]\n\n"
      "One line per node of the published topology: the etcd revision it applied, its tunnels up\n"
      "of total, the worst tunnel state, its certificate's days left. A node with no live status\n"
      "(its ndsipd stopped, or cut off from etcd, for longer than its lease) is unreachable.\n"
      "Exit 0 when every node applied the last publish and has every tunnel up, 1 otherwise,\n"
      "2 when etcd cannot be reached or refuses the request (a TLS or authentication failure, named).\n\n"
      "Options");
  add_etcd_options(opts);
  opts.add_options()("json", "print the fleet as JSON")("help,h", "show this help");
  po::variables_map vm;
  if (int rc = parse_flags(args, opts, vm, out, err); rc >= 0) return rc;
  if (!vm.count("etcd")) {
    err << "ndsipctl fleet-status: --etcd URL is required (see --help)\n";
    return exit_usage;
  }
  return guarded("fleet-status", "", err, [&] {
    const etcd::Layout layout(vm["etcd-prefix"].as<std::string>());
    etcd::BlockingClient c(etcd_settings(vm));
    const etcd::Held held = read_held(c, layout);
    if (!held.publish) {
      err << "ndsipctl fleet-status: nothing published under " << layout.prefix() << "\n";
      return exit_invalid;
    }
    const std::int64_t published = held.publish->mod_revision;
    std::map<std::string, nlohmann::json> reports;
    for (const etcd::KeyValue& kv : c.range(layout.status_prefix(), etcd::prefix_end(layout.status_prefix())).kvs) {
      const nlohmann::json j = nlohmann::json::parse(kv.value, nullptr, false);
      if (j.is_object()) reports[kv.key.substr(layout.status_prefix().size())] = j;
    }
    nlohmann::json fleet = nlohmann::json::array();
    bool all_good = true;
    for (const auto& [id, text] : held.objects) {
      if (id.rfind("node ", 0) != 0) continue;
      const std::string node = id.substr(5);
      nlohmann::json line = {{"node", node}};
      const auto r = reports.find(node);
      std::string state;
      if (r == reports.end()) {
        state = "unreachable";
      } else {
        const nlohmann::json& j = r->second;
        line["applied_revision"] = j.value("applied_revision", std::int64_t{0});
        line["up"] = j.value("up", 0);
        line["total"] = j.value("total", 0);
        line["worst"] = j.value("worst", "none");
        line["cert_days_left"] = j.contains("cert_days_left") ? j["cert_days_left"] : nlohmann::json();
        if (j.contains("refused") && !j["refused"].is_null()) {
          state = "refused";
        } else if (line["applied_revision"].get<std::int64_t>() < published) {
          state = "behind";
        } else if (line["up"] != line["total"]) {
          state = "tunnels down";
        } else {
          state = "ok";
        }
      }
      line["state"] = state;
      all_good = all_good && state == "ok";
      fleet.push_back(line);
    }
    if (vm.count("json")) {
      out << nlohmann::json{{"published_revision", published},
                            {"digest", held.record ? held.record->digest : ""},
                            {"nodes", fleet}}
                 .dump(2)
          << "\n";
    } else {
      out << "published: etcd revision " << published;
      if (held.record) out << ", topology " << held.record->name << " (digest " << held.record->digest << ") by "
                           << held.record->by << " at " << held.record->at;
      out << "\n";
      char row[256];
      std::snprintf(row, sizeof row, "%-24s %-12s %-9s %-9s %-12s %-5s\n", "NODE", "STATE", "APPLIED", "TUNNELS",
                    "WORST", "CERT");
      out << row;
      for (const nlohmann::json& l : fleet) {
        auto text = [&](const char* key) {
          if (!l.contains(key) || l[key].is_null()) return std::string("-");
          return l[key].is_string() ? l[key].get<std::string>() : l[key].dump();
        };
        const std::string tunnels = l.contains("up") ? text("up") + "/" + text("total") : "-";
        std::snprintf(row, sizeof row, "%-24s %-12s %-9s %-9s %-12s %-5s\n", text("node").c_str(), text("state").c_str(),
                      text("applied_revision").c_str(), tunnels.c_str(), text("worst").c_str(),
                      text("cert_days_left").c_str());
        out << row;
      }
    }
    return all_good ? exit_ok : exit_invalid;
  });
}

}  // namespace ndsip::cli
