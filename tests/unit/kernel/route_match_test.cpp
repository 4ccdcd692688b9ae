// CHILD_SAs against charon's libipsec routing table: each remote selector routed into the
// TUN device, and the routes no CHILD_SA accounts for.
#include <gtest/gtest.h>
#include <linux/rtnetlink.h>

#include "kernel/route_match.hpp"

using namespace ndsip::kernel;

namespace {

constexpr int kTun = 7, kEth = 2;

Route route(const char* dst, int oif, std::uint32_t metric = 0, std::uint8_t type = RTN_UNICAST) {
  Route r;
  r.table = 220;
  r.dst = *Prefix::parse(dst);
  if (type == RTN_UNICAST) r.oifs = {oif};
  r.metric = metric;
  r.type = type;
  return r;
}

RouteSnapshot table(std::vector<Route> routes, int tun = kTun) {
  RouteSnapshot t;
  t.tun_ifindex = tun;
  t.routes = std::move(routes);
  return t;
}

ChildSaView child(std::vector<const char*> remote) {
  ChildSaView c;
  c.name = "a-b-net";
  c.reqid = 1;
  c.local_ts = {*TrafficSelector::parse("198.51.100.10/32")};
  for (const char* r : remote) c.remote_ts.push_back(*TrafficSelector::parse(r));
  return c;
}

std::vector<std::string> whats(const std::vector<Entry>& entries) {
  std::vector<std::string> out;
  for (const Entry& e : entries) out.push_back(e.what);
  return out;
}

}  // namespace

TEST(KernelRouteMatch, ARouteIntoTheTunDeviceCoversTheSelector) {
  const RouteMatch m = match_routes({child({"198.51.100.11/32"})}, table({route("198.51.100.11/32", kTun)}));
  EXPECT_TRUE(m.missing[0].empty()) << testing::PrintToString(whats(m.missing[0]));
  EXPECT_TRUE(m.stale.empty());
}

TEST(KernelRouteMatch, AWiderRouteIntoTheDeviceCoversTooAndIsAccountedFor) {
  const RouteMatch m =
      match_routes({child({"198.51.100.11/32", "198.51.100.12/32"})}, table({route("198.51.100.0/24", kTun)}));
  EXPECT_TRUE(m.missing[0].empty());
  EXPECT_TRUE(m.stale.empty());
}

TEST(KernelRouteMatch, ADeletedRouteIsMissing) {
  const RouteMatch m = match_routes({child({"198.51.100.11/32", "198.51.100.12/32"})},
                                    table({route("198.51.100.11/32", kTun)}));
  EXPECT_EQ(whats(m.missing[0]), (std::vector<std::string>{"route to 198.51.100.12/32 via ipsec0 (table 220)"}));
  EXPECT_EQ(m.missing[0][0].kind, EntryKind::route);
}

TEST(KernelRouteMatch, ARouteThroughAnotherDeviceIsNotCover) {
  const RouteMatch m = match_routes({child({"198.51.100.11/32"})}, table({route("198.51.100.0/24", kEth)}));
  EXPECT_EQ(whats(m.missing[0]),
            (std::vector<std::string>{
                "route to 198.51.100.11/32 via ipsec0 (table 220): the kernel's is 198.51.100.0/24 dev #2 table 220"}));
  // Not the selector's own route, nor one into the device: no CHILD_SA accounts for it.
  EXPECT_EQ(m.stale.size(), 1u);
}

TEST(KernelRouteMatch, TheLongestPrefixDecides) {
  // The /24 goes into the tunnel, but a /32 for the selector itself leaves by eth0.
  const RouteMatch m = match_routes({child({"198.51.100.11/32"})},
                                    table({route("198.51.100.0/24", kTun), route("198.51.100.11/32", kEth)}));
  ASSERT_EQ(m.missing[0].size(), 1u);
  EXPECT_NE(m.missing[0][0].what.find("the kernel's is 198.51.100.11/32 dev #2"), std::string::npos);
}

TEST(KernelRouteMatch, AMoreSpecificRouteInsideTheSelectorTakesPartOfIt) {
  const RouteMatch m = match_routes({child({"10.1.0.0/16"})},
                                    table({route("10.1.0.0/16", kTun), route("10.1.7.0/24", kEth)}));
  EXPECT_EQ(whats(m.missing[0]),
            (std::vector<std::string>{"part of 10.1.0.0/16 is routed by 10.1.7.0/24 dev #2 table 220"}));
  // A more specific route into the device is fine, and accounted for.
  const RouteMatch ok = match_routes({child({"10.1.0.0/16"})},
                                     table({route("10.1.0.0/16", kTun), route("10.1.7.0/24", kTun)}));
  EXPECT_TRUE(ok.missing[0].empty());
  EXPECT_TRUE(ok.stale.empty());
}

