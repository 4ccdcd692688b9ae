// kernel::AddressWatcher against the real kernel, in a namespace of the test's own: the dump
// at start, every change live on the loop, tentative IPv6 addresses, a netlink overrun
// healed by a re-dump, netlink forbidden (as systemd's RestrictAddressFamilies does), and no
// descriptor left behind. Needs root.
#include <gtest/gtest.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cstddef>
#include <utility>
#include <vector>

#include "kernel/address_watcher.hpp"
#include "kernel/inventory.hpp"
#include "kernel_netns.hpp"

using namespace ndsip;
using namespace std::chrono_literals;
using kernel_test::run_until;
using kernel_test::TestNetns;

namespace {

class KernelAddress : public ::testing::Test {
 protected:
  void SetUp() override {
    if (geteuid() != 0) GTEST_SKIP() << "needs root (network namespaces)";
  }
};

using Changes = std::vector<std::pair<std::string, bool>>;

// What systemd's RestrictAddressFamilies=AF_UNIX does to AF_NETLINK: socket() fails with
// EAFNOSUPPORT (a seccomp filter on this process only; x86-64).
bool forbid_netlink() {
  sock_filter filter[] = {
      BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(seccomp_data, arch)),
      BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, AUDIT_ARCH_X86_64, 1, 0),
      BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
      BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(seccomp_data, nr)),
      BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_socket, 0, 3),
      BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(seccomp_data, args[0])),
      BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, AF_NETLINK, 0, 1),
      BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | (EAFNOSUPPORT & SECCOMP_RET_DATA)),
      BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
  };
  sock_fprog program{static_cast<unsigned short>(sizeof filter / sizeof filter[0]), filter};
  return ::prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) == 0 && ::prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &program) == 0;
}

}  // namespace

TEST_F(KernelAddress, DumpAtStartThenEveryChangeLive) {
  TestNetns ns;
  ns.ip({"addr", "add", "198.51.100.50/32", "dev", "lo"});
  boost::asio::io_context io;
  Changes changes;
  auto watcher = ns.inside([&] {
    return std::make_unique<kernel::AddressWatcher>(
        io, [&](const std::string& a, bool present) { changes.emplace_back(a, present); });
  });
  ASSERT_EQ(watcher->error(), "");
  watcher->watch({"198.51.100.50", "198.51.100.51", "2001:DB8::51", "not-an-address"});
  EXPECT_TRUE(watcher->present("198.51.100.50"));
  EXPECT_TRUE(watcher->present("127.0.0.1"));  // any address, watched or not
  EXPECT_FALSE(watcher->present("198.51.100.51"));
  EXPECT_EQ(watcher->missing(), (std::vector<std::string>{"not-an-address", "198.51.100.51", "2001:DB8::51"}));
  EXPECT_EQ(watcher->dumps(), 1u);

  ns.ip({"addr", "add", "198.51.100.51/32", "dev", "lo"});
  ASSERT_TRUE(run_until(io, [&] { return !changes.empty(); }));
  EXPECT_EQ(changes, (Changes{{"198.51.100.51", true}}));

  changes.clear();
  ns.ip({"addr", "del", "198.51.100.50/32", "dev", "lo"});
  ASSERT_TRUE(run_until(io, [&] { return !changes.empty(); }));
  EXPECT_EQ(changes, (Changes{{"198.51.100.50", false}}));
  EXPECT_FALSE(watcher->present("198.51.100.50"));

  // IPv6, spelled as the topology spelled it; lo does no duplicate address detection.
  changes.clear();
  ns.ip({"-6", "addr", "add", "2001:db8::51/128", "dev", "lo"});
  ASSERT_TRUE(run_until(io, [&] { return !changes.empty(); }));
  EXPECT_EQ(changes, (Changes{{"2001:DB8::51", true}}));

  // An address nobody watches changes nothing the handler hears of.
  changes.clear();
  ns.ip({"addr", "add", "203.0.113.9/32", "dev", "lo"});
  io.restart();
  io.run_for(200ms);
  EXPECT_TRUE(changes.empty());
  EXPECT_TRUE(watcher->present("203.0.113.9"));
  EXPECT_EQ(watcher->dumps(), 1u);  // all of it from announcements, no re-dump
}

TEST_F(KernelAddress, TheSameAddressOnTwoDevicesStaysUntilBothLoseIt) {
  TestNetns ns;
  ns.ip({"link", "add", "v0", "type", "veth", "peer", "name", "v1"});
  boost::asio::io_context io;
  Changes changes;
  auto watcher = ns.inside([&] {
    return std::make_unique<kernel::AddressWatcher>(
        io, [&](const std::string& a, bool present) { changes.emplace_back(a, present); });
  });
  watcher->watch({"192.0.2.70"});
  ns.ip({"addr", "add", "192.0.2.70/24", "dev", "v0"});
  ns.ip({"addr", "add", "192.0.2.70/24", "dev", "v1"});
  ns.ip({"addr", "del", "192.0.2.70/24", "dev", "v0"});
  ASSERT_TRUE(run_until(io, [&] { return !changes.empty(); }));
  io.restart();
  io.run_for(100ms);
  EXPECT_EQ(changes, (Changes{{"192.0.2.70", true}}));
  EXPECT_TRUE(watcher->present("192.0.2.70"));
  // Deleting the device takes its address with it.
  ns.ip({"link", "del", "v0"});  // and its peer v1
  ASSERT_TRUE(run_until(io, [&] { return changes.size() == 2; }));
  EXPECT_EQ(changes.back(), (std::pair<std::string, bool>{"192.0.2.70", false}));
}

