// The reconciler against a scripted charon: a fresh charon gets every connection, a charon
// that holds them gets none, a refused load-conn is reported and tried again on the next
// pass, and push and diff answer with the same keys.
#include <gtest/gtest.h>

#include "daemon/reconciler.hpp"
#include "part_fixture.hpp"
#include "support/loop.hpp"
#include "support/scripted_charon.hpp"

using namespace ndsip;
using namespace std::chrono_literals;
using test::run_until;

namespace {

struct Rig {
  test::ScriptedCharon charon;
  test::TempDir dir;
  boost::asio::io_context io;
  daemon::StateStore store{dir.path("state")};
  daemon::CharonLink link{io, charon.uri(), 2s};
  daemon::Reconciler reconciler{io, link, store};
  std::set<std::string> held;  // what the scripted charon says it holds

  Rig() {
    charon.on("get-conns", [this](const vici::Message&) {
      test::ScriptedCharon::Answer a;
      a.response.set_list("conns", std::vector<std::string>(held.begin(), held.end()));
      return a;
    });
    link.start();
    EXPECT_TRUE(run_until(io, [&] { return link.up(); }));
  }

  daemon::Reconciler::Plan plan(const std::string& node, bool with_val2) {
    const daemon::Candidate c = daemon::evaluate(test::small_topology(with_val2), test::shipped_policies(), node);
    EXPECT_TRUE(c.ok());
    return c.plan;
  }

  nlohmann::json pass() {
    nlohmann::json result;
    bool done = false;
    reconciler.reconcile([&](nlohmann::json r) {
      result = std::move(r);
      done = true;
    });
    EXPECT_TRUE(run_until(io, [&] { return done; }));
    return result;
  }
};

}  // namespace

TEST(Reconciler, LoadsWhatIsMissingAndNothingTwice) {
  Rig rig;
  rig.reconciler.set_desired(rig.plan("gms", true));
  const auto first = rig.pass();
  EXPECT_EQ(first["ok"], true) << first.dump();
  EXPECT_EQ(first["load"], nlohmann::json({"zb_gms_val1", "zb_gms_val2"}));
  EXPECT_EQ(rig.charon.count("load-conn"), 2u);
  // charon now holds them: the next pass loads nothing.
  rig.held = {"zb_gms_val1", "zb_gms_val2"};
  const auto second = rig.pass();
  EXPECT_EQ(second["load"], nlohmann::json::array());
  EXPECT_EQ(second["unchanged"], 2);
  EXPECT_EQ(rig.charon.count("load-conn"), 2u);
  // val2 leaves: its connection is terminated and unloaded, val1's is not touched.
  rig.reconciler.set_desired(rig.plan("gms", false));
  const auto third = rig.pass();
  EXPECT_EQ(third["unload"], nlohmann::json({"zb_gms_val2"}));
  EXPECT_EQ(rig.charon.count("unload-conn"), 1u);
  EXPECT_EQ(rig.charon.count("load-conn"), 2u);
  EXPECT_EQ(rig.reconciler.last_apply(), third);
}

TEST(Reconciler, ARefusedLoadIsReportedAndTriedAgain) {
  Rig rig;
  rig.charon.on("load-conn", [](const vici::Message&) {
    test::ScriptedCharon::Answer a;
    a.response.set("success", "no").set("errmsg", "parsing request failed");
    return a;
  });
  rig.reconciler.set_desired(rig.plan("gms", false));
  ::testing::internal::CaptureStderr();
  const auto first = rig.pass();
  const std::string logged = ::testing::internal::GetCapturedStderr();
  EXPECT_EQ(first["ok"], false);
  ASSERT_EQ(first["errors"].size(), 1u) << first.dump();
  EXPECT_NE(first["errors"][0].get<std::string>().find("parsing request failed"), std::string::npos);
  EXPECT_NE(logged.find("load-conn zb_gms_val1 failed"), std::string::npos) << logged;
  // Not recorded as applied: the next pass sends it again.
  rig.pass();
  EXPECT_EQ(rig.charon.count("load-conn"), 2u);
}

TEST(Reconciler, PreviewAndApplyAnswerWithTheSameKeys) {
  Rig rig;
  const auto plan = rig.plan("gms", false);
  nlohmann::json preview;
  bool done = false;
  rig.reconciler.preview(plan, [&](nlohmann::json r) {
    preview = std::move(r);
    done = true;
  });
  ASSERT_TRUE(run_until(rig.io, [&] { return done; }));
  EXPECT_EQ(rig.charon.count("load-conn"), 0u);  // a preview changes nothing
  rig.reconciler.set_desired(plan);
  const auto applied = rig.pass();
  for (const char* key : {"ok", "load", "unload", "unchanged"}) {
    EXPECT_TRUE(preview.contains(key)) << key << " " << preview.dump();
    EXPECT_TRUE(applied.contains(key)) << key << " " << applied.dump();
    EXPECT_EQ(preview[key], applied[key]) << key;
  }
}

TEST(Reconciler, WithoutCharonItSaysItWillApplyLater) {
  test::TempDir dir;
  boost::asio::io_context io;
  daemon::StateStore store(dir.path("state"));
  daemon::CharonLink link(io, "unix:///nonexistent/charon.vici", 1s);
  daemon::Reconciler reconciler(io, link, store);
  reconciler.set_desired(daemon::evaluate(test::small_topology(), test::shipped_policies(), "gms").plan);
  nlohmann::json result;
  reconciler.reconcile([&](nlohmann::json r) { result = std::move(r); });
  EXPECT_EQ(result["ok"], true);
  EXPECT_NE(result["note"].get<std::string>().find("not reachable"), std::string::npos);
}