TEST(KernelRouteMatch, TheLowestMetricWinsAmongEquals) {
  const RouteMatch m = match_routes({child({"198.51.100.11/32"})},
                                    table({route("198.51.100.11/32", kTun, 100), route("198.51.100.11/32", kEth, 50)}));
  ASSERT_EQ(m.missing[0].size(), 1u);
  EXPECT_NE(m.missing[0][0].what.find("dev #2 metric 50"), std::string::npos) << m.missing[0][0].what;
}

TEST(KernelRouteMatch, BlackholesAndThrowsAreNotCover) {
  for (std::uint8_t type : {RTN_BLACKHOLE, RTN_UNREACHABLE, RTN_PROHIBIT, RTN_THROW}) {
    const RouteMatch m = match_routes({child({"198.51.100.11/32"})}, table({route("198.51.100.11/32", 0, 0, type)}));
    ASSERT_EQ(m.missing[0].size(), 1u);
    EXPECT_NE(m.missing[0][0].what.find(route_type_name(type) + " 198.51.100.11/32"), std::string::npos)
        << m.missing[0][0].what;
  }
}

TEST(KernelRouteMatch, WithoutTheTunDeviceNothingIsCovered) {
  const RouteMatch m = match_routes({child({"198.51.100.11/32"})}, table({route("198.51.100.11/32", kTun)}, 0));
  EXPECT_EQ(m.missing[0].front().kind, EntryKind::device);
  EXPECT_EQ(m.missing[0].front().what, "no TUN device ipsec0");
  EXPECT_EQ(m.missing[0].size(), 2u);
}

TEST(KernelRouteMatch, RoutesNoChildAccountsForAreStale) {
  const RouteMatch m = match_routes({child({"198.51.100.11/32"})},
                                    table({route("198.51.100.11/32", kTun), route("198.51.100.99/32", kTun),
                                           route("203.0.113.0/24", kEth)}));
  EXPECT_TRUE(m.missing[0].empty());
  EXPECT_EQ(whats(m.stale), (std::vector<std::string>{"198.51.100.99/32 dev ipsec0 table 220",
                                                      "203.0.113.0/24 dev #2 table 220"}));
}

TEST(KernelRouteMatch, LeavingChildrenNeedNoRouteButOwnTheirs) {
  ChildSaView old = child({"198.51.100.11/32"});
  old.role = Role::leaving;
  EXPECT_TRUE(match_routes({old}, table({})).missing[0].empty());
  const RouteMatch m = match_routes({old}, table({route("198.51.100.11/32", kTun)}));
  EXPECT_TRUE(m.stale.empty());
  ChildSaView trap = child({"198.51.100.11/32"});
  trap.role = Role::trap;  // trap policies get their routes too
  EXPECT_EQ(match_routes({trap}, table({})).missing[0].size(), 1u);
}

TEST(KernelRouteMatch, Ipv6) {
  ChildSaView c;
  c.local_ts = {*TrafficSelector::parse("2001:db8:a::1/128")};
  c.remote_ts = {*TrafficSelector::parse("2001:db8:b::/64")};
  EXPECT_TRUE(match_routes({c}, table({route("2001:db8:b::/64", kTun)})).missing[0].empty());
  // An IPv4 route covers no IPv6 selector, even the default one.
  EXPECT_EQ(match_routes({c}, table({route("0.0.0.0/0", kTun)})).missing[0].size(), 1u);
  EXPECT_TRUE(match_routes({c}, table({route("::/0", kTun)})).missing[0].empty());
}

TEST(KernelRouteMatch, OnlyRoutesInsideTheSelectorAreLookedAtAsParts) {
  // Neighbours on both sides of 10.1.0.0/16 in the table's order, a wider route holding it,
  // and two more specific routes inside it that leave by eth0.
  const RouteMatch m = match_routes(
      {child({"10.1.0.0/16"})},
      table({route("10.0.255.0/24", kEth), route("10.0.0.0/8", kTun), route("10.1.0.0/16", kTun),
             route("10.1.0.0/24", kEth), route("10.1.255.128/25", kEth), route("10.2.0.0/24", kEth),
             route("10.0.0.0/15", kEth)}));
  EXPECT_EQ(whats(m.missing[0]),
            (std::vector<std::string>{"part of 10.1.0.0/16 is routed by 10.1.0.0/24 dev #2 table 220",
                                      "part of 10.1.0.0/16 is routed by 10.1.255.128/25 dev #2 table 220"}));
  // 10.0.0.0/8 carries nothing of the child (the /16 is more specific): stale, as are the
  // neighbours and the parts that leave elsewhere.
  EXPECT_EQ(m.stale.size(), 6u);
}
