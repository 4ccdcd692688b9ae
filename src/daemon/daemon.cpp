// Lifecycle and the connection to charon: start, reload, connect with backoff, and the
// charon restart path (the socket closing is an event: reconnect, then credentials,
// connections and initiations again).
#include "daemon/daemon.hpp"

#include <systemd/sd-daemon.h>

#include <algorithm>
#include <ctime>
#include <iostream>

#include "health/failure_reason.hpp"
#include "vici/commands.hpp"

namespace ndsip::daemon {

namespace {

constexpr const char* events[] = {"ike-updown", "child-updown", "ike-rekey", "child-rekey", "alert", "log"};

std::string data_dir_or(const std::string& configured, const char* sub) {
  return configured.empty() ? std::string(NDSIP_DEFAULT_DATA_DIR) + "/" + sub : configured;
}

}  // namespace

Daemon::Daemon(boost::asio::io_context& io, Config config)
    : io_(io),
      config_(std::move(config)),
      reauth_timer_(io),
      expiry_timer_(io),
      session_(io),
      reconnect_timer_(io),
      tunnels_(health::Settings{config_.connect_timeout, config_.black_hole_after}),
      poll_timer_(io),
      soon_timer_(io),
      watchdog_timer_(io),
      started_(std::chrono::steady_clock::now()) {}

Daemon::~Daemon() = default;

void Daemon::log(const std::string& message) const { std::cerr << "ndsipd: " << message << std::endl; }

std::vector<std::string> Daemon::check(const Config& c) {
  std::vector<std::string> problems;
  const policy::PolicyLoadResult pol =
      policy::load_policies(data_dir_or(c.policies_dir, "policies"), data_dir_or(c.templates_dir, "templates"));
  for (const auto& p : pol.problems) problems.push_back(p.to_string());
  for (const auto& p : certs::check_credentials(c.credential_paths(), "", std::time(nullptr)).problems) {
    problems.push_back(p.to_string());
  }
  if (problems.empty()) {
    for (const auto& p : read_credentials(c.credential_paths()).problems) problems.push_back(p);
  }
  return problems;
}

void Daemon::start() {
  const policy::PolicyLoadResult pol = policy::load_policies(
      data_dir_or(config_.policies_dir, "policies"), data_dir_or(config_.templates_dir, "templates"));
  if (!pol.problems.empty()) {
    std::string all;
    for (const auto& p : pol.problems) all += "\n  " + p.to_string();
    throw std::runtime_error("policies and templates have problems:" + all);
  }
  policies_ = pol.set;
  store_ = std::make_unique<StateStore>(config_.state_dir);
  applied_ = store_->load_applied();

  if (auto stored = store_->current()) {
    Candidate c = evaluate(stored->text);
    if (c.problems.empty()) {
      adopt(std::move(c), stored->text, stored->version);
      log("loaded accepted topology version " + std::to_string(stored->version) + " (" +
          std::to_string(plan_.connections.size()) + " connections for " + config_.node + ")");
    } else {
      // Policies may have changed under it; keep it on disk, run without it, say why.
      log("stored topology version " + std::to_string(stored->version) +
          " no longer validates; waiting for a push. First problem: " + c.problems.front());
    }
  } else {
    log("no accepted topology yet; waiting for ndsipctl push");
  }

  // After the topology: the certificate must carry this node's identity.
  for (const auto& p : refresh_credentials()) log("credentials: " + p);
  const std::vector<std::string> watched{config_.cert, config_.key, config_.ca_bundle, config_.crl_dir};
  if (std::any_of(watched.begin(), watched.end(), [](const std::string& p) { return !p.empty(); })) {
    watcher_ = std::make_unique<certs::Watcher>(io_, watched, std::chrono::milliseconds(500),
                                                [this] { on_credentials_changed(); });
  }

  control_ = std::make_unique<ControlServer>(
      io_, config_.control_socket, config_.control_group,
      [this](const Json& request, ControlServer::Reply reply) { handle(request, std::move(reply)); });

  for (const char* event : events) {
    session_.subscribe(event, [this](const std::string& name, const vici::Message& m) {
      if (name == "log") {
        // The reason a tunnel failed is said only in charon's log; keep it for status.
        const std::string ike = m.value_or("ikesa-name");
        if (auto reason = health::failure_reason(m.value_or("msg")); reason && !ike.empty()) {
          tunnels_.alert(ike, *reason);
        }
        return;  // log lines alone change no state: no poll
      }
      if (name == "alert") {
        // Alerts carry the failure's kind (peer-auth-failed, proposal-mismatch-ike, ...).
        last_alert_ = m.value_or("type", "alert");
        log("charon alert: " + vici::describe(m));
      }
      poll_soon();
    }, config_.vici_timeout, [this](std::optional<vici::Error> e) {
      if (e && e->kind() != vici::ErrorKind::disconnected) log(std::string("event registration: ") + e->what());
    });
  }
  session_.on_disconnect([this](const vici::Error& why) { on_charon_lost(why.what()); });
  pet_watchdog();
  connect_charon();
}

void Daemon::connect_charon() {
  try {
    session_.connect(config_.vici_uri);
  } catch (const vici::Error& e) {
    charon_error_ = std::string("cannot connect to ") + config_.vici_uri + ": " + e.what();
    const auto wait = reconnect_backoff_.next();
    if (reconnect_backoff_.attempts() == 1) log(charon_error_ + "; retrying");
    if (!ready_sent_ && std::chrono::steady_clock::now() - started_ > std::chrono::seconds(20)) {
      notify_ready_once("waiting for charon at " + config_.vici_uri);
    }
    reconnect_timer_.expires_after(wait);
    reconnect_timer_.async_wait([this](boost::system::error_code ec) {
      if (!ec) connect_charon();
    });
    return;
  }
  session_.request(vici::request::version(), config_.vici_timeout,
                   [this](std::optional<vici::Error> e, vici::Reply reply) {
                     if (e) return;  // the disconnect handler takes it from here
                     const auto v = vici::parse::version(reply);
                     charon_version_ = v.daemon + " " + v.version;
                     charon_up_ = true;
                     charon_error_.clear();
                     reconnect_backoff_.reset();
                     log("connected to charon (" + charon_version_ + ") at " + config_.vici_uri);
                     load_credentials([this] {
                       reconcile([this](const Json&) {
                         notify_ready_once("reconciled " + std::to_string(plan_.connections.size()) +
                                           " connections");
                       });
                     });
                     schedule_poll(std::chrono::milliseconds(0));
                   });
}

void Daemon::on_charon_lost(const std::string& why) {
  charon_up_ = false;
  charon_error_ = "charon unreachable: " + why;
  log(charon_error_ + "; reconnecting");
  tunnels_.all_down(charon_error_, health::Clock::now());
  poll_timer_.cancel();
  polling_ = false;
  // A restarted charon holds nothing of ours; a reconnect to the same one keeps everything.
  // get-conns after reconnecting tells which, so nothing is re-sent needlessly.
  reconnect_timer_.expires_after(reconnect_backoff_.next());
  reconnect_timer_.async_wait([this](boost::system::error_code ec) {
    if (!ec) connect_charon();
  });
}

void Daemon::load_credentials(std::function<void()> then) {
  // Credentials first: connections reference identities, never certificate data.
  std::vector<vici::Request> requests;
  for (const std::string& ca : credentials_.ca_certs) {
    requests.push_back(vici::request::load_cert(vici::CertType::x509, vici::CertFlag::ca, ca));
  }
  if (!credentials_.own_cert.empty()) {
    requests.push_back(vici::request::load_cert(vici::CertType::x509, vici::CertFlag::none,
                                                credentials_.own_cert));
  }
  if (!credentials_.key.empty()) {
    requests.push_back(vici::request::load_key(credentials_.key_type, credentials_.key));
  }
  for (const std::string& crl : credentials_.crls) {
    requests.push_back(vici::request::load_cert(vici::CertType::x509_crl, vici::CertFlag::none, crl));
  }
  if (requests.empty()) {
    then();
    return;
  }
  auto remaining = std::make_shared<std::size_t>(requests.size());
  auto next = std::make_shared<std::function<void()>>(std::move(then));
  for (vici::Request& r : requests) {
    const std::string what = r.command;
    session_.request(std::move(r), config_.vici_timeout,
                     [this, remaining, next, what](std::optional<vici::Error> e, vici::Reply reply) {
                       if (!e) {
                         try {
                           vici::expect_success(what, reply.response);
                         } catch (const vici::Error& refused) {
                           e = refused;
                         }
                       }
                       // The error names the command, never the data (a key).
                       if (e && e->kind() != vici::ErrorKind::disconnected) log(what + ": " + e->what());
                       if (--*remaining == 0 && charon_up_) (*next)();
                     });
  }
}

void Daemon::reload(Done done) {
  const policy::PolicyLoadResult pol = policy::load_policies(
      data_dir_or(config_.policies_dir, "policies"), data_dir_or(config_.templates_dir, "templates"));
  if (!pol.problems.empty()) {
    Json problems = Json::array();
    for (const auto& p : pol.problems) problems.push_back(p.to_string());
    done({{"ok", false}, {"error", "policies or templates have problems; keeping the running ones"},
          {"problems", problems}});
    return;
  }
  policies_ = pol.set;
  if (topology_) {
    // Re-plan with the new profiles; an unchanged result touches nothing.
    Candidate c;
    c.topology = topology_;
    c.plan = policy::plan_node(*topology_, policies_, config_.node);
    adopt(std::move(c), "", topology_version_);
  }
  const auto problems = refresh_credentials();
  if (!problems.empty()) {
    done({{"ok", false}, {"error", "credentials have problems; keeping the loaded ones"}, {"problems", problems}});
    return;
  }
  if (!charon_up_) {
    done({{"ok", true}, {"note", "charon is not reachable; will apply when it is back"}});
    return;
  }
  load_credentials([this, done] { reconcile(done); });
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
