// Reconcile and health on the loop: desired connections vs charon (get-conns + the applied
// digests) -> load-conn / unload-conn, then paced initiations; list-sas on an interval and
// after events -> tunnel states, re-initiation with backoff, black-hole rekeys.
#include <set>
#include <utility>

#include "daemon/daemon.hpp"
#include "reconcile/connection_section.hpp"
#include "vici/commands.hpp"

namespace ndsip::daemon {

namespace {

std::optional<vici::Error> checked(const std::string& command, std::optional<vici::Error> e,
                                   const vici::Reply& reply) {
  if (e) return e;
  try {
    vici::expect_success(command, reply.response);
  } catch (const vici::Error& refused) {
    return refused;
  }
  return std::nullopt;
}

}  // namespace

void Daemon::reconcile(Done done) {
  if (!charon_up_) {
    done({{"ok", true}, {"note", "charon is not reachable; will apply when it is back"}});
    return;
  }
  waiters_.push_back(std::move(done));
  if (reconciling_) {
    again_ = true;  // one more pass when this one ends, for everything asked meanwhile
    return;
  }
  run_reconcile();
}

void Daemon::run_reconcile() {
  reconciling_ = true;
  again_ = false;
  auto waiters = std::make_shared<std::vector<Done>>(std::move(waiters_));
  waiters_.clear();
  const auto requests_before = session_.counters().requests;
  session_.request(vici::request::get_conns(), config_.vici_timeout,
                   [this, waiters, requests_before](std::optional<vici::Error> e, vici::Reply reply) {
    auto finish = [this, waiters](Json result) {
      reconciling_ = false;
      for (Done& w : *waiters) w(result);
      if (again_ && charon_up_) run_reconcile();
    };
    if (e) {
      finish({{"ok", false}, {"error", std::string("get-conns: ") + e->what()}});
      return;
    }
    const auto names = vici::parse::get_conns(reply);
    const std::set<std::string> in_charon(names.begin(), names.end());
    const reconcile::ConnectionDiff diff =
        reconcile::diff_connections(config_.node, plan_.connections, applied_, in_charon);
    auto result = std::make_shared<Json>(Json{{"ok", true},
                                              {"loaded", diff.load},
                                              {"unloaded", diff.unload},
                                              {"unchanged", diff.unchanged.size()},
                                              {"errors", Json::array()}});
    auto remaining = std::make_shared<std::size_t>(diff.load.size() + diff.unload.size() * 2);
    auto step_done = [this, result, remaining, finish, requests_before]() {
      if (--*remaining > 0) return;
      try {
        store_->save_applied(applied_);
      } catch (const std::exception& ex) {
        (*result)["errors"].push_back(ex.what());
      }
      // The VICI commands this pass sent, get-conns included (bench (b) counts them).
      (*result)["vici_commands"] = session_.counters().requests - requests_before;
      last_apply_ = *result;
      if (!(*result)["errors"].empty()) (*result)["ok"] = false;
      initiate_due();
      finish(*result);
    };
    if (*remaining == 0) {
      ++*remaining;
      step_done();
      return;
    }
    std::map<std::string, const policy::ConnectionPlan*> by_name;
    for (const auto& c : plan_.connections) by_name.emplace(c.name, &c);
    for (const std::string& name : diff.load) {
      const policy::ConnectionPlan& c = *by_name.at(name);
      session_.request(
          vici::request::load_conn(name, reconcile::connection_section(c, reconcile::is_initiator(config_.node, c.peer))),
          config_.vici_timeout,
          [this, name, digest = c.digest, result, step_done](std::optional<vici::Error> e, vici::Reply r) {
            if (auto err = checked("load-conn", e, r)) {
              (*result)["errors"].push_back("load-conn " + name + ": " + err->what());
            } else {
              applied_[name] = digest;
            }
            step_done();
          });
    }
    for (const std::string& name : diff.unload) {
      // Its SAs go with it: terminate (ignoring "no SAs") and then unload.
      terminate_ike(name, step_done);
      session_.request(vici::request::unload_conn(name), config_.vici_timeout,
                       [this, name, result, step_done](std::optional<vici::Error> e, vici::Reply r) {
                         if (auto err = checked("unload-conn", e, r)) {
                           (*result)["errors"].push_back("unload-conn " + name + ": " + err->what());
                         } else {
                           applied_.erase(name);
                         }
                         step_done();
                       });
    }
  });
}

void Daemon::initiate_due() {
  if (!charon_up_) return;
  const auto now = health::Clock::now();
  for (const std::string& key : tunnels_.due(now, config_.max_initiating)) {
    const health::Tunnel& t = tunnels_.all().at(key);
    tunnels_.started(key, now);
    vici::InitiateArgs args;
    args.child = t.child;
    args.ike = t.connection;
    args.timeout_ms = -1;  // returns at once; the outcome arrives as events and in list-sas
    session_.request(vici::request::initiate(args), config_.vici_timeout,
                     [this, key](std::optional<vici::Error> e, vici::Reply r) {
                       if (auto err = checked("initiate", e, r)) {
                         if (err->kind() != vici::ErrorKind::disconnected) {
                           tunnels_.failed(key, err->what(), health::Clock::now());
                         }
                       }
                     });
  }
}

void Daemon::schedule_poll(std::chrono::milliseconds after) {
  poll_timer_.expires_after(after);
  poll_timer_.async_wait([this](boost::system::error_code ec) {
    if (!ec) poll();
  });
}

void Daemon::poll_soon() {
  // Events come in bursts (an IKE_SA and its children); one list-sas answers them all.
  soon_timer_.expires_after(std::chrono::milliseconds(100));
  soon_timer_.async_wait([this](boost::system::error_code ec) {
    if (!ec && !polling_) poll();
  });
}

void Daemon::poll(std::function<void()> then) {
  if (then) after_poll_.push_back(std::move(then));
  if (!charon_up_) {
    for (auto& f : std::exchange(after_poll_, {})) f();
    return;
  }
  if (polling_) return;  // the poll in flight serves this caller too
  polling_ = true;
  vici::ListSasArgs args;
  args.noblock = true;
  session_.request(vici::request::list_sas(args), config_.vici_timeout,
                   [this](std::optional<vici::Error> e, vici::Reply reply) {
    polling_ = false;
    auto waiting = std::exchange(after_poll_, {});
    if (e) {  // a disconnect is handled by its own path
      for (auto& f : waiting) f();
      return;
    }
    const auto now = health::Clock::now();
    const std::vector<vici::IkeSa> sas = vici::parse::list_sas(reply);
    if (!last_alert_.empty()) {
      // Attribute the latest alert to tunnels that are not up.
      for (const auto& [key, t] : tunnels_.all()) {
        if (t.state != health::State::up) tunnels_.alert(t.connection, last_alert_);
      }
      last_alert_.clear();
    }
    for (const std::string& key : tunnels_.observe(sas, now)) {
      // Degraded (black hole): rekey the CHILD_SA so fresh SAs replace the stuck ones.
      const health::Tunnel& t = tunnels_.all().at(key);
      log("tunnel " + key + " degraded (outbound rising, inbound flat); rekeying");
      vici::RekeyArgs args2;
      if (!t.child_uniqueid.empty()) args2.child_id = std::stoull(t.child_uniqueid);
      session_.request(vici::request::rekey(args2), config_.vici_timeout,
                       [](std::optional<vici::Error>, vici::Reply) {});
    }
    initiate_due();
    if (now - last_peer_check_ >= std::chrono::seconds(5)) {
      last_peer_check_ = now;
      check_peer_expiry();
    }
    schedule_poll(config_.poll_interval);
    for (auto& f : waiting) f();
  });
}

}  // namespace ndsip::daemon
