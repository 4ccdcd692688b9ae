// The libipsec inventory against a real routing table in a namespace of the test's own: a
// TUN device named ipsec0 (as charon's kernel-libipsec makes it) and routes in table 220.
// A deleted route is missing; a route nobody accounts for is stale; deleting the device
// (which takes its IPv4 routes without announcing them) is seen; other tables cost nothing.
// Needs root.
#include <gtest/gtest.h>
#include <unistd.h>

#include "kernel/inventory.hpp"
#include "kernel/route_watcher.hpp"
#include "kernel_netns.hpp"

using namespace ndsip;
using namespace std::chrono_literals;
using kernel_test::run_until;
using kernel_test::TestNetns;

namespace {

class KernelRoute : public ::testing::Test {
 protected:
  void SetUp() override {
    if (geteuid() != 0) GTEST_SKIP() << "needs root (network namespaces)";
  }
};

kernel::ChildSaView child(const std::string& remote) {
  kernel::ChildSaView c;
  c.name = "to-" + remote;
  c.reqid = 1;
  c.local_ts = {*kernel::TrafficSelector::parse("198.51.100.10/32")};
  c.remote_ts = {*kernel::TrafficSelector::parse(remote)};
  return c;
}

void make_tun(const TestNetns& ns) {
  ns.ip({"tuntap", "add", "dev", "ipsec0", "mode", "tun"});
  ns.ip({"link", "set", "ipsec0", "up"});
}

}  // namespace

TEST_F(KernelRoute, ATableThatDoesNotExistYetIsEmptyNotAnError) {
  TestNetns ns;
  boost::asio::io_context io;
  auto watcher = ns.inside([&] { return std::make_unique<kernel::RouteWatcher>(io); });
  EXPECT_EQ(watcher->error(), "");
  EXPECT_EQ(watcher->snapshot().tun_ifindex, 0);
  EXPECT_TRUE(watcher->snapshot().routes.empty());
}

TEST_F(KernelRoute, RoutesIntoTheTunDeviceCoverChildSas) {
  TestNetns ns;
  make_tun(ns);
  ns.ip({"route", "add", "198.51.100.20/32", "dev", "ipsec0", "src", "127.0.0.1", "table", "220"});
  ns.ip({"route", "add", "198.51.100.21/32", "dev", "ipsec0", "table", "220"});
  ns.ip({"route", "add", "203.0.113.0/24", "dev", "ipsec0", "table", "221"});  // another table: not looked at
  boost::asio::io_context io;
  auto inventory = ns.inside([&] { return std::make_unique<kernel::Inventory>(io); });
  ASSERT_EQ(inventory->error(), "");
  EXPECT_EQ(inventory->datapath(), kernel::Datapath::libipsec);  // automatic: ipsec0 is there
  const kernel::RouteSnapshot& t = inventory->routes()->snapshot();
  EXPECT_NE(t.tun_ifindex, 0);
  ASSERT_EQ(t.routes.size(), 2u);
  EXPECT_EQ(t.describe(t.routes[0]), "198.51.100.20/32 dev ipsec0 src 127.0.0.1 table 220");

  const kernel::Report r = inventory->check({child("198.51.100.20/32"), child("198.51.100.22/32")});
  EXPECT_EQ(r.datapath, kernel::Datapath::libipsec);
  EXPECT_EQ(r.children[0].verdict, kernel::Verdict::ok);
  EXPECT_EQ(r.children[1].summary(), "route to 198.51.100.22/32 via ipsec0 (table 220)");
  ASSERT_EQ(r.stale.size(), 1u);
  EXPECT_EQ(r.stale[0].what, "198.51.100.21/32 dev ipsec0 table 220");
}

