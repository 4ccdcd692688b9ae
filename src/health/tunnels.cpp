#include "health/tunnels.hpp"

#include <set>

namespace ndsip::health {

const char* to_string(State s) {
  switch (s) {
    case State::up: return "up";
    case State::connecting: return "connecting";
    case State::down: return "down";
    case State::degraded: return "degraded";
  }
  return "?";
}

void Tunnels::enter(Tunnel& t, State s, Clock::time_point now) {
  if (t.state != s) {
    t.state = s;
    t.since = now;
  }
}

void Tunnels::set_desired(const policy::NodePlan& plan,
                          bool (*initiator)(const std::string&, const std::string&)) {
  std::map<std::string, Tunnel> next;
  for (const policy::ConnectionPlan& c : plan.connections) {
    for (const policy::ChildPlan& ch : c.children) {
      const std::string k = key(c.name, ch.name);
      Tunnel t;
      if (auto it = tunnels_.find(k); it != tunnels_.end()) t = std::move(it->second);
      t.connection = c.name;
      t.child = ch.name;
      t.peer = c.peer;
      t.zone = policy::to_string(c.zone);
      t.profile = c.profile;
      t.reference_points = ch.reference_points;
      // The end that picks its SEG hop initiates it, whatever the name rule.
      t.initiator = ch.picks_seg || initiator(plan.node, c.peer);
      t.standby = ch.standby;
      t.passive = ch.passive();
      t.local_addrs = c.local_addrs;
      next.emplace(k, std::move(t));
    }
  }
  tunnels_ = std::move(next);
}

std::vector<std::string> Tunnels::observe(const std::vector<vici::IkeSa>& sas, Clock::time_point now) {
  std::vector<std::string> degraded;
  std::set<std::string> seen;
  for (const vici::IkeSa& sa : sas) {
    for (const vici::ChildSa& ch : sa.children) {
      const std::string k = key(sa.name, ch.name);
      auto it = tunnels_.find(k);
      if (it == tunnels_.end() || ch.state != "INSTALLED" || seen.count(k)) continue;
      seen.insert(k);
      Tunnel& t = it->second;
      // Black hole: packets leave but none come back, for black_hole_after.
      const bool out_rose = ch.packets_out > t.last_packets_out;
      const bool in_flat = ch.packets_in == t.last_packets_in;
      const bool same_sa = t.child_uniqueid == ch.uniqueid;
      // Retransmitting to the peer: still not up, unless it answered (inbound traffic) or a
      // new IKE_SA replaced the one it stopped answering on.
      if (t.unanswered_ike != 0 && (sa.uniqueid != t.unanswered_ike || ch.packets_in > t.last_packets_in)) {
        t.unanswered_ike = 0;
      }
      if (same_sa && out_rose && in_flat) {
        if (!t.inbound_flat_since) t.inbound_flat_since = now;
      } else if (!in_flat || !same_sa) {
        t.inbound_flat_since.reset();
      }
      t.last_packets_in = ch.packets_in;
      t.last_packets_out = ch.packets_out;
      t.ike_uniqueid = sa.uniqueid;
      t.child_uniqueid = ch.uniqueid;
      t.spi_in = ch.spi_in;
      t.spi_out = ch.spi_out;
      t.bytes_in = ch.bytes_in;
      t.bytes_out = ch.bytes_out;
      t.packets_in = ch.packets_in;
      t.packets_out = ch.packets_out;
      t.established = ch.install_time;
      t.rekey_in = ch.rekey_time;
      if (t.unanswered_ike != 0) {
        enter(t, State::degraded, now);
      } else if (t.inbound_flat_since && now - *t.inbound_flat_since >= settings_.black_hole_after) {
        if (t.state != State::degraded) degraded.push_back(k);
        t.failure = Failure::black_hole;
        t.failure_detail.clear();
        enter(t, State::degraded, now);
      } else if (t.kernel_gaps >= 2 && same_sa) {
        enter(t, State::degraded, now);  // charon's word alone: the kernel lacks what it needs
      } else {
        if (t.state != State::up) {
          t.failure = Failure::none;
          t.failure_detail.clear();
        }
        enter(t, State::up, now);
        t.backoff.reset();
        t.force_initiate = false;
      }
    }
  }
  for (auto& [k, t] : tunnels_) {
    if (seen.count(k)) continue;
    t.established = t.rekey_in = 0;
    t.inbound_flat_since.reset();
    t.kernel = "-";  // (its gap count stays: a repair that closed the SA must not start over)
    if (t.state == State::connecting && now - t.connecting_since < settings_.connect_timeout) continue;
    if (t.state == State::connecting && t.failure == Failure::none) t.failure = Failure::connect_timeout;
    t.unanswered_ike = 0;
    if (t.state == State::up || t.state == State::degraded) {
      if (t.failure == Failure::none || t.failure == Failure::black_hole) {
        t.failure = Failure::sa_went_down;
        t.failure_detail.clear();
      }
      t.next_attempt = now;  // re-initiate at once after losing an established tunnel
    }
    enter(t, State::down, now);
  }
  for (auto& [k, t] : tunnels_) {
    if (address_missing(t)) hold_for_address(t, now);
  }
  return degraded;
}

std::vector<std::string> Tunnels::observe_kernel(const std::map<std::string, KernelCheck>& checks,
                                                Clock::time_point now) {
  std::vector<std::string> confirmed;
  for (auto& [k, t] : tunnels_) {
    const auto c = checks.find(k);
    if (c == checks.end()) {
      t.kernel = "-";
      continue;
    }
    t.kernel = c->second.summary;
    if (c->second.verdict == KernelCheck::Verdict::unknown) continue;  // never a gap on a guess
    if (c->second.verdict == KernelCheck::Verdict::ok) {
      if (t.kernel_gaps >= 2 && t.state == State::degraded && t.failure == Failure::kernel_state_missing) {
        t.failure = Failure::none;
        t.failure_detail.clear();
        enter(t, State::up, now);
      }
      t.kernel_gaps = 0;
      t.kernel_repairs = 0;
      continue;
    }
    // Confirmed at the second check in a row, and again at the 4th, 8th, ...: a repair that
    // did not bring it back is tried again, less and less often.
    ++t.kernel_gaps;
    const bool due = t.kernel_gaps >= 2 && (t.kernel_gaps & (t.kernel_gaps - 1)) == 0;
    if (!due || (t.state != State::up && t.state != State::degraded)) continue;
    t.failure = Failure::kernel_state_missing;
    t.failure_detail = c->second.summary;
    enter(t, State::degraded, now);
    confirmed.push_back(k);
  }
  return confirmed;
}

int Tunnels::kernel_repair_started(const std::string& key) {
  auto it = tunnels_.find(key);
  return it == tunnels_.end() ? 0 : it->second.kernel_repairs++;
}

bool Tunnels::address_missing(const Tunnel& t) const {
  if (missing_addresses_.empty() || t.local_addrs.empty()) return false;
  for (const std::string& a : t.local_addrs) {
    if (!missing_addresses_.count(a)) return false;  // "%any" too: charon picks what there is
  }
  return true;
}

void Tunnels::hold_for_address(Tunnel& t, Clock::time_point now) {
  std::string which;
  for (const std::string& a : t.local_addrs) which += (which.empty() ? "" : ", ") + a;
  t.failure = Failure::address_missing;
  t.failure_detail = which;
  t.established = t.rekey_in = 0;
  t.inbound_flat_since.reset();
  t.unanswered_ike = 0;
  enter(t, State::down, now);
}

bool Tunnels::address_changed(const std::string& address, bool present, Clock::time_point now) {
  if (present) {
    if (!missing_addresses_.erase(address)) return false;
    for (auto& [k, t] : tunnels_) {
      if (t.failure != Failure::address_missing || address_missing(t)) continue;
      // Back on this host: try now, not after a backoff grown while it was away.
      t.next_attempt = now;
      t.backoff.reset();
      t.failure = Failure::none;
      t.failure_detail.clear();
    }
    return true;
  }
  if (!missing_addresses_.insert(address).second) return false;
  for (auto& [k, t] : tunnels_) {
    if (address_missing(t)) hold_for_address(t, now);
  }
  return true;
}

void Tunnels::all_down(Failure failure, const std::string& detail, Clock::time_point now) {
  for (auto& [k, t] : tunnels_) {
    t.failure = failure;
    t.failure_detail = detail;
    t.established = t.rekey_in = 0;
    t.next_attempt = now;
    t.backoff.reset();
    enter(t, State::down, now);
  }
}

std::vector<std::string> Tunnels::due(Clock::time_point now, std::size_t limit) const {
  std::vector<std::string> out;
  std::size_t busy = connecting();
  for (const auto& [k, t] : tunnels_) {
    if (busy >= limit) break;
    if ((t.initiator || t.force_initiate) && !t.passive && t.state == State::down && now >= t.next_attempt &&
        !address_missing(t)) {
      out.push_back(k);
      ++busy;
    }
  }
  return out;
}

std::optional<Clock::time_point> Tunnels::next_due(Clock::time_point now) const {
  std::optional<Clock::time_point> first;
  for (const auto& [k, t] : tunnels_) {
    if ((t.initiator || t.force_initiate) && !t.passive && t.state == State::down && t.next_attempt > now &&
        !address_missing(t)) {
      if (!first || t.next_attempt < *first) first = t.next_attempt;
    }
  }
  return first;
}

void Tunnels::started(const std::string& k, Clock::time_point now) {
  auto it = tunnels_.find(k);
  if (it == tunnels_.end()) return;
  it->second.connecting_since = now;
  it->second.next_attempt = now + it->second.backoff.next();
  enter(it->second, State::connecting, now);
}

void Tunnels::failed(const std::string& k, Failure failure, const std::string& detail, Clock::time_point now) {
  auto it = tunnels_.find(k);
  if (it == tunnels_.end()) return;
  it->second.failure = failure;
  it->second.failure_detail = detail;
  enter(it->second, State::down, now);
}

bool Tunnels::note(const std::string& connection, Failure failure, const std::string& detail, Clock::time_point now) {
  const bool generic_auth = failure == Failure::auth_refused_by_peer || failure == Failure::peer_identity_mismatch ||
                            failure == Failure::peer_untrusted || failure == Failure::peer_signature_invalid;
  // A CHILD_SA's own failures (selectors, install) may leave the IKE_SA and its other
  // children coming up: those still wait for list-sas or the connect timeout.
  const bool attempt_ended = generic_auth || outranks_auth_failure(failure) || failure == Failure::proposal_mismatch ||
                             failure == Failure::retransmit_timeout;
  bool ended = false;
  for (auto& [k, t] : tunnels_) {
    if (t.connection != connection) continue;
    if (attempt_ended && t.state == State::connecting) {
      enter(t, State::down, now);
      ended = true;
    }
    // charon follows "revoked" or "expired" with a generic authentication failure; the
    // first says more.
    if (generic_auth && outranks_auth_failure(t.failure)) continue;
    t.failure = failure;
    t.failure_detail = detail;
  }
  return ended;
}

void Tunnels::retry_now(const std::string& peer) {
  for (auto& [k, t] : tunnels_) {
    if (t.peer == peer) {
      t.next_attempt = {};
      t.backoff.reset();
    }
  }
}

void Tunnels::initiate_now(const std::string& connection) {
  for (auto& [k, t] : tunnels_) {
    if (t.connection != connection) continue;
    t.force_initiate = true;
    t.next_attempt = {};
    t.backoff.reset();
  }
}

bool Tunnels::unanswered(const std::string& connection, unsigned long long ike_id, Clock::time_point now) {
  bool established = false;
  for (auto& [k, t] : tunnels_) {
    if (t.connection != connection || (t.state != State::up && t.state != State::degraded) || t.ike_uniqueid == 0 ||
        (ike_id != 0 && t.ike_uniqueid != ike_id)) {
      continue;
    }
    established = true;
    t.unanswered_ike = t.ike_uniqueid;
    t.failure = Failure::peer_not_answering;
    t.failure_detail.clear();
    enter(t, State::degraded, now);
  }
  return established;
}

std::size_t Tunnels::connecting() const {
  std::size_t n = 0;
  for (const auto& [k, t] : tunnels_) n += t.state == State::connecting;
  return n;
}

}  // namespace ndsip::health
