// The accepted topology: what was pushed, stored and adopted, and this node's plan of it. It
// keeps the topology in force object by object (topology::TopologyState) and a Planner kept
// up to date with it, so a push costs in proportion to what it changes: only the objects it
// touches are checked again, only the nodes in their neighbourhood are planned again (for
// the problems only the planner sees, and this node's plan when it is among them), and only
// the changed objects are journalled. It registers the commands that change the topology:
// push, diff, rollback. Applying a plan is not its job: it calls `apply` and `preview`, which
// the daemon wires to the reconciler.
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "control/command_table.hpp"
#include "daemon/evaluate.hpp"
#include "topology/state.hpp"
#include "daemon/state_store.hpp"

namespace ndsip::daemon {

using Json = nlohmann::json;
using Done = std::function<void(Json)>;

class TopologyHolder {
 public:
  using Plan = std::shared_ptr<const policy::NodePlan>;
  // Applies the adopted plan; `done` gets what changed ({"load", "unload", ...}).
  using Apply = std::function<void(Done done)>;
  // What applying `plan` would change, without changing it.
  using Preview = std::function<void(const Plan& plan, Done done)>;

  TopologyHolder(std::string node, StateStore& store, policy::PolicySet policies);
  ~TopologyHolder();

  // Every adoption (push, rollback, reload, start-up) tells the other parts the new plan.
  void on_adopted(std::function<void(const Plan&)> handler) { on_adopted_ = std::move(handler); }

  // At start: the newest stored topology that still passes (policies made stricter may refuse
  // it), falling back through the history. Returns false when none does; refused() then says
  // why, and nothing is adopted: charon is held as it is.
  bool load_stored();
  // Why the newest stored topology was refused at start ("" when it was not, or once a push
  // has been accepted since).
  const std::string& refused() const { return refused_; }

  // New policies for a reload: the accepted topology is planned with them; the problems are
  // returned and nothing changes unless there are none. commit() then adopts both.
  struct Replan {
    std::shared_ptr<const policy::PolicySet> policies;
    std::shared_ptr<policy::Planner> planner;  // on *policies; absent when no topology is accepted
    Plan plan;
    std::vector<std::string> problems;
  };
  Replan replan(policy::PolicySet policies) const;
  void commit(Replan replan);

  void register_commands(control::CommandTable& table, Apply apply, Preview preview);

  // The topology comes from elsewhere (etcd): push and rollback over the control socket are
  // refused with `why`, and documents arrive through offer() instead.
  void set_external_source(std::string why) { external_source_ = std::move(why); }
  // A document from the external source, through the same pipeline as a push (after
  // register_commands); `done` gets the same answer a push would.
  void offer(const std::string& text, Done done);

  bool has_topology() const { return version_ != 0; }
  const Plan& plan() const { return plan_; }
  std::uint64_t version() const { return version_; }
  Json status() const;  // {"version", "digest", "name", "nodes", "refused"}

 private:
  // A checked document: the state holds it as a proposal; the planner has taken its change.
  struct Checked {
    topology::Proposal proposal;
    std::vector<std::string> problems;  // topology, then plan problems
    Plan plan;                          // this node's, when there are none
    bool planner_fresh = false;         // the planner was made for it (nothing was in force)
    bool planner_applied = false;       // the planner took its change
    std::size_t planned = 0;            // nodes planned
    bool own_plan = false;              // this node's plan was made again (the change touches it)
  };
  Checked check(const std::string& text);
  void plan_checked(Checked& checked);  // check()'s second half: the planner's part
  void undo(Checked& checked);  // takes the proposal back, in the state and in the planner
  void push(const std::string& text, control::Reply reply, const Apply& apply);
  void adopt(Plan plan, std::uint64_t version);

  std::string node_;
  StateStore& store_;
  std::shared_ptr<const policy::PolicySet> policies_;
  topology::TopologyState state_;
  std::shared_ptr<policy::Planner> planner_;  // of the topology in force; null before the first
  Plan plan_ = std::make_shared<const policy::NodePlan>();
  std::uint64_t version_ = 0;
  std::string refused_;
  std::function<void(const Plan&)> on_adopted_;
  Apply apply_;                  // from register_commands
  std::string external_source_;  // non-empty: pushes are refused with this
};

}  // namespace ndsip::daemon
