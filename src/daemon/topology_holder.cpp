#include "daemon/topology_holder.hpp"

#include <chrono>
#include <set>

#include "control/answer.hpp"
#include "control/protocol.hpp"
#include "daemon/log.hpp"
#include "topology/delta.hpp"

namespace ndsip::daemon {

namespace key = control::key;

TopologyHolder::TopologyHolder(std::string node, StateStore& store, policy::PolicySet policies)
    : node_(std::move(node)), store_(store), policies_(std::make_shared<const policy::PolicySet>(std::move(policies))) {}

TopologyHolder::~TopologyHolder() = default;

TopologyHolder::Checked TopologyHolder::check(const std::string& text) {
  Checked c;
  c.proposal = state_.propose(text);
  try {
    plan_checked(c);
  } catch (...) {
    // Never left half-done: the state as accepted, and a planner made afresh next time.
    state_.abort();
    planner_.reset();
    throw;
  }
  return c;
}

void TopologyHolder::plan_checked(Checked& c) {
  for (const topology::Problem& p : c.proposal.problems) c.problems.push_back(p.to_string());
  if (!c.problems.empty()) return;
  // Plan the nodes the change can touch: for the problems only the planner sees, and for this
  // node's plan when it is one of them. Nothing in force yet: every node.
  std::set<std::string> affected;
  if (!planner_) {
    const topology::Topology t = state_.topology();
    planner_ = std::make_shared<policy::Planner>(t, *policies_);
    c.planner_fresh = true;
    for (const topology::Node& n : t.nodes) affected.insert(n.name);
  } else if (!c.proposal.delta.empty()) {
    affected = planner_->apply(c.proposal.model);
    c.planner_applied = true;
  }
  c.planned = affected.size();
  for (const std::string& n : affected) {
    if (c.planner_fresh) {
      policy::NodePlan plan = planner_->plan(n);
      for (const policy::PlanProblem& p : plan.problems) c.problems.push_back("plan for " + n + ": " + p.message);
      if (n == node_) {
        c.plan = std::make_shared<const policy::NodePlan>(std::move(plan));
        c.own_plan = true;
      }
      continue;
    }
    // Only the connections the change touches are made again (the others had no problem).
    for (const std::string& p : planner_->problems_after_apply(n)) c.problems.push_back("plan for " + n + ": " + p);
    if (n == node_ && planner_->has_node(node_)) {
      c.plan = std::make_shared<const policy::NodePlan>(planner_->replan(*plan_));
      c.own_plan = true;
    }
  }
  if (!planner_->has_node(node_)) {
    c.problems.push_back("/nodes: this host's node \"" + node_ +
                         "\" is not in the topology (push it to the hosts it describes)");
  }
  if (!c.plan) c.plan = plan_;  // untouched: the plan in force is this topology's plan too
}

void TopologyHolder::undo(Checked& c) {
  if (c.planner_fresh) {
    planner_.reset();
  } else if (c.planner_applied) {
    planner_->apply(topology::inverse(c.proposal.model));
  }
  state_.abort();
}

bool TopologyHolder::load_stored() {
  const std::vector<std::uint64_t> versions = store_.versions();
  // A record the journal dropped (a torn disk): the operator must learn that the newest
  // accepted topology may not be the one in force.
  if (const std::string& note = store_.journal().recovery_note(); !note.empty()) {
    log(note);
    refused_ = note;
  }
  if (versions.empty()) {
    log(std::string("no accepted topology yet; waiting for ") +
        (external_source_.empty() ? "ndsipctl push" : "a publish in etcd"));
    return false;
  }
  // A stored topology that no longer passes (policies made stricter) must not become
  // "nothing accepted": that would unload every tunnel of the host. Fall back to the newest
  // one that still does; if none does, adopt nothing and hold charon as it is.
  for (auto v = versions.rbegin(); v != versions.rend(); ++v) {
    std::string why;
    std::optional<StoredTopology> stored;
    try {
      stored = store_.read(*v);
    } catch (const std::exception& e) {
      why = e.what();
    }
    if (stored) {
      Checked c = check(stored->text);
      if (c.problems.empty()) {
        state_.commit();
        adopt(c.plan, *v);
        log((refused_.empty() ? "loaded accepted topology version " : "fell back to accepted topology version ") +
            std::to_string(version_) + " (" + std::to_string(plan_->connections.size()) + " connections for " + node_ +
            ", " + std::to_string(state_.node_count()) + " nodes)");
        return true;
      }
      why = c.problems.front() +
            (c.problems.size() > 1 ? " (and " + std::to_string(c.problems.size() - 1) + " more)" : "");
      undo(c);
    } else if (why.empty()) {
      why = "cannot be read";
    }
    log("stored topology version " + std::to_string(*v) + " refused: " + why);
    if (refused_.empty() || refused_.rfind("journal:", 0) == 0) {
      refused_ = "stored topology version " + std::to_string(*v) + " refused: " + why;
    }
  }
  log(std::string("no stored topology can be used; charon is held as it is until ") +
      (external_source_.empty() ? "a push" : "a publish in etcd"));
  return false;
}

void TopologyHolder::adopt(Plan plan, std::uint64_t version) {
  plan_ = std::move(plan);
  version_ = version;
  if (on_adopted_) on_adopted_(plan_);
}

TopologyHolder::Replan TopologyHolder::replan(policy::PolicySet policies) const {
  Replan r;
  r.policies = std::make_shared<const policy::PolicySet>(std::move(policies));
  if (!has_topology()) return r;
  const topology::Topology t = state_.topology();
  r.planner = std::make_shared<policy::Planner>(t, *r.policies);
  for (const topology::Node& n : t.nodes) {
    for (const policy::PlanProblem& p : r.planner->plan(n.name).problems) {
      r.problems.push_back("accepted topology version " + std::to_string(version_) + ": plan for " + n.name + ": " +
                           p.message);
    }
  }
  r.plan = std::make_shared<const policy::NodePlan>(r.planner->plan(node_));
  return r;
}

void TopologyHolder::commit(Replan r) {
  policies_ = std::move(r.policies);
  // Re-planned with the new profiles; an unchanged result touches nothing downstream.
  if (r.planner) {
    planner_ = std::move(r.planner);
    adopt(std::move(r.plan), version_);
  }
}

void TopologyHolder::push(const std::string& text, control::Reply reply, const Apply& apply) {
  const auto t0 = std::chrono::steady_clock::now();
  Checked c = check(text);
  const auto validated = std::chrono::steady_clock::now();
  if (!c.problems.empty()) {
    undo(c);
    log("push rejected: " + std::to_string(c.problems.size()) + " problems; running state untouched");
    reply(control::problems_answer("topology rejected", c.problems));
    return;
  }
  if (has_topology() && c.proposal.delta.empty()) {
    // The topology in force, perhaps spelled differently: nothing to store, nothing to apply.
    undo(c);
    Json a = control::ok_answer();
    a.update({{key::topology_version, version_}, {key::digest, state_.digest()}, {key::load, Json::array()},
              {key::unload, Json::array()}, {key::unchanged, plan_->connections.size()},
              {"topology_unchanged", true},
              {key::note, "unchanged: this is the topology in force (version " + std::to_string(version_) + ")"}});
    reply(std::move(a));
    return;
  }
  // The journal gets the objects that changed against its newest version: what the proposal
  // says, unless what is in force is not that version (a fall-back at start, or nothing).
  ObjectChange change;
  if (has_topology() && version_ == store_.journal().version()) {
    change.put = std::move(c.proposal.put);
    change.erase = std::move(c.proposal.erase);
  } else {
    change = change_between(store_.journal().current(), state_.objects());
  }
  std::uint64_t version = 0;
  try {
    version = store_.journal().append(change, Journal::Compaction::deferred);
  } catch (const std::exception& e) {
    undo(c);
    reply(control::error_answer(std::string("cannot store the topology, nothing was changed: ") + e.what()));
    return;
  }
  state_.commit();
  refused_.clear();
  adopt(c.plan, version);
  const topology::Delta& delta = c.proposal.delta;
  log("accepted topology version " + std::to_string(version) + " (digest " + state_.digest() + "; " +
      std::to_string(delta.size()) + " objects changed, " + std::to_string(c.proposal.objects_checked) +
      " checked, " + std::to_string(c.planned) + " nodes planned)");
  const auto stored = std::chrono::steady_clock::now();
  auto ids = [](const std::vector<topology::ObjectId>& v) {
    Json out = Json::array();
    for (const auto& id : v) out.push_back(id.to_string());
    return out;
  };
  Json changes = {{"added", ids(delta.added)}, {"changed", ids(delta.changed)}, {"removed", ids(delta.removed)}};
  // What this push cost here; a host the change does not touch plans nothing of its own.
  Json work = {{"objects_checked", c.proposal.objects_checked},
               {"nodes_planned", c.planned},
               {"this_node_planned", c.own_plan}};
  apply([this, reply, version, digest = state_.digest(), changes, work, t0, validated, stored](Json result) {
    using ms = std::chrono::duration<double, std::milli>;
    result[key::topology_version] = version;
    result[key::digest] = digest;
    result["topology_changes"] = changes;
    result["work"] = work;
    // Where the time went, for operators and the benchmarks.
    result["timing_ms"] = {{"validate_and_plan", ms(validated - t0).count()},
                           {"store", ms(stored - validated).count()},
                           {"apply", ms(std::chrono::steady_clock::now() - stored).count()}};
    reply(std::move(result));
    // Once the change is in charon and answered: a compaction rewrites every object.
    store_.journal().compact_if_due();
    if (!store_.journal().compaction_error().empty()) log("journal: " + store_.journal().compaction_error());
  });
}

void TopologyHolder::offer(const std::string& text, Done done) { push(text, std::move(done), apply_); }

void TopologyHolder::register_commands(control::CommandTable& table, Apply apply, Preview preview) {
  apply_ = apply;
  auto topology_text = [](const Json& request) -> std::optional<std::string> {
    const auto text = request.find("topology");
    if (text == request.end() || !text->is_string()) return std::nullopt;
    return text->get<std::string>();
  };
  const char* missing = "malformed request: \"topology\" (the file's text) is missing";
  table.add("push", "validate a topology in full, store it and apply it",
            [this, apply, topology_text, missing](const Json& request, control::Reply reply) {
              if (!external_source_.empty()) return reply(control::error_answer(external_source_));
              auto text = topology_text(request);
              if (!text) return reply(control::error_answer(missing));
              push(*text, std::move(reply), apply);
            });
  table.add("diff", "what a push of a topology would change on this host, changing nothing",
            [this, preview, topology_text, missing](const Json& request, control::Reply reply) {
              auto text = topology_text(request);
              if (!text) return reply(control::error_answer(missing));
              // Checked as a push would be, then taken back before anything else can run.
              Checked c = check(*text);
              std::vector<std::string> problems = std::move(c.problems);
              Plan plan = c.plan;
              undo(c);
              if (!problems.empty()) return reply(control::problems_answer("topology rejected", problems));
              preview(plan, std::move(reply));
            });
  table.add("rollback", "re-apply the previous accepted topology (it becomes the newest version)",
            [this, apply](const Json&, control::Reply reply) {
              if (!external_source_.empty()) return reply(control::error_answer(external_source_));
              const auto previous = store_.previous();
              if (!previous) return reply(control::error_answer("no earlier accepted topology to roll back to"));
              log("rollback to the topology of version " + std::to_string(previous->version));
              push(previous->text, std::move(reply), apply);
            });
}

Json TopologyHolder::status() const {
  return {{"version", version_},
          {"digest", has_topology() ? state_.digest() : ""},
          {"name", has_topology() ? state_.name() : ""},
          {"nodes", has_topology() ? state_.node_count() : 0},
          {"refused", refused_}};
}

}  // namespace ndsip::daemon
