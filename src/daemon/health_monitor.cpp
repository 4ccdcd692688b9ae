#include "daemon/health_monitor.hpp"

#include "control/answer.hpp"
#include "daemon/log.hpp"
#include "health/status_view.hpp"
#include "reconcile/connection_section.hpp"
#include "vici/commands.hpp"

namespace ndsip::daemon {

namespace {

// State changes come as these; log lines carry the failure reasons.
constexpr const char* state_events[] = {"ike-updown", "child-updown", "ike-rekey", "child-rekey"};

}  // namespace

HealthMonitor::HealthMonitor(boost::asio::io_context& io, CharonLink& charon, HealthSettings settings)
    : charon_(charon), settings_(settings), tunnels_(settings.tunnels), poll_timer_(io), soon_timer_(io),
      retry_timer_(io) {}

void HealthMonitor::subscribe() {
  for (const char* event : state_events) {
    charon_.subscribe(event, [this](const std::string& name, const vici::Message& m) {
      // An updown event without up=yes: an SA is gone. Until a list-sas sent after it is
      // applied, status waits for one (current()) rather than call the tunnel up.
      if ((name == "ike-updown" || name == "child-updown") && m.value_or("up") != "yes") gone_after_ = sent_;
      poll_soon();
    });
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
  // An attempt that failed is retried after its backoff (initiate_due arms the timer).
  if (auto failure = health::failure_from_log(msg); failure && tunnels_.note(ike, *failure)) initiate_due();
}

void HealthMonitor::on_retransmit(const std::string& connection, unsigned long long ike_id, int n) {
  // charon retransmits on an established IKE_SA (a DPD, a rekey): its peer stopped answering,
  // most often because it restarted and lost its SAs. charon alone would keep the stale SA
  // for minutes (every retransmit until it gives up); instead the tunnel stops being `up` at
  // once, and at the second retransmit the IKE_SA is closed and initiated afresh from this
  // end, whatever the initiator rule, until the peer answers.
  // Not an established IKE_SA of ours: an initiation's own retransmits, not a silent peer.
  const bool established = tunnels_.unanswered(connection, ike_id, health::Clock::now());
  if (on_peer_silent_) on_peer_silent_(connection, ike_id);
  if (!established) return;
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
  retry_timer_.cancel();
  soon_armed_ = false;
  // The list-sas in flight died with the link; everything is down, which is current.
  polling_ = false;
  wanted_ = sent_;
  gone_after_.reset();
  for (auto& [number, f] : std::exchange(waiting_, {})) f();
}

void HealthMonitor::kernel_checked(const std::map<std::string, health::Tunnels::KernelCheck>& checks) {
  const auto now = health::Clock::now();
  for (const std::string& key : tunnels_.observe_kernel(checks, now)) {
    const health::Tunnel& t = tunnels_.all().at(key);
    const bool rekey = tunnels_.kernel_repair_started(key) == 0;
    log("tunnel " + key + ": charon has its CHILD_SA but the kernel lacks " + t.failure_detail + "; " +
        (rekey ? "rekeying it" : "the rekey did not bring it back: closing the IKE_SA and initiating afresh"));
    if (rekey) {
      rekey_child(key);
    } else {
      reinstall(t.connection, t.child);
    }
  }
  // A first gap: look again in a second rather than at the next poll.
  for (const auto& [key, t] : tunnels_.all()) {
    if (t.kernel_gaps == 1) {
      schedule_poll(std::chrono::seconds(1));
      break;
    }
  }
}

void HealthMonitor::reinstall(const std::string& connection, const std::string& child) {
  // kernel-libipsec installs a selector's route with its first policy only, and charon's
  // trap (start_action trap) keeps that policy across rekeys and new IKE_SAs: every policy of
  // the selector must go, the SA's and the trap's, before one that brings the route back.
  auto restart = [this, connection] {
    tunnels_.initiate_now(connection);
    poll();
  };
  charon_.terminate(connection, [this, connection, child, restart] {
    charon_.request(vici::request::uninstall(child, connection),
                    [this, connection, child, restart](std::optional<vici::Error> no_trap, vici::Reply) {
                      if (no_trap) return restart();  // nothing trapped: the terminate was all
                      charon_.request(vici::request::install(child, connection),
                                      [child, restart](std::optional<vici::Error> e, vici::Reply) {
                                        if (e) log("install of the trap " + child + " failed: " + e->what());
                                        restart();
                                      });
                    });
  });
}

void HealthMonitor::address_changed(const std::string& address, bool present) {
  if (!tunnels_.address_changed(address, present, health::Clock::now())) return;
  log(present ? "address " + address + " is on this host again: initiating its tunnels"
              : "address " + address + " is not on this host: its tunnels are held (address missing)");
  if (present) initiate_due();
}

void HealthMonitor::note(const std::string& connection, health::Failure failure, const std::string& detail) {
  if (tunnels_.note(connection, failure, detail)) initiate_due();
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
  // A tunnel still in its backoff is retried when that ends, not at the next poll (seconds
  // later). One due now but held back by max-initiating waits for the events of those in
  // flight instead: a timer for it would fire at once, again and again.
  if (const auto at = tunnels_.next_due(now)) {
    retry_timer_.expires_at(*at);
    retry_timer_.async_wait([this](boost::system::error_code ec) {
      if (!ec) initiate_due();
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
  // Events come in bursts and one list-sas answers a burst: each event moves it 100 ms on,
  // but not past a second from the burst's first, so a long burst (thousands of tunnels coming
  // up) still shows as it goes. The list-sas must be one sent after the latest event.
  soon_after_ = sent_;
  const auto now = health::Clock::now();
  if (!soon_armed_) {
    soon_armed_ = true;
    soon_first_ = now;
  } else if (now - soon_first_ >= std::chrono::seconds(1)) {
    return;  // the armed timer fires soon enough
  }
  soon_timer_.expires_after(std::chrono::milliseconds(100));
  soon_timer_.async_wait([this](boost::system::error_code ec) {
    if (ec) return;
    soon_armed_ = false;
    poll_at_least(soon_after_ + 1, {});
  });
}

void HealthMonitor::poll(std::function<void()> then) {
  // The list-sas in flight serves this caller too.
  poll_at_least(polling_ ? in_flight_ : sent_ + 1, std::move(then));
}

void HealthMonitor::current(std::function<void()> then) {
  if (!gone_after_ || applied_ > *gone_after_ || !charon_.up()) return then();
  poll_at_least(*gone_after_ + 1, std::move(then));
}

void HealthMonitor::poll_at_least(std::uint64_t number, std::function<void()> then) {
  if (then) waiting_.emplace_back(number, std::move(then));
  wanted_ = std::max(wanted_, number);
  if (!charon_.up()) return answered(sent_);  // nothing to ask: the state says charon is gone
  if (!polling_) send_poll();
}

void HealthMonitor::send_poll() {
  polling_ = true;
  in_flight_ = ++sent_;
  const std::uint64_t number = in_flight_;
  // Blocking: with noblock, charon leaves out the IKE_SAs a worker holds at that instant (one
  // sending a DPD, say), and a snapshot without them would make established tunnels look
  // down and be initiated again. A worker holds an SA only while it handles one message.
  vici::ListSasArgs args;
  args.noblock = false;
  charon_.request(vici::request::list_sas(args), [this, number](std::optional<vici::Error> e, vici::Reply reply) {
    // An answer of a link since lost: charon_down() has answered its waiters.
    if (!polling_ || number != in_flight_) return;
    polling_ = false;
    if (e) {
      // A disconnect has its own path; anything else is logged and the next poll retries.
      if (e->kind() != vici::ErrorKind::disconnected) {
        log(std::string("list-sas: ") + e->what());
        schedule_poll(settings_.poll_interval);
      }
      return answered(number);
    }
    std::vector<vici::IkeSa> sas;
    try {
      sas = vici::parse::list_sas(reply);
    } catch (const vici::Error& bad) {
      // Garbled ids from charon: this snapshot is unusable, the states stay as they were.
      log(std::string("list-sas answer refused: ") + bad.what());
      schedule_poll(settings_.poll_interval);
      return answered(number);
    }
    const auto now = health::Clock::now();
    for (const std::string& key : tunnels_.observe(sas, now)) rekey_black_hole(key);
    applied_ = number;
    applied_at_ = now;
    applied_wall_ = std::chrono::system_clock::now();
    initiate_due();
    schedule_poll(settings_.poll_interval);
    if (on_snapshot_) on_snapshot_(sas);
    if (on_polled_) on_polled_();
    answered(number);
  });
}

void HealthMonitor::answered(std::uint64_t number) {
  // A failed list-sas answers its waiters too (with the state as it is): they asked for a
  // snapshot, not for charon to be well.
  std::vector<std::function<void()>> ready;
  for (auto it = waiting_.begin(); it != waiting_.end();) {
    if (it->first <= number || !charon_.up()) {
      ready.push_back(std::move(it->second));
      it = waiting_.erase(it);
    } else {
      ++it;
    }
  }
  // Asked for while this one was in flight (an event, a caller): one more.
  if (wanted_ > number && charon_.up() && !polling_) send_poll();
  for (auto& f : ready) f();
}

void HealthMonitor::rekey_black_hole(const std::string& key) {
  // Degraded: rekey the CHILD_SA so fresh SAs replace the stuck ones.
  log("tunnel " + key + " degraded (outbound rising, inbound flat); rekeying");
  rekey_child(key);
}

void HealthMonitor::rekey_child(const std::string& key) {
  const health::Tunnel& t = tunnels_.all().at(key);
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
  return health::tunnel_rows(tunnels_, now, applied_ == 0 ? health::Clock::duration{} : now - applied_at_);
}

std::string HealthMonitor::tunnels_text() const {
  const auto now = health::Clock::now();
  return health::tunnel_rows_text(tunnels_, now, applied_ == 0 ? health::Clock::duration{} : now - applied_at_);
}

Json HealthMonitor::tunnel_counts() const { return health::tunnel_counts(tunnels_); }

Json HealthMonitor::polled() const {
  if (applied_ == 0) return {{"at", nullptr}, {"age_s", nullptr}};
  const auto age = std::chrono::duration_cast<std::chrono::milliseconds>(health::Clock::now() - applied_at_);
  return {{"at", health::utc_time(applied_wall_)}, {"age_s", static_cast<double>(age.count()) / 1000.0}};
}

}  // namespace ndsip::daemon
