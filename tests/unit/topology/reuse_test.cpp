// The incremental check's text path (slices.hpp, split.hpp): cutting a text into elements
// without parsing it, and taking an element that repeats one in force byte for byte as that
// object. Reuse must never change an answer: every check here also holds the problems to a
// full load's and the objects in force to those of the same text parsed whole.
#include <gtest/gtest.h>

#include <algorithm>
#include <nlohmann/json.hpp>
#include <random>

#include "base.hpp"
#include "support/random_topology.hpp"
#include "topology/delta.hpp"
#include "topology/slices.hpp"
#include "topology/state.hpp"

using namespace ndsip::topology;
using ndsip::topology::test::base;
using nlohmann::json;

namespace {

std::string to_text(const std::vector<Problem>& problems) {
  std::string out;
  for (const Problem& p : problems) out += std::to_string(p.line) + " " + p.to_string() + "\n";
  return out;
}

std::vector<std::string> ids(const std::vector<ObjectId>& list) {
  std::vector<std::string> out;
  for (const ObjectId& id : list) out.push_back(id.to_string());
  std::sort(out.begin(), out.end());
  return out;
}

std::optional<detail::Cut> cut(std::string_view text) {
  return detail::cut(text, [](int, std::string_view) { return std::size_t{0}; });
}

// What `state` holds after proposing `text` must be what a state parsing it whole holds. A
// byte order mark sends a text the parsed way (the text path leaves it alone). A text that
// cannot be cut into objects leaves a state as it was: nothing to compare then.
void expect_as_parsed_whole(const TopologyState& state, const std::string& text) {
  TopologyState whole;
  whole.propose("\xEF\xBB\xBF" + text);
  if (whole.empty()) return;
  EXPECT_EQ(state.objects(), whole.objects());
  EXPECT_EQ(state.digest(), whole.digest());
  const LoadResult full = load_topology_text(text);
  if (full.topology) {
    EXPECT_TRUE(diff(state.topology(), *full.topology).empty());
  }
}

// Proposes `text` and holds it to a full load; returns the proposal, still open.
Proposal propose(TopologyState& state, const std::string& text) {
  Proposal p = state.propose(text);
  EXPECT_EQ(to_text(p.problems), to_text(load_topology_text(text).problems)) << text;
  expect_as_parsed_whole(state, text);
  return p;
}

std::size_t elements(const json& doc) {
  std::size_t n = 0;
  for (const char* list : {"domains", "nodes", "service_uses", "interconnects"}) n += doc.value(list, json::array()).size();
  return n;
}

}  // namespace

// --- the cut ---------------------------------------------------------------------------------

TEST(Slices, CutsMembersAndElementsWhateverTheirStringsHold) {
  const std::string text = R"( {"version": 1, "name": "a } ] \" { [",
    "$schema": {"x": ["]", "}", [[1, [2, {"y": [3]}]]]]},
    "domains": [],
    "nodes": [{"name": "n1", "comment": "\\\"}]"}, {"name": "n2", "x": [[], [[{}]]], "c": "[{\\\\"} ,
              {"name": "\u005d\u007d"}],
    "service_uses": [ {"val_server": "a", "seal_server": "b", "services": ["\"]},{"]} ]
  } )";
  const json doc = json::parse(text);
  const auto c = cut(text);
  ASSERT_TRUE(c.has_value());
  ASSERT_EQ(c->header.size(), 3u);
  EXPECT_EQ(c->header[0].key, "version");
  EXPECT_EQ(c->header[0].value.of(text), "1");
  EXPECT_EQ(c->header[1].key, "name");
  EXPECT_EQ(json::parse(c->header[1].value.of(text)), doc["name"]);
  EXPECT_EQ(json::parse(c->header[2].value.of(text)), doc["$schema"]);
  ASSERT_TRUE(c->lists[0] && c->lists[1] && c->lists[2]);
  EXPECT_FALSE(c->lists[3].has_value());
  EXPECT_TRUE(c->lists[0]->empty());
  ASSERT_EQ(c->lists[1]->size(), 3u);
  for (std::size_t i = 0; i < 3; ++i) EXPECT_EQ(json::parse((*c->lists[1])[i].of(text)), doc["nodes"][i]) << i;
  ASSERT_EQ(c->lists[2]->size(), 1u);
  EXPECT_EQ(json::parse((*c->lists[2])[0].of(text)), doc["service_uses"][0]);
}

