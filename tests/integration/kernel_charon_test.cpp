// The kernel view of a real charon in the lab (kernel-libipsec): a tunnel charon reports
// INSTALLED is found in the kernel (datapath libipsec, the route into ipsec0 in table 220);
// a route deleted behind charon's back is reported missing while charon still says
// INSTALLED, and traffic indeed stops; after terminate, the old CHILD_SA's route is gone
// and nothing is stale; an IKE end point leaving the host is reported. Needs root.
#include <gtest/gtest.h>
#include <unistd.h>

#include <thread>

#include "kernel/address_watcher.hpp"
#include "kernel/child_sa_from_vici.hpp"
#include "kernel/inventory.hpp"
#include "kernel_netns.hpp"
#include "lab/lab.hpp"
#include "lab/tunnel_setup.hpp"
#include "vici/client.hpp"

using namespace ndsip;
using namespace std::chrono_literals;
using kernel_test::run_until;

TEST(KernelCharon, ALibipsecTunnelAndItsLossAreSeenInTheKernel) {
  if (geteuid() != 0) GTEST_SKIP() << "the lab needs root";
  lab::Lab lab("kernel");
  lab::Host& a = lab.add_host("a");
  lab::Host& b = lab.add_host("b");
  lab.make_pki();
  lab.start_charon(a);
  lab.start_charon(b);
  vici::Client ca(10s), cb(10s);
  ca.connect(a.vici_uri);
  cb.connect(b.vici_uri);
  lab::program_tunnel(ca, cb, lab, a, b);
  const std::string conn = lab::connection_name(a, b), child = lab::child_name(a, b);
  ca.initiate({child, conn, 10000, false});
  // charon may answer initiate before list-sas shows the CHILD_SA installed.
  std::vector<kernel::ChildSaView> views;
  for (int i = 0; i < 100; ++i) {
    views = kernel::views_of(ca.list_sas());
    if (views.size() == 1 && views[0].role == kernel::Role::installed) break;
    std::this_thread::sleep_for(50ms);
  }
  EXPECT_EQ(views[0].role, kernel::Role::installed);
  EXPECT_NE(views[0].reqid, 0u);
  ASSERT_EQ(views[0].remote_ts.size(), 1u);
  EXPECT_EQ(views[0].remote_ts[0].str(), b.inner_addr + "/32");

  boost::asio::io_context io;
  std::vector<std::pair<std::string, bool>> address_changes;
  std::unique_ptr<kernel::Inventory> inventory;
  std::unique_ptr<kernel::AddressWatcher> addresses;
  {
    kernel_test::Entered entered(a.netns);
    inventory = std::make_unique<kernel::Inventory>(io);
    addresses = std::make_unique<kernel::AddressWatcher>(
        io, [&](const std::string& address, bool present) { address_changes.emplace_back(address, present); });
  }
  addresses->watch({a.outer_addr});
  EXPECT_TRUE(addresses->present(a.outer_addr));
  EXPECT_TRUE(addresses->present(a.inner_addr));
  ASSERT_EQ(inventory->error(), "");
  EXPECT_EQ(inventory->datapath(), kernel::Datapath::libipsec);
  EXPECT_TRUE(inventory->xfrm()->snapshot().policies.empty());  // libipsec keeps its policies in charon

  ASSERT_TRUE(run_until(io, [&] { return inventory->check(views).children[0].verdict == kernel::Verdict::ok; }))
      << inventory->check(views).children[0].summary();
  kernel::Report r = inventory->check(views);
  EXPECT_EQ(r.children[0].name, child);
  EXPECT_EQ(r.children[0].datapath, kernel::Datapath::libipsec);
  EXPECT_TRUE(r.stale.empty()) << r.stale.front().what;
  EXPECT_TRUE(lab.ping(a, b.inner_addr, 2));
  std::string table220;
  lab.run(a, {"ip", "route", "show", "table", "220"}, &table220);
  std::printf("table 220 of a, from charon: %s", table220.c_str());

  // The route goes behind charon's back: charon still says INSTALLED, the kernel says missing,
  // and traffic stops.
  lab.run(a, {"ip", "route", "del", b.inner_addr + "/32", "table", "220"});
  ASSERT_TRUE(run_until(io, [&] { return inventory->check(views).children[0].verdict == kernel::Verdict::missing; }));
  EXPECT_EQ(inventory->check(views).children[0].summary(), "route to " + b.inner_addr + "/32 via ipsec0 (table 220)");
  EXPECT_EQ(kernel::views_of(ca.list_sas()).at(0).role, kernel::Role::installed);
  EXPECT_EQ(lab.ping_replies(a, b.inner_addr, 2), 0);

  // Put back as charon makes it (proto static, scope global: the kernel deletes only a route
  // whose protocol and scope match charon's request).
  lab.run(a, {"ip", "route", "add", b.inner_addr + "/32", "dev", "ipsec0", "proto", "static", "scope", "global", "src",
              a.inner_addr, "table", "220"});
  ASSERT_TRUE(run_until(io, [&] { return inventory->check(views).children[0].verdict == kernel::Verdict::ok; }));
  EXPECT_TRUE(lab.ping(a, b.inner_addr, 2));

  // Terminated: charon removes its route; the old view misses it, the new (empty) list owns nothing
  // and nothing is left stale.
  ca.terminate({child, {}, {}, {}, false, 5000});
  ASSERT_TRUE(run_until(io, [&] { return inventory->check(views).children[0].verdict == kernel::Verdict::missing; }))
      << (lab.run(a, {"ip", "route", "show", "table", "220"}, &table220), table220);
  const std::vector<kernel::ChildSaView> after = kernel::views_of(ca.list_sas());
  EXPECT_TRUE(after.empty());
  EXPECT_TRUE(inventory->check(after).stale.empty());

  // An IKE end point leaves the host.
  lab.run(a, {"ip", "addr", "del", a.outer_addr + "/24", "dev", "eth0"});
  ASSERT_TRUE(run_until(io, [&] { return !address_changes.empty(); }));
  EXPECT_EQ(address_changes, (std::vector<std::pair<std::string, bool>>{{a.outer_addr, false}}));
  EXPECT_EQ(addresses->missing(), (std::vector<std::string>{a.outer_addr}));

  inventory.reset();
  addresses.reset();
  ca.close();
  cb.close();
}
