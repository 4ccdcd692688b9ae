// Golden outputs: every example topology, planned for every node, in all three renderings,
// compared byte for byte with tests/unit/planner/golden/<example>.txt. Topologies that show one
// planner rule rather than a deployment live next to their golden, as golden/<name>.json. After
// an intended change, regenerate with NDSIP_UPDATE_GOLDEN=1 and review the diff like code.
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "policy/plan.hpp"
#include "policy/render.hpp"
#include "topology/load.hpp"

using namespace ndsip;
namespace fs = std::filesystem;

namespace {

std::string slurp(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

std::string render_all(const topology::Topology& t, const policy::PolicySet& pol) {
  std::string out;
  const policy::Planner planner(t, pol);
  for (const topology::Node& n : t.nodes) {
    const policy::NodePlan plan = planner.plan(n.name);
    // The shared planner and a fresh one for this node alone agree.
    EXPECT_EQ(policy::render_json(plan), policy::render_json(policy::plan_node(t, pol, n.name)));
    out += "=== " + n.name + ": table\n" + policy::render_table(plan);
    out += "=== " + n.name + ": json\n" + policy::render_json(plan);
    out += "=== " + n.name + ": swanctl\n" + policy::render_swanctl(plan);
  }
  return out;
}

class Golden : public ::testing::TestWithParam<std::string> {};

}  // namespace

TEST_P(Golden, PlanMatches) {
  const std::string name = GetParam();
  const fs::path dir = fs::path(NDSIP_SOURCE_DIR) / "tests/unit/planner/golden";
  fs::path example = fs::path(NDSIP_SOURCE_DIR) / "examples" / (name + ".json");
  if (!fs::exists(example)) example = dir / (name + ".json");
  const fs::path golden = dir / (name + ".txt");
  topology::LoadResult t = topology::load_topology_file(example.string());
  ASSERT_TRUE(t.problems.empty()) << t.problems.front().to_string();
  policy::PolicyLoadResult pol = policy::load_policies(NDSIP_SOURCE_DIR "/policies",
                                                       NDSIP_SOURCE_DIR "/templates");
  ASSERT_TRUE(pol.problems.empty()) << pol.problems.front().to_string();

  const std::string actual = render_all(*t.topology, pol.set);
  // Deterministic: a second run gives the same bytes.
  EXPECT_EQ(actual, render_all(*t.topology, pol.set));
  if (const char* update = std::getenv("NDSIP_UPDATE_GOLDEN"); update && std::string(update) == "1") {
    std::ofstream(golden, std::ios::binary) << actual;
    GTEST_SKIP() << "updated " << golden;
  }
  ASSERT_TRUE(fs::exists(golden)) << golden << " is missing; run with NDSIP_UPDATE_GOLDEN=1";
  EXPECT_EQ(actual, slurp(golden)) << "plan of " << example << " differs from " << golden;
}

INSTANTIATE_TEST_SUITE_P(Examples, Golden,
                         ::testing::Values("two-domains-segs", "two-domains-no-seg", "capif",
                                           "sealdd-ipv6", "demo",
                                           // golden/*.json: selectors of the families both ends
                                           // protect; a Za hop to a domain without SEGs and
                                           // CAPIF-2 / CAPIF-2e by domain
                                           "families-through-segs", "seg-and-no-seg",
                                           // dedicated SEGs carry the transit, an integrated
                                           // one its own pairs; two SEGs a side: one active,
                                           // the other standby
                                           "redundant-segs"));