TEST(Reconciler, WithoutAnAcceptedTopologyCharonIsHeldAsItIs) {
  Rig rig;
  rig.held = {"zb_gms_val1", "zb_gms_val2"};
  const auto r = rig.pass();  // no set_desired: nothing accepted
  EXPECT_NE(r["note"].get<std::string>().find("held as it is"), std::string::npos) << r.dump();
  EXPECT_EQ(rig.charon.count("get-conns"), 0u);
  EXPECT_EQ(rig.charon.count("unload-conn"), 0u);
}

TEST(Reconciler, BetweenReconnectsWhatWasAppliedIsTrusted) {
  Rig rig;
  rig.reconciler.set_desired(rig.plan("gms", false));
  rig.pass();  // the first pass reads charon
  EXPECT_EQ(rig.charon.count("get-conns"), 1u);
  rig.held = {"zb_gms_val1"};
  // A one-peer change: the load-conn alone, no listing of every connection.
  rig.reconciler.set_desired(rig.plan("gms", true));
  const auto one = rig.pass();
  EXPECT_EQ(one["load"], nlohmann::json({"zb_gms_val2"}));
  EXPECT_EQ(one["vici_commands"], 1);
  EXPECT_EQ(rig.charon.count("get-conns"), 1u);
  // charon lost its connections (restarted): the next connect distrusts, reads, restores.
  rig.held = {};
  std::vector<std::string> restored;
  rig.reconciler.on_applied([&](const std::vector<std::string>& r) { restored = r; });
  rig.reconciler.distrust();
  const auto again = rig.pass();
  EXPECT_EQ(rig.charon.count("get-conns"), 2u);
  EXPECT_EQ(again["load"], nlohmann::json({"zb_gms_val1", "zb_gms_val2"}));
  EXPECT_EQ(restored, (std::vector<std::string>{"zb_gms_val1", "zb_gms_val2"}));
}

TEST(Reconciler, ACrossCheckReadsCharonAgain) {
  test::ScriptedCharon charon;
  test::TempDir dir;
  boost::asio::io_context io;
  daemon::StateStore store(dir.path("state"));
  daemon::CharonLink link(io, charon.uri(), 2s);
  daemon::Reconciler reconciler(io, link, store, 200ms);
  link.start();
  ASSERT_TRUE(run_until(io, [&] { return link.up(); }));
  reconciler.set_desired(daemon::evaluate(test::small_topology(), test::shipped_policies(), "gms").plan);
  bool done = false;
  reconciler.reconcile([&](const nlohmann::json&) { done = true; });
  ASSERT_TRUE(run_until(io, [&] { return done; }));
  EXPECT_TRUE(run_until(io, [&] { return charon.count("get-conns") >= 2; }, 2s));
}

// applied.json is a cache written off the push's path: not during the pass, once the passes
// are over (a second later), and on demand when ndsipd stops. A pass that changes nothing
// does not write it.
TEST(Reconciler, AppliedStateIsSavedAfterThePassesNotDuringThem) {
  Rig rig;
  rig.reconciler.set_desired(rig.plan("gms", true));
  rig.pass();
  EXPECT_TRUE(rig.store.load_applied().empty());
  EXPECT_TRUE(run_until(rig.io, [&] { return rig.store.load_applied().size() == 2; }, 3s));
  // val2 leaves; stopping before the timer writes what the pass changed.
  rig.held = {"zb_gms_val1", "zb_gms_val2"};
  rig.reconciler.set_desired(rig.plan("gms", false));
  const auto r = rig.pass();
  EXPECT_EQ(r["unload"], nlohmann::json({"zb_gms_val2"}));
  EXPECT_EQ(rig.store.load_applied().size(), 2u);
  rig.reconciler.flush_applied();
  const auto saved = rig.store.load_applied();
  ASSERT_EQ(saved.size(), 1u);
  EXPECT_EQ(saved.begin()->first, "zb_gms_val1");
  // Nothing changes: nothing is written (the file is removed to see it is not made again).
  std::filesystem::remove(rig.dir.path("state") + "/applied.json");
  rig.pass();
  rig.reconciler.flush_applied();
  EXPECT_TRUE(rig.store.load_applied().empty());
}

// After a clean pass the next trusted one walks the two plans: a plan that shares every
// connection with the one applied sends nothing.
TEST(Reconciler, AfterACleanPassTheNextDiffsThePlans) {
  Rig rig;
  const auto plan = rig.plan("gms", true);
  rig.reconciler.set_desired(plan);
  rig.pass();
  rig.held = {"zb_gms_val1", "zb_gms_val2"};
  auto same = std::make_shared<policy::NodePlan>(*plan);  // shares every connection object
  rig.reconciler.set_desired(same);
  const auto r = rig.pass();
  EXPECT_EQ(r["load"], nlohmann::json::array());
  EXPECT_EQ(r["unchanged"], 2);
  EXPECT_EQ(r["vici_commands"], 0);
  EXPECT_EQ(rig.charon.count("load-conn"), 2u);
}