TEST(Slices, LeavesEverythingButThePlainShapeToTheParser) {
  const std::string deep_header = "{\"x\": " + std::string(31, '[') + std::string(31, ']') + "}";
  const std::string too_deep_header = "{\"x\": " + std::string(32, '[') + std::string(32, ']') + "}";
  const std::string deep_element = "{\"nodes\": [{\"x\": " + std::string(29, '[') + std::string(29, ']') + "}]}";
  const std::string too_deep_element = "{\"nodes\": [{\"x\": " + std::string(30, '[') + std::string(30, ']') + "}]}";
  EXPECT_TRUE(cut(deep_header).has_value());
  EXPECT_TRUE(cut(deep_element).has_value());
  EXPECT_TRUE(cut("{}").has_value());
  EXPECT_TRUE(cut(" \t\r\n{\"a\" : tru , \"b\":1x}\n").has_value());  // scalars are the parser's to read
  for (const std::string& text : {
           std::string(""), std::string(" \n"), std::string("[]"), std::string("1"), too_deep_header, too_deep_element,
           std::string("\xEF\xBB\xBF{}"),                // a byte order mark
           std::string("{} x"), std::string("{}{}"),     // something after
           std::string("{\"a\": 1,}"), std::string("{\"a\": 1 \"b\": 2}"), std::string("{\"a\" 1}"),
           std::string("{\"n\\u0061me\": 1}"),           // an escaped key
           std::string("{\"a\": 1, \"a\": 2}"),          // a repeated key
           std::string("{\"nodes\": [], \"nodes\": []}"),
           std::string("{\"a\x01\": 1}"),                // a control character in a key
           std::string("{\"\xff\": 1}"),                 // not UTF-8 in a key
           std::string("{\"a\": \xEF\xBB\xBF\"x\"}"),    // a value the parser alone would take
           std::string("{\"a\": \"x}"),                  // unterminated
           std::string("{\"a\": [}"),
           std::string("{\"a\": 1}\0", 9),
           std::string("{\"nodes\": {}}"), std::string("{\"nodes\": [1]}"), std::string("{\"nodes\": [[]]}"),
           std::string("{\"nodes\": [{},]}"), std::string("{\"nodes\": [,{}]}"), std::string("{\"nodes\": [{} {}]}"),
           std::string("{\"nodes\": [{\"a\": \"}]}"),
       }) {
    EXPECT_FALSE(cut(text).has_value()) << text;
  }
}

TEST(Slices, JumpsOverWhatTheCallerKnows) {
  const std::string text = R"({"nodes": [{"name": "a"}, {"name": "b", "x": "}"}, {"name": "c"}]})";
  int asked = 0;
  const auto c = detail::cut(text, [&](int list, std::string_view rest) {
    ++asked;
    EXPECT_EQ(list, 1);
    // The caller compares bytes: here it knows the second element.
    const std::string_view known = R"({"name": "b", "x": "}"})";
    return rest.substr(0, known.size()) == known ? known.size() : std::size_t{0};
  });
  ASSERT_TRUE(c && c->lists[1]);
  EXPECT_EQ(asked, 3);
  ASSERT_EQ(c->lists[1]->size(), 3u);
  EXPECT_EQ((*c->lists[1])[1].of(text), R"({"name": "b", "x": "}"})");
  EXPECT_EQ((*c->lists[1])[2].of(text), R"({"name": "c"})");
}

// --- reuse in the state ----------------------------------------------------------------------

TEST(Reuse, AnUnchangedTextParsesNothing) {
  TopologyState state;
  const std::string text = base().dump(1);
  const Proposal first = propose(state, text);
  EXPECT_EQ(first.elements_parsed, elements(base()));
  state.commit();
  const Proposal again = propose(state, text);
  EXPECT_EQ(again.elements_parsed, 0u);
  EXPECT_TRUE(again.delta.empty());
  EXPECT_TRUE(again.problems.empty());
  state.commit();
}

TEST(Reuse, AReformattedTextIsParsedAndChangesNothing) {
  TopologyState state;
  propose(state, base().dump(1));
  state.commit();
  for (const std::string& text : {base().dump(), base().dump(4), base().dump(1, '\t')}) {
    const Proposal p = propose(state, text);
    EXPECT_EQ(p.elements_parsed, elements(base()));
    EXPECT_TRUE(p.delta.empty());
    state.commit();
  }
}

