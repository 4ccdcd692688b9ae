// Health against a scripted charon: list-sas makes tunnels up with their real uptime, a
// garbled unique id is refused without ending anything, charon's log lines give a failure to
// the tunnel whose IKE_SA they name and to no other, down tunnels are initiated; the kept
// state is answered without a list-sas unless charon announced an SA gone since the last one.
#include <gtest/gtest.h>

#include <thread>

#include "daemon/health_monitor.hpp"
#include "part_fixture.hpp"
#include "support/loop.hpp"
#include "support/scripted_charon.hpp"

using namespace ndsip;
using namespace std::chrono_literals;
using test::run_until;

namespace {

// One IKE_SA of `connection` with one installed CHILD_SA, as list-sas streams it.
vici::Message ike_sa(const std::string& connection, const std::string& child, const std::string& uniqueid,
                     const std::string& install_time = "42") {
  vici::Message m;
  vici::Section& ike = m.add_section(connection);
  ike.set("uniqueid", uniqueid).set("state", "ESTABLISHED").set("version", "2");
  vici::Section& children = ike.add_section("child-sas");
  vici::Section& c = children.add_section(child + "-1");
  c.set("name", child).set("uniqueid", "3").set("state", "INSTALLED").set("install-time", install_time);
  c.set("rekey-time", "3000").set("bytes-in", "840").set("packets-in", "10");
  return m;
}

struct Rig {
  test::ScriptedCharon charon;
  boost::asio::io_context io;
  daemon::CharonLink link{io, charon.uri(), 2s};
  daemon::HealthMonitor health{io, link, daemon::HealthSettings{{}, 10s, 8}};
  std::vector<vici::Message> sas;

  explicit Rig(const std::string& node = "gms", const std::function<void(test::ScriptedCharon&)>& script = {}) {
    if (script) script(charon);
    charon.on("list-sas", [this](const vici::Message&) {
      test::ScriptedCharon::Answer a;
      a.streamed = sas;
      return a;
    });
    const daemon::Candidate c = daemon::evaluate(test::small_topology(true), test::shipped_policies(), node);
    EXPECT_TRUE(c.ok());
    health.set_desired(*c.plan);
    health.subscribe();
    link.on_up([this] { health.charon_up(); });
    link.start();
    EXPECT_TRUE(run_until(io, [&] { return link.up(); }));
  }

  void poll() {
    bool done = false;
    health.poll([&] { done = true; });
    EXPECT_TRUE(run_until(io, [&] { return done; }));
  }

  nlohmann::json tunnel(const std::string& peer) {
    for (const auto& t : health.tunnels()) {
      if (t["peer"] == peer) return t;
    }
    return {};
  }
};

}  // namespace

TEST(HealthMonitor, UpWithTheUptimeCharonReports) {
  Rig rig;
  rig.sas = {ike_sa("zb_gms_val1", "gms_val1", "7")};
  rig.poll();
  const auto t = rig.tunnel("val1");
  EXPECT_EQ(t["state"], "up") << t.dump();
  EXPECT_EQ(t["uptime_s"], 42);
  EXPECT_EQ(t["rekey_in_s"], 3000);
  EXPECT_EQ(t["ike_uniqueid"], 7);
  EXPECT_EQ(t["bytes_in"], 840);
  EXPECT_NE(rig.tunnel("val2")["state"], "up");
}

TEST(HealthMonitor, AGarbledUniqueIdIsRefusedAndNothingEnds) {
  Rig rig;
  rig.sas = {ike_sa("zb_gms_val1", "gms_val1", "7")};
  rig.poll();
  ASSERT_EQ(rig.tunnel("val1")["state"], "up");
  rig.sas = {ike_sa("zb_gms_val1", "gms_val1", "7; DROP")};
  ::testing::internal::CaptureStderr();
  rig.poll();
  const std::string logged = ::testing::internal::GetCapturedStderr();
  EXPECT_NE(logged.find("list-sas answer refused"), std::string::npos) << logged;
  EXPECT_NE(logged.find("not a number"), std::string::npos) << logged;
  // The unusable snapshot changed nothing, and the next good one is taken.
  EXPECT_EQ(rig.tunnel("val1")["state"], "up");
  rig.sas = {ike_sa("zb_gms_val1", "gms_val1", "8")};
  rig.poll();
  EXPECT_EQ(rig.tunnel("val1")["ike_uniqueid"], 8);
}