TEST_F(KernelAddress, TentativeIpv6CountsOnceDuplicateDetectionIsDone) {
  TestNetns ns;
  ns.ip({"link", "add", "v0", "type", "veth", "peer", "name", "v1"});
  ns.ip({"link", "set", "v0", "up"});
  ns.ip({"link", "set", "v1", "up"});
  boost::asio::io_context io;
  Changes changes;
  auto watcher = ns.inside([&] {
    return std::make_unique<kernel::AddressWatcher>(
        io, [&](const std::string& a, bool present) { changes.emplace_back(a, present); });
  });
  watcher->watch({"2001:db8::60"});
  ns.ip({"-6", "addr", "add", "2001:db8::60/64", "dev", "v0"});
  const auto added = std::chrono::steady_clock::now();
  io.restart();
  io.run_for(100ms);
  EXPECT_TRUE(changes.empty()) << "a tentative address counted as present";
  EXPECT_FALSE(watcher->present("2001:db8::60"));
  ASSERT_TRUE(run_until(io, [&] { return !changes.empty(); }, 10s)) << ns.ip({"-6", "addr", "show", "dev", "v0"});
  EXPECT_EQ(changes, (Changes{{"2001:db8::60", true}}));
  EXPECT_GT(std::chrono::steady_clock::now() - added, 500ms);  // DAD takes about a second
}

TEST_F(KernelAddress, AnOverrunIsHealedByADumpOnTheLoop) {
  TestNetns ns;
  boost::asio::io_context io;
  Changes changes;
  kernel::AddressWatcher::Options options;
  options.receive_buffer = 1;  // the kernel's minimum: a few announcements fill it
  auto watcher = ns.inside([&] {
    return std::make_unique<kernel::AddressWatcher>(
        io, [&](const std::string& a, bool present) { changes.emplace_back(a, present); }, options);
  });
  std::set<std::string> watched;
  std::vector<std::string> add, del;
  for (int i = 0; i < 300; ++i) {
    const std::string a = "10.77." + std::to_string(i / 250) + "." + std::to_string(i % 250 + 1);
    watched.insert(a);
    add.push_back("addr add " + a + "/32 dev lo");
    del.push_back("addr del " + a + "/32 dev lo");
  }
  watcher->watch(watched);
  ns.ip_batch(add);  // 300 announcements while the loop does not read: the socket overruns
  ASSERT_TRUE(run_until(io, [&] { return watcher->missing().empty() && watcher->dumps() >= 2; }, 10s))
      << watcher->missing().size() << " missing, " << watcher->dumps() << " dumps";
  EXPECT_EQ(watcher->error(), "");
  // Every watched address was reported, once, as there (from announcements or the re-dump).
  std::set<std::string> reported;
  for (const auto& [a, present] : changes) {
    EXPECT_TRUE(present);
    EXPECT_TRUE(reported.insert(a).second) << a << " reported twice";
  }
  EXPECT_EQ(reported, watched);

  changes.clear();
  ns.ip_batch(del);
  ASSERT_TRUE(run_until(io, [&] { return watcher->missing().size() == watched.size(); }, 10s));
  EXPECT_EQ(changes.size(), watched.size());
}

TEST_F(KernelAddress, NoDescriptorIsLeftBehind) {
  TestNetns ns;
  const std::size_t before = kernel_test::open_fds();
  {
    boost::asio::io_context io;
    auto watcher = ns.inside([&] { return std::make_unique<kernel::AddressWatcher>(io, nullptr); });
    watcher->watch({"198.51.100.1"});
    ns.ip({"addr", "add", "198.51.100.1/32", "dev", "lo"});
    ASSERT_TRUE(run_until(io, [&] { return watcher->present("198.51.100.1"); }));
    watcher.reset();  // with a wait pending on the loop
    io.restart();
    io.run_for(50ms);
  }
  EXPECT_EQ(kernel_test::open_fds(), before);
}

TEST_F(KernelAddress, NetlinkForbiddenIsAnErrorStateNotACrash) {
  const int status = kernel_test::in_child([] {
    if (!forbid_netlink()) return 2;
    boost::asio::io_context io;
    kernel::AddressWatcher::Options options;
    options.retry = 20ms;  // retried, failing, many times below
    kernel::AddressWatcher watcher(io, [](const std::string&, bool) {}, options);
    watcher.watch({"127.0.0.1"});
    if (watcher.error().find("Address family not supported") == std::string::npos) {
      std::fprintf(stderr, "child: address watcher error: '%s'\n", watcher.error().c_str());
      return 3;
    }
    if (watcher.present("127.0.0.1")) return 4;  // nothing known, nothing present
    kernel::InventoryOptions inventory_options;
    inventory_options.retry = 20ms;
    kernel::Inventory inventory(io, inventory_options);
    kernel::ChildSaView child;
    child.name = "x";
    const kernel::Report r = inventory.check({child});
    if (r.error.empty() || r.children.at(0).verdict != kernel::Verdict::unknown) {
      std::fprintf(stderr, "child: inventory error '%s'\n", r.error.c_str());
      return 5;
    }
    io.run_for(300ms);  // retries fail the same way, and crash nothing
    if (watcher.error().empty() || inventory.error().empty()) return 6;
    return 0;
  });
  EXPECT_EQ(status, 0);
}
