// ndsipctl status's reading of ndsipd's answer without building it: --json prints what
// parsing and dump(2) printed, byte for byte; the exit code's fields are read before the
// tunnel table, which is not read at all when the answer has tunnel_counts.
#include <gtest/gtest.h>

#include <sstream>

#include <nlohmann/json.hpp>

#include "cli/json_indent.hpp"
#include "cli/status_summary.hpp"
#include "cli/status_table.hpp"

using namespace ndsip::cli;
using nlohmann::json;

namespace {

// A status answer as ndsipd serialises it (compact, keys in order), with `rows` tunnels.
json answer(int rows, int up, bool counts = true) {
  json a = {{"ok", true},
            {"protocol", 1},
            {"node", "gms"},
            {"charon", {{"connected", true}, {"version", "charon 5.9.8"}, {"error", ""}}},
            {"topology", {{"version", 3}, {"digest", "0123456789abcdef"}, {"name", "lab"}, {"refused", ""}}},
            {"credentials", {{"state", "ok"}, {"problems", json::array()}}},
            {"last_apply", {{"load", json::array()}, {"timing_ms", {{"apply", 0.125}}}}},
            {"polled", {{"at", "2026-11-30T12:00:00Z"}, {"age_s", 3.25}}},
            {"outside", json::array()}};
  a["tunnels"] = json::array();
  for (int i = 0; i < rows; ++i) {
    a["tunnels"].push_back({{"child", "gms_val" + std::to_string(i)},
                            {"state", i < up ? "up" : "down"},
                            {"reference_points", {"KM-S", "SEAL-S"}},
                            {"bytes_in", 1234567890123ULL},
                            {"last_error", i < up ? "" : "peer-auth-failed (\"x\"\\ \u00e9\t)"}});
  }
  if (counts) a["tunnel_counts"] = {{"total", rows}, {"up", up}, {"down", rows - up}};
  return a;
}

}  // namespace

TEST(IndentJson, IsDumpTwoOfTheParsedText) {
  const std::vector<json> docs{
      answer(3, 2),
      json::object(),
      json::array(),
      json::parse(R"({"a":{},"b":[],"c":[{}],"d":[[],[1,2.5,-3e-7]],"e":null,"f":true,"g":"\\\"\u0001\n"})"),
      json::parse(R"({"k:,{}[]":"v:,{}[]","nested":{"deeper":{"deepest":[false]}}})"),
      json({{"ends in a backslash", "x\\"}, {"two", "\\\\"}, {"quote after one", "\\\"{"}}),
      json("just a string"),
      json(42),
  };
  for (const json& doc : docs) {
    const std::string compact = doc.dump(-1, ' ', false, json::error_handler_t::replace);
    EXPECT_EQ(indent_json(compact), json::parse(compact).dump(2)) << compact;
  }
  // Whitespace between tokens (not ndsipd's, but JSON) is dropped, not copied.
  EXPECT_EQ(indent_json("{ \"a\" : [ 1 , 2 ] ,\n \"b\" : { } }"), json::parse(R"({"a":[1,2],"b":{}})").dump(2));
}

TEST(StatusSummary, ReadsTheExitCodesFieldsAndStopsBeforeTheTable) {
  const std::string text = answer(3, 2).dump();
  const auto s = summarize_status(text);
  ASSERT_TRUE(s);
  EXPECT_TRUE(s->ok);
  EXPECT_FALSE(s->denied);
  EXPECT_TRUE(s->charon_connected);
  EXPECT_EQ(s->topology_version, 3);
  EXPECT_EQ(s->topology_refused, "");
  EXPECT_EQ(s->tunnels, 3u);
  EXPECT_EQ(s->tunnels_up, 2u);
  EXPECT_FALSE(s->healthy());
  EXPECT_TRUE(summarize_status(answer(3, 3).dump())->healthy());
  // The table is not read: what follows "tunnels" may be anything.
  const std::string cut = text.substr(0, text.find("\"tunnels\":[") + 11) + "this is not read";
  const auto early = summarize_status(cut);
  ASSERT_TRUE(early) << cut;
  EXPECT_EQ(early->tunnels_up, 2u);
}

TEST(StatusSummary, AnAnswerWithoutCountsIsCountedFromItsRows) {
  // An older ndsipd: no tunnel_counts; the rows' states decide, as they did.
  const auto s = summarize_status(answer(4, 3, false).dump());
  ASSERT_TRUE(s);
  EXPECT_EQ(s->tunnels, 4u);
  EXPECT_EQ(s->tunnels_up, 3u);
  EXPECT_TRUE(summarize_status(answer(2, 2, false).dump())->healthy());
  EXPECT_TRUE(summarize_status(answer(0, 0, false).dump())->healthy());
}

TEST(StatusSummary, RefusalsAndWhatIsNotAnObject) {
  const auto denied = summarize_status(R"({"protocol":1,"ok":false,"denied":true,"error":"permission denied: uid 1000"})");
  ASSERT_TRUE(denied);
  EXPECT_TRUE(denied->denied);
  EXPECT_FALSE(denied->ok);
  EXPECT_EQ(denied->error, "permission denied: uid 1000");
  const auto failed = summarize_status(R"({"ok":false,"error":"unknown command \"status\""})");
  ASSERT_TRUE(failed);
  EXPECT_FALSE(failed->ok);
  EXPECT_EQ(failed->error, "unknown command \"status\"");
  // No topology: not healthy, whatever the tunnels.
  json none = answer(0, 0);
  none["topology"]["version"] = 0;
  EXPECT_FALSE(summarize_status(none.dump())->healthy());
  json refused = answer(1, 1);
  refused["topology"]["refused"] = "journal: dropped a torn record";
  EXPECT_EQ(summarize_status(refused.dump())->topology_refused, "journal: dropped a torn record");
  EXPECT_FALSE(summarize_status(refused.dump())->healthy());
  for (const char* bad : {"", "[1,2]", "42", "\"ok\"", "{\"ok\":tru", "{not json}"}) {
    EXPECT_FALSE(summarize_status(bad)) << bad;
  }
}

TEST(StatusTable, TheHeaderSaysHowManyAreUpAndHowOldTheStateIs) {
  json s = answer(3, 2);
  s["polled"]["age_s"] = 3.0;
  std::ostringstream out;
  print_status(s, out);
  EXPECT_NE(out.str().find("tunnels 2 of 3 up, 1 down; as of list-sas 3.0s ago\n"), std::string::npos) << out.str();
  s["polled"] = {{"at", nullptr}, {"age_s", nullptr}};  // before the first list-sas
  std::ostringstream never;
  print_status(s, never);
  EXPECT_NE(never.str().find("tunnels 2 of 3 up, 1 down; no list-sas yet\n"), std::string::npos) << never.str();
  s["polled"]["age_s"] = 125.5;
  std::ostringstream old;
  print_status(s, old);
  EXPECT_NE(old.str().find("as of list-sas 2m5s ago"), std::string::npos) << old.str();
}
