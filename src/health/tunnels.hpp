// The health of every desired tunnel (one per planned CHILD_SA), from list-sas snapshots and
// events: up / connecting / down / degraded, since when, counters, the last error, and whether
// it is due for a (re-)initiation. No I/O: the daemon feeds it and acts on what it says.
#pragma once

#include <chrono>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "common/backoff.hpp"
#include "health/failure.hpp"
#include "policy/plan.hpp"
#include "vici/commands.hpp"

namespace ndsip::health {

using Clock = std::chrono::steady_clock;

enum class State { up, connecting, down, degraded };
const char* to_string(State state);

struct Tunnel {
  // From the plan.
  std::string connection, child, peer, zone, profile;
  std::vector<std::string> local_addrs;  // the IKE end points charon may use on this host
  std::vector<std::string> reference_points;
  bool initiator = false;
  // A standby child through a second SEG (ChildPlan::standby): never initiated; shown as
  // `standby` while it has no SA, and not counted as down.
  bool standby = false;
  // Never initiated from this end (ChildPlan::passive): standby, or the peer picks the SEG.
  bool passive = false;
  // Observed.
  State state = State::down;
  Failure failure = Failure::none;  // why it is not up (or was last not up)
  std::string failure_detail;       // a serial, charon's words: shown in parentheses
  Clock::time_point since{};          // when `state` was entered
  unsigned long long established = 0;  // seconds the CHILD_SA has been installed (0: not up)
  unsigned long long rekey_in = 0;     // seconds to its next rekey
  unsigned long long bytes_in = 0, bytes_out = 0, packets_in = 0, packets_out = 0;
  unsigned long long ike_uniqueid = 0, child_uniqueid = 0;  // 0: no SA
  std::string spi_in, spi_out;
  // Re-initiation.
  common::Backoff backoff{std::chrono::seconds(1), std::chrono::seconds(60)};
  Clock::time_point next_attempt{};
  Clock::time_point connecting_since{};
  // Initiate from this end whatever the initiator rule says, until the tunnel is up: after
  // this end lost its SAs (charon restarted; INITIAL_CONTACT lets the peer drop its stale
  // ones), or after its peer stopped answering.
  bool force_initiate = false;
  // The IKE_SA charon retransmits on (0: none): not up until its peer answers again.
  unsigned long long unanswered_ike = 0;
  // The kernel's side of the CHILD_SA (status's kernel column): "-" (no SA, or not checked),
  // "ok", "unknown" (the kernel could not be read), or what is missing. A gap counts once it is
  // seen in two checks in a row (the kernel's copy may lag charon by a moment).
  std::string kernel = "-";
  int kernel_gaps = 0;
  int kernel_repairs = 0;  // repairs tried for the gap (rekey first, then initiating afresh)
  // Black-hole detection: when outbound packets last rose while inbound stayed flat.
  std::optional<Clock::time_point> inbound_flat_since;
  unsigned long long last_packets_in = 0, last_packets_out = 0;

  std::string last_error() const { return describe(failure, failure_detail); }
  // A standby child with no SA: waiting by design, shown `standby` and not counted as down.
  bool waiting_standby() const { return standby && state == State::down; }
  // Down because the peer's certificate is revoked: status shows `revoked`.
  bool revoked() const { return state == State::down && failure == Failure::certificate_revoked; }
};

struct Settings {
  std::chrono::milliseconds connect_timeout{std::chrono::seconds(30)};  // connecting -> down
  std::chrono::milliseconds black_hole_after{std::chrono::seconds(30)};
};

class Tunnels {
 public:
  explicit Tunnels(Settings settings = {}) : settings_(settings) {}

  // Replaces the desired set (after a push); keeps the health of tunnels that stay.
  void set_desired(const policy::NodePlan& plan, bool (*initiator)(const std::string&, const std::string&));

  // Applies a list-sas snapshot. Returns the tunnels newly found degraded (black hole).
  std::vector<std::string> observe(const std::vector<vici::IkeSa>& sas, Clock::time_point now);

