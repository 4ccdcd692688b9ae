// What status shows of the tunnels: the same rows as the initializer-list construction they
// replace (its copy below is the reference), SA ages counted on from the last list-sas, and
// the counts ndsipctl's exit code is read from.
#include <gtest/gtest.h>

#include <set>

#include <nlohmann/json.hpp>

#include "health/status_view.hpp"
#include "health/tunnels.hpp"
#include "reconcile/connection_section.hpp"

using namespace ndsip;
using namespace std::chrono_literals;
using nlohmann::json;

namespace {

// HealthMonitor::tunnels() as it was before status_view (commit 3cf9513), with the kernel
// column added since (issue 13).
json reference_rows(const health::Tunnels& tunnels, health::Clock::time_point now) {
  json out = json::array();
  for (const auto& [key, t] : tunnels.all()) {
    out.push_back({{"connection", t.connection},
                   {"child", t.child},
                   {"peer", t.peer},
                   {"reference_points", t.reference_points},
                   {"zone", t.zone},
                   {"profile", t.profile},
                   {"state", t.revoked() ? "revoked" : health::to_string(t.state)},
                   {"initiator", t.initiator},
                   {"state_for_s", std::chrono::duration_cast<std::chrono::seconds>(now - t.since).count()},
                   {"uptime_s", t.established},
                   {"rekey_in_s", t.rekey_in},
                   {"bytes_in", t.bytes_in},
                   {"bytes_out", t.bytes_out},
                   {"packets_in", t.packets_in},
                   {"packets_out", t.packets_out},
                   {"ike_uniqueid", t.ike_uniqueid},
                   {"spi_in", t.spi_in},
                   {"spi_out", t.spi_out},
                   {"reason", health::code(t.failure)},
                   {"kernel", t.kernel},
                   {"last_error", t.last_error()}});
  }
  return out;
}

policy::NodePlan plan_with(int peers) {
  policy::NodePlan p;
  p.node = "a";
  for (int i = 0; i < peers; ++i) {
    policy::ConnectionPlan c;
    c.peer = "p" + std::to_string(i);
    c.name = "zb_a_" + c.peer;
    c.profile = "zb-default";
    policy::ChildPlan ch;
    ch.name = "a_" + c.peer;
    ch.reference_points = {"KM-S", "SEAL-S"};
    c.children = {ch};
    p.connections.push_back(c);
  }
  return p;
}

vici::IkeSa sa(int peer, unsigned long long install_time, unsigned long long rekey_time) {
  vici::IkeSa s;
  s.name = "zb_a_p" + std::to_string(peer);
  s.uniqueid = 7 + static_cast<unsigned long long>(peer);
  s.state = "ESTABLISHED";
  vici::ChildSa c;
  c.name = "a_p" + std::to_string(peer);
  c.state = "INSTALLED";
  c.uniqueid = 1;
  c.bytes_in = 840;
  c.bytes_out = 1000;
  c.packets_in = 10;
  c.packets_out = 12;
  c.spi_in = "c0ffee01";
  c.spi_out = "c0ffee02";
  c.install_time = install_time;
  c.rekey_time = rekey_time;
  s.children = {c};
  return s;
}

// Tunnels in every state status shows: up, down with a reason, revoked, connecting, degraded.
health::Tunnels every_state(health::Clock::time_point now) {
  health::Tunnels t;
  t.set_desired(plan_with(5), &reconcile::is_initiator);
  t.observe({sa(0, 42, 3000), sa(4, 5, 20)}, now - 30s);
  t.note("zb_a_p1", health::Failure::proposal_mismatch);
  t.note("zb_a_p2", health::Failure::certificate_revoked, "serial 0A");
  t.started("zb_a_p3/a_p3", now - 2s);
  t.unanswered("zb_a_p4", 0, now - 1s);
  return t;
}

}  // namespace

