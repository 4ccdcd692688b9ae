#include "daemon/topology_holder.hpp"

#include <chrono>

#include "control/answer.hpp"
#include "control/protocol.hpp"
#include "daemon/log.hpp"
#include "topology/delta.hpp"

namespace ndsip::daemon {

namespace key = control::key;

TopologyHolder::TopologyHolder(std::string node, StateStore& store, policy::PolicySet policies)
    : node_(std::move(node)), store_(store), policies_(std::move(policies)) {}

bool TopologyHolder::load_stored() {
  const std::vector<std::uint64_t> versions = store_.versions();
  if (versions.empty()) {
    log("no accepted topology yet; waiting for ndsipctl push");
    return false;
  }
  // A stored topology that no longer loads (a torn disk, policies made stricter) must not
  // become "nothing accepted": that would unload every tunnel of the host. Fall back to the
  // newest one that still loads; if none does, adopt nothing and hold charon as it is.
  for (auto v = versions.rbegin(); v != versions.rend(); ++v) {
    std::string why;
    if (auto stored = store_.read(*v)) {
      Candidate c = evaluate(std::move(stored->text));
      if (c.ok()) {
        const std::size_t n = c.plan->connections.size();
        adopt(std::move(c), *v);
        log((refused_.empty() ? "loaded accepted topology version " : "fell back to accepted topology version ") +
            std::to_string(version_) + " (" + std::to_string(n) + " connections for " + node_ + ")");
        return true;
      }
      why = c.problems.front() +
            (c.problems.size() > 1 ? " (and " + std::to_string(c.problems.size() - 1) + " more)" : "");
    } else {
      why = "cannot be read";
    }
    log("stored topology version " + std::to_string(*v) + " refused: " + why);
    if (refused_.empty()) refused_ = "stored topology version " + std::to_string(*v) + " refused: " + why;
  }
  log("no stored topology can be used; charon is held as it is until a push");
  return false;
}

void TopologyHolder::adopt(Candidate c, std::uint64_t version) {
  topology_ = std::move(c.topology);
  plan_ = std::move(c.plan);
  text_ = std::move(c.text);
  digest_ = std::move(c.digest);
  version_ = version;
  if (on_adopted_) on_adopted_(plan_);
}

TopologyHolder::Replan TopologyHolder::replan(policy::PolicySet policies) const {
  Replan r;
  if (topology_) {
    r.candidate = daemon::evaluate(text_, policies, node_);
    for (const std::string& p : r.candidate->problems) {
      r.problems.push_back("accepted topology version " + std::to_string(version_) + ": " + p);
    }
  }
  r.policies = std::move(policies);
  return r;
}

void TopologyHolder::commit(Replan r) {
  policies_ = std::move(r.policies);
  // Re-planned with the new profiles; an unchanged result touches nothing downstream.
  if (r.candidate) adopt(std::move(*r.candidate), version_);
}

void TopologyHolder::push(std::string text, control::Reply reply, const Apply& apply) {
  const auto t0 = std::chrono::steady_clock::now();
  Candidate c = evaluate(std::move(text));
  const auto validated = std::chrono::steady_clock::now();
  if (!c.ok()) {
    log("push rejected: " + std::to_string(c.problems.size()) + " problems; running state untouched");
    reply(control::problems_answer("topology rejected", c.problems));
    return;
  }
  const topology::Delta delta = topology_ ? topology::diff(*topology_, *c.topology) : topology::Delta{};
  if (topology_ && delta.empty()) {
    // The topology in force, perhaps spelled differently: nothing to store, nothing to apply.
    Json a = control::ok_answer();
    a.update({{key::topology_version, version_}, {key::digest, digest_}, {key::load, Json::array()},
              {key::unload, Json::array()}, {key::unchanged, plan_->connections.size()},
              {"topology_unchanged", true},
              {key::note, "unchanged: this is the topology in force (version " + std::to_string(version_) + ")"}});
    reply(std::move(a));
    return;
  }
  std::uint64_t version = 0;
  try {
    version = store_.accept(c.text);
  } catch (const std::exception& e) {
    reply(control::error_answer(std::string("cannot store the topology, nothing was changed: ") + e.what()));
    return;
  }
  adopt(std::move(c), version);
  refused_.clear();
  log("accepted topology version " + std::to_string(version) + " (digest " + digest_ + ")");
  const auto stored = std::chrono::steady_clock::now();
  auto ids = [](const std::vector<topology::ObjectId>& v) {
    Json out = Json::array();
    for (const auto& id : v) out.push_back(id.to_string());
    return out;
  };
  Json changes = {{"added", ids(delta.added)}, {"changed", ids(delta.changed)}, {"removed", ids(delta.removed)}};
  apply([reply, version, digest = digest_, changes, t0, validated, stored](Json result) {
    using ms = std::chrono::duration<double, std::milli>;
    result[key::topology_version] = version;
    result[key::digest] = digest;
    result["topology_changes"] = changes;
    // Where the time went, for operators and the benchmarks.
    result["timing_ms"] = {{"validate_and_plan", ms(validated - t0).count()},
                           {"store", ms(stored - validated).count()},
                           {"apply", ms(std::chrono::steady_clock::now() - stored).count()}};
    reply(std::move(result));
  });
}

void TopologyHolder::register_commands(control::CommandTable& table, Apply apply, Preview preview) {
  auto topology_text = [](const Json& request) -> std::optional<std::string> {
    const auto text = request.find("topology");
    if (text == request.end() || !text->is_string()) return std::nullopt;
    return text->get<std::string>();
  };
  const char* missing = "malformed request: \"topology\" (the file's text) is missing";
  table.add("push", "validate a topology in full, store it and apply it",
            [this, apply, topology_text, missing](const Json& request, control::Reply reply) {
              auto text = topology_text(request);
              if (!text) return reply(control::error_answer(missing));
              push(std::move(*text), std::move(reply), apply);
            });
  table.add("diff", "what a push of a topology would change on this host, changing nothing",
            [this, preview, topology_text, missing](const Json& request, control::Reply reply) {
              auto text = topology_text(request);
              if (!text) return reply(control::error_answer(missing));
              Candidate c = evaluate(std::move(*text));
              if (!c.ok()) return reply(control::problems_answer("topology rejected", c.problems));
              preview(c.plan, std::move(reply));
            });
  table.add("rollback", "re-apply the previous accepted topology (it becomes the newest version)",
            [this, apply](const Json&, control::Reply reply) {
              const auto previous = store_.previous();
              if (!previous) return reply(control::error_answer("no earlier accepted topology to roll back to"));
              log("rollback to the topology of version " + std::to_string(previous->version));
              push(previous->text, std::move(reply), apply);
            });
}

Json TopologyHolder::status() const {
  return {{"version", version_}, {"digest", digest_}, {"name", topology_ ? topology_->name : ""}, {"refused", refused_}};
}

}  // namespace ndsip::daemon
