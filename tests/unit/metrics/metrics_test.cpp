// The daemon-facing side: gauges are read from the sources at every scrape (a tunnel taken
// down reads 0 at the next scrape, not at the next event), certificates replaced whole, VICI
// commands and rekey events counted, durations observed.
#include <gtest/gtest.h>

#include "exposition.hpp"
#include "metrics/listen_address.hpp"
#include "metrics/metrics.hpp"

using namespace ndsip;
using nlohmann::json;

namespace {

json tunnel(const std::string& state, const std::string& reason = "none") {
  return {{"connection", "zb_gms_val1"}, {"child", "gms_val1"}, {"peer", "val1"}, {"zone", "zb"},
          {"reference_points", {"SEAL-S"}}, {"state", state}, {"reason", reason}, {"state_for_s", 0}};
}

struct Rig {
  json rows = json::array({tunnel("up")});
  bool charon = true;
  std::uint64_t version = 3;
  bool refused = false;
  metrics::Renewal renewal{0, 1800000000};
  std::vector<metrics::Certificate> certs{{"own", "gms.unit.test", "CN=gms", "0A", 1800000000},
                                          {"ca", "", "CN=unit CA", "01", 1900000000}};
  int scrapes = 0;
  metrics::Metrics m{"1.2.3", sources()};

  metrics::Sources sources() {
    metrics::Sources s;
    s.tunnels = [this] {
      ++scrapes;
      return rows;
    };
    s.polled = [] { return json{{"at", nullptr}, {"age_s", nullptr}}; };
    s.charon_connected = [this] { return charon; };
    s.topology_version = [this] { return version; };
    s.topology_refused = [this] { return refused; };
    s.certificates = [this] { return certs; };
    s.renewal = [this] { return renewal; };
    return s;
  }
};

}  // namespace

TEST(MetricsDaemonState, GaugesAreReadFreshAtEveryScrape) {
  Rig rig;
  std::string text = rig.m.text();
  EXPECT_EQ(test::sample(text, "ndsip_tunnel_up", {{"peer", "val1"}, {"reference_points", "SEAL-S"}}), 1);
  EXPECT_EQ(test::sample(text, "ndsip_charon_connected"), 1);
  EXPECT_EQ(test::sample(text, "ndsip_topology_version"), 3);
  EXPECT_EQ(test::sample(text, "ndsip_topology_refused"), 0);
  EXPECT_EQ(test::sample(text, "ndsip_health_poll_timestamp_seconds"), 0);  // no list-sas yet
  EXPECT_EQ(test::sample(text, "ndsip_certificate_renewal_failures"), 0);
  EXPECT_EQ(test::sample(text, "ndsip_certificate_renewal_next_timestamp_seconds"), 1800000000);
  rig.rows = json::array({tunnel("down", "sa-went-down")});
  rig.charon = false;
  rig.version = 4;
  rig.refused = true;
  rig.renewal = {3, 0};  // three failures, an attempt running
  text = rig.m.text();
  EXPECT_EQ(test::sample(text, "ndsip_certificate_renewal_failures"), 3);
  EXPECT_EQ(test::sample(text, "ndsip_certificate_renewal_next_timestamp_seconds"), 0);
  EXPECT_EQ(test::sample(text, "ndsip_tunnel_up", {{"peer", "val1"}}), 0);
  EXPECT_EQ(test::sample(text, "ndsip_tunnel_failures_total", {{"reason", "sa-went-down"}}), 1);
  EXPECT_EQ(test::sample(text, "ndsip_charon_connected"), 0);
  EXPECT_EQ(test::sample(text, "ndsip_topology_version"), 4);
  EXPECT_EQ(test::sample(text, "ndsip_topology_refused"), 1);
}

TEST(MetricsDaemonState, ListSasBurstsAreReadAtMostOnceASecondScrapesAlways) {
  Rig rig;
  rig.m.tunnels_changed();
  rig.m.tunnels_changed();  // a burst: skipped
  EXPECT_EQ(rig.scrapes, 1);
  rig.m.text();
  rig.m.text();
  EXPECT_EQ(rig.scrapes, 3);
  rig.m.tunnels_changed();
  EXPECT_EQ(rig.scrapes, 3);
}

TEST(MetricsDaemonState, ThePollTimestampIsWhenTheLastListSasWasApplied) {
  metrics::Sources s;
  s.polled = [] { return json{{"at", "2026-11-30T12:00:00Z"}, {"age_s", 2.0}}; };
  metrics::Metrics m("x", s);
  const double now = std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
  const auto at = test::sample(m.text(), "ndsip_health_poll_timestamp_seconds");
  ASSERT_TRUE(at);
  EXPECT_NEAR(*at, now - 2.0, 1.0);
}

TEST(MetricsDaemonState, CertificatesAreReplacedWhole) {
  Rig rig;
  std::string text = rig.m.text();
  EXPECT_EQ(test::sample(text, "ndsip_certificate_expiry_timestamp_seconds", {{"role", "own"}, {"serial", "0A"}}),
            1800000000);
  EXPECT_EQ(test::sample(text, "ndsip_certificate_expiry_timestamp_seconds", {{"role", "ca"}}), 1900000000);
  rig.m.peer_certificates({{"peer", "val1.unit.test", "CN=val1", "0B", 1850000000}});
  // Renewed: the new serial's series replaces the old one's.
  rig.certs[0] = {"own", "gms.unit.test", "CN=gms", "0C", 1810000000};
  text = rig.m.text();
  EXPECT_EQ(test::sample(text, "ndsip_certificate_expiry_timestamp_seconds", {{"serial", "0A"}}), std::nullopt);
  EXPECT_EQ(test::sample(text, "ndsip_certificate_expiry_timestamp_seconds", {{"serial", "0C"}}), 1810000000);
  EXPECT_EQ(test::sample(text, "ndsip_certificate_expiry_timestamp_seconds",
                         {{"role", "peer"}, {"identity", "val1.unit.test"}}),
            1850000000);
  rig.m.peer_certificates({});
  EXPECT_EQ(test::count_samples(rig.m.text(), "ndsip_certificate_expiry_timestamp_seconds"), 2u);
}

