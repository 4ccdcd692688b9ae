// The control socket's named commands: push, diff, status, rollback, reconnect, reload,
// version. A push is validated in full before anything changes; a rejected one leaves the
// running state untouched.
#include "daemon/daemon.hpp"
#include "reconcile/connection_section.hpp"
#include "vici/commands.hpp"

namespace ndsip::daemon {

namespace {

Json problems_response(const std::string& what, const std::vector<std::string>& problems) {
  return {{"ok", false},
          {"error", what + ": " + std::to_string(problems.size()) + " problem" +
                        (problems.size() == 1 ? "" : "s") + "; nothing was changed"},
          {"problems", problems}};
}

}  // namespace

void Daemon::handle(const Json& request, ControlServer::Reply reply) {
  const std::string command = request.at("command").get<std::string>();
  if (command == "push") return cmd_push(request, std::move(reply), false);
  if (command == "diff") return cmd_push(request, std::move(reply), true);
  if (command == "rollback") return cmd_rollback(std::move(reply));
  if (command == "reconnect") return cmd_reconnect(request, std::move(reply));
  // A fresh list-sas first: counters and states as of now, not of the last interval.
  if (command == "status") return poll([this, reply] { reply(status()); });
  if (command == "reload") {
    log("reload requested over the control socket");
    return reload([reply](Json result) { reply(std::move(result)); });
  }
  if (command == "certs") return cmd_certs(std::move(reply));
  if (command == "version") {
    return reply({{"ok", true},
                  {"ndsipd", NDSIP_VERSION},
                  {"protocol", 1},
                  {"charon", charon_version_}});
  }
  reply(control_error("unknown command \"" + command +
                      "\" (push, diff, status, rollback, reconnect, reload, certs, version)"));
}

void Daemon::cmd_push(const Json& request, ControlServer::Reply reply, bool dry_run) {
  const auto text = request.find("topology");
  if (text == request.end() || !text->is_string()) {
    reply(control_error("malformed request: \"topology\" (the file's text) is missing"));
    return;
  }
  const auto t0 = std::chrono::steady_clock::now();
  Candidate c = evaluate(text->get<std::string>());
  const auto validated = std::chrono::steady_clock::now();
  if (!c.problems.empty()) {
    if (!dry_run) log("push rejected: " + std::to_string(c.problems.size()) + " problems; running state untouched");
    reply(problems_response("topology rejected", c.problems));
    return;
  }
  if (dry_run) {
    // What a push would do, against what charon holds now (or what we applied when it is away).
    auto plan = std::make_shared<policy::NodePlan>(std::move(c.plan));
    auto answer = [this, plan, reply](const std::set<std::string>& in_charon) {
      const auto d = reconcile::diff_connections(config_.node, plan->connections, applied_, in_charon);
      reply({{"ok", true}, {"load", d.load}, {"unload", d.unload}, {"unchanged", d.unchanged.size()}});
    };
    if (!charon_up_) {
      std::set<std::string> assumed;
      for (const auto& [name, digest] : applied_) assumed.insert(name);
      answer(assumed);
      return;
    }
    session_.request(vici::request::get_conns(), config_.vici_timeout,
                     [answer, reply](std::optional<vici::Error> e, vici::Reply r) {
                       if (e) {
                         reply(control_error(std::string("get-conns: ") + e->what()));
                         return;
                       }
                       const auto names = vici::parse::get_conns(r);
                       answer(std::set<std::string>(names.begin(), names.end()));
                     });
    return;
  }
  std::uint64_t version = 0;
  try {
    version = store_->accept(text->get<std::string>());
  } catch (const std::exception& e) {
    reply(control_error(std::string("cannot store the topology, nothing was changed: ") + e.what()));
    return;
  }
  adopt(std::move(c), text->get<std::string>(), version);
  log("accepted topology version " + std::to_string(version) + " (digest " + topology_digest_ + ")");
  const auto stored = std::chrono::steady_clock::now();
  reconcile([this, reply, version, t0, validated, stored](Json result) {
    using ms = std::chrono::duration<double, std::milli>;
    result["version"] = version;
    result["digest"] = topology_digest_;
    // Where the time went, for operators and the benchmarks.
    result["timing_ms"] = {{"validate_and_plan", ms(validated - t0).count()},
                           {"store", ms(stored - validated).count()},
                           {"apply", ms(std::chrono::steady_clock::now() - stored).count()}};
    reply(std::move(result));
  });
}

void Daemon::cmd_rollback(ControlServer::Reply reply) {
  const auto previous = store_->previous();
  if (!previous) {
    reply(control_error("no earlier accepted topology to roll back to"));
    return;
  }
  log("rollback to the topology of version " + std::to_string(previous->version));
  cmd_push(Json{{"command", "push"}, {"topology", previous->text}}, std::move(reply), false);
}

void Daemon::cmd_reconnect(const Json& request, ControlServer::Reply reply) {
  const auto peer = request.find("peer");
  if (peer == request.end() || !peer->is_string()) {
    reply(control_error("malformed request: \"peer\" is missing"));
    return;
  }
  const std::string name = peer->get<std::string>();
  const policy::ConnectionPlan* conn = nullptr;
  for (const auto& c : plan_.connections) {
    if (c.peer == name) conn = &c;
  }
  if (!conn) {
    reply(control_error("\"" + name + "\" is not a peer of " + config_.node));
    return;
  }
  if (!charon_up_) {
    reply(control_error(charon_error_));
    return;
  }
  log("reconnect " + name + " requested over the control socket");
  terminate_ike(conn->name, [this, name, reply] {
    tunnels_.retry_now(name);
    poll();
    reply({{"ok", true}, {"peer", name}});
  });
}

Json Daemon::status() const {
  const auto now = health::Clock::now();
  Json tunnels = Json::array();
  for (const auto& [key, t] : tunnels_.all()) {
    tunnels.push_back({{"connection", t.connection},
                       {"child", t.child},
                       {"peer", t.peer},
                       {"reference_points", t.reference_points},
                       {"zone", t.zone},
                       {"profile", t.profile},
                       // A tunnel down because the peer's certificate is revoked says so.
                       {"state", t.state == health::State::down && t.last_error.rfind("certificate revoked", 0) == 0
                                     ? "revoked"
                                     : health::to_string(t.state)},
                       {"initiator", t.initiator},
                       {"state_for_s", std::chrono::duration_cast<std::chrono::seconds>(now - t.since).count()},
                       {"uptime_s", t.established},
                       {"rekey_in_s", t.rekey_in},
                       {"bytes_in", t.bytes_in},
                       {"bytes_out", t.bytes_out},
                       {"packets_in", t.packets_in},
                       {"packets_out", t.packets_out},
                       {"ike_uniqueid", t.ike_uniqueid},
                       {"spi_in", t.spi_in},
                       {"spi_out", t.spi_out},
                       {"last_error", t.last_error}});
  }
  Json outside = Json::array();
  for (const auto& o : plan_.outside) {
    outside.push_back({{"reference_point", o.reference_point}, {"peer", o.peer}, {"protection", o.protection}});
  }
  return {{"ok", true},
          {"node", config_.node},
          {"topology",
           {{"version", topology_version_},
            {"digest", topology_digest_},
            {"name", topology_ ? topology_->name : ""}}},
          {"charon",
           {{"connected", charon_up_}, {"version", charon_version_}, {"error", charon_error_}}},
          {"credentials", credential_summary()},
          {"last_apply", last_apply_},
          {"tunnels", tunnels},
          {"outside", outside}};
}

}  // namespace ndsip::daemon
