// Which SEG hop carries each pair this node picks a SEG for (ChildPlan::picks_seg): a node
// with several SEGs in its domain, or a SEG facing several SEGs of the far domain. The plan
// makes the preferred SEG's hop active and the others standby; this keeps the choice after
// that, from what charon says of each hop's IKE_SA (docs/planner.md, "Failing over between
// SEGs"):
// - the chosen hop failed (its tunnel down after an attempt, or its peer not answering):
//   the first other hop whose IKE_SA is established and answering is chosen at once;
// - the preferred hop's IKE_SA has answered for `failback_hold` while another is chosen: the
//   preferred one is chosen again (a SEG that comes and goes is not followed back and forth);
// - hops not chosen keep an IKE_SA without children (so a failover needs a CREATE_CHILD_SA
//   only, and it is known beforehand whether their SEG answers);
// - a hop not chosen whose CHILD_SA is up while the chosen one is up too is closed: the
//   hand-over is done (make before break).
// No I/O: health::Tunnels and list-sas feed it, ndsipd acts on what it says.
#pragma once

#include <chrono>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/backoff.hpp"
#include "health/tunnels.hpp"
#include "policy/plan.hpp"
#include "vici/commands.hpp"

namespace ndsip::health {

struct SegChoiceSettings {
  std::chrono::milliseconds failback_hold{std::chrono::seconds(60)};
};

class SegChoices {
 public:
  explicit SegChoices(SegChoiceSettings settings = {}) : settings_(settings) {}

  // The plan as planned (the preferred hops active). A pair that stays on the same hops keeps
  // its choice; a new one starts on the preferred hop, or on the hop `kept` names for it (the
  // choices saved before ndsipd restarted: charon still holds them).
  void set_plan(const policy::NodePlan& plan, Clock::time_point now,
                const std::map<std::string, std::string>& kept = {});
  // The pairs not on their preferred hop: pair -> connection (what a restart should keep).
  std::map<std::string, std::string> moved() const;
  // `plan` with each group's chosen hop active and the others standby, digests updated.
  policy::NodePlan effective(const policy::NodePlan& plan) const;

  // Each hop connection's established IKE_SA, from a list-sas snapshot.
  void observe(const std::vector<vici::IkeSa>& sas);
  // charon retransmits on `connection`'s IKE_SA `ike_id`: its SEG does not answer, until a
  // new IKE_SA of that connection is established.
  void unanswered(const std::string& connection, unsigned long long ike_id);

  struct Switch {
    std::string pair, from, to;  // child name, connection names
    std::string why;
  };
  // What changes now. The caller applies effective() and initiates each switch's `to`.
  std::vector<Switch> decide(const Tunnels& tunnels, Clock::time_point now);
  // Hops not chosen that hold no IKE_SA and whose backoff has passed: initiate their IKE_SA
  // alone, then call ike_started().
  std::vector<std::string> ike_due(Clock::time_point now) const;
  void ike_started(const std::string& connection, Clock::time_point now);
  // CHILD_SAs (by tunnel key) of hops not chosen, up while the chosen hop is up too.
  std::vector<std::string> superseded(const Tunnels& tunnels) const;

  bool answering(const std::string& connection) const;
  bool empty() const { return groups_.empty(); }
  // status's "seg_choices": one row per pair.
  nlohmann::json status(Clock::time_point now) const;

 private:
  struct Member {
    std::string connection, peer;
  };
  struct Group {
    std::vector<Member> members;  // the preferred first
    std::size_t chosen = 0;
    Clock::time_point since{};
    unsigned switches = 0;
    std::string why;  // of the last switch
    std::optional<Clock::time_point> preferred_answering_since;
  };
  struct Ike {
    unsigned long long established = 0;  // unique id of the established IKE_SA, 0: none
    unsigned long long unanswered = 0;   // the IKE_SA charon retransmits on
    // At most 10 s: a SEG that is back should be known soon (an attempt is one IKE_SA_INIT).
    common::Backoff backoff{std::chrono::seconds(1), std::chrono::seconds(10)};
    Clock::time_point next_attempt{};
  };
  bool failed(const Group& g, const Tunnels& tunnels, const std::string& pair) const;

  SegChoiceSettings settings_;
  std::map<std::string, Group> groups_;  // by pair (child name)
  std::map<std::string, Ike> ikes_;      // by hop connection
};

}  // namespace ndsip::health