TEST_F(KernelRoute, ADeletedRouteIsMissingOnTheLoop) {
  TestNetns ns;
  make_tun(ns);
  ns.ip({"route", "add", "198.51.100.20/32", "dev", "ipsec0", "table", "220"});
  boost::asio::io_context io;
  auto inventory = ns.inside([&] { return std::make_unique<kernel::Inventory>(io); });
  const std::vector<kernel::ChildSaView> views{child("198.51.100.20/32")};
  ASSERT_EQ(inventory->check(views).children[0].verdict, kernel::Verdict::ok);

  ns.ip({"route", "del", "198.51.100.20/32", "dev", "ipsec0", "table", "220"});
  ASSERT_TRUE(run_until(io, [&] { return inventory->check(views).children[0].verdict == kernel::Verdict::missing; }));
  EXPECT_EQ(inventory->check(views).children[0].summary(), "route to 198.51.100.20/32 via ipsec0 (table 220)");

  // Back, but through another device: still missing, and saying where it goes.
  ns.ip({"link", "add", "v0", "type", "veth", "peer", "name", "v1"});
  ns.ip({"link", "set", "v0", "up"});
  ns.ip({"route", "add", "198.51.100.0/24", "dev", "v0", "table", "220"});
  ASSERT_TRUE(run_until(io, [&] {
    return inventory->check(views).children[0].summary().find("the kernel's is 198.51.100.0/24 dev #") !=
           std::string::npos;
  })) << inventory->check(views).children[0].summary();

  ns.ip({"route", "add", "198.51.100.20/32", "dev", "ipsec0", "table", "220"});
  ASSERT_TRUE(run_until(io, [&] { return inventory->check(views).children[0].verdict == kernel::Verdict::ok; }));
}

TEST_F(KernelRoute, ADeletedDeviceTakesItsRoutesAndTheDatapathWithIt) {
  TestNetns ns;
  make_tun(ns);
  ns.ip({"route", "add", "198.51.100.20/32", "dev", "ipsec0", "table", "220"});
  boost::asio::io_context io;
  auto watcher = ns.inside([&] { return std::make_unique<kernel::RouteWatcher>(io); });
  ASSERT_EQ(watcher->snapshot().routes.size(), 1u);
  // IPv4 announces no RTM_DELROUTE for the routes a deleted device takes: the link's
  // announcement brings the re-read.
  ns.ip({"link", "del", "ipsec0"});
  ASSERT_TRUE(run_until(io, [&] { return watcher->snapshot().tun_ifindex == 0; }));
  EXPECT_TRUE(watcher->snapshot().routes.empty());
  EXPECT_EQ(kernel::choose_datapath(kernel::DatapathSetting::automatic, watcher->snapshot().tun_ifindex != 0),
            kernel::Datapath::xfrm);
}

TEST_F(KernelRoute, OtherTablesCostNoReading) {
  TestNetns ns;
  make_tun(ns);
  boost::asio::io_context io;
  auto watcher = ns.inside([&] { return std::make_unique<kernel::RouteWatcher>(io); });
  const std::uint64_t readings = watcher->generation();
  for (int i = 1; i < 20; ++i) {
    ns.ip({"route", "add", "203.0.113." + std::to_string(i) + "/32", "dev", "ipsec0"});  // main table
  }
  io.restart();
  io.run_for(300ms);
  EXPECT_EQ(watcher->generation(), readings);
  ns.ip({"route", "add", "198.51.100.20/32", "dev", "ipsec0", "table", "220"});
  ASSERT_TRUE(run_until(io, [&] { return watcher->snapshot().routes.size() == 1; }));
  EXPECT_EQ(watcher->generation(), readings + 1);
}

TEST_F(KernelRoute, NoDescriptorIsLeftBehind) {
  TestNetns ns;
  make_tun(ns);
  const std::size_t before = kernel_test::open_fds();
  {
    boost::asio::io_context io;
    auto inventory = ns.inside([&] { return std::make_unique<kernel::Inventory>(io); });
    ns.ip({"route", "add", "198.51.100.20/32", "dev", "ipsec0", "table", "220"});
    io.restart();
    io.run_for(60ms);
    inventory.reset();
    io.restart();
    io.run_for(50ms);
  }
  EXPECT_EQ(kernel_test::open_fds(), before);
}
