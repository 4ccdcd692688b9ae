#include "health/seg_choices.hpp"

#include <algorithm>

#include "policy/digest.hpp"

namespace ndsip::health {

void SegChoices::set_plan(const policy::NodePlan& plan, Clock::time_point now,
                          const std::map<std::string, std::string>& kept) {
  // Every hop that carries each pair this node picks a SEG for, the planned active one first.
  struct Hop {
    std::string connection, peer;
    bool standby;
  };
  std::map<std::string, std::vector<Hop>> by_pair;
  for (const policy::ConnectionPlan& c : plan.connections) {
    for (const policy::ChildPlan& ch : c.children) {
      if (ch.picks_seg) by_pair[ch.name].push_back({c.name, c.peer, ch.standby});
    }
  }
  std::map<std::string, Group> next;
  for (auto& [pair, hops] : by_pair) {
    // A pair whose every hop is standby here (a SEG that is no preferred one, facing several
    // SEGs) has nothing to pick: its peers pick, and it answers.
    const auto active = std::count_if(hops.begin(), hops.end(), [](const Hop& h) { return !h.standby; });
    if (hops.size() < 2 || active != 1) continue;
    std::stable_partition(hops.begin(), hops.end(), [](const Hop& h) { return !h.standby; });
    Group g;
    for (const Hop& h : hops) g.members.push_back({h.connection, h.peer});
    g.since = now;
    if (auto old = groups_.find(pair); old != groups_.end()) {
      const auto same = [](const Member& a, const Member& b) { return a.connection == b.connection; };
      if (std::equal(g.members.begin(), g.members.end(), old->second.members.begin(), old->second.members.end(), same))
        g = old->second;  // the same hops: the choice stays
    } else if (auto k = kept.find(pair); k != kept.end()) {
      for (std::size_t i = 0; i < g.members.size(); ++i) {
        if (g.members[i].connection != k->second) continue;
        g.chosen = i;
        g.why = "kept from before ndsipd started";
      }
    }
    next.emplace(pair, std::move(g));
  }
  groups_ = std::move(next);
  // The IKE_SAs of the hops that stay keep what is known of them.
  std::map<std::string, Ike> ikes;
  for (const auto& [pair, g] : groups_) {
    for (const Member& m : g.members) {
      const auto it = ikes_.find(m.connection);
      ikes.emplace(m.connection, it != ikes_.end() ? it->second : Ike{});
    }
  }
  ikes_ = std::move(ikes);
}

policy::NodePlan SegChoices::effective(const policy::NodePlan& plan) const {
  policy::NodePlan out = plan;
  out.connections = {};
  for (std::size_t i = 0; i < plan.connections.size(); ++i) {
    const policy::ConnectionPlan& planned = plan.connections[i];
    std::optional<policy::ConnectionPlan> changed;  // a copy only of a connection that changes
    for (std::size_t k = 0; k < planned.children.size(); ++k) {
      const auto g = groups_.find(planned.children[k].name);
      if (g == groups_.end() || g->second.chosen == 0) continue;  // as planned
      const std::vector<Member>& members = g->second.members;
      const auto m = std::find_if(members.begin(), members.end(),
                                  [&](const Member& x) { return x.connection == planned.name; });
      if (m == members.end()) continue;
      if (!changed) changed = planned;
      policy::ChildPlan& ch = changed->children[k];
      ch.standby = static_cast<std::size_t>(m - members.begin()) != g->second.chosen;
      ch.standby_for = ch.standby ? members[g->second.chosen].peer : "";
    }
    if (!changed) {
      out.connections.push_back(plan.connections.shared(i));
      continue;
    }
    changed->digest = policy::connection_digest(*changed);
    out.connections.push_back(std::move(*changed));
  }
  return out;
}

void SegChoices::observe(const std::vector<vici::IkeSa>& sas) {
  std::map<std::string, unsigned long long> established;
  for (const vici::IkeSa& sa : sas) {
    if (sa.state != "ESTABLISHED" || !ikes_.count(sa.name)) continue;
    // The newest (a re-authentication holds two for a moment).
    auto& id = established[sa.name];
    id = std::max(id, sa.uniqueid);
  }
  for (auto& [connection, ike] : ikes_) {
    const auto it = established.find(connection);
    ike.established = it == established.end() ? 0 : it->second;
    if (ike.established != 0 && ike.established != ike.unanswered) ike.backoff.reset();
  }
}

void SegChoices::unanswered(const std::string& connection, unsigned long long ike_id) {
  auto it = ikes_.find(connection);
  if (it == ikes_.end() || it->second.established == 0) return;
  // The established IKE_SA only (an id of 0: charon named none). An initiation's own
  // retransmits (its SEG still away) are no verdict on the IKE_SA it becomes once answered.
  if (ike_id == 0 || ike_id == it->second.established) it->second.unanswered = it->second.established;
}

bool SegChoices::answering(const std::string& connection) const {
  const auto it = ikes_.find(connection);
  return it != ikes_.end() && it->second.established != 0 && it->second.established != it->second.unanswered;
}

bool SegChoices::failed(const Group& g, const Tunnels& tunnels, const std::string& pair) const {
  const auto it = tunnels.all().find(Tunnels::key(g.members[g.chosen].connection, pair));
  if (it == tunnels.all().end()) return false;
  const Tunnel& t = it->second;
  // Not the first attempt still under way, nor an address this host lacks (every hop would
  // need it alike): an attempt that failed, an SA that went, or a peer that stopped answering.
  if (t.state == State::down) return t.failure != Failure::none && t.failure != Failure::address_missing;
  return t.state == State::degraded && t.unanswered_ike != 0;
}

std::vector<SegChoices::Switch> SegChoices::decide(const Tunnels& tunnels, Clock::time_point now) {
  std::vector<Switch> out;
  auto choose = [&](const std::string& pair, Group& g, std::size_t i, std::string why) {
    out.push_back({pair, g.members[g.chosen].connection, g.members[i].connection, why});
    g.chosen = i;
    g.since = now;
    ++g.switches;
    g.why = std::move(why);
    g.preferred_answering_since.reset();
  };
  for (auto& [pair, g] : groups_) {
    if (failed(g, tunnels, pair)) {
      const Tunnel& t = tunnels.all().at(Tunnels::key(g.members[g.chosen].connection, pair));
      for (std::size_t i = 0; i < g.members.size(); ++i) {
        if (i == g.chosen || !answering(g.members[i].connection)) continue;
        choose(pair, g, i, "SEG " + g.members[g.chosen].peer + " failed (" + t.last_error() + ")");
        break;
      }
      continue;
    }
    if (g.chosen == 0) continue;
    if (!answering(g.members[0].connection)) {
      g.preferred_answering_since.reset();
      continue;
    }
    if (!g.preferred_answering_since) g.preferred_answering_since = now;
    if (now - *g.preferred_answering_since >= settings_.failback_hold) {
      const auto held = std::chrono::duration_cast<std::chrono::seconds>(settings_.failback_hold).count();
      choose(pair, g, 0, "preferred SEG " + g.members[0].peer + " answered for " + std::to_string(held) + " s");
    }
  }
  return out;
}

std::map<std::string, std::string> SegChoices::moved() const {
  std::map<std::string, std::string> out;
  for (const auto& [pair, g] : groups_) {
    if (g.chosen != 0) out.emplace(pair, g.members[g.chosen].connection);
  }
  return out;
}

std::vector<std::string> SegChoices::ike_due(Clock::time_point now) const {
  std::set<std::string> chosen;
  for (const auto& [pair, g] : groups_) chosen.insert(g.members[g.chosen].connection);
  std::vector<std::string> out;
  for (const auto& [connection, ike] : ikes_) {
    if (!chosen.count(connection) && ike.established == 0 && now >= ike.next_attempt) out.push_back(connection);
  }
  return out;
}

void SegChoices::ike_started(const std::string& connection, Clock::time_point now) {
  auto it = ikes_.find(connection);
  if (it != ikes_.end()) it->second.next_attempt = now + it->second.backoff.next();
}

std::vector<std::string> SegChoices::superseded(const Tunnels& tunnels) const {
  std::vector<std::string> out;
  for (const auto& [pair, g] : groups_) {
    const auto chosen = tunnels.all().find(Tunnels::key(g.members[g.chosen].connection, pair));
    if (chosen == tunnels.all().end() || chosen->second.state != State::up) continue;
    for (std::size_t i = 0; i < g.members.size(); ++i) {
      const std::string key = Tunnels::key(g.members[i].connection, pair);
      const auto t = tunnels.all().find(key);
      // In this list-sas (a tunnel not seen is down, whatever ids it last had).
      const bool held = t != tunnels.all().end() && t->second.child_uniqueid != 0 &&
                        (t->second.state == State::up || t->second.state == State::degraded);
      if (i != g.chosen && held) out.push_back(key);
    }
  }
  return out;
}

nlohmann::json SegChoices::status(Clock::time_point now) const {
  nlohmann::json rows = nlohmann::json::array();
  for (const auto& [pair, g] : groups_) {
    nlohmann::json others = nlohmann::json::array();
    for (std::size_t i = 0; i < g.members.size(); ++i) {
      if (i != g.chosen) others.push_back({{"peer", g.members[i].peer}, {"answering", answering(g.members[i].connection)}});
    }
    rows.push_back({{"pair", pair},
                    {"via", g.members[g.chosen].peer},
                    {"connection", g.members[g.chosen].connection},
                    {"preferred", g.members.front().peer},
                    {"since_s", std::chrono::duration_cast<std::chrono::seconds>(now - g.since).count()},
                    {"switches", g.switches},
                    {"why", g.why},
                    {"others", std::move(others)}});
  }
  return rows;
}

}  // namespace ndsip::health
