// list-sas children (ndsip's VICI parse) as the views the kernel check takes.
#include <gtest/gtest.h>
#include <netinet/in.h>

#include "kernel/child_sa_from_vici.hpp"

using namespace ndsip;

namespace {

vici::ChildSa installed() {
  vici::ChildSa c;
  c.name = "a-b-net";
  c.uniqueid = 12;
  c.state = "INSTALLED";
  c.reqid = "3";
  c.mode = "TUNNEL";
  c.protocol = "ESP";
  c.spi_in = "c5d3f0a1";
  c.spi_out = "0000beef";
  c.local_ts = {"198.51.100.10/32"};
  c.remote_ts = {"198.51.100.11/32", "10.9.0.0/16[tcp/443]"};
  return c;
}

}  // namespace

TEST(KernelChildSaFromVici, CarriesWhatTheCheckNeeds) {
  const kernel::ChildSaView v = kernel::view_of(installed());
  EXPECT_EQ(v.name, "a-b-net");
  EXPECT_EQ(v.uniqueid, 12u);
  EXPECT_EQ(v.role, kernel::Role::installed);
  EXPECT_EQ(v.reqid, 3u);
  EXPECT_EQ(v.protocol, IPPROTO_ESP);
  EXPECT_EQ(v.spi_in, 0xc5d3f0a1u);
  EXPECT_EQ(v.spi_out, 0xbeefu);
  ASSERT_EQ(v.local_ts.size(), 1u);
  ASSERT_EQ(v.remote_ts.size(), 2u);
  EXPECT_EQ(v.remote_ts[1].str(), "10.9.0.0/16[tcp/443]");
  EXPECT_EQ(v.flows, kernel::default_flows(true));
  EXPECT_TRUE(v.unparsed_ts.empty());
}

TEST(KernelChildSaFromVici, RolesFollowCharonsStates) {
  vici::ChildSa c = installed();
  for (const char* s : {"INSTALLED", "UPDATING", "REKEYING"}) {
    c.state = s;
    EXPECT_EQ(kernel::view_of(c).role, kernel::Role::installed) << s;
  }
  c.state = "ROUTED";
  EXPECT_EQ(kernel::view_of(c).role, kernel::Role::trap);
  for (const char* s : {"CREATED", "INSTALLING", "RETRYING", "REKEYED", "DELETING", "DELETED", "DESTROYING"}) {
    c.state = s;
    EXPECT_EQ(kernel::view_of(c).role, kernel::Role::leaving) << s;
  }
}

TEST(KernelChildSaFromVici, TransportAhAndOddValues) {
  vici::ChildSa c = installed();
  c.mode = "TRANSPORT";
  c.protocol = "AH";
  c.reqid = "x";          // garbled: unknown, not some other reqid
  c.spi_in = "";
  c.remote_ts = {"198.51.100.11/32[tcp/http]"};
  const kernel::ChildSaView v = kernel::view_of(c);
  EXPECT_EQ(v.flows, kernel::default_flows(false));
  EXPECT_EQ(v.protocol, IPPROTO_AH);
  EXPECT_EQ(v.reqid, 0u);
  EXPECT_EQ(v.spi_in, 0u);
  EXPECT_TRUE(v.remote_ts.empty());
  EXPECT_EQ(v.unparsed_ts, (std::vector<std::string>{"198.51.100.11/32[tcp/http]"}));
}

TEST(KernelChildSaFromVici, EveryChildOfEveryIkeSa) {
  vici::IkeSa a, b;
  a.children = {installed(), installed()};
  b.children = {installed()};
  b.children[0].name = "a-c-net";
  const auto views = kernel::views_of({a, b});
  ASSERT_EQ(views.size(), 3u);
  EXPECT_EQ(views[2].name, "a-c-net");
}
