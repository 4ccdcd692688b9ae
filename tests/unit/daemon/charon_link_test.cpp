// The charon link: connects and reports charon's version, tells when charon goes and comes
// back, reconnects on its own, and turns a refusal into an error for every command.
#include <gtest/gtest.h>

#include <algorithm>

#include "daemon/charon_link.hpp"
#include "support/loop.hpp"
#include "support/scripted_charon.hpp"
#include "vici/commands.hpp"

using namespace ndsip;
using namespace std::chrono_literals;
using test::run_until;

namespace {

// charon refuses every load-conn ("invalid proposal").
void refuse_load_conn(test::ScriptedCharon& charon) {
  charon.on("load-conn", [](const vici::Message&) {
    test::ScriptedCharon::Answer a;
    a.response.set("success", "no").set("errmsg", "invalid proposal");
    return a;
  });
}

}  // namespace

TEST(CharonLink, ConnectsLosesAndComesBackOnItsOwn) {
  test::ScriptedCharon charon;
  boost::asio::io_context io;
  daemon::CharonLink link(io, charon.uri(), 2s);
  int ups = 0, downs = 0;
  std::string why;
  link.on_up([&] { ++ups; });
  link.on_down([&](const std::string& w) {
    ++downs;
    why = w;
  });
  link.start();
  ASSERT_TRUE(run_until(io, [&] { return ups == 1; }));
  EXPECT_TRUE(link.up());
  EXPECT_EQ(link.version(), "charon 5.9.8-scripted");
  EXPECT_EQ(link.status()["connected"], true);

  charon.hang_up();  // charon restarting
  ASSERT_TRUE(run_until(io, [&] { return downs == 1; }));
  EXPECT_NE(why.find("closed the VICI connection"), std::string::npos) << why;
  // Back without anyone asking.
  ASSERT_TRUE(run_until(io, [&] { return ups == 2; }));
  EXPECT_TRUE(link.up());
}

TEST(CharonLink, ARefusalIsAnErrorOfTheRequest) {
  test::ScriptedCharon charon;
  refuse_load_conn(charon);
  boost::asio::io_context io;
  daemon::CharonLink link(io, charon.uri(), 2s);
  link.start();
  ASSERT_TRUE(run_until(io, [&] { return link.up(); }));
  std::optional<vici::Error> error;
  bool done = false;
  link.request(vici::request::load_conn("x", {}), [&](std::optional<vici::Error> e, vici::Reply) {
    error = e;
    done = true;
  });
  ASSERT_TRUE(run_until(io, [&] { return done; }));
  ASSERT_TRUE(error);
  EXPECT_EQ(error->kind(), vici::ErrorKind::command_failed);
  EXPECT_NE(std::string(error->what()).find("invalid proposal"), std::string::npos);

  // Fire-and-forget sends log the failure and hand it over, never drop it.
  std::optional<std::string> failed;
  ::testing::internal::CaptureStderr();
  link.send(vici::request::load_conn("y", {}), "for the test", [&](const vici::Error& e) { failed = e.what(); });
  ASSERT_TRUE(run_until(io, [&] { return failed.has_value(); }));
  const std::string logged = ::testing::internal::GetCapturedStderr();
  EXPECT_NE(logged.find("load-conn for the test failed: charon refused load-conn: invalid proposal"),
            std::string::npos)
      << logged;
}

TEST(CharonLink, NobodyListeningIsAnErrorAndWaitingIsTold) {
  boost::asio::io_context io;
  daemon::CharonLink link(io, "unix:///nonexistent/charon.vici", 1s);
  std::string waiting;
  link.on_waiting(0s, [&](const std::string& w) { waiting = w; });
  ::testing::internal::CaptureStderr();
  link.start();
  ASSERT_TRUE(run_until(io, [&] { return !waiting.empty(); }));
  run_until(io, [] { return false; }, 300ms);  // a few retries
  const std::string logged = ::testing::internal::GetCapturedStderr();
  EXPECT_FALSE(link.up());
  EXPECT_NE(link.error().find("cannot connect"), std::string::npos);
  EXPECT_NE(waiting.find("waiting for charon"), std::string::npos);
  // The first failure of a streak is logged, not every retry.
  EXPECT_NE(logged.find("cannot connect"), std::string::npos);
  EXPECT_EQ(std::count(logged.begin(), logged.end(), '\n'), 1) << logged;
}

// Several parts may hear one event (health and the metrics both hear the rekeys), and every
// command's answer is told to the observer (the metrics' VICI command counts) before its
// handler runs, with the IKE_SA an initiate names.
TEST(CharonLink, EveryCommandIsObservedAndEverySubscriberHearsItsEvent) {
  test::ScriptedCharon charon;
  refuse_load_conn(charon);
  boost::asio::io_context io;
  daemon::CharonLink link(io, charon.uri(), 2s);
  std::vector<std::string> observed;
  link.on_command([&](const std::string& command, const std::string& ike, const std::string& result) {
    observed.push_back(command + "|" + ike + "|" + result);
  });
  int first = 0, second = 0;
  link.subscribe("child-rekey", [&](const std::string&, const vici::Message&) { ++first; });
  link.subscribe("child-rekey", [&](const std::string&, const vici::Message&) { ++second; });
  link.start();
  ASSERT_TRUE(run_until(io, [&] { return link.up(); }));
  bool handled = false;
  link.request(vici::request::load_conn("x", {}), [&](std::optional<vici::Error>, vici::Reply) {
    EXPECT_EQ(observed.back(), "load-conn||command-failed");  // told before the handler
    handled = true;
  });
  vici::InitiateArgs init;
  init.ike = "zb_gms_val1";
  init.child = "gms_val1";
  link.send(vici::request::initiate(init), "zb_gms_val1/gms_val1");
  bool terminated = false;
  link.terminate("zb_gms_val1", [&] { terminated = true; });
  ASSERT_TRUE(run_until(io, [&] { return handled && terminated && observed.size() == 4; }));
  EXPECT_EQ(observed, (std::vector<std::string>{"version||ok", "load-conn||command-failed",
                                                "initiate|zb_gms_val1|ok", "terminate||ok"}));
  charon.event("child-rekey", vici::Message());
  ASSERT_TRUE(run_until(io, [&] { return first == 1 && second == 1; }));
}
