// The node's credentials on the loop: read once and checked before use (TS 33.310 / policy),
// loaded into charon (credentials first: connections reference identities only), watched
// with inotify and rolled over make-before-break, and acted on at expiry (own and peers') and
// revocation (CRLs). It registers `certs`. Owns the credentials in use, their check, the
// watcher and the re-authentication queue.
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <ctime>
#include <functional>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "certs/checks.hpp"
#include "certs/watcher.hpp"
#include "control/command_table.hpp"
#include "daemon/charon_link.hpp"
#include "daemon/credentials.hpp"
#include "daemon/health_monitor.hpp"
#include "policy/plan.hpp"

namespace ndsip::daemon {

using Json = nlohmann::json;

struct CredentialSettings {
  certs::CredentialPaths paths;
  int warn_days = 30, critical_days = 7;
  std::size_t reauth_batch = 4;
  std::chrono::milliseconds reauth_interval{std::chrono::seconds(2)};
};

// Credential files read once, checked, and cut for charon: what check() passed is what
// adopt() keeps and load() sends.
struct CheckedCredentials {
  certs::CheckResult check;
  Credentials charon;
  std::vector<std::string> problems;  // of both; empty: may be adopted
};
CheckedCredentials read_and_check(const certs::CredentialPaths& paths, const std::string& identity, std::time_t now);

class CredentialManager {
 public:
  CredentialManager(boost::asio::io_context& io, CharonLink& charon, HealthMonitor& health,
                    CredentialSettings settings);

  // The plan in force: its identity is checked in the certificate's SAN; its connections map
  // peers' identities to connections.
  void set_plan(std::shared_ptr<const policy::NodePlan> plan) { plan_ = std::move(plan); }

  // Reads and checks the files now. Returns the problems (empty: adopted and in use).
  std::vector<std::string> refresh();
  CheckedCredentials check_files() const;  // read and check, adopting nothing
  void adopt(CheckedCredentials checked);

  // Starts watching the credential files (rollover on change).
  void watch();
  // Loads what is in use into charon; `then` after charon answered every load.
  void load(std::function<void()> then);
  // After each poll: peers' certificates that expired while in use (rate-limited).
  void check_peer_expiry();

  void register_commands(control::CommandTable& table);
  Json summary() const;  // for status: serial, days left, state, problems (and renewal's)

  // What a renewal needs: the credentials in use, the identity they must carry, the paths.
  const Credentials& in_use_credentials() const { return in_use_; }
  const std::string& identity() const { return plan_->credentials.identity; }
  const CredentialSettings& settings() const { return settings_; }
  // Called after each adoption (at start, on rollover): the renewal reschedules.
  void on_adopted(std::function<void()> handler) { on_adopted_ = std::move(handler); }
  // Added to summary() as "renewal" (CertRenewer::summary).
  void renewal_view(std::function<Json()> view) { renewal_view_ = std::move(view); }

  // A certificate a peer presented, as charon holds it.
  struct PeerCert {
    std::string identity, connection;
    certs::CertificateInfo info;
    bool revoked = false;  // by the CRLs in use
  };
  // The check of the credentials in use (own certificate, CAs), for the metrics.
  const certs::CheckResult& in_use() const { return check_; }
  // The peers' certificates, each time they are checked (after a poll, at most every 5 s).
  void on_peers_checked(std::function<void(const std::vector<PeerCert>&)> handler) {
    on_peers_checked_ = std::move(handler);
  }

 private:
  void on_files_changed();
  void reauthenticate_all(const std::string& why);
  void drop_revoked_peers();
  void peer_certificates(std::function<void(std::vector<PeerCert>)> then);
  void drain_reauth();
  void schedule_expiry();
  void certs_command(control::Reply reply);
  const char* expiry_state(long days) const;

  boost::asio::io_context& io_;
  CharonLink& charon_;
  HealthMonitor& health_;
  CredentialSettings settings_;
  std::shared_ptr<const policy::NodePlan> plan_ = std::make_shared<const policy::NodePlan>();
  Credentials in_use_;                   // the last set that passed every check
  certs::CheckResult check_;             // its check (for certs and status)
  std::vector<std::string> problems_;    // of the files on disk now; empty: they are in use
  std::unique_ptr<certs::Watcher> watcher_;
  std::vector<unsigned long long> reauth_queue_;
  boost::asio::steady_timer reauth_timer_, expiry_timer_;
  std::set<std::string> expired_peer_certs_;  // serials already acted on
  std::chrono::steady_clock::time_point last_peer_check_{};
  std::function<void(const std::vector<PeerCert>&)> on_peers_checked_;
  std::function<void()> on_adopted_;
  std::function<Json()> renewal_view_;
};

}  // namespace ndsip::daemon
