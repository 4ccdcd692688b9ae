// The topology holder: push validates, stores and applies; a bad push changes nothing; diff
// previews without storing; rollback re-pushes the previous; new policies that refuse the
// accepted topology are refused with every problem and change nothing.
#include <gtest/gtest.h>

#include <fstream>

#include "control/command_table.hpp"
#include "daemon/topology_holder.hpp"
#include "part_fixture.hpp"
#include "topology/load.hpp"

using namespace ndsip;
using nlohmann::json;

namespace {

struct Rig {
  test::TempDir dir;
  daemon::StateStore store{dir.path("state")};
  daemon::TopologyHolder holder{"gms", store, test::shipped_policies()};
  control::CommandTable table;
  int applies = 0, previews = 0, adoptions = 0;
  daemon::TopologyHolder::Plan previewed;

  Rig() {
    holder.on_adopted([this](const daemon::TopologyHolder::Plan&) { ++adoptions; });
    holder.register_commands(
        table,
        [this](daemon::Done done) {
          ++applies;
          json r = {{"ok", true}, {"load", json::array()}, {"unload", json::array()}, {"unchanged", 0}};
          done(r);
        },
        [this](const daemon::TopologyHolder::Plan& plan, daemon::Done done) {
          ++previews;
          previewed = plan;
          done({{"ok", true}, {"load", json::array()}, {"unload", json::array()}, {"unchanged", 0}});
        });
  }

  json ask(json request) {
    json answer;
    table.dispatch(request, [&](json a) { answer = std::move(a); });
    return answer;
  }
};

}  // namespace

TEST(TopologyHolder, PushStoresAdoptsAndApplies) {
  Rig rig;
  const json a = rig.ask({{"command", "push"}, {"topology", test::small_topology(true)}});
  EXPECT_EQ(a["ok"], true) << a.dump();
  EXPECT_EQ(a["topology_version"], 1);
  EXPECT_FALSE(a.contains("version"));  // the protocol's key is "protocol": nothing to overwrite
  EXPECT_EQ(a["digest"].get<std::string>().size(), 16u);
  EXPECT_TRUE(a.contains("timing_ms"));
  EXPECT_EQ(rig.applies, 1);
  EXPECT_EQ(rig.adoptions, 1);
  EXPECT_EQ(rig.holder.plan()->connections.size(), 2u);
  EXPECT_EQ(rig.store.current()->version, 1u);
}

TEST(TopologyHolder, ABadPushChangesNothing) {
  Rig rig;
  rig.ask({{"command", "push"}, {"topology", test::small_topology(false)}});
  json bad = json::parse(test::small_topology(true));
  bad["nodes"][1]["addresses"][0] = "10.0.0.300";
  bad["nodes"][2]["role"] = "kettle";
  const json a = rig.ask({{"command", "push"}, {"topology", bad.dump()}});
  EXPECT_EQ(a["ok"], false);
  EXPECT_GE(a["problems"].size(), 2u) << a.dump(2);
  EXPECT_NE(a["error"].get<std::string>().find("nothing was changed"), std::string::npos);
  EXPECT_EQ(rig.applies, 1);
  EXPECT_EQ(rig.holder.version(), 1u);
  EXPECT_EQ(rig.holder.plan()->connections.size(), 1u);
  EXPECT_EQ(rig.store.current()->version, 1u);
  // A topology without this host is refused too: applied, it would remove every tunnel.
  json other = json::parse(test::small_topology(false));
  other["nodes"][0]["name"] = "gms-x";
  other["service_uses"][0]["seal_server"] = "gms-x";
  const json b = rig.ask({{"command", "push"}, {"topology", other.dump()}});
  EXPECT_EQ(b["ok"], false);
  EXPECT_NE(b.dump().find("this host's node \\\"gms\\\" is not in the topology"), std::string::npos) << b.dump();
  EXPECT_EQ(rig.store.current()->version, 1u);
}

TEST(TopologyHolder, DiffPreviewsWithoutStoring) {
  Rig rig;
  const json a = rig.ask({{"command", "diff"}, {"topology", test::small_topology(true)}});
  EXPECT_EQ(a["ok"], true);
  EXPECT_EQ(rig.previews, 1);
  ASSERT_TRUE(rig.previewed);
  EXPECT_EQ(rig.previewed->connections.size(), 2u);
  EXPECT_FALSE(rig.store.current());
  EXPECT_FALSE(rig.holder.has_topology());
  EXPECT_EQ(rig.ask({{"command", "diff"}})["error"], "malformed request: \"topology\" (the file's text) is missing");
}

TEST(TopologyHolder, RollbackRepushesThePrevious) {
  Rig rig;
  EXPECT_EQ(rig.ask({{"command", "rollback"}})["ok"], false);  // nothing to roll back to
  rig.ask({{"command", "push"}, {"topology", test::small_topology(false)}});
  rig.ask({{"command", "push"}, {"topology", test::small_topology(true)}});
  const json a = rig.ask({{"command", "rollback"}});
  EXPECT_EQ(a["ok"], true);
  EXPECT_EQ(a["topology_version"], 3);
  EXPECT_EQ(rig.holder.plan()->connections.size(), 1u);
}

