#include "daemon/seg_failover.hpp"

#include "daemon/log.hpp"
#include "vici/commands.hpp"

namespace ndsip::daemon {

SegFailover::Plan SegFailover::set_plan(Plan planned) {
  planned_ = std::move(planned);
  choices_.set_plan(*planned_, health::Clock::now(), restored_ ? std::map<std::string, std::string>{} : store_.load_seg_choices());
  restored_ = true;
  if (choices_.empty()) return planned_;  // nothing to pick: the plan as it is, not a copy
  return std::make_shared<const policy::NodePlan>(choices_.effective(*planned_));
}

void SegFailover::observed(const std::vector<vici::IkeSa>& sas) {
  if (choices_.empty()) return;
  choices_.observe(sas);
  // CHILD_SAs asked to close that charon no longer lists may be asked again if they come back.
  if (!closing_.empty()) {  // (a SEG's list-sas holds thousands: only when there is one)
    std::set<unsigned long long> listed;
    for (const vici::IkeSa& sa : sas) {
      for (const vici::ChildSa& ch : sa.children) listed.insert(ch.uniqueid);
    }
    std::erase_if(closing_, [&](unsigned long long id) { return !listed.count(id); });
  }
  decide();
  keep_standby_ikes_up();
  close_superseded();
}

void SegFailover::unanswered(const std::string& connection, unsigned long long ike_id) {
  if (choices_.empty()) return;
  choices_.unanswered(connection, ike_id);
  decide();  // the chosen SEG stopped answering: on to another at once, not at the next poll
}

void SegFailover::decide() {
  const std::vector<health::SegChoices::Switch> switches = choices_.decide(health_.state(), health::Clock::now());
  if (switches.empty() || !planned_) return;
  for (const auto& s : switches) log("pair " + s.pair + ": " + s.why + "; now through " + s.to + " (was " + s.from + ")");
  try {
    store_.save_seg_choices(choices_.moved());
  } catch (const std::exception& e) {
    // The switch goes on: only a restart of ndsipd would start again from the preferred SEGs.
    log(std::string("saving the SEG choices: ") + e.what());
  }
  Plan effective = std::make_shared<const policy::NodePlan>(choices_.effective(*planned_));
  health_.set_desired(*effective);
  if (!apply_) return;
  // The chosen hop is initiated once charon holds it as active (start and close actions).
  apply_(effective, [this, switches] {
    for (const auto& s : switches) health_.initiate_now(s.to);
  });
}

void SegFailover::keep_standby_ikes_up() {
  if (!charon_.up()) return;
  const auto now = health::Clock::now();
  for (const std::string& connection : choices_.ike_due(now)) {
    choices_.ike_started(connection, now);
    vici::InitiateArgs args;
    args.ike = connection;  // the IKE_SA alone: its SEG is known to answer before it is needed
    args.timeout_ms = -1;
    charon_.send(vici::request::initiate(args), connection + " (IKE_SA of a standby SEG hop)");
  }
}

void SegFailover::close_superseded() {
  if (!charon_.up()) return;
  for (const std::string& key : choices_.superseded(health_.state())) {
    const health::Tunnel& t = health_.state().all().at(key);
    if (!closing_.insert(t.child_uniqueid).second) continue;
    log("tunnel " + key + ": the chosen SEG hop is up; closing this one");
    vici::TerminateArgs args;
    args.child_id = t.child_uniqueid;
    args.timeout_ms = -1;
    charon_.send(vici::request::terminate(args), key);
  }
}

nlohmann::json SegFailover::status() const { return choices_.status(health::Clock::now()); }

}  // namespace ndsip::daemon
