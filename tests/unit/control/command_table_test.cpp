// The command table: parts register, requests dispatch by name, list-commands lists them,
// an unknown command is answered with the known ones, a name cannot be taken twice.
#include <gtest/gtest.h>

#include "control/answer.hpp"
#include "control/command_table.hpp"
#include "control/protocol.hpp"

using namespace ndsip::control;

namespace {

Json ask(const CommandTable& t, const std::string& command) {
  Json answer;
  int calls = 0;
  t.dispatch({{key::command, command}}, [&](Json a) {
    answer = std::move(a);
    ++calls;
  });
  EXPECT_EQ(calls, 1);
  return answer;
}

}  // namespace

TEST(CommandTable, DispatchesByNameAndListsWhatIsRegistered) {
  CommandTable t;
  t.add("ping", "answers pong", [](const Json&, Reply reply) {
    Json a = ok_answer();
    a["pong"] = true;
    reply(a);
  });
  EXPECT_EQ(ask(t, "ping")["pong"], true);
  const Json listed = ask(t, "list-commands");
  EXPECT_EQ(listed[key::ok], true);
  EXPECT_EQ(listed["commands"]["ping"], "answers pong");
  EXPECT_TRUE(listed["commands"].contains("list-commands"));
}

TEST(CommandTable, UnknownCommandNamesTheKnownOnes) {
  CommandTable t;
  t.add("status", "s", [](const Json&, Reply reply) { reply(ok_answer()); });
  const Json a = ask(t, "format-disk");
  EXPECT_EQ(a[key::ok], false);
  const std::string error = a[key::error];
  EXPECT_NE(error.find("unknown command \"format-disk\""), std::string::npos) << error;
  EXPECT_NE(error.find("status"), std::string::npos) << error;
}

TEST(CommandTable, ANameIsRegisteredOnce) {
  CommandTable t;
  t.add("push", "p", [](const Json&, Reply) {});
  EXPECT_THROW(t.add("push", "again", [](const Json&, Reply) {}), std::logic_error);
}

TEST(Answers, ProblemsSayHowManyAndThatNothingChanged) {
  const Json a = problems_answer("topology rejected", {"/nodes/0: x", "/nodes/1: y"});
  EXPECT_EQ(a[key::ok], false);
  EXPECT_EQ(a[key::error], "topology rejected: 2 problems; nothing was changed");
  EXPECT_EQ(a[key::problems].size(), 2u);
  EXPECT_EQ(problems_answer("x", {"one"})[key::error], "x: 1 problem; nothing was changed");
}
