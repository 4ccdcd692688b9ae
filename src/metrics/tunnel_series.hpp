// The per-tunnel and per-connection series, from status's tunnel table (health's rows, the
// view `ndsipctl status` shows): gauges set, traffic counters moved on, failures counted, and
// every series of a tunnel that left the plan removed. No I/O: the daemon hands it the table
// after each health refresh and before each scrape.
#pragma once

#include <chrono>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "metrics/families.hpp"

namespace ndsip::metrics {

// One row of the tunnel table (docs/control.md, status's "tunnels"), the members metrics use.
struct TunnelRow {
  std::string connection, child, peer, zone;
  std::string reference_points;  // joined with ","
  std::string state;             // up, connecting, down, degraded, revoked, standby
  std::string reason;            // "none" or a failure code
  std::string spi_in, spi_out;   // the SAs the counters are of ("" before the first)
  unsigned long long bytes_in = 0, bytes_out = 0, packets_in = 0, packets_out = 0;
  long long state_for_s = 0;     // seconds in `state`
};

// The rows of status's tunnel table (a JSON array); members missing or of another type are
// taken as empty or 0, never thrown on.
std::vector<TunnelRow> rows_from_status(const nlohmann::json& rows);

class TunnelSeries {
 public:
  using Clock = std::chrono::steady_clock;
  explicit TunnelSeries(Families& families) : f_(families) {}

  // The table as of `now`. Counters move on by what each SA carried since the last update (a
  // new SA, told by its SPI, counts from 0: a rekey loses at most what the old SA carried
  // after the last list-sas). A failure is counted when a tunnel is seen leaving up for a
  // state with a reason (down, degraded, revoked, or connecting again at once), changing its
  // reason, an attempt ending (connecting -> down), or the same state entered again since the
  // last update (its time in the state started over); not for the retry itself.
  void update(const std::vector<TunnelRow>& rows, Clock::time_point now);

  // charon reported a rekey (kind "ike" or "child") of `connection`'s SAs; ndsipd sent an
  // initiation for one of its tunnels. Connections not in the table (not ndsipd's) are not
  // counted.
  void rekeyed(const std::string& connection, const std::string& kind);
  void initiated(const std::string& connection);
  bool has(const std::string& connection) const { return connections_.count(connection) > 0; }

 private:
  struct Series {
    prometheus::Labels labels;
    prometheus::Gauge *up = nullptr, *standby = nullptr, *black_hole = nullptr;
    prometheus::Counter *in_bytes = nullptr, *out_bytes = nullptr, *in_packets = nullptr, *out_packets = nullptr;
    std::string spi_in, spi_out;
    unsigned long long bytes_in = 0, bytes_out = 0, packets_in = 0, packets_out = 0;
    bool failing = false;
    std::string state, reason;
    long long since_ms = 0;  // when it entered its state, to a second
  };
  // The event counters of one connection, removed with it.
  struct Connection {
    std::string peer;
    std::map<std::string, prometheus::Counter*> rekeys, failures;  // by kind, by reason
    prometheus::Counter* initiations = nullptr;
  };
  Series make_series(const TunnelRow& row);
  void remove_series(Series& s);
  void remove_connection(Connection& c);
  void count_failure(const TunnelRow& row, Series& s, long long now_ms);

  Families& f_;
  std::map<std::string, Series> tunnels_;         // by connection/child
  std::map<std::string, Connection> connections_;  // by name
};

}  // namespace ndsip::metrics
