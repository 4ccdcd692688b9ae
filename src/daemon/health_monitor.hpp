// Health on the loop: every desired tunnel's state from charon's events and list-sas, the
// failure reasons charon logs (matched to the tunnel by its IKE_SA's name), re-initiation
// with backoff (from the initiating end, at most max-initiating at once), and black holes
// (rekeyed). It registers `reconnect`. Owns health::Tunnels and its timers.
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <functional>
#include <memory>
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

  // A fresh list-sas; `then` (if any) runs after it is applied (or failed).
  void poll(std::function<void()> then = {});
  // Soon (events come in bursts; one list-sas answers them all).
  void poll_soon();
  // Initiates the tunnels that are due (after an apply, after a poll).
  void initiate_due();
  // Initiates `connection` now and until it is up, from this end whatever the initiator rule
  // (this end's charon lost its SAs: INITIAL_CONTACT lets the peer drop its stale ones).
  void initiate_now(const std::string& connection);

  // A failure ndsipd found itself (revoked, expired), for one connection's tunnels.
  void note(const std::string& connection, health::Failure failure, const std::string& detail = {});
  // The IKE_SA unique id of `connection` (0 when it has none up).
  unsigned long long ike_id(const std::string& connection) const;
  // After every applied list-sas (the credentials part checks peers' certificates then).
  void on_polled(std::function<void()> handler) { on_polled_ = std::move(handler); }

  void register_commands(control::CommandTable& table);

  // Every tunnel as status shows it.
  Json tunnels() const;
  bool all_up() const;

 private:
  void schedule_poll(std::chrono::milliseconds after);
  void on_log(const vici::Message& m);
  void on_retransmit(const std::string& connection, unsigned long long ike_id, int n);
  void rekey_black_hole(const std::string& key);

  CharonLink& charon_;
  HealthSettings settings_;
  health::Tunnels tunnels_;
  boost::asio::steady_timer poll_timer_, soon_timer_;
  bool polling_ = false;
  std::vector<std::function<void()>> after_poll_;
  std::function<void()> on_polled_;
};

}  // namespace ndsip::daemon
