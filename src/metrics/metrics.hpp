// What ndsipd exposes, fed from the daemon's parts: the gauges are read from their state when
// Prometheus scrapes (status's tunnel table, charon's link, the topology in force, the
// credentials in use), so a scrape shows what `ndsipctl status` would; the counters and
// histograms need events, which the daemon passes on where they happen (a VICI command
// answered, a rekey charon reported, a push or reconcile finished, the peers' certificates
// checked). No I/O of its own; one event loop, no locks of ours.
#pragma once

#include <chrono>
#include <cstdint>
#include <ctime>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "metrics/families.hpp"
#include "metrics/tunnel_series.hpp"
#include "vici/message.hpp"

namespace ndsip::metrics {

struct Certificate {
  std::string role;      // own, ca, peer
  std::string identity;  // the SAN it is used for (own, peer), "" for a CA
  std::string subject, serial;
  std::time_t not_after = 0;
};

// The CMP renewal of the node's certificate (with cmp-server).
struct Renewal {
  int failures_in_a_row = 0;  // failed attempts since the last renewal
  std::time_t next = 0;       // when the next attempt starts; 0: none planned (or one running)
};

// Where the gauges come from; each is asked at every scrape (an empty one is skipped).
struct Sources {
  std::function<nlohmann::json()> tunnels;  // status's tunnel rows (health::tunnel_rows)
  std::function<nlohmann::json()> polled;   // status's "polled": {"at", "age_s"}
  std::function<bool()> charon_connected;
  std::function<std::uint64_t()> topology_version;
  std::function<bool()> topology_refused;
  std::function<std::vector<Certificate>()> certificates;  // own and CAs, in use
  std::function<Renewal()> renewal;                         // set only with cmp-server
};

class Metrics {
 public:
  using Seconds = std::chrono::duration<double>;

  Metrics(const std::string& version, Sources sources);

  // Everything, read fresh, in Prometheus's text format (a scrape).
  std::string text();
  // After each health refresh (list-sas): the tunnel table's transitions are counted as they
  // happen, not only when Prometheus looks. At most once a second (a burst of events brings a
  // list-sas every 100 ms, and reading the table costs ~10 us a tunnel); the next one, or the
  // scrape, sees what a skipped one would have.
  void tunnels_changed();

  // A VICI command answered: "ok", or the error's kind (vici::to_string). `ike`: the IKE_SA
  // (connection) an initiate named, "" otherwise.
  void vici_command(const std::string& command, const std::string& ike, const std::string& result);
  // charon's ike-rekey / child-rekey event (the message's first section is the IKE_SA's name).
  void rekey_event(const std::string& event, const vici::Message& message);
  // The peers' certificates as charon holds them (after each check); replaces the last ones.
  void peer_certificates(const std::vector<Certificate>& peers);
  // A topology arrived (source "control" or "etcd") and was answered; a reconcile finished.
  void push_done(const std::string& source, bool accepted, Seconds took);
  void reconcile_done(Seconds took);

  Families& families() { return f_; }

 private:
  void refresh();
  void refresh_tunnels();
  void set_certificates(const std::string& role_group, const std::vector<Certificate>& certs);

  Families f_;
  Sources sources_;
  TunnelSeries tunnels_;
  std::chrono::steady_clock::time_point tunnels_read_{};
  // VICI command counters by (command, result): a full apply answers 10,000 load-conns.
  std::map<std::pair<std::string, std::string>, prometheus::Counter*> vici_;
  // Certificate series by group ("own+ca" from the scrape, "peer" from the checks).
  std::map<std::string, std::vector<prometheus::Gauge*>> certificate_series_;
};

}  // namespace ndsip::metrics
