// Health on the loop: every desired tunnel's state from charon's events and list-sas, the
// failure reasons charon logs (matched to the tunnel by its IKE_SA's name), re-initiation
// with backoff (from the initiating end, at most max-initiating at once), and black holes
// (rekeyed). It registers `reconnect`. Owns health::Tunnels and its timers.
//
// `status` answers from this state, kept current by charon's events and list-sas polls: a
// list-sas follows every burst of state events (and every poll-interval), and the answer
// says when the last one was applied. Each list-sas is numbered, so a caller can wait for one
// sent after a given moment (an SA charon announced gone) rather than for one already in flight.
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "control/command_table.hpp"
#include "daemon/charon_link.hpp"
#include "health/tunnels.hpp"

namespace ndsip::daemon {

using Json = nlohmann::json;

struct HealthSettings {
  health::Settings tunnels;
  std::chrono::milliseconds poll_interval{std::chrono::seconds(10)};
  std::size_t max_initiating = 8;
};

class HealthMonitor {
 public:
  HealthMonitor(boost::asio::io_context& io, CharonLink& charon, HealthSettings settings);

  // Subscribes to charon's events (call once, before charon is connected).
  void subscribe();

  void set_desired(const policy::NodePlan& plan);
  // charon is back: poll now. charon is gone: every tunnel down with the reason.
  void charon_up();
  void charon_down(const std::string& why);

  // A fresh list-sas (the one in flight, if any); `then` (if any) runs after it is applied
  // (or failed).
  void poll(std::function<void()> then = {});
  // Soon (events come in bursts; one list-sas answers them all), and one sent after now.
  void poll_soon();
  // Runs `then` once the state holds every SA charon has announced gone: at once when it does
  // (no list-sas), otherwise after a list-sas sent after the latest such announcement. So the
  // state can say `up` only of SAs charon has not announced gone. Events that bring tunnels up
  // are not waited for: until their list-sas the state is behind on the safe side.
  void current(std::function<void()> then);
  // Initiates the tunnels that are due (after an apply, after a poll).
  void initiate_due();
  // Initiates `connection` now and until it is up, from this end whatever the initiator rule
  // (this end's charon lost its SAs: INITIAL_CONTACT lets the peer drop its stale ones).
  void initiate_now(const std::string& connection);

  // One of this node's addresses left the host or came back (kernel::AddressWatcher): its
  // tunnels are held `address missing`, or initiated at once.
  void address_changed(const std::string& address, bool present);
  // A failure ndsipd found itself (revoked, expired), for one connection's tunnels.
  void note(const std::string& connection, health::Failure failure, const std::string& detail = {});
  // The IKE_SA unique id of `connection` (0 when it has none up).
  unsigned long long ike_id(const std::string& connection) const;
  // After every applied list-sas (the credentials part checks peers' certificates then).
  void on_polled(std::function<void()> handler) { on_polled_ = std::move(handler); }
  // Each applied list-sas, for the kernel check (the daemon asks kernel::Inventory and answers
  // with kernel_checked()).
  void on_snapshot(std::function<void(const std::vector<vici::IkeSa>&)> handler) { on_snapshot_ = std::move(handler); }
  // charon retransmits on an IKE_SA (its number; 0: not said): its peer may be gone (SEG
  // failover wants to know of every IKE_SA, childless ones too).
  void on_peer_silent(std::function<void(const std::string& connection, unsigned long long ike_id)> handler) {
    on_peer_silent_ = std::move(handler);
  }
  const health::Tunnels& state() const { return tunnels_; }
  // The kernel's side of the CHILD_SAs of the last snapshot, by tunnel key. A gap confirmed
  // (two checks in a row) degrades the tunnel and is repaired: the CHILD_SA rekeyed first (new
  // SAs install their kernel state), then, if the gap stays, the IKE_SA closed and initiated
  // afresh from this end. A first gap asks for another check a second later.
  void kernel_checked(const std::map<std::string, health::Tunnels::KernelCheck>& checks);
  // The IKE_SA of `connection` closed, `child`'s trap taken away and installed again, then
  // initiated afresh: a selector's every policy gone and made again.
  void reinstall(const std::string& connection, const std::string& child);

  void register_commands(control::CommandTable& table);

  // Every tunnel as status shows it (docs/control.md), ages counted on from the last poll.
  Json tunnels() const;
  std::string tunnels_text() const;  // the same as JSON text, written directly (status at 10,000)
  // How many tunnels there are in each state, and in all (ndsipctl's exit code).
  Json tunnel_counts() const;
  // When the state was last confirmed by a list-sas: {"at": UTC time, "age_s"}, both null
  // before the first.
  Json polled() const;

 private:
  // Runs `then` (if any) once a list-sas numbered `number` or later has been answered,
  // sending one when none in flight will do.
  void poll_at_least(std::uint64_t number, std::function<void()> then);
  void send_poll();
  void answered(std::uint64_t number);
  void schedule_poll(std::chrono::milliseconds after);
  void on_log(const vici::Message& m);
  void on_retransmit(const std::string& connection, unsigned long long ike_id, int n);
  void rekey_black_hole(const std::string& key);
  void rekey_child(const std::string& key);  // fresh SAs for the tunnel's CHILD_SA; a refusal is noted

  CharonLink& charon_;
  HealthSettings settings_;
  health::Tunnels tunnels_;
  boost::asio::steady_timer poll_timer_, soon_timer_;
  boost::asio::steady_timer retry_timer_;  // the next tunnel whose backoff ends before the next poll
  // list-sas requests by number: sent_ is the latest sent, in_flight_ the one awaited (when
  // polling_), wanted_ the least number someone waits for or an event asked for.
  std::uint64_t sent_ = 0, in_flight_ = 0, wanted_ = 0;
  bool polling_ = false;
  std::vector<std::pair<std::uint64_t, std::function<void()>>> waiting_;
  // The latest list-sas sent before charon last announced an SA gone (none: never), and the
  // number of the latest one applied: the state holds that announcement once applied_ > it.
  std::optional<std::uint64_t> gone_after_;
  std::uint64_t applied_ = 0;
  health::Clock::time_point applied_at_{};
  std::chrono::system_clock::time_point applied_wall_{};
  // poll_soon's burst: the latest list-sas sent before its latest event, and when it began.
  std::uint64_t soon_after_ = 0;
  bool soon_armed_ = false;
  health::Clock::time_point soon_first_{};
  std::function<void()> on_polled_;
  std::function<void(const std::vector<vici::IkeSa>&)> on_snapshot_;
  std::function<void(const std::string&, unsigned long long)> on_peer_silent_;
};

}  // namespace ndsip::daemon
