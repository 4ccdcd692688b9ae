// ndsipd's settings: command-line flags and an optional config file with the same names
// (Boost.Program_options, "name = value" lines), flags winning.
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include "certs/checks.hpp"
#include "cmp/renewal_point.hpp"
#include "etcd/client.hpp"

namespace ndsip::daemon {

struct Config {
  std::string node;                                      // required: this host's node name
  std::string vici_uri = "unix:///var/run/charon.vici";
  std::string control_socket = "/run/ndsip/ndsipd.sock";
  std::string control_group;                             // may use the control socket besides root
  std::string state_dir = "/var/lib/ndsip";
  std::string policies_dir, templates_dir;               // default: the data directory
  // Credentials (files). Empty: not loaded by ndsipd (charon may have them already).
  std::string cert, key, ca_bundle, crl_dir;
  std::chrono::milliseconds poll_interval{std::chrono::seconds(10)};
  std::chrono::milliseconds black_hole_after{std::chrono::seconds(30)};
  std::chrono::milliseconds connect_timeout{std::chrono::seconds(30)};
  std::chrono::milliseconds vici_timeout{std::chrono::seconds(30)};
  // Failback to the preferred SEG once it has answered this long (health::SegChoices).
  std::chrono::milliseconds failback_hold{std::chrono::seconds(60)};
  std::size_t max_initiating = 8;                         // initiations in flight at once
  // The kernel's view (src/kernel): this node's addresses on the host, and each CHILD_SA's
  // policies or routes. Off only where charon is not this host's (tests with a scripted peer).
  bool kernel_view = true;
  std::size_t vici_sessions = 1;                          // VICI connections a full apply spreads over
  int warn_days = 30, critical_days = 7;                 // certificate expiry thresholds
  std::size_t reauth_batch = 4;                          // IKE_SAs re-authenticated at once on rollover
  std::chrono::milliseconds reauth_interval{std::chrono::seconds(2)};
  // Where the topology comes from: "push" (ndsipctl push, the default) or "etcd" (the fleet:
  // etcd_endpoints, watched under etcd_prefix; pushes are then refused).
  std::string topology_source = "push";
  std::string etcd_endpoints, etcd_prefix = "/ndsip/v1/", etcd_cacert, etcd_cert, etcd_key;
  // etcd's auth: the user, and its password read at start from etcd_password_file (owner-only;
  // the password itself is never a setting, so it is on no command line). Never log it.
  std::string etcd_user, etcd_password_file, etcd_password;
  // Certificate renewal over CMPv2 (src/cmp, docs/certificates.md): the CA's CMP URL (empty:
  // off, the default), the certificates its responses must be protected by, when to renew,
  // the new key (a file, or generated: "" is like today's), retries and the attempt's limit.
  std::string cmp_server, cmp_trusted, cmp_new_key, cmp_key_type;
  cmp::RenewalPoint cmp_renew_at;
  std::chrono::milliseconds cmp_retry_first{std::chrono::minutes(1)}, cmp_retry_max{std::chrono::hours(1)};
  std::chrono::milliseconds cmp_timeout{std::chrono::seconds(60)};
  // Prometheus metrics over HTTP on "ADDR:PORT" (docs/metrics.md); empty: off (the default).
  std::string metrics_listen;
  bool check_only = false;                               // --check-config: validate and exit
  std::string config_file;                               // where the settings came from, if any

  certs::CredentialPaths credential_paths() const { return {cert, key, ca_bundle, crl_dir}; }
};

struct ParseOutcome {
  std::optional<Config> config;  // set when the daemon should run (or check)
  int exit_code = 0;             // otherwise: exit with this (0 after --help)
  std::string output;            // help text or errors
};

ParseOutcome parse_config(const std::vector<std::string>& args);

// What the etcd client of ndsipd's etcd parts (the source and the fleet reporter) is given:
// endpoints, TLS files, user and password.
etcd::ClientSettings etcd_client_settings(const Config& c);

}  // namespace ndsip::daemon
