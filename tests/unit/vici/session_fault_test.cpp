// The session against a scripted peer: faults charon cannot be made to produce. Every case
// asserts the error kind the caller acts on and that the process carries on.
#include <gtest/gtest.h>

#include "support/fake_vici_peer.hpp"
#include "vici/client.hpp"

using namespace ndsip::vici;
using ndsip::test::FakeViciPeer;
using namespace std::chrono_literals;

namespace {

ErrorKind call_error(Client& c, const Request& r) {
  try {
    c.call(r);
  } catch (const Error& e) {
    return e.kind();
  }
  ADD_FAILURE() << "call succeeded";
  return ErrorKind::usage;
}

std::string call_error_text(Client& c, const Request& r) {
  try {
    c.call(r);
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

}  // namespace

TEST(ViciSession, GarbageFromPeerClosesWithMalformed) {
  FakeViciPeer peer;
  peer.serve([](FakeViciPeer& p) {
    p.read();
    p.write_raw(std::string("\x00\x00\x00\x02\x01\x09", 6));  // response with element type 9
    p.read();  // until the client closes
  });
  Client c(2s);
  c.connect(peer.uri());
  EXPECT_EQ(call_error(c, request::version()), ErrorKind::malformed);
  EXPECT_FALSE(c.connected());
  ASSERT_TRUE(c.lost().has_value());
}

TEST(ViciSession, TruncatedPacketThenCloseIsADisconnect) {
  FakeViciPeer peer;
  peer.serve([](FakeViciPeer& p) {
    p.read();
    p.write_raw(std::string("\x00\x00\x00\x20\x01\x03\x01", 7));  // 32 bytes announced, 3 sent
  });
  Client c(2s);
  c.connect(peer.uri());
  const std::string text = call_error_text(c, request::version());
  EXPECT_NE(text.find("middle of a packet"), std::string::npos) << text;
  EXPECT_FALSE(c.connected());
}

TEST(ViciSession, OversizedLengthIsRefused) {
  FakeViciPeer peer;
  peer.serve([](FakeViciPeer& p) {
    p.read();
    p.write_raw(std::string("\x7f\xff\xff\xff", 4));
    p.read();
  });
  Client c(2s);
  c.connect(peer.uri());
  EXPECT_EQ(call_error(c, request::version()), ErrorKind::limit);
  EXPECT_FALSE(c.connected());
}

TEST(ViciSession, NoAnswerTimesOutAndCloses) {
  FakeViciPeer peer;
  peer.serve([](FakeViciPeer& p) {
    p.read();
    p.read();  // never answers; returns when the client closes
  });
  Client c(200ms);
  c.connect(peer.uri());
  EXPECT_EQ(call_error(c, request::version()), ErrorKind::timeout);
  EXPECT_FALSE(c.connected());
  // Later calls fail at once as disconnected rather than hanging.
  EXPECT_EQ(call_error(c, request::stats()), ErrorKind::disconnected);
}

TEST(ViciSession, UnknownCommandKeepsTheSessionUsable) {
  FakeViciPeer peer;
  peer.serve([](FakeViciPeer& p) {
    p.read();
    p.write({PacketType::cmd_unknown, "", {}});
    p.read();
    Message m;
    m.set("daemon", "charon").set("version", "5.9.8");
    p.respond(m);
    p.read();
  });
  Client c(2s);
  c.connect(peer.uri());
  EXPECT_EQ(call_error(c, {"no-such-command", {}, {}}), ErrorKind::unknown_command);
  EXPECT_TRUE(c.connected());
  EXPECT_EQ(c.version().version, "5.9.8");
}

TEST(ViciSession, UnknownEventIsReportedAndDropped) {
  FakeViciPeer peer;
  peer.serve([](FakeViciPeer& p) {
    EXPECT_EQ(p.read().type, PacketType::event_register);
    p.write({PacketType::event_unknown, "", {}});
    p.read();
  });
  Client c(2s);
  c.connect(peer.uri());
  try {
    c.subscribe("no-such-event", [](const std::string&, const Message&) {});
    FAIL() << "subscribe succeeded";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::unknown_event);
  }
  EXPECT_TRUE(c.connected());
}

TEST(ViciSession, AnswerWithNothingOutstandingIsAProtocolError) {
  FakeViciPeer peer;
  peer.serve([](FakeViciPeer& p) {
    p.respond();
    p.read();
  });
  Client c(2s);
  c.connect(peer.uri());
  EXPECT_TRUE(c.run_until([&] { return c.lost().has_value(); }, 2s));
  EXPECT_EQ(c.lost()->kind(), ErrorKind::malformed);
}

TEST(ViciSession, WrongAnswerTypeIsAProtocolError) {
  FakeViciPeer peer;
  peer.serve([](FakeViciPeer& p) {
    p.read();
    p.confirm();  // EVENT_CONFIRM to a command
    p.read();
  });
  Client c(2s);
  c.connect(peer.uri());
  EXPECT_EQ(call_error(c, request::version()), ErrorKind::malformed);
}

TEST(ViciSession, EventsArriveDuringACommandAndStreamsKeepOrder) {
  FakeViciPeer peer;
  peer.serve([](FakeViciPeer& p) {
    Packet reg = p.read();
    EXPECT_EQ(reg.name, "ike-updown");
    p.confirm();
    // list-sas: register list-sa, command, unregister.
    EXPECT_EQ(p.read().name, "list-sa");
    p.confirm();
    EXPECT_EQ(p.read().name, "list-sas");
    for (int i = 0; i < 3; ++i) {
      Message sa;
      sa.add_section("conn" + std::to_string(i)).set("uniqueid", std::to_string(i));
      p.event("list-sa", sa);
      Message up;
      up.set("up", "yes");
      p.event("ike-updown", up);  // interleaved with the stream
    }
    p.respond();
    EXPECT_EQ(p.read().type, PacketType::event_unregister);
    p.confirm();
    p.read();
  });
  Client c(2s);
  c.connect(peer.uri());
  int updowns = 0;
  c.subscribe("ike-updown", [&](const std::string& name, const Message& m) {
    EXPECT_EQ(name, "ike-updown");
    EXPECT_TRUE(m.flag("up"));
    ++updowns;
  });
  const std::vector<IkeSa> sas = c.list_sas();
  ASSERT_EQ(sas.size(), 3u);
  for (int i = 0; i < 3; ++i) {
    EXPECT_EQ(sas[static_cast<std::size_t>(i)].name, "conn" + std::to_string(i));
  }
  EXPECT_EQ(updowns, 3);
}

TEST(ViciSession, SubscriptionsAreRegisteredAgainAfterReconnect) {
  FakeViciPeer peer;
  peer.serve([](FakeViciPeer& p) {
    EXPECT_EQ(p.read().name, "child-updown");
    p.confirm();
    // charon "restarts": the connection drops.
  });
  Client c(2s);
  c.connect(peer.uri());
  int events = 0;
  c.subscribe("child-updown", [&](const std::string&, const Message&) { ++events; });
  EXPECT_TRUE(c.run_until([&] { return c.lost().has_value(); }, 2s));
  EXPECT_EQ(c.lost()->kind(), ErrorKind::disconnected);
  peer.join();

  peer.serve([](FakeViciPeer& p) {
    // The first thing on the new connection is the registration, unprompted.
    Packet reg = p.read();
    EXPECT_EQ(reg.type, PacketType::event_register);
    EXPECT_EQ(reg.name, "child-updown");
    p.confirm();
    Message m;
    m.set("up", "yes");
    p.event("child-updown", m);
    p.read();
  });
  c.connect(peer.uri());
  EXPECT_FALSE(c.lost().has_value());
  EXPECT_TRUE(c.run_until([&] { return events == 1; }, 2s));
}

TEST(ViciSession, RequestWhileDisconnectedFailsAtOnce) {
  Client c(2s);
  EXPECT_EQ(call_error(c, request::version()), ErrorKind::disconnected);
}

TEST(ViciSession, ConnectErrors) {
  Client c(2s);
  try {
    c.connect("tcp://127.0.0.1:4502");
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::usage);
  }
  try {
    c.connect("unix:///nonexistent/ndsip/charon.vici");
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::io);
    EXPECT_NE(std::string(e.what()).find("/nonexistent/ndsip/charon.vici"), std::string::npos);
  }
  EXPECT_FALSE(c.connect_with_retry("unix:///nonexistent/ndsip/charon.vici", 200ms));
}

