// Renewal of the node's certificate over CMPv2 (TS 33.310): at the configured point of the
// certificate in use, a key update request to the operator's CA (cmp::obtain: key, exchange,
// the TS 33.310 checks, the files written atomically); the CredentialManager's watcher then
// rolls the new files over make-before-break, as for any renewal on disk. The exchange runs
// on a worker thread: the loop keeps serving. A failed attempt is retried with jittered,
// doubling waits; nothing of a failed attempt reaches the files. Registers `renew`.
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <ctime>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "cmp/obtain.hpp"
#include "cmp/renewal_point.hpp"
#include "common/backoff.hpp"
#include "control/command_table.hpp"
#include "daemon/credential_manager.hpp"

namespace ndsip::daemon {

struct RenewalSettings {
  std::string server_url;    // empty: renewal off
  std::string trusted_file;  // PEM: what the CA's responses must be protected by
  cmp::RenewalPoint at;
  std::string new_key_file, key_spec;
  std::chrono::milliseconds retry_first{std::chrono::minutes(1)}, retry_max{std::chrono::hours(1)};
  std::chrono::milliseconds timeout{std::chrono::seconds(60)};
};

class CertRenewer {
 public:
  CertRenewer(boost::asio::io_context& io, CredentialManager& credentials, RenewalSettings settings);
  ~CertRenewer();  // an exchange still running finishes on its thread; its result is dropped
  CertRenewer(const CertRenewer&) = delete;
  CertRenewer& operator=(const CertRenewer&) = delete;

  bool enabled() const { return !settings_.server_url.empty(); }
  // Plans the next renewal from the certificate in use; called after each adoption.
  void schedule();
  void register_commands(control::CommandTable& table);
  Json summary() const;  // for status and certs: next renewal, the last attempt, in progress
  // For the metrics.
  int failures_in_a_row() const { return failures_in_a_row_; }
  std::time_t next() const { return next_; }  // 0: none planned, or an attempt is running

 private:
  struct Attempt {
    std::time_t at = 0;
    std::string trigger;  // "scheduled", "retry", "asked by ndsipctl"
    std::optional<cmp::ObtainOutcome> outcome;
  };
  struct Channel;  // the worker's way back to the loop, cut when this is destroyed

  void start(const std::string& trigger);
  void finished(cmp::ObtainOutcome outcome);
  void arm(std::time_t when, const std::string& trigger);
  Json attempt_json(const Attempt& a) const;

  boost::asio::io_context& io_;
  CredentialManager& credentials_;
  RenewalSettings settings_;
  boost::asio::steady_timer timer_;
  common::Backoff backoff_;
  std::shared_ptr<Channel> channel_;
  std::optional<Attempt> running_, last_;
  std::time_t next_ = 0;             // 0: nothing planned
  std::string next_trigger_;
  std::time_t quiet_until_ = 0;      // after a renewal: no new attempt before (the rollover follows)
  int failures_in_a_row_ = 0;
  std::vector<control::Reply> waiting_;  // `renew` callers, answered when the attempt ends
};

}  // namespace ndsip::daemon
