// The XFRM inventory against real kernel policies, made with `ip xfrm policy` in a namespace
// of the test's own: read at start, kept current on the loop (a flush makes a CHILD_SA's
// policies missing, a re-add brings them back), thousands of policies read over several
// turns of the loop, and without CAP_NET_ADMIN an error state. This kernel has no ESP, so no
// states can be made: the state dump is checked to work and come back empty. Needs root.
#include <gtest/gtest.h>
#include <grp.h>
#include <netinet/in.h>
#include <unistd.h>

#include <algorithm>

#include "kernel/inventory.hpp"
#include "kernel/xfrm_watcher.hpp"
#include "kernel_netns.hpp"

using namespace ndsip;
using namespace std::chrono_literals;
using kernel_test::run_until;
using kernel_test::TestNetns;

namespace {

class KernelXfrm : public ::testing::Test {
 protected:
  void SetUp() override {
    if (geteuid() != 0) GTEST_SKIP() << "needs root (network namespaces, CAP_NET_ADMIN)";
  }
};

// What charon's kernel-netlink installs for a tunnel-mode CHILD_SA: out, in, fwd.
std::vector<std::string> charon_policies(const std::string& local, const std::string& remote, int reqid) {
  const std::string tmpl_out = " tmpl src 192.0.2.10 dst 192.0.2.11 proto esp reqid " + std::to_string(reqid) + " mode tunnel";
  const std::string tmpl_in = " tmpl src 192.0.2.11 dst 192.0.2.10 proto esp reqid " + std::to_string(reqid) + " mode tunnel";
  return {"xfrm policy add src " + local + " dst " + remote + " dir out priority 375423" + tmpl_out,
          "xfrm policy add src " + remote + " dst " + local + " dir in priority 375423" + tmpl_in,
          "xfrm policy add src " + remote + " dst " + local + " dir fwd priority 375423" + tmpl_in};
}

kernel::ChildSaView child(const std::string& local, const std::string& remote, std::uint32_t reqid) {
  kernel::ChildSaView c;
  c.name = "net-" + std::to_string(reqid);
  c.reqid = reqid;
  c.local_ts = {*kernel::TrafficSelector::parse(local)};
  c.remote_ts = {*kernel::TrafficSelector::parse(remote)};
  return c;
}

kernel::InventoryOptions xfrm_only() {
  kernel::InventoryOptions o;
  o.datapath = kernel::DatapathSetting::xfrm;
  return o;
}

}  // namespace

TEST_F(KernelXfrm, ReadsTheKernelsPolicies) {
  TestNetns ns;
  ns.ip_batch(charon_policies("198.51.100.10/32", "198.51.100.11/32", 7));
  ns.ip({"xfrm", "policy", "add", "src", "10.0.0.0/24", "dst", "10.1.0.0/24", "proto", "tcp", "dport", "443", "dir",
         "out", "tmpl", "proto", "esp", "reqid", "9", "mode", "transport"});
  boost::asio::io_context io;
  auto watcher = ns.inside([&] { return std::make_unique<kernel::XfrmWatcher>(io); });
  ASSERT_EQ(watcher->error(), "");
  const kernel::XfrmSnapshot& k = watcher->snapshot();
  ASSERT_EQ(k.policies.size(), 4u);
  EXPECT_TRUE(k.states.empty());  // this kernel has no ESP: the dump works and is empty

  const auto out = std::find_if(k.policies.begin(), k.policies.end(), [](const kernel::XfrmPolicy& p) {
    return p.dir == kernel::Direction::out && p.src.str() == "198.51.100.10/32";
  });
  ASSERT_NE(out, k.policies.end());
  EXPECT_EQ(out->dst.str(), "198.51.100.11/32");
  EXPECT_EQ(out->priority, 375423u);
  EXPECT_NE(out->index, 0u);
  EXPECT_FALSE(out->block);
  ASSERT_EQ(out->templates.size(), 1u);
  EXPECT_EQ(out->templates[0].reqid, 7u);
  EXPECT_EQ(out->templates[0].proto, IPPROTO_ESP);
  EXPECT_EQ(out->templates[0].src.str(true), "192.0.2.10");
  EXPECT_EQ(out->templates[0].dst.str(true), "192.0.2.11");

  const auto tcp = std::find_if(k.policies.begin(), k.policies.end(),
                                [](const kernel::XfrmPolicy& p) { return p.proto == IPPROTO_TCP; });
  ASSERT_NE(tcp, k.policies.end());
  EXPECT_EQ(tcp->selector_str(), "out policy 10.0.0.0/24[tcp] -> 10.1.0.0/24[tcp/443]");
  EXPECT_EQ(tcp->templates.at(0).reqid, 9u);
  EXPECT_EQ(tcp->templates.at(0).src.family, 0);  // transport mode: no end points
}