TEST(Reuse, OneChangedElementIsTheOneParsed) {
  TopologyState state;
  json doc = base();
  propose(state, doc.dump(1));
  state.commit();
  doc["nodes"][2]["addresses"] = {"192.0.2.2"};
  const Proposal p = propose(state, doc.dump(1));
  EXPECT_EQ(p.elements_parsed, 1u);
  EXPECT_EQ(ids(p.delta.changed), std::vector<std::string>{"node seg-a"});
  EXPECT_TRUE(p.delta.added.empty() && p.delta.removed.empty());
  EXPECT_EQ(p.put.at("node seg-a"), doc["nodes"][2].dump());
  state.commit();
  // A change inside a string, of one byte, is a change.
  doc["nodes"][2]["identity"] = "seg-a.operator-a.exampld";
  const Proposal q = propose(state, doc.dump(1));
  EXPECT_EQ(q.elements_parsed, 1u);
  EXPECT_EQ(ids(q.delta.changed), std::vector<std::string>{"node seg-a"});
}

// The order is the document's: positions move, and with them which of two nodes holding one
// address is "first".
TEST(Reuse, ReorderedElementsAreFoundByTheirBytes) {
  TopologyState state;
  json doc = base();
  doc["nodes"][3]["addresses"] = {"192.0.2.1"};  // seg-a's: a problem that names a position
  propose(state, doc.dump(1));
  state.commit();
  for (int round = 0; round < 3; ++round) {
    std::reverse(doc["nodes"].begin(), doc["nodes"].end());
    const Proposal p = propose(state, doc.dump(1));
    EXPECT_EQ(p.elements_parsed, 0u);
    EXPECT_TRUE(p.delta.empty());
    EXPECT_FALSE(p.problems.empty());
    state.commit();
  }
  // Added at the front, taken out in the middle: the rest is still found.
  const json val2 = {{"name", "val-2"}, {"role", "val-server"}, {"domain", "operator-a"},
                     {"addresses", {"192.0.2.21"}}, {"identity", "val-2.operator-a.example"}};
  doc["nodes"].insert(doc["nodes"].begin(), val2);
  doc["nodes"].erase(doc["nodes"].begin() + 2);
  const Proposal p = propose(state, doc.dump(1));
  EXPECT_EQ(p.elements_parsed, 1u);
  EXPECT_EQ(ids(p.delta.added), std::vector<std::string>{"node val-2"});
  EXPECT_EQ(p.delta.removed.size(), 1u);
  state.abort();
  // Every element moved by one.
  doc = base();
  const std::string before = doc.dump(1);
  doc["nodes"].erase(doc["nodes"].begin());
  doc["nodes"].push_back(base()["nodes"][0]);
  TopologyState fresh;
  propose(fresh, before);
  fresh.commit();
  const Proposal moved = propose(fresh, doc.dump(1));
  EXPECT_EQ(moved.elements_parsed, 0u);
  EXPECT_TRUE(moved.delta.empty());
  EXPECT_EQ(fresh.topology().nodes.back().name, "gms-a");
}

TEST(Reuse, BracketsAndQuotesInsideStringsStayInside) {
  json doc = base();
  doc["nodes"][0]["comment"] = "}]} \" {[ \\ \\\" ]";
  doc["nodes"][1]["comment"] = R"({"name": "evil"}], "nodes": [)";
  doc["domains"][1]["comment"] = "\\";
  TopologyState state;
  propose(state, doc.dump(1));
  state.commit();
  doc["nodes"][3]["comment"] = "]]]}}}\"";
  const Proposal p = propose(state, doc.dump(1));
  EXPECT_EQ(p.elements_parsed, 1u);
  EXPECT_EQ(ids(p.delta.changed), std::vector<std::string>{"node gms-b"});
  state.commit();
  // The same text with its strings escaped otherwise: parsed again, equal, no change.
  std::string escaped = doc.dump(1);
  escaped.replace(escaped.find("\"evil") + 1, 1, "\\u0065");
  const Proposal q = propose(state, escaped);
  EXPECT_EQ(q.elements_parsed, 1u);
  EXPECT_TRUE(q.delta.empty());
}

TEST(Reuse, NestedArraysInsideElements) {
  json doc = base();
  doc["nodes"][1]["x"] = json::parse(R"([[1, [2, {"a": [3, "]"]}]], {}, [[[]]]])");
  doc["domains"][0]["y"] = json::parse(R"({"z": [[{"w": "}"}]]})");
  TopologyState state;
  const Proposal first = propose(state, doc.dump(1));
  EXPECT_FALSE(first.problems.empty());  // unknown keys
  state.commit();
  doc["nodes"][1]["x"][0][1][1]["a"][0] = 4;
  const Proposal p = propose(state, doc.dump(1));
  EXPECT_EQ(p.elements_parsed, 1u);
  EXPECT_EQ(ids(p.delta.changed), std::vector<std::string>{"node val-1"});
  state.commit();
  doc["nodes"][1].erase("x");
  doc["domains"][0].erase("y");
  const Proposal q = propose(state, doc.dump(1));
  EXPECT_EQ(q.elements_parsed, 2u);
  EXPECT_TRUE(q.problems.empty());
}

