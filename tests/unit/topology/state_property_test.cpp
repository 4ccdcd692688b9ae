// The property of the incremental check (state.hpp): for random topologies, valid and
// invalid, and random changes to them, checking the changed document against the state
// gives exactly the problems of a full load of it (pointer, message and line), and what it
// keeps is the same model. Names, addresses and identities come from small pools, so clashes,
// unknown references and wrong roles are common; a few documents cannot be cut into objects
// at all and take the full path.
#include <gtest/gtest.h>

#include <algorithm>
#include <nlohmann/json.hpp>

#include "topology/delta.hpp"
#include "topology/load.hpp"
#include "topology/state.hpp"
#include "support/random_topology.hpp"

using namespace ndsip::topology;
using nlohmann::json;
using ndsip::testing::Generator;

namespace {

std::string to_text(const std::vector<Problem>& problems) {
  std::string out;
  for (const Problem& p : problems) out += std::to_string(p.line) + " " + p.to_string() + "\n";
  return out;
}

}  // namespace

TEST(StateProperty, IncrementalCheckGivesTheProblemsOfAFullLoad) {
  int incremental = 0, incremental_with_problems = 0, valid = 0, total = 0;
  for (unsigned seed = 1; seed <= 200; ++seed) {
    Generator gen(seed);
    TopologyState state;
    json doc = gen.topology();
    // A chain of changes, each checked against the state the previous one left (kept even
    // with problems: a datastore can hold an invalid topology for a while).
    for (int step = 0; step < 8; ++step) {
      const std::string text = doc.dump(1);
      Proposal p = state.propose(text);
      const LoadResult full = load_topology_text(text);
      ++total;
      ASSERT_EQ(to_text(p.problems), to_text(full.problems)) << "seed " << seed << " step " << step << "\n" << text;
      if (!p.checked_in_full) {
        ++incremental;
        if (!p.problems.empty()) ++incremental_with_problems;
      }
      if (full.topology) {
        ++valid;
        // What is kept is the model a full load builds, in the same order.
        const Topology kept = state.topology();
        EXPECT_TRUE(diff(kept, *full.topology).empty()) << "seed " << seed << " step " << step;
        EXPECT_EQ(kept.nodes.size(), full.topology->nodes.size());
      }
      // Half the time the proposal is taken back: the state must be the one before.
      if (step > 0 && (gen.chance(50) || (!p.problems.empty() && gen.chance(50)))) {
        state.abort();
      } else {
        state.commit();
      }
      gen.change(doc);
    }
  }
  // The incremental path must be what is exercised, including with problems.
  EXPECT_GT(incremental, total / 2) << incremental << " of " << total;
  EXPECT_GT(incremental_with_problems, total / 4);
  EXPECT_GT(valid, 20);
}

// The same with the text spelt one way or another from step to step: mostly as before (its
// unchanged elements repeat the text in force byte for byte and are not parsed again),
// sometimes respaced (all parsed, compared by content), sometimes in a form that is parsed
// whole (a byte order mark, an escaped key): every change of path between two checks, and
// aborts between them.
TEST(StateProperty, AnySpellingGivesTheProblemsOfAFullLoad) {
  int reused = 0;
  for (unsigned seed = 1; seed <= 150; ++seed) {
    Generator gen(seed);
    TopologyState state;
    json doc = gen.topology();
    for (int step = 0; step < 8; ++step) {
      std::string text;
      switch (gen.below(8)) {
        case 0: text = doc.dump(); break;
        case 1: text = doc.dump(2); break;
        case 2: text = "\xEF\xBB\xBF" + doc.dump(1); break;
        case 3:
          text = doc.dump(1);
          if (const auto at = text.find("\"version\""); at != std::string::npos) text.replace(at, 9, "\"v\\u0065rsion\"");
          break;
        default: text = doc.dump(1);
      }
      const Proposal p = state.propose(text);
      const LoadResult full = load_topology_text(text);
      ASSERT_EQ(to_text(p.problems), to_text(full.problems)) << "seed " << seed << " step " << step << "\n" << text;
      if (full.topology) {
        EXPECT_TRUE(diff(state.topology(), *full.topology).empty()) << "seed " << seed << " step " << step;
      }
      std::size_t elements = 0;
      for (const char* list : {"domains", "nodes", "service_uses", "interconnects"}) {
        elements += doc.value(list, json::array()).size();
      }
      if (!p.checked_in_full && p.elements_parsed < elements) ++reused;
      if (step > 0 && gen.chance(30)) {
        state.abort();
      } else {
        state.commit();
      }
      gen.change(doc);
    }
  }
  EXPECT_GT(reused, 120);  // of 1,200 checks; a mistake in the reuse would show in these
}

TEST(StateProperty, AbortRestoresTheStateExactly) {
  for (unsigned seed = 1; seed <= 100; ++seed) {
    Generator gen(seed);
    TopologyState state;
    json doc = gen.topology();
    const std::string before = doc.dump(1);
    state.propose(before);
    state.commit();
    const ObjectTexts objects = state.objects();
    const std::string digest = state.digest();
    gen.change(doc);
    state.propose(doc.dump(1));
    state.abort();
    EXPECT_EQ(state.objects(), objects) << "seed " << seed;
    EXPECT_EQ(state.digest(), digest) << "seed " << seed;
    // And the check after the abort is the check of the unchanged document.
    Proposal again = state.propose(before);
    EXPECT_EQ(to_text(again.problems), to_text(load_topology_text(before).problems)) << "seed " << seed;
    if (!again.checked_in_full) EXPECT_TRUE(again.delta.empty()) << "seed " << seed;
    state.abort();
  }
}

// The digest names the content: the same for a reordered, respaced document and for the one
// assembled from the objects; another when an object changes.
TEST(State, DigestIgnoresOrderAndSpacing) {
  Generator gen(7);
  json doc = gen.topology();
  TopologyState a, b, c;
  a.propose(doc.dump(1));
  a.commit();
  json reordered = doc;
  std::reverse(reordered["nodes"].begin(), reordered["nodes"].end());
  b.propose(reordered.dump(4));
  b.commit();
  EXPECT_EQ(a.digest(), b.digest());
  c.propose(assemble(a.objects()));
  c.commit();
  EXPECT_EQ(c.digest(), a.digest());
  reordered["name"] = "other";
  b.propose(reordered.dump());
  EXPECT_NE(b.digest(), a.digest());
}