TEST_F(KernelXfrm, InventoryChecksCharonsChildSasAgainstThem) {
  TestNetns ns;
  ns.ip_batch(charon_policies("198.51.100.10/32", "198.51.100.11/32", 7));
  ns.ip_batch(charon_policies("198.51.100.10/32", "198.51.100.99/32", 99));  // nobody's
  boost::asio::io_context io;
  auto inventory = ns.inside([&] { return std::make_unique<kernel::Inventory>(io, xfrm_only()); });
  ASSERT_EQ(inventory->error(), "");
  EXPECT_EQ(inventory->datapath(), kernel::Datapath::xfrm);
  EXPECT_EQ(inventory->routes(), nullptr);  // xfrm only: no route watching

  const std::vector<kernel::ChildSaView> views{child("198.51.100.10/32", "198.51.100.11/32", 7),
                                               child("198.51.100.10/32", "198.51.100.12/32", 8)};
  const kernel::Report r = inventory->check(views);
  EXPECT_TRUE(r.current);
  ASSERT_EQ(r.children.size(), 2u);
  EXPECT_EQ(r.children[0].verdict, kernel::Verdict::ok) << r.children[0].summary();
  EXPECT_EQ(r.children[1].verdict, kernel::Verdict::missing);
  EXPECT_EQ(r.children[1].missing.size(), 3u);
  ASSERT_EQ(r.stale.size(), 3u);
  for (const kernel::Entry& e : r.stale) EXPECT_NE(e.what.find("reqid 99"), std::string::npos) << e.what;
}

TEST_F(KernelXfrm, AFlushMakesThemMissingAndARestoreBringsThemBack) {
  TestNetns ns;
  ns.ip_batch(charon_policies("198.51.100.10/32", "198.51.100.11/32", 7));
  boost::asio::io_context io;
  int changes = 0;
  auto inventory = ns.inside([&] { return std::make_unique<kernel::Inventory>(io, xfrm_only()); });
  inventory->on_change([&] { ++changes; });
  const std::vector<kernel::ChildSaView> views{child("198.51.100.10/32", "198.51.100.11/32", 7)};
  ASSERT_EQ(inventory->check(views).children[0].verdict, kernel::Verdict::ok);

  ns.ip({"xfrm", "policy", "flush"});
  ASSERT_TRUE(run_until(io, [&] { return inventory->check(views).children[0].verdict == kernel::Verdict::missing; }));
  EXPECT_GE(changes, 1);
  kernel::Report r = inventory->check(views);
  EXPECT_EQ(r.children[0].summary(),
            "out policy 198.51.100.10/32 -> 198.51.100.11/32 reqid 7; in policy 198.51.100.11/32 -> 198.51.100.10/32 "
            "reqid 7; fwd policy 198.51.100.11/32 -> 198.51.100.10/32 reqid 7");
  EXPECT_TRUE(r.stale.empty());

  // One back: two still missing.
  ns.ip_batch({charon_policies("198.51.100.10/32", "198.51.100.11/32", 7)[0]});
  ASSERT_TRUE(run_until(io, [&] { return inventory->check(views).children[0].missing.size() == 2; }));
  // All back, but the fwd one with another reqid: that one is missing for this CHILD_SA, and stale.
  auto rest = charon_policies("198.51.100.10/32", "198.51.100.11/32", 7);
  rest[2] = charon_policies("198.51.100.10/32", "198.51.100.11/32", 5)[2];
  ns.ip_batch({rest[1], rest[2]});
  ASSERT_TRUE(run_until(io, [&] { return inventory->check(views).children[0].missing.size() == 1; }));
  ASSERT_TRUE(run_until(io, [&] { return inventory->current(); }));
  r = inventory->check(views);
  EXPECT_EQ(r.children[0].summary(), "fwd policy 198.51.100.11/32 -> 198.51.100.10/32 reqid 7: the kernel's has reqid 5");
  ASSERT_EQ(r.stale.size(), 1u);
  EXPECT_NE(r.stale[0].what.find("fwd policy 198.51.100.11/32 -> 198.51.100.10/32 reqid 5"), std::string::npos);
}

