// The per-tunnel series from status's tunnel table: the up gauge follows the state (a flap is
// seen, not smoothed), traffic counters carry on across rekeys (a new SPI counts from 0),
// failures are counted once per entry into a failing state, the event counters count only
// ndsipd's connections, and every series of a tunnel that left the plan goes with it.
#include <gtest/gtest.h>

#include "exposition.hpp"
#include "metrics/tunnel_series.hpp"

using namespace ndsip;
using metrics::TunnelRow;
using Clock = std::chrono::steady_clock;
using namespace std::chrono_literals;

namespace {

TunnelRow row(const std::string& state, const std::string& reason = "none", long long for_s = 0) {
  TunnelRow r;
  r.connection = "zb_gms_val1";
  r.child = "gms_val1";
  r.peer = "val1";
  r.zone = "zb";
  r.reference_points = "SEAL-S,KM-S";
  r.state = state;
  r.reason = reason;
  r.state_for_s = for_s;
  return r;
}

const std::map<std::string, std::string> val1{{"connection", "zb_gms_val1"}, {"child", "gms_val1"},
                                              {"peer", "val1"},           {"zone", "zb"},
                                              {"reference_points", "SEAL-S,KM-S"}};

struct Rig {
  metrics::Families f{"test"};
  metrics::TunnelSeries series{f};
  Clock::time_point now = Clock::now();
  void update(const std::vector<TunnelRow>& rows, std::chrono::milliseconds later = 0ms) {
    now += later;
    series.update(rows, now);
  }
  std::optional<double> value(const std::string& name, const std::map<std::string, std::string>& labels = val1) {
    return test::sample(f.text(), name, labels);
  }
  double failures(const std::string& reason) {
    return value("ndsip_tunnel_failures_total", {{"peer", "val1"}, {"reason", reason}}).value_or(0);
  }
};

}  // namespace

TEST(MetricsTunnels, TheUpGaugeFollowsEveryStateAndCarriesThePlansLabels) {
  Rig rig;
  rig.update({row("down")});
  EXPECT_EQ(rig.value("ndsip_tunnel_up"), 0);
  rig.update({row("up")}, 1s);
  EXPECT_EQ(rig.value("ndsip_tunnel_up"), 1);
  EXPECT_EQ(rig.value("ndsip_tunnels", {{"state", "up"}}), 1);
  EXPECT_EQ(rig.value("ndsip_tunnels", {{"state", "down"}}), 0);
  // A flap between two updates is shown as it is seen: down, then up again.
  rig.update({row("down", "sa-went-down")}, 1s);
  EXPECT_EQ(rig.value("ndsip_tunnel_up"), 0);
  rig.update({row("up")}, 1s);
  EXPECT_EQ(rig.value("ndsip_tunnel_up"), 1);
  // Degraded, revoked, connecting, standby: not up.
  for (const char* state : {"degraded", "revoked", "connecting", "standby"}) {
    rig.update({row(state, "black-hole")}, 1s);
    EXPECT_EQ(rig.value("ndsip_tunnel_up"), 0) << state;
  }
  rig.update({row("standby")}, 1s);
  EXPECT_EQ(rig.value("ndsip_tunnel_standby"), 1);
  EXPECT_EQ(rig.value("ndsip_tunnels", {{"state", "standby"}}), 1);
  rig.update({row("degraded", "black-hole")}, 1s);
  EXPECT_EQ(rig.value("ndsip_tunnel_black_hole"), 1);
  EXPECT_EQ(rig.value("ndsip_tunnel_standby"), 0);
  rig.update({row("degraded", "kernel-state-missing")}, 1s);
  EXPECT_EQ(rig.value("ndsip_tunnel_black_hole"), 0);
}

