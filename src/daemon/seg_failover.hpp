// Failover between SEGs on the loop (health::SegChoices, docs/planner.md "Failing over
// between SEGs"). It owns the choice of SEG hop for each pair this node picks one for, fed
// by every list-sas HealthMonitor applies and by charon's retransmits. On a switch it hands
// the daemon the plan with the new hop active (the daemon applies it: a load-conn of each hop
// that changed), then initiates the chosen hop; the hop it replaced is closed once the new
// one is up. Hops not chosen keep an IKE_SA without children.
#pragma once

#include <functional>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "daemon/charon_link.hpp"
#include "daemon/health_monitor.hpp"
#include "daemon/state_store.hpp"
#include "health/seg_choices.hpp"

namespace ndsip::daemon {

class SegFailover {
 public:
  using Plan = std::shared_ptr<const policy::NodePlan>;

  // The choices are saved in `store` at each switch, and the first plan takes them back: a
  // restart of ndsipd keeps a failover (charon holds it) rather than undo it.
  SegFailover(CharonLink& charon, HealthMonitor& health, StateStore& store, health::SegChoiceSettings settings)
      : charon_(charon), health_(health), store_(store), choices_(settings) {}

  // The plan as planned; returns the one to apply: each pair on its chosen hop.
  Plan set_plan(Plan planned);
  // The daemon applies `plan` and calls `applied` once charon holds it.
  using Apply = std::function<void(Plan plan, std::function<void()> applied)>;
  void on_switch(Apply handler) { apply_ = std::move(handler); }

  void observed(const std::vector<vici::IkeSa>& sas);  // after each applied list-sas
  void unanswered(const std::string& connection, unsigned long long ike_id);

  nlohmann::json status() const;

 private:
  void decide();
  void keep_standby_ikes_up();
  void close_superseded();

  CharonLink& charon_;
  HealthMonitor& health_;
  StateStore& store_;
  health::SegChoices choices_;
  bool restored_ = false;  // the saved choices were offered to the first plan
  Plan planned_;
  Apply apply_;
  std::set<unsigned long long> closing_;  // CHILD_SAs asked to close, until they are gone
};

}  // namespace ndsip::daemon