// Two copies of an element in force: each repeats it, but only one can be it, and the text
// has one name twice.
TEST(Reuse, AVerbatimCopyIsNotTheSameObjectTwice) {
  TopologyState state;
  json doc = base();
  propose(state, doc.dump(1));
  state.commit();
  for (const char* list : {"nodes", "domains", "service_uses", "interconnects"}) {
    json copy = doc;
    copy[list].push_back(copy[list][0]);
    const Proposal p = propose(state, copy.dump(1));
    EXPECT_TRUE(p.checked_in_full) << list;
    EXPECT_FALSE(p.problems.empty()) << list;
    state.abort();
    // And a changed element that takes the name of one repeated unchanged.
    copy = doc;
    copy[list][1] = copy[list][0];
    if (copy[list].size() > 1) {
      copy[list][1]["comment"] = "now a second one";
      const Proposal q = propose(state, copy.dump(1));
      EXPECT_TRUE(q.checked_in_full) << list;
      state.abort();
    }
  }
}

// Bytes are matched in their own list only: the same bytes in another list are another
// object.
TEST(Reuse, BytesAreMatchedWithinTheirList) {
  json doc = base();
  doc["domains"].push_back({{"name", "same"}, {"ca_id", "CN=Same"}});
  doc["nodes"].push_back({{"name", "other"}, {"ca_id", "CN=Same"}});
  TopologyState state;
  propose(state, doc.dump(1));
  state.commit();
  doc["nodes"].back() = doc["domains"].back();  // the domain's bytes, now a node
  doc["domains"].back() = {{"name", "other"}, {"ca_id", "CN=Same"}};
  const Proposal p = propose(state, doc.dump(1));
  EXPECT_EQ(p.elements_parsed, 2u);
  EXPECT_EQ(ids(p.delta.added), (std::vector<std::string>{"domain other", "node same"}));
  EXPECT_EQ(ids(p.delta.removed), (std::vector<std::string>{"domain same", "node other"}));
}

// Anything the cut leaves alone goes the parsed way, which words the problem; the next text
// is then parsed in full, and matched again after that.
TEST(Reuse, UnusualTextsGoTheParsedWay) {
  TopologyState state;
  const json doc = base();
  propose(state, doc.dump(1));
  state.commit();
  std::string repeated = doc.dump(1);
  repeated.replace(repeated.find("\"ca_id\""), 7, "\"name\": \"x\", \"ca_id\"");
  std::string escaped = doc.dump(1);
  escaped.replace(escaped.find("\"version\""), 9, "\"v\\u0065rsion\"");
  std::string bom = "\xEF\xBB\xBF" + doc.dump(1);
  std::string big_number = doc.dump(1);
  big_number.replace(big_number.find("\"version\": 1"), 12, "\"version\": 1, \"x\": 1e999");
  std::string bad_utf8 = doc.dump(1);
  bad_utf8.replace(bad_utf8.find("gms-b.operator-b"), 1, "\xC3");
  std::string nul = doc.dump(1);
  nul.replace(nul.find("gms-b.operator-b"), 1, std::string(1, '\0'));
  for (const std::string& text : {repeated, escaped, bom, big_number, bad_utf8, nul}) {
    const Proposal p = propose(state, text);
    EXPECT_EQ(p.elements_parsed, p.checked_in_full ? 0u : elements(doc)) << text;
    state.commit();
    const Proposal next = propose(state, doc.dump(1));
    EXPECT_EQ(next.elements_parsed, p.checked_in_full ? 0u : elements(doc));
    state.commit();
    EXPECT_EQ(propose(state, doc.dump(1)).elements_parsed, 0u);
    state.commit();
  }
}