TEST(MetricsTunnels, TrafficCountersCarryOnAcrossRekeys) {
  Rig rig;
  TunnelRow r = row("up");
  r.spi_in = "c0000001";
  r.spi_out = "c0000002";
  r.bytes_in = 1000;
  r.packets_in = 10;
  r.bytes_out = 2000;
  r.packets_out = 20;
  rig.update({r});
  EXPECT_EQ(rig.value("ndsip_tunnel_inbound_bytes_total"), 1000);
  EXPECT_EQ(rig.value("ndsip_tunnel_outbound_packets_total"), 20);
  r.bytes_in = 1500;
  r.packets_out = 25;
  rig.update({r}, 1s);
  EXPECT_EQ(rig.value("ndsip_tunnel_inbound_bytes_total"), 1500);
  EXPECT_EQ(rig.value("ndsip_tunnel_outbound_packets_total"), 25);
  // Rekeyed: new SAs, whose counters start again from 0.
  r.spi_in = "c0000003";
  r.spi_out = "c0000004";
  r.bytes_in = 100;
  r.packets_out = 2;
  rig.update({r}, 1s);
  EXPECT_EQ(rig.value("ndsip_tunnel_inbound_bytes_total"), 1600);
  EXPECT_EQ(rig.value("ndsip_tunnel_outbound_packets_total"), 27);
  // Down: the last SA's counters stay in the table; nothing is added twice.
  r.state = "down";
  r.reason = "sa-went-down";
  rig.update({r}, 1s);
  EXPECT_EQ(rig.value("ndsip_tunnel_inbound_bytes_total"), 1600);
}

TEST(MetricsTunnels, AFailureIsCountedOncePerEntryIntoAFailingState) {
  Rig rig;
  rig.update({row("down")});  // never tried yet: no reason, no failure
  EXPECT_EQ(rig.failures("none"), 0);
  EXPECT_EQ(rig.value("ndsip_tunnel_failures_total", {{"peer", "val1"}}), std::nullopt);
  rig.update({row("up")}, 1s);
  rig.update({row("down", "sa-went-down", 0)}, 1s);
  EXPECT_EQ(rig.failures("sa-went-down"), 1);
  // The same episode seen again (its time in the state grows with the clock): not again.
  rig.update({row("down", "sa-went-down", 5)}, 5s);
  rig.update({row("down", "sa-went-down", 5)}, 400ms);  // the second rounded down
  EXPECT_EQ(rig.failures("sa-went-down"), 1);
  // Its reason changes while down: counted under the new reason.
  rig.update({row("down", "retransmit-timeout", 7)}, 2s);
  EXPECT_EQ(rig.failures("retransmit-timeout"), 1);
  // Retried and failed again between two updates (connecting not seen): its state started
  // over, which tells a new entry.
  rig.update({row("down", "retransmit-timeout", 1)}, 10s);
  EXPECT_EQ(rig.failures("retransmit-timeout"), 2);
  // Retrying (connecting with the reason it had) is not a failure; down again from it is.
  rig.update({row("connecting", "retransmit-timeout", 0)}, 1s);
  EXPECT_EQ(rig.failures("retransmit-timeout"), 2);
  rig.update({row("down", "retransmit-timeout", 0)}, 1s);
  EXPECT_EQ(rig.failures("retransmit-timeout"), 3);
  // Lost and initiated again at once (within one list-sas): never seen down, still counted;
  // seen again connecting in the same attempt, not again.
  rig.update({row("up")}, 1s);
  rig.update({row("connecting", "sa-went-down", 0)}, 1s);
  rig.update({row("connecting", "sa-went-down", 2)}, 2s);
  EXPECT_EQ(rig.failures("sa-went-down"), 2);
  // The attempt times out (the reason stays): down from connecting is a failure.
  rig.update({row("down", "sa-went-down", 0)}, 30s);
  EXPECT_EQ(rig.failures("sa-went-down"), 3);
  // Degraded and revoked count too.
  rig.update({row("up")}, 1s);
  rig.update({row("degraded", "black-hole")}, 1s);
  rig.update({row("revoked", "certificate-revoked")}, 1s);
  EXPECT_EQ(rig.failures("black-hole"), 1);
  EXPECT_EQ(rig.failures("certificate-revoked"), 1);
}

