#include "daemon/health_monitor.hpp"

#include "control/answer.hpp"
#include "daemon/log.hpp"
#include "reconcile/connection_section.hpp"
#include "vici/commands.hpp"

namespace ndsip::daemon {

namespace {

// State changes come as these; log lines carry the failure reasons.
constexpr const char* state_events[] = {"ike-updown", "child-updown", "ike-rekey", "child-rekey"};

}  // namespace

HealthMonitor::HealthMonitor(boost::asio::io_context& io, CharonLink& charon, HealthSettings settings)
    : charon_(charon), settings_(settings), tunnels_(settings.tunnels), poll_timer_(io), soon_timer_(io) {}

void HealthMonitor::subscribe() {
  for (const char* event : state_events) {
    charon_.subscribe(event, [this](const std::string&, const vici::Message&) { poll_soon(); });
  }
  charon_.subscribe("log", [this](const std::string&, const vici::Message& m) { on_log(m); });
}

void HealthMonitor::on_log(const vici::Message& m) {
  // The reason a tunnel failed is said only in charon's log, on the line naming its IKE_SA
  // (whose name is the connection's). A line naming no IKE_SA is nobody's failure.
  const std::string ike = m.value_or("ikesa-name");
  if (ike.empty()) return;
  const std::string msg = m.value_or("msg");
  if (auto n = health::retransmit_from_log(msg)) {
    // The IKE_SA's number tells the established SA from a new one of the same connection.
    const auto id = m.number("ikesa-uniqueid");
    return on_retransmit(ike, id.value_or(0), *n);
  }
  if (auto failure = health::failure_from_log(msg)) tunnels_.note(ike, *failure);
}

void HealthMonitor::on_retransmit(const std::string& connection, unsigned long long ike_id, int n) {
  // charon retransmits on an established IKE_SA (a DPD, a rekey): its peer stopped answering,
  // most often because it restarted and lost its SAs. charon alone would keep the stale SA
  // for minutes (every retransmit until it gives up); instead the tunnel stops being `up` at
  // once, and at the second retransmit the IKE_SA is closed and initiated afresh from this
  // end, whatever the initiator rule, until the peer answers.
  // Not an established IKE_SA of ours: an initiation's own retransmits, not a silent peer.
  if (!tunnels_.unanswered(connection, ike_id, health::Clock::now())) return;
  if (n == 1) {
    log("peer of " + connection + " does not answer (retransmit 1): not up until it does");
    return;
  }
  if (n != 2) return;
  log("peer of " + connection + " still does not answer: closing the IKE_SA and initiating afresh");
  charon_.terminate(connection, [this, connection] {
    tunnels_.initiate_now(connection);
    poll();
  });
}

void HealthMonitor::initiate_now(const std::string& connection) {
  tunnels_.initiate_now(connection);
  initiate_due();
}

void HealthMonitor::set_desired(const policy::NodePlan& plan) {
  tunnels_.set_desired(plan, &reconcile::is_initiator);
}

void HealthMonitor::charon_up() { schedule_poll(std::chrono::milliseconds(0)); }

void HealthMonitor::charon_down(const std::string& why) {
  tunnels_.all_down(health::Failure::charon_unreachable, why, health::Clock::now());
  poll_timer_.cancel();
  soon_timer_.cancel();
  polling_ = false;
  for (auto& f : std::exchange(after_poll_, {})) f();
}

void HealthMonitor::note(const std::string& connection, health::Failure failure, const std::string& detail) {
  tunnels_.note(connection, failure, detail);
}

unsigned long long HealthMonitor::ike_id(const std::string& connection) const {
  for (const auto& [key, t] : tunnels_.all()) {
    if (t.connection == connection && t.ike_uniqueid != 0) return t.ike_uniqueid;
  }
  return 0;
}

void HealthMonitor::initiate_due() {
  if (!charon_.up()) return;
  const auto now = health::Clock::now();
  for (const std::string& key : tunnels_.due(now, settings_.max_initiating)) {
    const health::Tunnel& t = tunnels_.all().at(key);
    tunnels_.started(key, now);
    vici::InitiateArgs args;
    args.child = t.child;
    args.ike = t.connection;
    args.timeout_ms = -1;  // returns at once; the outcome arrives as events and in list-sas
    charon_.send(vici::request::initiate(args), key, [this, key](const vici::Error& e) {
      tunnels_.failed(key, health::Failure::initiate_failed, e.what(), health::Clock::now());
    });
  }
}

void HealthMonitor::schedule_poll(std::chrono::milliseconds after) {
  poll_timer_.expires_after(after);
  poll_timer_.async_wait([this](boost::system::error_code ec) {
    if (!ec) poll();
  });
}

void HealthMonitor::poll_soon() {
  soon_timer_.expires_after(std::chrono::milliseconds(100));
  soon_timer_.async_wait([this](boost::system::error_code ec) {
    if (!ec && !polling_) poll();
  });
}

void HealthMonitor::poll(std::function<void()> then) {
  if (then) after_poll_.push_back(std::move(then));
  if (!charon_.up()) {
    for (auto& f : std::exchange(after_poll_, {})) f();
    return;
  }
  if (polling_) return;  // the poll in flight serves this caller too
  polling_ = true;
  // Blocking: with noblock, charon leaves out the IKE_SAs a worker holds at that instant (one
  // sending a DPD, say), and a snapshot without them would make established tunnels look
  // down and be initiated again. A worker holds an SA only while it handles one message.
  vici::ListSasArgs args;
  args.noblock = false;
  charon_.request(vici::request::list_sas(args), [this](std::optional<vici::Error> e, vici::Reply reply) {
    polling_ = false;
    auto waiting = std::exchange(after_poll_, {});
    if (e) {
      // A disconnect has its own path; anything else is logged and the next poll retries.
      if (e->kind() != vici::ErrorKind::disconnected) {
        log(std::string("list-sas: ") + e->what());
        schedule_poll(settings_.poll_interval);
      }
      for (auto& f : waiting) f();
      return;
    }
    std::vector<vici::IkeSa> sas;
    try {
      sas = vici::parse::list_sas(reply);
    } catch (const vici::Error& bad) {
      // Garbled ids from charon: this snapshot is unusable, the states stay as they were.
      log(std::string("list-sas answer refused: ") + bad.what());
      schedule_poll(settings_.poll_interval);
      for (auto& f : waiting) f();
      return;
    }
    for (const std::string& key : tunnels_.observe(sas, health::Clock::now())) rekey_black_hole(key);
    initiate_due();
    if (on_polled_) on_polled_();
    schedule_poll(settings_.poll_interval);
    for (auto& f : waiting) f();
  });
}

void HealthMonitor::rekey_black_hole(const std::string& key) {
  // Degraded: rekey the CHILD_SA so fresh SAs replace the stuck ones.
  const health::Tunnel& t = tunnels_.all().at(key);
  log("tunnel " + key + " degraded (outbound rising, inbound flat); rekeying");
  vici::RekeyArgs args;
  args.child_id = t.child_uniqueid;
  charon_.send(vici::request::rekey(args), key, [this, key](const vici::Error& e) {
    const health::Tunnel& now = tunnels_.all().at(key);
    tunnels_.note(now.connection, health::Failure::rekey_failed, e.what());
  });
}

void HealthMonitor::register_commands(control::CommandTable& table) {
  table.add("reconnect", "tear down the tunnel to a peer and bring it up again",
            [this](const Json& request, control::Reply reply) {
              const auto peer = request.find("peer");
              if (peer == request.end() || !peer->is_string()) {
                return reply(control::error_answer("malformed request: \"peer\" is missing"));
              }
              const std::string name = peer->get<std::string>();
              std::string connection;
              for (const auto& [key, t] : tunnels_.all()) {
                if (t.peer == name) connection = t.connection;
              }
              if (connection.empty()) return reply(control::error_answer("\"" + name + "\" is not a peer of this node"));
              if (!charon_.up()) return reply(control::error_answer("charon unreachable: " + charon_.error()));
              log("reconnect " + name + " requested over the control socket");
              charon_.terminate(connection, [this, name, reply] {
                tunnels_.retry_now(name);
                poll();
                Json a = control::ok_answer();
                a["peer"] = name;
                reply(std::move(a));
              });
            });
}

Json HealthMonitor::tunnels() const {
  const auto now = health::Clock::now();
  Json out = Json::array();
  for (const auto& [key, t] : tunnels_.all()) {
    out.push_back({{"connection", t.connection},
                   {"child", t.child},
                   {"peer", t.peer},
                   {"reference_points", t.reference_points},
                   {"zone", t.zone},
                   {"profile", t.profile},
                   {"state", t.revoked() ? "revoked" : health::to_string(t.state)},
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
                   {"reason", health::code(t.failure)},
                   {"last_error", t.last_error()}});
  }
  return out;
}

bool HealthMonitor::all_up() const {
  for (const auto& [key, t] : tunnels_.all()) {
    if (t.state != health::State::up) return false;
  }
  return true;
}

}  // namespace ndsip::daemon