// Abort restores what the next text is matched against with the rest of the state.
TEST(Reuse, AbortRestoresWhatTheNextTextIsMatchedAgainst) {
  TopologyState state;
  json doc = base();
  const std::string v1 = doc.dump(1);
  propose(state, v1);
  state.commit();
  doc["nodes"].erase(doc["nodes"].begin() + 1);
  doc["nodes"][0]["protects"] = {"198.51.100.11/32"};
  doc["service_uses"] = json::array();
  const std::string v2 = doc.dump(1);
  for (int i = 0; i < 2; ++i) {
    const Proposal p = propose(state, v2);
    EXPECT_EQ(p.elements_parsed, 1u);
    EXPECT_EQ(p.delta.removed.size(), 2u);
    state.abort();
    expect_as_parsed_whole(state, v1);
  }
  const Proposal back = propose(state, v1);
  EXPECT_EQ(back.elements_parsed, 0u);
  EXPECT_TRUE(back.delta.empty());
  state.abort();
  propose(state, v2);
  state.commit();
  const Proposal again = propose(state, v1);
  EXPECT_EQ(again.elements_parsed, 3u);  // the node and use put back, gms-a as it was
  EXPECT_EQ(again.delta.added.size() + again.delta.changed.size(), 3u);
}

// Positions inside strings, before a character or an escape: where brackets, quotes and
// backslashes can go in escaped and leave the text valid.
std::vector<std::size_t> inside_strings(const std::string& text) {
  std::vector<std::size_t> out;
  bool in = false;
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (!in) {
      in = text[i] == '"';
      continue;
    }
    out.push_back(i);
    if (text[i] == '\\') {
      ++i;
    } else if (text[i] == '"') {
      in = false;
    }
  }
  return out;
}

// Random edits of the bytes of a text in force: whatever they make of it, the check says
// what a full load says, and taking it back restores the state. Some edits are blind (most
// of those break the syntax), some keep the text valid: brackets and escapes put inside
// strings, lines (values, mostly) taken out, repeated or swapped.
TEST(ReuseProperty, EditedBytesGiveTheProblemsOfAFullLoad) {
  const std::string alphabet = std::string("{}[]\",:\\ \n01-.eutnlfa/") + '\0' + "\xff\xc3\xa9";
  const std::vector<std::string> in_string = {"}", "]", "{", "[", "\\\"", "\\\\", ",", ":", "x", "\\u005d", "\\\\\\\""};
  int reused = 0;
  for (unsigned seed = 1; seed <= 150; ++seed) {
    ndsip::testing::Generator gen(seed);
    std::mt19937 rng(seed);
    auto below = [&](std::size_t n) { return std::uniform_int_distribution<std::size_t>(0, n - 1)(rng); };
    TopologyState state;
    std::string in_force = gen.topology().dump(seed % 3 == 0 ? 2 : 1);
    propose(state, in_force);
    state.commit();
    for (int step = 0; step < 25; ++step) {
      std::string text = in_force;
      for (int edits = 1 + static_cast<int>(below(2)); edits > 0 && !text.empty(); --edits) {
        const std::size_t at = below(text.size());
        switch (below(8)) {
          case 0: text[at] = alphabet[below(alphabet.size())]; break;
          case 1: text.erase(at, 1); break;
          case 2: text.insert(at, 1, alphabet[below(alphabet.size())]); break;
          case 3: text.insert(at, text.substr(below(text.size()), 1 + below(40))); break;
          case 4: text.erase(at, 1 + below(40)); break;
          case 5:
          case 6:
            if (const auto inside = inside_strings(text); !inside.empty()) {
              text.insert(inside[below(inside.size())], in_string[below(in_string.size())]);
            }
            break;
          default: {
            // A line: out, twice, or swapped with the next.
            const std::size_t start = text.rfind('\n', at) == std::string::npos ? 0 : text.rfind('\n', at) + 1;
            const std::size_t end = std::min(text.find('\n', at), text.size());
            const std::string line = text.substr(start, end - start);
            const std::size_t next_end = std::min(text.find('\n', end + 1), text.size());
            switch (below(3)) {
              case 0: text.erase(start, end - start); break;
              case 1: text.insert(start, line + "\n"); break;
              default:
                if (end < text.size()) {
                  const std::string next = text.substr(end + 1, next_end - end - 1);
                  text.replace(start, next_end - start, next + "\n" + line);
                }
            }
          }
        }
      }
      const ObjectTexts objects = state.objects();
      const std::string digest = state.digest();
      const Proposal p = propose(state, text);
      if (!p.checked_in_full && p.elements_parsed < 3) ++reused;
      // Kept now and then even with problems, but not when it could not be cut into objects:
      // the next edits would mostly be of a text beyond repair.
      if (p.problems.empty() || (!p.checked_in_full && below(4) == 0)) {
        state.commit();
        in_force = text;
      } else {
        state.abort();
        EXPECT_EQ(state.objects(), objects);
        EXPECT_EQ(state.digest(), digest);
      }
      if (::testing::Test::HasFailure()) return;
    }
  }
  EXPECT_GT(reused, 800);  // most edits break the syntax; these went the text path
}