TEST(HealthMonitor, ALogLineGivesItsFailureToTheTunnelItNames) {
  Rig rig;
  rig.poll();  // both down
  vici::Message line;
  line.set("group", "IKE").set("level", "1").set("ikesa-name", "zb_gms_val2").set("ikesa-uniqueid", "4");
  line.set("msg", "received NO_PROPOSAL_CHOSEN notify error");
  rig.charon.event("log", line);
  ASSERT_TRUE(run_until(rig.io, [&] { return rig.tunnel("val2")["reason"] == "proposal-mismatch"; }));
  EXPECT_NE(rig.tunnel("val2")["last_error"].get<std::string>().find("proposal mismatch"), std::string::npos);
  // val1 is down too, but the line was not about it.
  EXPECT_EQ(rig.tunnel("val1")["reason"], "none");
  EXPECT_EQ(rig.tunnel("val1")["last_error"], "");
  // A line naming no IKE_SA is nobody's failure.
  vici::Message anonymous;
  anonymous.set("group", "IKE").set("msg", "giving up after 5 retransmits");
  rig.charon.event("log", anonymous);
  run_until(rig.io, [] { return false; }, 200ms);
  EXPECT_EQ(rig.tunnel("val1")["reason"], "none");
}

TEST(HealthMonitor, DownTunnelsOfTheInitiatingEndAreInitiated) {
  Rig rig;  // gms < val1, val2: gms initiates both
  rig.poll();
  ASSERT_TRUE(run_until(rig.io, [&] { return rig.charon.count("initiate") == 2; }));
  EXPECT_EQ(rig.tunnel("val1")["state"], "connecting");
  Rig responder("val1");  // "val1" > "gms": gms initiates, val1 keeps its traps
  responder.poll();
  run_until(responder.io, [] { return false; }, 200ms);
  EXPECT_EQ(responder.charon.count("initiate"), 0u);
}

TEST(HealthMonitor, ARefusedInitiateIsTheTunnelsFailure) {
  Rig rig("gms", [](test::ScriptedCharon& charon) {
    charon.on("initiate", [](const vici::Message&) {
      test::ScriptedCharon::Answer a;
      a.response.set("success", "no").set("errmsg", "CHILD_SA config 'x' not found");
      return a;
    });
  });
  rig.poll();
  ASSERT_TRUE(run_until(rig.io, [&] { return rig.tunnel("val1")["reason"] == "initiate-failed"; }))
      << rig.tunnel("val1").dump();
  EXPECT_NE(rig.tunnel("val1")["last_error"].get<std::string>().find("not found"), std::string::npos);
}

// charon retransmitting on an established IKE_SA: the peer stopped answering (restarted).
// At the first retransmit the tunnel is no longer up; at the second the IKE_SA is closed and
// initiated afresh from this end. Retransmits of another IKE_SA of the connection are not it.
TEST(HealthMonitor, AnUnansweredPeerIsNotUpAndIsReinitiated) {
  Rig rig("val1");  // val1 would not initiate by the rule ("gms" < "val1")
  rig.sas = {ike_sa("zb_val1_gms", "val1_gms", "7")};
  rig.poll();
  ASSERT_EQ(rig.tunnel("gms")["state"], "up");
  auto retransmit = [&](int n, const std::string& ike) {
    vici::Message line;
    line.set("group", "IKE").set("ikesa-name", "zb_val1_gms").set("ikesa-uniqueid", ike);
    line.set("msg", "retransmit " + std::to_string(n) + " of request with message ID 9");
    rig.charon.event("log", line);
  };
  ::testing::internal::CaptureStderr();
  retransmit(1, "8");  // a new IKE_SA of the connection: not the established one
  run_until(rig.io, [] { return false; }, 200ms);
  EXPECT_EQ(rig.tunnel("gms")["state"], "up");
  retransmit(1, "7");
  ASSERT_TRUE(run_until(rig.io, [&] { return rig.tunnel("gms")["state"] == "degraded"; }));
  EXPECT_EQ(rig.tunnel("gms")["reason"], "peer-not-answering");
  rig.sas = {};  // once terminated, charon lists no SA
  retransmit(2, "7");
  ASSERT_TRUE(run_until(rig.io, [&] { return rig.charon.count("terminate") == 1; }));
  ASSERT_TRUE(run_until(rig.io, [&] { return rig.charon.count("initiate") == 1; }));
  ::testing::internal::GetCapturedStderr();
  EXPECT_EQ(rig.tunnel("gms")["state"], "connecting");
}

