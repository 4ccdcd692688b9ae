#include <gtest/gtest.h>

#include "vici/commands.hpp"
#include "vici/error.hpp"

using namespace ndsip::vici;

TEST(ViciCommands, StreamedCommandsNameTheirEvent) {
  EXPECT_EQ(request::list_sas().stream_event, "list-sa");
  EXPECT_EQ(request::list_conns().stream_event, "list-conn");
  EXPECT_EQ(request::list_certs().stream_event, "list-cert");
  EXPECT_TRUE(request::version().stream_event.empty());
}

TEST(ViciCommands, TerminateAndRekeyUseHyphenatedIds) {
  TerminateArgs t;
  t.ike_id = 7;
  t.force = true;
  const Request r = request::terminate(t);
  EXPECT_EQ(r.args.value_or("ike-id"), "7");
  EXPECT_EQ(r.args.find_value("child-id"), nullptr);
  EXPECT_EQ(r.args.value_or("force"), "yes");
  RekeyArgs k;
  k.child_id = 3;
  k.reauth = true;
  const Request rk = request::rekey(k);
  EXPECT_EQ(rk.args.value_or("child-id"), "3");
  EXPECT_EQ(rk.args.value_or("reauth"), "yes");
}

TEST(ViciCommands, LoadConnWrapsTheConnectionInItsNamedSection) {
  Section conn;
  conn.set("version", "2");
  const Request r = request::load_conn("seal-s.val-1", conn);
  ASSERT_NE(r.args.find_section("seal-s.val-1"), nullptr);
  EXPECT_EQ(r.args.find_section("seal-s.val-1")->value_or("version"), "2");
}

TEST(ViciCommands, ParsesIkeSasWithChildrenByState) {
  Message event;
  Section& ike = event.add_section("gms");
  ike.set("uniqueid", "4").set("state", "ESTABLISHED").set("initiator", "yes");
  ike.set("remote-id", "b.lab.ndsip.test").set("established", "12");
  Section& children = ike.add_section("child-sas");
  Section& old_child = children.add_section("gms-1");
  old_child.set("name", "gms").set("state", "DELETED").set("bytes-in", "5");
  Section& child = children.add_section("gms-2");
  child.set("name", "gms").set("state", "INSTALLED").set("bytes-in", "100");
  child.set("packets-out", "3").set("spi-in", "c1a2b3c4");
  child.set_list("local-ts", {"198.51.100.10/32"});
  Reply reply;
  reply.streamed.push_back(event);
  const std::vector<IkeSa> sas = parse::list_sas(reply);
  ASSERT_EQ(sas.size(), 1u);
  EXPECT_EQ(sas[0].uniqueid, 4u);
  EXPECT_TRUE(sas[0].initiator);
  EXPECT_EQ(sas[0].established, 12u);
  ASSERT_EQ(sas[0].children.size(), 2u);
  const ChildSa* installed = sas[0].child("gms", "INSTALLED");
  ASSERT_NE(installed, nullptr);
  EXPECT_EQ(installed->bytes_in, 100u);
  EXPECT_EQ(installed->packets_out, 3u);
  EXPECT_FALSE(installed->use_in.has_value());
  EXPECT_EQ(installed->local_ts.at(0), "198.51.100.10/32");
}

TEST(ViciCommands, ExpectSuccess) {
  Message ok;
  ok.set("success", "yes");
  EXPECT_NO_THROW(expect_success("load-conn", ok));
  EXPECT_NO_THROW(expect_success("version", Message{}));
  Message no;
  no.set("success", "no");
  try {
    expect_success("unload-conn", no);
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::command_failed);
    EXPECT_NE(std::string(e.what()).find("unload-conn"), std::string::npos);
  }
}

TEST(ViciCommands, LoadKeyReturnsTheId) {
  Reply r;
  r.response.set("success", "yes").set("id", "0a1b");
  EXPECT_EQ(parse::load_key(r), "0a1b");
}