TEST_F(KernelXfrm, ThousandsOfPoliciesAreReadOnTheLoop) {
  TestNetns ns;
  boost::asio::io_context io;
  auto watcher = ns.inside([&] { return std::make_unique<kernel::XfrmWatcher>(io); });
  ASSERT_EQ(watcher->error(), "");
  EXPECT_TRUE(watcher->snapshot().policies.empty());
  std::vector<std::string> lines;
  for (int i = 0; i < 1000; ++i) {
    const std::string remote = "10." + std::to_string(100 + i / 250) + "." + std::to_string(i % 250) + ".0/24";
    for (const std::string& l : charon_policies("198.51.100.10/32", remote, 1000 + i)) lines.push_back(l);
  }
  const auto start = std::chrono::steady_clock::now();
  ns.ip_batch(lines);
  ASSERT_TRUE(run_until(io, [&] { return watcher->snapshot().policies.size() == 3000 && watcher->current(); }, 20s))
      << watcher->snapshot().policies.size() << " policies";
  const auto took = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - start);
  std::printf("3000 policies added and read back in %lld ms (%llu readings)\n", static_cast<long long>(took.count()),
              static_cast<unsigned long long>(watcher->generation()));
  std::vector<kernel::ChildSaView> views;
  for (int i = 0; i < 1000; ++i) {
    views.push_back(child("198.51.100.10/32",
                          "10." + std::to_string(100 + i / 250) + "." + std::to_string(i % 250) + ".0/24",
                          static_cast<std::uint32_t>(1000 + i)));
  }
  const auto check_start = std::chrono::steady_clock::now();
  const kernel::Report r = kernel::check(views, kernel::Datapath::xfrm, watcher->snapshot(), kernel::RouteSnapshot{});
  const auto check_took =
      std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - check_start);
  std::printf("check of 1000 CHILD_SAs against 3000 policies: %lld ms\n", static_cast<long long>(check_took.count()));
  EXPECT_TRUE(std::all_of(r.children.begin(), r.children.end(),
                          [](const kernel::ChildSaStatus& s) { return s.verdict == kernel::Verdict::ok; }));
  EXPECT_TRUE(r.stale.empty());
}

TEST_F(KernelXfrm, WithoutCapNetAdminItIsAnErrorStateNotACrash) {
  TestNetns ns;
  ns.ip_batch(charon_policies("198.51.100.10/32", "198.51.100.11/32", 7));
  const std::string name = ns.name();
  const int status = kernel_test::in_child([&] {
    kernel_test::enter_for_good(name);
    // nobody: every capability gone, as for an ndsipd without CAP_NET_ADMIN.
    if (::setgroups(0, nullptr) != 0 || ::setresgid(65534, 65534, 65534) != 0 || ::setresuid(65534, 65534, 65534) != 0) {
      return 2;
    }
    boost::asio::io_context io;
    kernel::Inventory inventory(io);  // automatic: XFRM and routes
    if (inventory.xfrm()->error().find("not permitted") == std::string::npos) {
      std::fprintf(stderr, "child: xfrm error '%s'\n", inventory.xfrm()->error().c_str());
      return 3;
    }
    // Routes need no privilege: that half works.
    if (!inventory.routes()->error().empty()) {
      std::fprintf(stderr, "child: routes error '%s'\n", inventory.routes()->error().c_str());
      return 4;
    }
    const kernel::Report r = inventory.check({child("198.51.100.10/32", "198.51.100.11/32", 7)});
    if (r.datapath != kernel::Datapath::xfrm || r.error.empty() || r.children.at(0).verdict != kernel::Verdict::unknown) {
      return 5;
    }
    io.run_for(100ms);
    return 0;
  });
  EXPECT_EQ(status, 0);
}

TEST_F(KernelXfrm, NoDescriptorIsLeftBehind) {
  TestNetns ns;
  ns.ip_batch(charon_policies("198.51.100.10/32", "198.51.100.11/32", 7));
  const std::size_t before = kernel_test::open_fds();
  {
    boost::asio::io_context io;
    auto inventory = ns.inside([&] { return std::make_unique<kernel::Inventory>(io); });
    ns.ip({"xfrm", "policy", "flush"});
    io.restart();
    io.run_for(20ms);  // a re-read may be running when it goes
    inventory.reset();
    io.restart();
    io.run_for(50ms);
  }
  EXPECT_EQ(kernel_test::open_fds(), before);
}
