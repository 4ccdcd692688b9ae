// The report: the datapath chosen, a verdict per CHILD_SA in order, stale entries, and
// `unknown` (never `missing`) when the kernel cannot be read.
#include <gtest/gtest.h>
#include <netinet/in.h>

#include "kernel/check.hpp"

using namespace ndsip::kernel;

namespace {

ChildSaView child(const char* name, const char* remote, std::uint32_t reqid) {
  ChildSaView c;
  c.name = name;
  c.uniqueid = reqid * 10;
  c.reqid = reqid;
  c.local_ts = {*TrafficSelector::parse("198.51.100.10/32")};
  c.remote_ts = {*TrafficSelector::parse(remote)};
  return c;
}

XfrmPolicy policy(Direction dir, const char* src, const char* dst, std::uint32_t reqid) {
  XfrmPolicy p;
  p.dir = dir;
  p.src = *Prefix::parse(src);
  p.dst = *Prefix::parse(dst);
  XfrmTemplate t;
  t.reqid = reqid;
  t.proto = IPPROTO_ESP;
  p.templates = {t};
  return p;
}

}  // namespace

TEST(KernelChooseDatapath, BySettingOrByTheTunDevice) {
  EXPECT_EQ(choose_datapath(DatapathSetting::automatic, true), Datapath::libipsec);
  EXPECT_EQ(choose_datapath(DatapathSetting::automatic, false), Datapath::xfrm);
  EXPECT_EQ(choose_datapath(DatapathSetting::xfrm, true), Datapath::xfrm);
  EXPECT_EQ(choose_datapath(DatapathSetting::libipsec, false), Datapath::libipsec);
}

TEST(KernelCheck, XfrmVerdictsInOrder) {
  XfrmSnapshot x;
  x.policies = {policy(Direction::out, "198.51.100.10/32", "198.51.100.11/32", 1),
                policy(Direction::in, "198.51.100.11/32", "198.51.100.10/32", 1),
                policy(Direction::fwd, "198.51.100.11/32", "198.51.100.10/32", 1),
                policy(Direction::out, "198.51.100.10/32", "198.51.100.13/32", 3)};
  const Report r = check({child("b", "198.51.100.11/32", 1), child("c", "198.51.100.12/32", 2)}, Datapath::xfrm, x,
                         RouteSnapshot{});
  EXPECT_EQ(r.datapath, Datapath::xfrm);
  EXPECT_TRUE(r.error.empty());
  ASSERT_EQ(r.children.size(), 2u);
  EXPECT_EQ(r.children[0].name, "b");
  EXPECT_EQ(r.children[0].uniqueid, 10u);
  EXPECT_EQ(r.children[0].verdict, Verdict::ok);
  EXPECT_EQ(r.children[0].summary(), "ok");
  EXPECT_EQ(r.children[0].datapath, Datapath::xfrm);
  EXPECT_EQ(r.children[1].verdict, Verdict::missing);
  EXPECT_EQ(r.children[1].summary(),
            "out policy 198.51.100.10/32 -> 198.51.100.12/32 reqid 2; in policy 198.51.100.12/32 -> 198.51.100.10/32 "
            "reqid 2; fwd policy 198.51.100.12/32 -> 198.51.100.10/32 reqid 2");
  ASSERT_EQ(r.stale.size(), 1u);
  EXPECT_EQ(r.stale[0].kind, EntryKind::policy);
}

TEST(KernelCheck, LibipsecUsesTheRoutes) {
  RouteSnapshot t;
  t.tun_ifindex = 9;
  Route route;
  route.table = 220;
  route.dst = *Prefix::parse("198.51.100.11/32");
  route.oifs = {9};
  t.routes = {route};
  const Report r = check({child("b", "198.51.100.11/32", 1), child("c", "198.51.100.12/32", 2)}, Datapath::libipsec,
                         XfrmSnapshot{}, t);
  EXPECT_EQ(r.children[0].verdict, Verdict::ok);
  EXPECT_EQ(r.children[0].datapath, Datapath::libipsec);
  EXPECT_EQ(r.children[1].summary(), "route to 198.51.100.12/32 via ipsec0 (table 220)");
  EXPECT_TRUE(r.stale.empty());
}

TEST(KernelCheck, AnUnreadableKernelProvesNothing) {
  const Report r = check({child("b", "198.51.100.11/32", 1)}, Datapath::xfrm, XfrmSnapshot{}, RouteSnapshot{},
                         "XFRM policy dump: Operation not permitted", false);
  EXPECT_EQ(r.error, "XFRM policy dump: Operation not permitted");
  EXPECT_FALSE(r.current);
  ASSERT_EQ(r.children.size(), 1u);
  EXPECT_EQ(r.children[0].verdict, Verdict::unknown);
  EXPECT_EQ(r.children[0].summary(), "unknown");
  EXPECT_TRUE(r.children[0].missing.empty());
  EXPECT_TRUE(r.stale.empty());
}

TEST(KernelCheck, NoChildrenStillListsStale) {
  XfrmSnapshot x;
  x.policies = {policy(Direction::out, "10.0.0.0/8", "10.1.0.0/16", 4)};
  const Report r = check({}, Datapath::xfrm, x, RouteSnapshot{});
  EXPECT_TRUE(r.children.empty());
  EXPECT_EQ(r.stale.size(), 1u);
}
