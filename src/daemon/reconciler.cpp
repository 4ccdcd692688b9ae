#include "daemon/reconciler.hpp"

#include <map>
#include <set>

#include "control/answer.hpp"
#include "control/protocol.hpp"
#include "daemon/log.hpp"
#include "reconcile/connection_section.hpp"
#include "vici/commands.hpp"

namespace ndsip::daemon {

namespace key = control::key;

namespace {

Json changes(const reconcile::ConnectionDiff& d) {
  Json j = control::ok_answer();
  j[key::load] = d.load;
  j[key::unload] = d.unload;
  j[key::unchanged] = d.unchanged;
  return j;
}

}  // namespace

Reconciler::Reconciler(boost::asio::io_context& io, CharonLink& charon, StateStore& store,
                       std::chrono::milliseconds cross_check)
    : charon_(charon), store_(store), applied_(store.load_applied()), save_timer_(io), cross_check_(cross_check),
      cross_check_timer_(io) {}

void Reconciler::in_charon(std::function<void(std::optional<vici::Error>, std::set<std::string>)> then) {
  charon_.request(vici::request::get_conns(), [then = std::move(then)](std::optional<vici::Error> e, vici::Reply r) {
    if (e) return then(std::move(e), {});
    const auto names = vici::parse::get_conns(r);
    then(std::nullopt, std::set<std::string>(names.begin(), names.end()));
  });
}

void Reconciler::preview(const Plan& plan, Done done) {
  auto answer = [this, plan, done](const std::set<std::string>& held) {
    done(changes(reconcile::diff_connections(plan->node, plan->connections, applied_, held)));
  };
  if (!charon_.up()) {
    std::set<std::string> assumed;
    for (const auto& [name, digest] : applied_) assumed.insert(name);
    answer(assumed);
    return;
  }
  in_charon([answer, done](std::optional<vici::Error> e, std::set<std::string> held) {
    if (e) return done(control::error_answer(std::string("get-conns: ") + e->what()));
    answer(held);
  });
}

void Reconciler::reconcile(Done done) {
  if (!desired_) {
    Json j = control::ok_answer();
    j[key::note] = "no accepted topology: charon is held as it is";
    done(std::move(j));
    return;
  }
  if (!charon_.up()) {
    Json j = control::ok_answer();
    j[key::note] = "charon is not reachable; will apply when it is back";
    done(std::move(j));
    return;
  }
  waiters_.push_back(std::move(done));
  if (running_) {
    again_ = true;  // one more pass when this one ends, for everything asked meanwhile
    return;
  }
  run();
}

void Reconciler::run() {
  running_ = true;
  again_ = false;
  auto waiters = std::make_shared<std::vector<Done>>(std::move(waiters_));
  waiters_.clear();
  const auto requests_before = charon_.requests_sent();
  const Plan plan = desired_;
  const bool full = !trusted_;
  auto pass = [this, waiters, requests_before, plan, full](std::optional<vici::Error> e, std::set<std::string> held) {
    auto finish = [this, waiters](Json result) {
      running_ = false;
      for (Done& w : *waiters) w(result);
      if (again_ && charon_.up()) run();
    };
    if (e) {
      finish(control::error_answer(std::string("get-conns: ") + e->what()));
      return;
    }
    if (full) {
      // charon has been read: trust what is applied until the next connect or cross-check.
      trusted_ = true;
      cross_check_timer_.expires_after(cross_check_);
      cross_check_timer_.async_wait([this](boost::system::error_code ec) {
        if (ec || !charon_.up()) return;
        distrust();
        reconcile([](const Json&) {});
      });
    }
    // Trusted, after a clean pass: what changed between two plans, by walking them in step.
    const reconcile::ConnectionDiff diff =
        !full && applied_plan_ ? reconcile::diff_plans(applied_plan_->connections, plan->connections)
                               : reconcile::diff_connections(plan->node, plan->connections, applied_, held);
    applied_plan_.reset();  // set again below if this pass ends clean
    auto result = std::make_shared<Json>(changes(diff));
    // Loaded once, gone now: charon restarted (or was restarted with the host) and lost them.
    auto restored = std::make_shared<std::vector<std::string>>();
    if (full) {
      for (const std::string& name : diff.load) {
        if (applied_.count(name) && !held.count(name)) restored->push_back(name);
      }
    }
    (*result)["restored"] = *restored;
    (*result)["errors"] = Json::array();
    const bool changes_applied = !diff.empty();
    auto remaining = std::make_shared<std::size_t>(diff.load.size() + diff.unload.size() * 2 + 1);
    auto step_done = [this, result, remaining, finish, requests_before, restored, plan, changes_applied]() {
      if (--*remaining > 0) return;
      if ((*result)["errors"].empty()) {
        // charon holds exactly `plan` now: what ndsipd recorded of connections that are
        // neither desired nor in charon any more goes, and the next trusted pass diffs plans.
        forget_undesired(*plan);
        applied_plan_ = plan;
      }
      if (changes_applied) save_applied_later();
      // The VICI commands this pass sent, get-conns included when it read charon (the bench
      // counts them).
      (*result)["vici_commands"] = charon_.requests_sent() - requests_before;
      if (!(*result)["errors"].empty()) (*result)[key::ok] = false;
      last_apply_ = *result;
      if (on_applied_) on_applied_(*restored);
      finish(*result);
    };
    auto failed = [result](const std::string& what, const vici::Error& err) {
      (*result)["errors"].push_back(what + ": " + err.what());
      log(what + " failed: " + err.what());
    };
    for (const std::string& name : diff.load) {
      const policy::ConnectionPlan& c = *reconcile::find_connection(plan->connections, name);
      // Spread over the link's sessions: a full apply of thousands is charon's work, and charon
      // works on each session in parallel.
      charon_.request_spread(
          vici::request::load_conn(name, reconcile::connection_section(c, reconcile::is_initiator(plan->node, c.peer))),
          [this, name, digest = c.digest, failed, step_done](std::optional<vici::Error> err, vici::Reply) {
            if (err) {
              failed("load-conn " + name, *err);
            } else {
              applied_[name] = digest;
            }
            step_done();
          });
    }
    for (const std::string& name : diff.unload) {
      // Its SAs go with it: terminate, then unload.
      charon_.terminate(name, step_done);
      charon_.request(vici::request::unload_conn(name),
                      [this, name, failed, step_done](std::optional<vici::Error> err, vici::Reply) {
                        if (err) {
                          failed("unload-conn " + name, *err);
                        } else {
                          applied_.erase(name);
                        }
                        step_done();
                      });
    }
    step_done();  // the +1: a pass with nothing to do ends here
  };
  if (full) {
    in_charon(std::move(pass));
  } else if (applied_plan_) {
    pass(std::nullopt, {});  // diff_plans needs no names
  } else {
    std::set<std::string> held;
    for (const auto& [name, digest] : applied_) held.insert(name);
    pass(std::nullopt, std::move(held));
  }
}

void Reconciler::forget_undesired(const policy::NodePlan& plan) {
  if (applied_.size() == plan.connections.size()) return;  // every entry is a desired one
  for (auto it = applied_.begin(); it != applied_.end();) {
    it = reconcile::find_connection(plan.connections, it->first) ? std::next(it) : applied_.erase(it);
  }
}

void Reconciler::save_applied_later() {
  // applied.json is a cache (losing it costs identical load-conns, which charon takes as
  // no-ops), so it is written once a burst of passes is over, off the push's path, and at
  // the latest when ndsipd stops (flush_applied).
  applied_dirty_ = true;
  save_timer_.expires_after(std::chrono::seconds(1));
  save_timer_.async_wait([this](boost::system::error_code ec) {
    if (!ec) flush_applied();
  });
}

void Reconciler::flush_applied() {
  if (!applied_dirty_) return;
  try {
    store_.save_applied(applied_);
    applied_dirty_ = false;
  } catch (const std::exception& ex) {
    log(std::string("applied state not saved (it will be read from charon after a restart): ") + ex.what());
  }
}

Reconciler::~Reconciler() { flush_applied(); }

}  // namespace ndsip::daemon