TEST(TopologyHolder, PoliciesThatRefuseTheAcceptedTopologyAreRefusedWhole) {
  Rig rig;
  rig.ask({{"command", "push"}, {"topology", test::small_topology(false)}});
  const auto before = rig.holder.plan();
  // KM-S moved to another profile than SEAL-S: val1's one tunnel carries both, so the
  // templates now disagree on it.
  policy::PolicySet changed = test::shipped_policies();
  for (auto& [name, t] : changed.templates) {
    if (t.reference_point == "KM-S") t.zb_profile = "zb-integrity-only";
  }
  const auto replan = rig.holder.replan(changed);
  ASSERT_FALSE(replan.problems.empty());
  EXPECT_NE(replan.problems[0].find("accepted topology version 1"), std::string::npos) << replan.problems[0];
  EXPECT_NE(replan.problems[0].find("disagree"), std::string::npos) << replan.problems[0];
  EXPECT_EQ(rig.holder.plan(), before);  // nothing adopted
  EXPECT_EQ(rig.adoptions, 1);
  // Policies that still pass are committed, and the plan is re-made with them.
  rig.holder.commit(rig.holder.replan(test::shipped_policies()));
  EXPECT_EQ(rig.adoptions, 2);
}

TEST(TopologyHolder, AtStartTheStoredTopologyIsAdopted) {
  test::TempDir dir;
  daemon::StateStore store(dir.path("state"));
  store.accept(test::small_topology(true));
  daemon::TopologyHolder holder("gms", store, test::shipped_policies());
  EXPECT_TRUE(holder.load_stored());
  EXPECT_EQ(holder.version(), 1u);
  EXPECT_EQ(holder.plan()->connections.size(), 2u);
}

// Host val2's view: a stored version without val2 (pushed to the wrong hosts, or policies made
// stricter since) is refused, and the one before it is used.
TEST(TopologyHolder, AtStartItFallsBackThroughTheHistory) {
  test::TempDir dir;
  daemon::StateStore store(dir.path("state"));
  store.accept(test::small_topology(true));
  store.accept(test::small_topology(false));
  daemon::TopologyHolder holder("val2", store, test::shipped_policies());
  EXPECT_TRUE(holder.load_stored());
  EXPECT_EQ(holder.version(), 1u);
  EXPECT_EQ(holder.plan()->connections.size(), 1u);
  EXPECT_NE(holder.refused().find("stored topology version 2 refused"), std::string::npos) << holder.refused();
  EXPECT_NE(holder.refused().find("\"val2\" is not in the topology"), std::string::npos) << holder.refused();
}

TEST(TopologyHolder, NothingUsableAtStartAdoptsNothing) {
  test::TempDir dir;
  daemon::StateStore store(dir.path("state"));
  store.accept(test::small_topology(false));
  daemon::TopologyHolder holder("val2", store, test::shipped_policies());
  int adoptions = 0;
  holder.on_adopted([&](const daemon::TopologyHolder::Plan&) { ++adoptions; });
  EXPECT_FALSE(holder.load_stored());
  EXPECT_EQ(adoptions, 0);
  EXPECT_FALSE(holder.has_topology());
  EXPECT_EQ(holder.status()["version"], 0);
  EXPECT_NE(holder.status()["refused"].get<std::string>().find("version 1 refused"), std::string::npos);
}

// After a fall-back, the next push is stored against the newest stored version, so the
// journal's history stays whole.
TEST(TopologyHolder, APushAfterAFallBackIsStoredWhole) {
  test::TempDir dir;
  daemon::StateStore store(dir.path("state"));
  store.accept(test::small_topology(true));
  store.accept(test::small_topology(false));
  daemon::TopologyHolder holder("val2", store, test::shipped_policies());
  ASSERT_TRUE(holder.load_stored());
  control::CommandTable table;
  holder.register_commands(
      table, [](daemon::Done done) { done({{"ok", true}}); }, [](const daemon::TopologyHolder::Plan&, daemon::Done) {});
  json answer;
  table.dispatch({{"command", "push"}, {"topology", test::small_topology(true, "again")}},
                 [&](json a) { answer = std::move(a); });
  EXPECT_EQ(answer["topology_version"], 3) << answer.dump();
  const auto stored = topology::load_topology_text(store.current()->text);
  ASSERT_TRUE(stored.topology);
  EXPECT_EQ(stored.topology->name, "again");
  EXPECT_EQ(stored.topology->nodes.size(), 3u);
}

TEST(TopologyHolder, APushThatChangesNothingTouchesNothing) {
  Rig rig;
  rig.ask({{"command", "push"}, {"topology", test::small_topology(true)}});
  // The same topology, spelled differently (indentation, node order).
  json same = json::parse(test::small_topology(true));
  std::swap(same["nodes"][0], same["nodes"][2]);
  const json a = rig.ask({{"command", "push"}, {"topology", same.dump(8)}});
  EXPECT_EQ(a["ok"], true) << a.dump();
  EXPECT_EQ(a["topology_unchanged"], true);
  EXPECT_EQ(a["topology_version"], 1);
  EXPECT_NE(a["note"].get<std::string>().find("unchanged"), std::string::npos);
  EXPECT_EQ(rig.applies, 1);
  EXPECT_EQ(rig.adoptions, 1);
  EXPECT_EQ(rig.store.versions().size(), 1u);  // not stored again
  // A real change is stored and says what changed.
  const json b = rig.ask({{"command", "push"}, {"topology", test::small_topology(false)}});
  EXPECT_EQ(b["topology_version"], 2);
  EXPECT_EQ(b["topology_changes"]["removed"], json({"node val2", "service-use val2>gms"}));
}