TEST(ViciSession, OversizedRequestNeverReachesTheWire) {
  FakeViciPeer peer;
  peer.serve([](FakeViciPeer& p) {
    Packet first = p.read();
    EXPECT_EQ(first.name, "version");  // the oversized load-cert was never sent
    Message m;
    m.set("daemon", "charon");
    p.respond(m);
    p.read();
  });
  Client c(2s);
  c.connect(peer.uri());
  EXPECT_EQ(call_error(c, request::load_cert(CertType::x509, CertFlag::none,
                                             std::string(70000, 'x'))),
            ErrorKind::limit);
  EXPECT_TRUE(c.connected());
  EXPECT_EQ(c.version().daemon, "charon");
}

TEST(ViciSession, CharonRefusalCarriesItsMessage) {
  FakeViciPeer peer;
  peer.serve([](FakeViciPeer& p) {
    p.read();
    Message m;
    m.set("success", "no").set("errmsg", "parsing request failed");
    p.respond(m);
    p.read();
  });
  Client c(2s);
  c.connect(peer.uri());
  try {
    c.load_conn("x", Section{});
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::command_failed);
    EXPECT_NE(std::string(e.what()).find("parsing request failed"), std::string::npos);
  }
}

// A hostile or runaway stream (list-sa events without end) is cut at the cap: the request
// fails with a limit error and the connection closes, instead of ndsipd growing without bound.
TEST(ViciSession, AnEndlessStreamIsCutAtTheCap) {
  FakeViciPeer peer;
  peer.serve([](FakeViciPeer& p) {
    EXPECT_EQ(p.read().name, "list-sa");
    p.confirm();
    EXPECT_EQ(p.read().name, "list-sas");
    Message sa;
    sa.add_section("conn").set("uniqueid", "1").set("padding", std::string(4000, 'x'));
    for (int i = 0; i < 2000; ++i) p.event("list-sa", sa);  // ~8 MB, never a response
  });
  Client c(5s);
  c.session().limit_stream_bytes(256 * 1024);
  c.connect(peer.uri());
  try {
    c.list_sas();
    FAIL() << "an endless stream was accepted";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::limit) << e.what();
    EXPECT_NE(std::string(e.what()).find("streamed more than 262144 bytes"), std::string::npos) << e.what();
  }
  EXPECT_FALSE(c.connected());
}