  // Everything down (charon unreachable), with the reason.
  void all_down(Failure failure, const std::string& detail, Clock::time_point now);

  // Initiator-side tunnels that are down and whose backoff has passed: the caller initiates
  // them (at most `limit`, counting those already connecting) and calls started().
  std::vector<std::string> due(Clock::time_point now, std::size_t limit) const;
  // When the next initiator-side tunnel that is down becomes due, if one is still waiting out
  // its backoff after `now` (nullopt: none waits). The daemon retries then, not at its next
  // poll: a peer that had no configuration yet (a fleet taking a publish, hosts a loop of
  // pushes reaches in turn) is tried again within a second.
  std::optional<Clock::time_point> next_due(Clock::time_point now) const;
  void started(const std::string& key, Clock::time_point now);
  void failed(const std::string& key, Failure failure, const std::string& detail, Clock::time_point now);
  // A failure charon reported for one IKE_SA (by its connection name), or ndsipd found
  // (revoked, expired): recorded on that connection's tunnels only. One that ends an IKE_SA
  // attempt (no proposal, authentication, certificates, no answer: charon tries once) makes
  // that connection's connecting tunnels down at once, so they are retried after their
  // backoff rather than after the connect timeout. Returns whether any was.
  bool note(const std::string& connection, Failure failure, const std::string& detail = {},
            Clock::time_point now = Clock::now());
  // Make every tunnel of `peer` due now (ndsipctl reconnect).
  void retry_now(const std::string& peer);
  // Initiate `connection`'s tunnels now and until they are up, from this end (see
  // Tunnel::force_initiate).
  void initiate_now(const std::string& connection);
  // charon retransmits to the peer of `connection`'s established IKE_SA `ike_id` (0: any of
  // the connection's): its tunnels are not up (degraded, peer not answering) until inbound
  // traffic or a new IKE_SA shows otherwise. A retransmit on another IKE_SA of the same
  // connection (the new one of a re-authentication, still being set up) is not this.
  // Returns whether such an established tunnel was there.
  bool unanswered(const std::string& connection, unsigned long long ike_id, Clock::time_point now);

  // The kernel check of the CHILD_SAs just observed, by tunnel key; tunnels not named have
  // no SA to check. Returns the tunnels whose kernel side is confirmed missing (at the second
  // check in a row, then the 4th, 8th, ...: each one a repair to try): they are degraded
  // (`kernel state missing`) until a check finds it back.
  struct KernelCheck {
    enum class Verdict { ok, missing, unknown } verdict = Verdict::unknown;
    std::string summary;  // "ok", "unknown", or what is missing
  };
  std::vector<std::string> observe_kernel(const std::map<std::string, KernelCheck>& checks, Clock::time_point now);
  // A repair of `key`'s confirmed gap starts; returns how many were tried before it.
  int kernel_repair_started(const std::string& key);

  // One of this node's addresses left the host (a virtual IP failed over elsewhere) or came
  // back. A tunnel none of whose local addresses is on the host is down with `address
  // missing` and the address as its reason, whatever charon still says of its SAs (no packet
  // can leave from an address the host does not have), and is not initiated: retries cannot
  // succeed. When one comes back its tunnels are due at once. Returns whether this changed
  // what was known of the address (reporting one present that was never missing does not).
  bool address_changed(const std::string& address, bool present, Clock::time_point now);
  // Whether `t` has no local address on the host (every one reported missing).
  bool address_missing(const Tunnel& t) const;

  std::size_t connecting() const;
  const std::map<std::string, Tunnel>& all() const { return tunnels_; }
  static std::string key(const std::string& connection, const std::string& child) {
    return connection + "/" + child;
  }

 private:
  void enter(Tunnel& t, State s, Clock::time_point now);
  void hold_for_address(Tunnel& t, Clock::time_point now);

  Settings settings_;
  std::set<std::string> missing_addresses_;  // reported gone, until reported back
  std::map<std::string, Tunnel> tunnels_;  // by key(connection, child)
};

}  // namespace ndsip::health