// status answers from the state kept here: without an SA announced gone, current() answers
// at once and sends nothing to charon.
TEST(HealthMonitor, TheKeptStateIsAnsweredWithoutAListSas) {
  Rig rig;
  rig.sas = {ike_sa("zb_gms_val1", "gms_val1", "7")};
  rig.poll();
  const std::size_t polls = rig.charon.count("list-sas");
  bool answered = false;
  rig.health.current([&] { answered = true; });
  EXPECT_TRUE(answered) << "not at once";
  run_until(rig.io, [] { return false; }, 200ms);
  EXPECT_EQ(rig.charon.count("list-sas"), polls);
  EXPECT_EQ(rig.tunnel("val1")["state"], "up");
  // When: the list-sas just applied.
  const auto polled = rig.health.polled();
  EXPECT_TRUE(polled["at"].is_string()) << polled.dump();
  EXPECT_GE(polled["age_s"].get<double>(), 0.2) << polled.dump();
  EXPECT_LT(polled["age_s"].get<double>(), 5.0) << polled.dump();
}

TEST(HealthMonitor, BeforeTheFirstListSasThePollTimeIsNull) {
  test::ScriptedCharon charon;
  boost::asio::io_context io;
  daemon::CharonLink link{io, charon.uri(), 2s};
  daemon::HealthMonitor health{io, link, daemon::HealthSettings{{}, 10s, 8}};
  EXPECT_EQ(health.polled(), nlohmann::json({{"at", nullptr}, {"age_s", nullptr}}));
}

// charon announces an SA gone (an updown event without up=yes): until a list-sas sent after
// the announcement is applied, current() waits, so status never shows it up.
TEST(HealthMonitor, AnSaAnnouncedGoneIsNotUpUntilAListSasSentAfterIt) {
  Rig rig;
  rig.sas = {ike_sa("zb_gms_val1", "gms_val1", "7")};
  rig.poll();
  ASSERT_EQ(rig.tunnel("val1")["state"], "up");
  // charon deletes it; its list-sas answers take 300 ms from now on.
  rig.charon.on("list-sas", [](const vici::Message&) {
    std::this_thread::sleep_for(300ms);
    return test::ScriptedCharon::Answer{};
  });
  const std::size_t polls = rig.charon.count("list-sas");
  rig.charon.event("child-updown", ike_sa("zb_gms_val1", "gms_val1", "7"));
  // The event's list-sas is on its way (100 ms after the burst): it is the one to wait for.
  ASSERT_TRUE(run_until(rig.io, [&] { return rig.charon.count("list-sas") == polls + 1; }));
  bool answered = false;
  std::string state;
  rig.health.current([&] {
    answered = true;
    state = rig.tunnel("val1")["state"];
  });
  EXPECT_FALSE(answered) << "answered before the list-sas that follows the event";
  ASSERT_TRUE(run_until(rig.io, [&] { return answered; }));
  EXPECT_NE(state, "up");  // down, and initiated again at once: connecting
  EXPECT_EQ(rig.charon.count("list-sas"), polls + 1);
  // Held now: at once again.
  answered = false;
  rig.health.current([&] { answered = true; });
  EXPECT_TRUE(answered);
}

// An event while a list-sas is in flight: that list-sas may predate it, so another follows.
TEST(HealthMonitor, AnEventDuringAListSasInFlightGetsOneAfterIt) {
  Rig rig;
  rig.poll();
  ASSERT_NE(rig.tunnel("val1")["state"], "up");
  // The tunnel comes up; charon's list-sas answers take 300 ms from now on.
  rig.charon.on("list-sas", [sas = std::vector{ike_sa("zb_gms_val1", "gms_val1", "7")}](const vici::Message&) {
    std::this_thread::sleep_for(300ms);
    test::ScriptedCharon::Answer a;
    a.streamed = sas;
    return a;
  });
  const std::size_t polls = rig.charon.count("list-sas");
  // The event is on the wire before the list-sas is sent, and read after it was.
  vici::Message up = ike_sa("zb_gms_val1", "gms_val1", "7");
  up.set("up", "yes");
  rig.charon.event("child-updown", up);
  rig.health.poll();
  ASSERT_TRUE(run_until(rig.io, [&] { return rig.charon.count("list-sas") == polls + 2; }, 3s))
      << "no list-sas after the event";
  ASSERT_TRUE(run_until(rig.io, [&] { return rig.tunnel("val1")["state"] == "up"; }));
}
