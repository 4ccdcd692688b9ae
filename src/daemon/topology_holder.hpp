// The accepted topology: what was pushed, stored and adopted, and this node's plan of it. It
// owns the state store's history (accept, rollback), evaluates candidates with the policies
// in force (evaluate.hpp), and registers the commands that change the topology: push, diff,
// rollback. Applying a plan is not its job: it calls `apply` and `preview`, which the daemon
// wires to the reconciler.
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "control/command_table.hpp"
#include "daemon/evaluate.hpp"
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

  // Every adoption (push, rollback, reload, start-up) tells the other parts the new plan.
  void on_adopted(std::function<void(const Plan&)> handler) { on_adopted_ = std::move(handler); }

  // At start: the newest stored topology that still evaluates, falling back through the
  // history (a truncated file, policies that no longer pass it). Returns false when none does;
  // refused() then says why, and nothing is adopted: charon is held as it is.
  bool load_stored();
  // Why the newest stored topology was refused at start ("" when it was not, or once a push
  // has been accepted since).
  const std::string& refused() const { return refused_; }

  Candidate evaluate(std::string text) const { return daemon::evaluate(std::move(text), policies_, node_); }
  // New policies for a reload: the accepted topology is evaluated with them; the problems are
  // returned and nothing changes unless there are none. commit() then adopts both.
  struct Replan {
    policy::PolicySet policies;
    std::optional<Candidate> candidate;  // absent when no topology is accepted yet
    std::vector<std::string> problems;
  };
  Replan replan(policy::PolicySet policies) const;
  void commit(Replan replan);

  void register_commands(control::CommandTable& table, Apply apply, Preview preview);

  bool has_topology() const { return topology_ != nullptr; }
  const Plan& plan() const { return plan_; }
  std::uint64_t version() const { return version_; }
  Json status() const;  // {"version", "digest", "name", "refused"}

 private:
  void adopt(Candidate candidate, std::uint64_t version);
  void push(std::string text, control::Reply reply, const Apply& apply);

  std::string node_;
  StateStore& store_;
  policy::PolicySet policies_;
  std::shared_ptr<const topology::Topology> topology_;
  Plan plan_ = std::make_shared<const policy::NodePlan>();
  std::string text_, digest_;
  std::uint64_t version_ = 0;
  std::string refused_;
  std::function<void(const Plan&)> on_adopted_;
};

}  // namespace ndsip::daemon
