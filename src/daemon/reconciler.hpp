// The reconciler: makes charon hold exactly the desired connections. It owns what ndsipd
// loaded (connection -> digest, persisted in the state store), the diff against charon, the
// VICI operations (load-conn, terminate + unload-conn) and the callers waiting for a pass. A
// pass asked for while one runs is folded into one more pass.
//
// What charon holds is read (get-conns) on every (re)connect and then every cross-check
// interval; in between, what ndsipd applied is trusted, so a one-peer push costs the
// load-conn alone, not a listing of every connection.
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <functional>
#include <memory>
#include <vector>

#include <nlohmann/json.hpp>

#include "daemon/charon_link.hpp"
#include "daemon/state_store.hpp"
#include "policy/plan.hpp"
#include "reconcile/diff.hpp"

namespace ndsip::daemon {

using Json = nlohmann::json;
using Done = std::function<void(Json)>;

class Reconciler {
 public:
  using Plan = std::shared_ptr<const policy::NodePlan>;

  Reconciler(boost::asio::io_context& io, CharonLink& charon, StateStore& store,
             std::chrono::milliseconds cross_check = std::chrono::minutes(5));
  ~Reconciler();  // writes applied state not yet saved

  // The next pass reads what charon holds (after a reconnect: charon may have restarted).
  void distrust() {
    trusted_ = false;
    applied_plan_.reset();
  }
  // Writes the applied state now if a pass changed it since the last write.
  void flush_applied();

  void set_desired(Plan plan) { desired_ = std::move(plan); }
  // One pass: get-conns, diff, load / unload. `done` gets {"ok", "load", "unload",
  // "unchanged", "errors", "vici_commands"}; without charon, a note saying it will apply later.
  // Before any plan was set (no accepted topology) nothing is sent: charon is held as it is,
  // never reconciled from "nothing accepted".
  void reconcile(Done done);
  // What a pass would do for `plan`, against charon now (or what was applied, without charon).
  void preview(const Plan& plan, Done done);
  // After every pass that changed or checked charon (initiations come next). `restored`:
  // connections ndsipd had loaded that charon no longer held (it restarted: its SAs are gone
  // too), loaded again by this pass.
  using Applied = std::function<void(const std::vector<std::string>& restored)>;
  void on_applied(Applied handler) { on_applied_ = std::move(handler); }

  const Json& last_apply() const { return last_apply_; }

 private:
  void run();
  void forget_undesired(const policy::NodePlan& plan);
  void save_applied_later();
  void in_charon(std::function<void(std::optional<vici::Error>, std::set<std::string>)> then);

  CharonLink& charon_;
  StateStore& store_;
  Plan desired_;  // null until set_desired
  reconcile::Applied applied_;
  bool running_ = false, again_ = false;
  bool trusted_ = false;  // applied_ is what charon holds (a full pass since the last connect)
  // The plan the last pass applied completely (applied_ equals its names and digests); null
  // after a pass with errors or a distrust.
  Plan applied_plan_;
  bool applied_dirty_ = false;  // applied_ changed since it was last saved
  boost::asio::steady_timer save_timer_;
  std::chrono::milliseconds cross_check_;
  boost::asio::steady_timer cross_check_timer_;
  std::vector<Done> waiters_;
  Json last_apply_ = Json::object();
  Applied on_applied_;
};

}  // namespace ndsip::daemon