TEST(StatusView, RowsAreTheRowsStatusShowedBefore) {
  const auto now = health::Clock::now();
  const health::Tunnels t = every_state(now);
  const json rows = health::tunnel_rows(t, now, 0s);
  EXPECT_EQ(rows, reference_rows(t, now));
  // Serialised the same too (keys in order): ndsipctl's --json output does not change.
  EXPECT_EQ(rows.dump(), reference_rows(t, now).dump());
  std::set<std::string> states;
  for (const json& r : rows) states.insert(r["state"].get<std::string>());
  EXPECT_EQ(states, (std::set<std::string>{"connecting", "degraded", "down", "revoked", "up"}));
}

TEST(StatusView, SaAgesAreCountedOnFromTheLastListSas) {
  const auto now = health::Clock::now();
  const health::Tunnels t = every_state(now);
  const json rows = health::tunnel_rows(t, now, 25s);
  const json reference = reference_rows(t, now);
  for (std::size_t i = 0; i < rows.size(); ++i) {
    const std::string state = rows[i]["state"];
    if (state == "up" || state == "degraded") {
      // Installed 42 s before the list-sas, which was 25 s ago; rekeyed at 0, not before it.
      EXPECT_EQ(rows[i]["uptime_s"], reference[i]["uptime_s"].get<unsigned long long>() + 25) << rows[i].dump();
      const auto rekey = reference[i]["rekey_in_s"].get<unsigned long long>();
      EXPECT_EQ(rows[i]["rekey_in_s"], rekey > 25 ? rekey - 25 : 0) << rows[i].dump();
    } else {
      EXPECT_EQ(rows[i]["uptime_s"], 0) << rows[i].dump();
      EXPECT_EQ(rows[i]["rekey_in_s"], 0) << rows[i].dump();
    }
    // Everything else as it was.
    json a = rows[i], b = reference[i];
    for (json* r : {&a, &b}) r->erase("uptime_s"), r->erase("rekey_in_s");
    EXPECT_EQ(a, b);
  }
}

TEST(StatusView, CountsPerStateAsTheRowsShowThem) {
  const auto now = health::Clock::now();
  const json counts = health::tunnel_counts(every_state(now));
  EXPECT_EQ(counts, json({{"total", 5}, {"up", 1}, {"connecting", 1}, {"down", 1}, {"degraded", 1}, {"revoked", 1}, {"standby", 0}}));
  EXPECT_EQ(health::tunnel_counts(health::Tunnels{}),
            json({{"total", 0}, {"up", 0}, {"connecting", 0}, {"down", 0}, {"degraded", 0}, {"revoked", 0}, {"standby", 0}}));
}

TEST(StatusView, UtcTime) {
  EXPECT_EQ(health::utc_time(std::chrono::system_clock::from_time_t(0)), "1970-01-01T00:00:00Z");
  EXPECT_EQ(health::utc_time(std::chrono::system_clock::from_time_t(1790000000)), "2026-09-21T14:13:20Z");
}

// The text status sends is byte for byte the DOM's dump, in every state and with strings that
// need escaping: quotes, backslashes, control characters, UTF-8 and invalid UTF-8.
TEST(StatusView, RowsTextIsTheDumpOfTheRows) {
  const auto now = health::Clock::now();
  health::Tunnels t = every_state(now);
  // Written by hand (quotes and backslashes only), then through nlohmann (the rest).
  for (const std::string detail : {R"(peer said "no" \ twice)",
                                   "peer said \"no\" \\ twice\n\ttab \x01 caf\xc3\xa9 bad \xff\xfe end"}) {
    t.note("zb_a_p1", health::Failure::proposal_mismatch, detail);
    for (const auto since : {0s, 25s}) {
      const std::string text = health::tunnel_rows_text(t, now, since);
      EXPECT_EQ(text, health::tunnel_rows(t, now, since).dump(-1, ' ', false, json::error_handler_t::replace));
      EXPECT_NE(text.find(R"(said \"no\" \\ twice)"), std::string::npos) << text;
    }
  }
  EXPECT_EQ(health::tunnel_rows_text(health::Tunnels{}, now, 0s), "[]");
}