TEST(MetricsTunnels, EventCountersCountOnlyNdsipdsConnections) {
  Rig rig;
  rig.series.initiated("zb_gms_val1");  // before the table: unknown
  rig.series.rekeyed("someone-elses", "ike");
  EXPECT_EQ(rig.value("ndsip_tunnel_initiations_total", {}), std::nullopt);
  rig.update({row("down")});
  EXPECT_TRUE(rig.series.has("zb_gms_val1"));
  rig.series.initiated("zb_gms_val1");
  rig.series.initiated("zb_gms_val1");
  rig.series.rekeyed("zb_gms_val1", "child");
  rig.series.rekeyed("zb_gms_val1", "ike");
  rig.series.rekeyed("someone-elses", "ike");
  EXPECT_EQ(rig.value("ndsip_tunnel_initiations_total", {{"connection", "zb_gms_val1"}, {"peer", "val1"}}), 2);
  EXPECT_EQ(rig.value("ndsip_rekeys_total", {{"connection", "zb_gms_val1"}, {"kind", "child"}}), 1);
  EXPECT_EQ(rig.value("ndsip_rekeys_total", {{"kind", "ike"}, {"peer", "val1"}}), 1);
  EXPECT_EQ(test::count_samples(rig.f.text(), "ndsip_rekeys_total"), 2u);
}

TEST(MetricsTunnels, ATunnelThatLeavesThePlanTakesItsSeriesWithIt) {
  Rig rig;
  TunnelRow other = row("up");
  other.connection = "zb_gms_val2";
  other.child = "gms_val2";
  other.peer = "val2";
  rig.update({row("down", "sa-went-down"), other});
  rig.series.initiated("zb_gms_val1");
  rig.series.rekeyed("zb_gms_val1", "ike");
  EXPECT_EQ(test::count_samples(rig.f.text(), "ndsip_tunnel_up"), 2u);
  rig.update({other}, 1s);
  const std::string text = rig.f.text();
  EXPECT_EQ(test::count_samples(text, "ndsip_tunnel_up"), 1u);
  for (const char* name : {"ndsip_tunnel_up", "ndsip_tunnel_inbound_bytes_total", "ndsip_tunnel_failures_total",
                           "ndsip_tunnel_initiations_total", "ndsip_rekeys_total", "ndsip_tunnel_standby"}) {
    EXPECT_EQ(test::sample(text, name, {{"peer", "val1"}}), std::nullopt) << name;
  }
  EXPECT_EQ(test::sample(text, "ndsip_tunnel_up", {{"peer", "val2"}}), 1);
  // A label of the plan changing (the reference points) makes the series anew.
  other.reference_points = "SEAL-S";
  rig.update({other}, 1s);
  EXPECT_EQ(test::count_samples(rig.f.text(), "ndsip_tunnel_up"), 1u);
  EXPECT_EQ(test::sample(rig.f.text(), "ndsip_tunnel_up", {{"reference_points", "SEAL-S"}}), 1);
}

TEST(MetricsTunnels, StatusRowsAreReadWithoutTrustingTheirShape) {
  const auto rows = metrics::rows_from_status(nlohmann::json::parse(R"([
    {"connection":"c","child":"ch","peer":"p","zone":"za","reference_points":["SEAL-E","SEALDD-E"],
     "state":"up","reason":"none","spi_in":"1","spi_out":"2","bytes_in":5,"bytes_out":6,"packets_in":7,
     "packets_out":8,"state_for_s":9},
    {"connection":3,"reference_points":"x","bytes_in":"many"},
    "not a row", null, 42])"));
  ASSERT_EQ(rows.size(), 2u);
  EXPECT_EQ(rows[0].reference_points, "SEAL-E,SEALDD-E");
  EXPECT_EQ(rows[0].packets_out, 8u);
  EXPECT_EQ(rows[0].state_for_s, 9);
  EXPECT_EQ(rows[1].connection, "");
  EXPECT_EQ(rows[1].bytes_in, 0u);
  EXPECT_TRUE(metrics::rows_from_status(nlohmann::json::object()).empty());
  EXPECT_TRUE(metrics::rows_from_status(nlohmann::json()).empty());
}

TEST(MetricsTunnels, LabelValuesAreEscapedInTheTextFormat) {
  Rig rig;
  TunnelRow r = row("up");
  r.peer = "odd\"peer\\name\nx";
  rig.update({r});
  EXPECT_EQ(test::sample(rig.f.text(), "ndsip_tunnel_up", {{"peer", r.peer}}), 1);
}
