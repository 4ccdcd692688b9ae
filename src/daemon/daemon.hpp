// ndsipd's core, on one Boost.Asio io_context (no threads, no locks): the accepted topology
// and this node's plan, the VICI session to charon, reconcile, health, and the control
// commands. Data flows one way: topology -> plan -> diff against charon -> VICI operations ->
// events and list-sas -> health -> status.
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <functional>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "certs/checks.hpp"
#include "certs/watcher.hpp"
#include "daemon/config.hpp"
#include "daemon/control_server.hpp"
#include "daemon/credentials.hpp"
#include "daemon/state_store.hpp"
#include "health/backoff.hpp"
#include "health/tunnels.hpp"
#include "policy/plan.hpp"
#include "reconcile/diff.hpp"
#include "topology/model.hpp"
#include "vici/session.hpp"

namespace ndsip::daemon {

using Json = nlohmann::json;
using Done = std::function<void(Json)>;

class Daemon {
 public:
  Daemon(boost::asio::io_context& io, Config config);
  ~Daemon();
  Daemon(const Daemon&) = delete;
  Daemon& operator=(const Daemon&) = delete;

  // Loads policies, templates, credentials and the last accepted topology; opens the control
  // socket; connects to charon (retrying). Throws std::runtime_error for what makes running
  // pointless (bad policies, unusable control socket).
  void start();
  // SIGHUP / ndsipctl reload: re-read policies, templates and credentials.
  void reload(Done done);

  // --check-config: everything start() reads, checked, without touching charon. Returns the
  // problems (empty: fine).
  static std::vector<std::string> check(const Config& config);

 private:
  // charon connection (daemon.cpp)
  void connect_charon();
  void on_charon_lost(const std::string& why);
  void load_credentials(std::function<void()> then);

  // credentials and rollover (rollover.cpp)
  // Reads and checks the credential files; adopts them when they pass. Returns the problems.
  std::vector<std::string> refresh_credentials();
  void on_credentials_changed();
  void reauthenticate_all(const std::string& why);
  void drop_revoked_peers();
  void check_peer_expiry();
  // The end-entity certificates charon holds that name a peer of this node (its cache of what
  // the peers presented), with the connection to that peer.
  struct PeerCert {
    std::string identity, connection;
    certs::CertificateInfo info;
    bool revoked = false;  // by the loaded CRLs
  };
  void peer_certificates(std::function<void(std::vector<PeerCert>)> then);
  // terminate {ike: connection, force}, not waiting for the peer; `then` after charon answers.
  void terminate_ike(const std::string& connection, std::function<void()> then = {});
  void drain_reauth();
  void schedule_expiry();
  void cmd_certs(ControlServer::Reply reply);
  Json credential_summary() const;

  // reconcile (reconcile.cpp)
  void reconcile(Done done);
  void run_reconcile();
  void initiate_due();
  // list-sas -> tunnel states; `then` (if any) runs after this snapshot is applied.
  void poll(std::function<void()> then = {});
  void poll_soon();
  void schedule_poll(std::chrono::milliseconds after);

  // topology (topology.cpp)
  struct Candidate {
    std::optional<topology::Topology> topology;
    policy::NodePlan plan;
    std::vector<std::string> problems;
  };
  Candidate evaluate(const std::string& text) const;
  void adopt(Candidate candidate, const std::string& text, std::uint64_t version);

  // control commands (commands.cpp)
  void handle(const Json& request, ControlServer::Reply reply);
  void cmd_push(const Json& request, ControlServer::Reply reply, bool dry_run);
  void cmd_rollback(ControlServer::Reply reply);
  void cmd_reconnect(const Json& request, ControlServer::Reply reply);
  Json status() const;

  void notify_ready_once(const std::string& status);
  void pet_watchdog();
  void log(const std::string& message) const;

  boost::asio::io_context& io_;
  Config config_;
  std::unique_ptr<StateStore> store_;
  policy::PolicySet policies_;
  Credentials credentials_;                 // the last set that passed every check
  certs::CheckResult cert_check_;           // its check (for certs and status)
  std::vector<std::string> credential_problems_;  // of the files on disk now; empty: in use
  std::unique_ptr<certs::Watcher> watcher_;
  std::vector<unsigned long long> reauth_queue_;
  boost::asio::steady_timer reauth_timer_, expiry_timer_;
  std::set<std::string> expired_peer_certs_;  // serials already acted on
  std::chrono::steady_clock::time_point last_peer_check_{};

  // The accepted topology and this node's plan.
  std::optional<topology::Topology> topology_;
  std::string topology_digest_;
  std::uint64_t topology_version_ = 0;
  policy::NodePlan plan_;

  // charon.
  vici::Session session_;
  bool charon_up_ = false;
  std::string charon_version_, charon_error_;
  // A local socket: cheap to retry, and a restarted charon should be picked up within a second.
  health::Backoff reconnect_backoff_{std::chrono::milliseconds(50), std::chrono::seconds(1)};
  boost::asio::steady_timer reconnect_timer_;

  // Reconcile.
  reconcile::Applied applied_;
  bool reconciling_ = false, again_ = false;
  std::vector<Done> waiters_;
  Json last_apply_;

  // Health.
  health::Tunnels tunnels_;
  boost::asio::steady_timer poll_timer_, soon_timer_, watchdog_timer_;
  bool polling_ = false;
  std::vector<std::function<void()>> after_poll_;
  std::string last_alert_;

  std::unique_ptr<ControlServer> control_;
  bool ready_sent_ = false;
  std::chrono::steady_clock::time_point started_;
};

}  // namespace ndsip::daemon
