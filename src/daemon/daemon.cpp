// Creating the parts and wiring them: who hears of what. Each part owns its state and
// registers its own control commands; nothing here reaches into a part.
#include "daemon/daemon.hpp"

#include <map>
#include <set>

#include <systemd/sd-daemon.h>

#include "control/answer.hpp"
#include "control/protocol.hpp"
#include "daemon/log.hpp"
#include "kernel/child_sa_from_vici.hpp"
#include "reconcile/connection_section.hpp"

namespace ndsip::daemon {

namespace {

policy::PolicySet policies_or_throw(const Config& c) {
  policy::PolicyLoadResult pol = load_policy_set(c.policies_dir, c.templates_dir);
  if (!pol.problems.empty()) {
    std::string all;
    for (const auto& p : pol.problems) all += "\n  " + p.to_string();
    throw std::runtime_error("policies and templates have problems:" + all);
  }
  return std::move(pol.set);
}

HealthSettings health_settings(const Config& c) {
  return {health::Settings{c.connect_timeout, c.black_hole_after}, c.poll_interval, c.max_initiating};
}

CredentialSettings credential_settings(const Config& c) {
  return {c.credential_paths(), c.warn_days, c.critical_days, c.reauth_batch, c.reauth_interval};
}

RenewalSettings renewal_settings(const Config& c) {
  return {c.cmp_server, c.cmp_trusted, c.cmp_renew_at, c.cmp_new_key, c.cmp_key_type, c.cmp_retry_first,
          c.cmp_retry_max, c.cmp_timeout};
}

}  // namespace

Daemon::Daemon(boost::asio::io_context& io, Config config)
    : io_(io),
      config_(std::move(config)),
      store_(config_.state_dir),
      charon_(io, config_.vici_uri, config_.vici_timeout, static_cast<unsigned>(config_.vici_sessions)),
      topology_(config_.node, store_, policies_or_throw(config_)),
      reconciler_(io, charon_, store_),
      health_(io, charon_, health_settings(config_)),
      seg_failover_(charon_, health_, store_, health::SegChoiceSettings{config_.failback_hold}),
      credentials_(io, charon_, health_, credential_settings(config_)),
      renewer_(io, credentials_, renewal_settings(config_)),
      watchdog_timer_(io) {
  if (renewer_.enabled()) {
    credentials_.on_adopted([this] { renewer_.schedule(); });
    credentials_.renewal_view([this] { return renewer_.summary(); });
  }
  if (config_.topology_source == "etcd") {
    const etcd::ClientSettings settings = etcd_client_settings(config_);
    etcd_ = std::make_unique<EtcdSource>(io, settings, etcd::Layout(config_.etcd_prefix),
                                         [this](const std::string& document, std::function<void(Json)> done) {
                                           offer(document, std::move(done));
                                         });
    topology_.set_external_source("the topology comes from etcd (" + config_.etcd_endpoints + ", prefix " +
                                  config_.etcd_prefix + "): use ndsipctl publish --etcd");
    reporter_ = std::make_unique<FleetReporter>(io, settings, etcd::Layout(config_.etcd_prefix),
                                                config_.node, config_.poll_interval, [this] { return fleet_status(); });
  }
  if (config_.kernel_view) {
    addresses_ = std::make_unique<kernel::AddressWatcher>(io, [this](const std::string& address, bool present) {
      if (addresses_->error().empty()) health_.address_changed(address, present);
    });
    inventory_ = std::make_unique<kernel::Inventory>(io);
  }
  wire_metrics();
  wire();
}

Daemon::~Daemon() = default;

// Trap policies (charon's start_action trap) have no CHILD_SA in list-sas: they are the plan's,
// so their kernel entries are owned, not stale. Made once per adopted plan, not per list-sas.
void Daemon::plan_trap_views(const policy::NodePlan& plan) {
  trap_views_.clear();
  for (const policy::ConnectionPlan& c : plan.connections) {
    for (const policy::ChildPlan& ch : c.children) {
      if (ch.passive() || reconcile::charon_start_action(ch.start_action) != "trap") continue;
      kernel::ChildSaView v;
      v.name = ch.name;
      v.role = kernel::Role::trap;
      v.flows = kernel::default_flows(ch.mode != "transport");
      for (const auto& [from, into] : {std::pair{&ch.local_ts, &v.local_ts}, std::pair{&ch.remote_ts, &v.remote_ts}}) {
        for (const std::string& ts : *from) {
          if (auto parsed = kernel::TrafficSelector::parse(ts)) into->push_back(*parsed);
        }
      }
      trap_views_.push_back(std::move(v));
    }
  }
}

void Daemon::check_kernel(const std::vector<vici::IkeSa>& sas) {
  if (!inventory_) return;
  std::vector<kernel::ChildSaView> views;
  std::vector<std::string> keys;  // the tunnel of each view from list-sas
  for (const vici::IkeSa& sa : sas) {
    for (const vici::ChildSa& child : sa.children) {
      views.push_back(kernel::view_of(child));
      keys.push_back(health::Tunnels::key(sa.name, child.name));
    }
  }
  views.insert(views.end(), trap_views_.begin(), trap_views_.end());
  last_kernel_ = inventory_->check(views);
  std::map<std::string, health::Tunnels::KernelCheck> checks;
  for (std::size_t i = 0; i < keys.size(); ++i) {
    const kernel::ChildSaStatus& c = last_kernel_.children[i];
    using V = health::Tunnels::KernelCheck::Verdict;
    // A gap while a change the kernel announced is still being read back may be gone a
    // moment later: unknown this time.
    const V verdict = c.verdict == kernel::Verdict::ok                                  ? V::ok
                      : c.verdict == kernel::Verdict::missing && last_kernel_.current ? V::missing
                                                                                        : V::unknown;
    checks[keys[i]] = {verdict, c.summary()};
  }
  health_.kernel_checked(checks);
}

void Daemon::watch_addresses(const policy::NodePlan& plan) {
  std::set<std::string> mine;
  for (const policy::ConnectionPlan& c : plan.connections) {
    for (const std::string& a : c.local_addrs) {
      if (a != "%any") mine.insert(a);
    }
  }
  if (!addresses_) return;
  addresses_->watch(mine);
  // watch() reports nothing itself: where each address stands now. Unknown (netlink not
  // usable) holds nothing: a tunnel is never held on a guess.
  if (!addresses_->error().empty()) return;
  for (const std::string& a : mine) health_.address_changed(a, addresses_->present(a));
}

void Daemon::wire() {
  topology_.on_adopted([this](const TopologyHolder::Plan& plan) {
    // Each pair on the SEG hop chosen for it (the preferred one unless it failed).
    const SegFailover::Plan chosen = seg_failover_.set_plan(plan);
    reconciler_.set_desired(chosen);
    health_.set_desired(*chosen);
    watch_addresses(*plan);
    if (inventory_) plan_trap_views(*chosen);
    credentials_.set_plan(plan);
    renewer_.schedule();  // the identity the renewed certificate must carry may be known only now
  });
  seg_failover_.on_switch([this](const SegFailover::Plan& chosen, std::function<void()> applied) {
    reconciler_.set_desired(chosen);
    if (inventory_) plan_trap_views(*chosen);
    reconcile([applied = std::move(applied)](const Json&) { applied(); });
  });
  health_.on_peer_silent([this](const std::string& connection, unsigned long long ike_id) {
    seg_failover_.unanswered(connection, ike_id);
  });
  reconciler_.on_applied([this](const std::vector<std::string>& restored) {
    if (!restored.empty()) {
      log("charon had lost " + std::to_string(restored.size()) +
          " connection(s) (restarted?): initiating them from this end at once");
    }
    for (const std::string& connection : restored) health_.initiate_now(connection);
    health_.initiate_due();
  });
  health_.on_polled([this] {
    credentials_.check_peer_expiry();
    if (metrics_) metrics_->tunnels_changed();
  });
  health_.on_snapshot([this](const std::vector<vici::IkeSa>& sas) {
    check_kernel(sas);
    seg_failover_.observed(sas);
  });
  // The kernel changed (a route or policy deleted behind charon's back): look now.
  if (inventory_) inventory_->on_change([this] { health_.poll_soon(); });
  charon_.on_up([this] {
    // Credentials first (connections reference identities), then connections, then
    // initiations (after the apply), then a poll. charon may have restarted: read it.
    reconciler_.distrust();
    credentials_.load([this] {
      reconcile([this](const Json&) {
        if (!topology_.has_topology()) {
          notify_ready_once("holding charon as it is: " +
                            (topology_.refused().empty() ? std::string("no accepted topology yet") : topology_.refused()));
          return;
        }
        notify_ready_once("reconciled " + std::to_string(topology_.plan()->connections.size()) + " connections");
      });
    });
    health_.charon_up();
  });
  charon_.on_down([this](const std::string& why) {
    reconciler_.distrust();
    health_.charon_down(why);
  });
  charon_.on_waiting(std::chrono::seconds(20), [this](const std::string& why) { notify_ready_once(why); });
  health_.subscribe();

  topology_.register_commands(
      table_, [this](Done done) { reconcile(std::move(done)); },
      [this](const TopologyHolder::Plan& plan, Done done) { reconciler_.preview(plan, std::move(done)); });
  health_.register_commands(table_);
  credentials_.register_commands(table_);
  renewer_.register_commands(table_);
  table_.add("status", "node, topology, charon, credentials and every tunnel, as kept from charon's events and polls",
             [this](const Json& request, control::Reply reply) {
               const auto fresh = request.find("fresh");
               if (fresh != request.end() && !fresh->is_boolean()) {
                 return reply(control::error_answer("malformed request: \"fresh\" is not true or false"));
               }
               // Answered from the state health keeps (events, and a list-sas after each burst of
               // them and every poll-interval); the answer says how old its last list-sas is. With
               // "fresh", a list-sas first: counters as of now. Either way no tunnel is called up
               // whose SA charon has announced gone.
               if (fresh != request.end() && fresh->get<bool>()) {
                 return health_.poll([this, reply] { reply(status()); });
               }
               health_.current([this, reply] { reply(status()); });
             });
  table_.add("reload", "re-read policies, templates and credentials and apply them",
             [this](const Json&, control::Reply reply) {
               log("reload requested over the control socket");
               reload(std::move(reply));
             });
  table_.add("version", "ndsipd's version, the control protocol's, and charon's",
             [this](const Json&, control::Reply reply) {
               Json a = control::ok_answer();
               a.update({{"ndsipd", NDSIP_VERSION}, {"charon", charon_.version()}});
               reply(std::move(a));
             });
}

void Daemon::start() {
  start_metrics();  // first: a listener that cannot listen stops the start before anything else
  topology_.load_stored();
  // After the topology: the certificate must carry this node's identity.
  for (const auto& p : credentials_.refresh()) log("credentials: " + p);
  credentials_.watch();
  server_ = std::make_unique<control::Server>(
      io_, config_.control_socket, config_.control_group,
      [this](const Json& request, control::Reply reply) { dispatch(request, std::move(reply)); });
  pet_watchdog();
  charon_.start();
  // After the stored topology: ndsipd runs on it while etcd is away.
  if (etcd_) etcd_->start();
  if (reporter_) reporter_->start();
}

Json Daemon::fleet_status() const {
  // What `ndsipctl fleet-status` shows of this node: small (a tunnel is peer, state, reason),
  // with the counts status has, and the worst state among them.
  Json tunnels = Json::array();
  for (const Json& t : health_.tunnels()) {
    tunnels.push_back({{"peer", t.value("peer", "")}, {"state", t.value("state", "down")}, {"reason", t.value("reason", "")}});
  }
  const Json counts = health_.tunnel_counts();
  std::string worst = counts.value("total", 0) > 0 ? "up" : "none";
  for (const char* state : {"revoked", "down", "connecting", "degraded"}) {  // the worst first
    if (counts.value(state, 0) > 0) {
      worst = state;
      break;
    }
  }
  const Json creds = credentials_.summary();
  const Json topo = topology_.status();
  return {{"node", config_.node},
          {"applied_revision", etcd_ ? etcd_->applied_revision() : 0},
          {"topology_version", topo["version"]},
          {"digest", topo["digest"]},
          {"refused", etcd_ ? etcd_->refused() : Json()},
          {"charon", charon_.up()},
          {"tunnels", tunnels},
          {"up", counts.value("up", 0)},
          {"total", counts.value("total", 0)},
          {"worst", worst},
          {"cert_days_left", creds.contains("days_left") ? creds["days_left"] : Json()},
          {"at", std::time(nullptr)}};
}

void Daemon::reload(Done done) {
  // Everything is checked before anything is adopted: new policies against the accepted
  // topology, then the credentials against the resulting plan. Any problem refuses it all.
  policy::PolicyLoadResult pol = load_policy_set(config_.policies_dir, config_.templates_dir);
  if (!pol.problems.empty()) {
    std::vector<std::string> problems;
    for (const auto& p : pol.problems) problems.push_back(p.to_string());
    return done(control::problems_answer("reload refused: policies or templates have problems", problems));
  }
  TopologyHolder::Replan replan = topology_.replan(std::move(pol.set));
  if (!replan.problems.empty()) {
    return done(control::problems_answer("reload refused: the new policies refuse the accepted topology",
                                         replan.problems));
  }
  CheckedCredentials creds = credentials_.check_files();
  if (!creds.problems.empty()) {
    return done(control::problems_answer("reload refused: credentials have problems; keeping the loaded ones",
                                         creds.problems));
  }
  topology_.commit(std::move(replan));
  credentials_.adopt(std::move(creds));
  if (!charon_.up()) {
    Json a = control::ok_answer();
    a["note"] = "charon is not reachable; will apply when it is back";
    return done(std::move(a));
  }
  credentials_.load([this, done] { reconcile(done); });
}

namespace {
constexpr const char* tunnels_placeholder = "@@ndsip tunnel rows@@";
}  // namespace

Json Daemon::kernel_status() const {
  if (!inventory_) return {{"enabled", false}};
  Json stale = Json::array();
  for (const kernel::Entry& e : last_kernel_.stale) stale.push_back(e.what);
  std::string error = addresses_->error();
  if (!last_kernel_.error.empty()) error += (error.empty() ? "" : "; ") + last_kernel_.error;
  return {{"enabled", true},
          {"addresses_missing", addresses_->missing()},
          {"datapath", kernel::to_string(inventory_->datapath())},
          {"stale", std::move(stale)},
          {"error", error}};
}

Json Daemon::status() const {
  // Member by member: update() with a list copies every value twice, and the tunnels are
  // 10,000 rows (a full apply's last_apply names 10,000 connections).
  Json a = control::ok_answer();
  a["node"] = config_.node;
  a["topology"] = topology_.status();
  a["source"] = etcd_ ? etcd_->status() : Json{{"kind", "push"}};
  a["charon"] = charon_.status();
  a["kernel"] = kernel_status();
  a["credentials"] = credentials_.summary();
  a["last_apply"] = reconciler_.last_apply();
  a["polled"] = health_.polled();
  a["tunnel_counts"] = health_.tunnel_counts();
  a["seg_choices"] = seg_failover_.status();
  a["tunnels"] = tunnels_placeholder;
  Json outside = Json::array();
  for (const auto& o : topology_.plan()->outside) {
    // Typed ("capif" or "tls"): ndsipctl prints by the kind, not by reading the words.
    outside.push_back({{"reference_point", o.reference_point},
                       {"peer", o.peer},
                       {"kind", policy::to_string(o.kind)},
                       {"protection", o.protection}});
  }
  a["outside"] = std::move(outside);
  a[control::key::protocol] = control::protocol_version;
  // The tunnel table goes in as text: dump the rest, then put the rows where the placeholder
  // is (keys are sorted, "tunnels" comes once, and no other value can be the placeholder's
  // quoted text followed by the object's next member or end).
  std::string text = a.dump(-1, ' ', false, Json::error_handler_t::replace);
  const std::string key = "\"tunnels\":";
  const std::string value = std::string("\"") + tunnels_placeholder + "\"";
  const auto at = text.find(key + value);
  if (at == std::string::npos) throw std::logic_error("status: no place for the tunnel table");
  text.replace(at + key.size(), value.size(), health_.tunnels_text());
  return control::preserialized_answer(text);
}

void Daemon::notify_ready_once(const std::string& status) {
  if (ready_sent_) {
    sd_notify(0, ("STATUS=" + status).c_str());
    return;
  }
  ready_sent_ = true;
  sd_notify(0, ("READY=1\nSTATUS=" + status).c_str());
  log("ready: " + status);
}

void Daemon::pet_watchdog() {
  std::uint64_t usec = 0;
  if (sd_watchdog_enabled(0, &usec) <= 0) return;
  // Petted from the loop itself: a stuck loop stops petting and systemd restarts us.
  sd_notify(0, "WATCHDOG=1");
  watchdog_timer_.expires_after(std::chrono::microseconds(usec / 2));
  watchdog_timer_.async_wait([this](boost::system::error_code ec) {
    if (!ec) pet_watchdog();
  });
}

}  // namespace ndsip::daemon