TEST(MetricsDaemonState, ViciCommandsAndRekeyEventsAreCounted) {
  Rig rig;
  rig.m.vici_command("load-conn", "", "ok");
  rig.m.vici_command("load-conn", "", "ok");
  rig.m.vici_command("load-conn", "", "command-failed");
  // An initiation of a tunnel not yet in the metrics: the table is read first.
  EXPECT_EQ(rig.scrapes, 0);
  rig.m.vici_command("initiate", "zb_gms_val1", "ok");
  EXPECT_EQ(rig.scrapes, 1);
  rig.m.vici_command("initiate", "zb_gms_val1", "timeout");
  vici::Message child;
  child.add_section("zb_gms_val1").add_section("child-sas");
  rig.m.rekey_event("child-rekey", child);
  vici::Message ike;
  ike.add_section("zb_gms_val1");
  rig.m.rekey_event("ike-rekey", ike);
  rig.m.rekey_event("ike-updown", ike);       // not a rekey
  rig.m.rekey_event("ike-rekey", vici::Message());  // no section: nothing
  const std::string text = rig.m.text();
  EXPECT_EQ(test::sample(text, "ndsip_vici_commands_total", {{"command", "load-conn"}, {"result", "ok"}}), 2);
  EXPECT_EQ(test::sample(text, "ndsip_vici_commands_total", {{"command", "load-conn"}, {"result", "command-failed"}}),
            1);
  EXPECT_EQ(test::sample(text, "ndsip_vici_commands_total", {{"command", "initiate"}, {"result", "timeout"}}), 1);
  EXPECT_EQ(test::sample(text, "ndsip_tunnel_initiations_total", {{"peer", "val1"}}), 2);
  EXPECT_EQ(test::sample(text, "ndsip_rekeys_total", {{"kind", "child"}}), 1);
  EXPECT_EQ(test::sample(text, "ndsip_rekeys_total", {{"kind", "ike"}}), 1);
}

TEST(MetricsDaemonState, DurationsAreObservedInHistograms) {
  Rig rig;
  rig.m.push_done("control", true, std::chrono::milliseconds(40));
  rig.m.push_done("control", false, std::chrono::milliseconds(3));
  rig.m.push_done("etcd", true, std::chrono::seconds(2));
  rig.m.reconcile_done(std::chrono::milliseconds(20));
  const std::string text = rig.m.text();
  EXPECT_EQ(test::sample(text, "ndsip_push_duration_seconds_count", {{"source", "control"}, {"result", "applied"}}), 1);
  EXPECT_EQ(test::sample(text, "ndsip_push_duration_seconds_bucket",
                         {{"source", "control"}, {"result", "applied"}, {"le", "0.05"}}),
            1);
  EXPECT_EQ(test::sample(text, "ndsip_push_duration_seconds_bucket",
                         {{"source", "control"}, {"result", "applied"}, {"le", "0.025"}}),
            0);
  EXPECT_EQ(test::sample(text, "ndsip_push_duration_seconds_count", {{"source", "control"}, {"result", "refused"}}), 1);
  EXPECT_EQ(test::sample(text, "ndsip_push_duration_seconds_count", {{"source", "etcd"}}), 1);
  EXPECT_EQ(test::sample(text, "ndsip_reconcile_duration_seconds_count"), 1);
  EXPECT_NEAR(*test::sample(text, "ndsip_reconcile_duration_seconds_sum"), 0.02, 1e-9);
}

TEST(MetricsListenAddress, NumericAddressesWithAPort) {
  EXPECT_EQ(metrics::parse_listen_address("127.0.0.1:9474").port(), 9474);
  EXPECT_EQ(metrics::parse_listen_address("0.0.0.0:1").address().to_string(), "0.0.0.0");
  EXPECT_EQ(metrics::parse_listen_address("[::1]:9474").address().to_string(), "::1");
  EXPECT_TRUE(metrics::parse_listen_address("[::]:65535").address().is_v6());
  EXPECT_EQ(metrics::parse_listen_address("127.0.0.1:0", true).port(), 0);
  for (const char* bad : {"", "9474", ":9474", "127.0.0.1", "127.0.0.1:", "127.0.0.1:0", "127.0.0.1:65536",
                          "127.0.0.1:-1", "127.0.0.1:94x", "localhost:9474", "::1:9474", "[::1]", "[127.0.0.1]:80",
                          "[::1:80", "300.1.1.1:80", "127.0.0.1:99999999999999999999"}) {
    EXPECT_THROW(metrics::parse_listen_address(bad), std::invalid_argument) << bad;
  }
  try {
    metrics::parse_listen_address("localhost:9474");
  } catch (const std::invalid_argument& e) {
    EXPECT_NE(std::string(e.what()).find("\"localhost\" is not an IP address"), std::string::npos) << e.what();
  }
}
