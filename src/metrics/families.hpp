// ndsipd's metrics as Prometheus families: one prometheus::Registry (prometheus-cpp's core
// library only; its pull library would bring civetweb's threads into a daemon with one event
// loop) and every family ndsipd exposes, with its name, help and labels. Names follow
// Prometheus's conventions: the ndsip_ prefix, base units in the name (seconds, bytes),
// _total on counters, _timestamp_seconds on points in time. docs/metrics.md lists them all.
// Label values are names from the topology, charon's command names and certificate
// subjects: nothing secret is ever a label.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include <prometheus/counter.h>
#include <prometheus/family.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>

namespace ndsip::metrics {

// The labels of every per-tunnel series, in this order.
inline constexpr const char* tunnel_labels[] = {"connection", "child", "peer", "zone", "reference_points"};

class Families {
 public:
  explicit Families(const std::string& version);
  Families(const Families&) = delete;
  Families& operator=(const Families&) = delete;

  // Everything, in Prometheus's text exposition format (version 0.0.4).
  std::string text() const;
  // The content type that format is served with.
  static constexpr const char* content_type = "text/plain; version=0.0.4; charset=utf-8";
  // The buckets of the duration histograms, in seconds.
  static std::vector<double> duration_buckets();

 private:
  std::shared_ptr<prometheus::Registry> registry_;  // first: the families below live in it

 public:
  using Gauges = prometheus::Family<prometheus::Gauge>;
  using Counters = prometheus::Family<prometheus::Counter>;
  using Histograms = prometheus::Family<prometheus::Histogram>;

  Gauges& build_info;                 // {version}
  // Per tunnel (tunnel_labels): the state and what its SAs carried.
  Gauges& tunnel_up;
  Gauges& tunnel_standby;
  Gauges& tunnel_black_hole;
  Counters& tunnel_inbound_bytes;
  Counters& tunnel_outbound_bytes;
  Counters& tunnel_inbound_packets;
  Counters& tunnel_outbound_packets;
  Gauges& tunnels;                    // {state}
  // Per connection: events.
  Counters& rekeys;                   // {connection, peer, kind}
  Counters& initiations;              // {connection, peer}
  Counters& failures;                 // {connection, peer, reason}
  Gauges& health_poll_timestamp;
  Gauges& certificate_expiry;         // {role, identity, subject, serial}
  Gauges& charon_connected;
  Counters& vici_commands;            // {command, result}
  Gauges& topology_version;
  Gauges& topology_refused;
  Gauges& renewal_failures;
  Gauges& renewal_next_timestamp;
  Histograms& push_duration;          // {source, result}
  Histograms& reconcile_duration;
};

}  // namespace ndsip::metrics
