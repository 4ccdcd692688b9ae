// charon's traffic selector text, and the selector charon's kernel interface makes of it.
#include <gtest/gtest.h>
#include <netinet/in.h>

#include "kernel/traffic_selector.hpp"

using ndsip::kernel::TrafficSelector;

TEST(KernelTrafficSelector, PlainPrefixes) {
  const auto ts = TrafficSelector::parse("198.51.100.10/32");
  ASSERT_TRUE(ts);
  EXPECT_EQ(ts->net.str(), "198.51.100.10/32");
  EXPECT_EQ(ts->proto, 0);
  EXPECT_EQ(ts->str(), "198.51.100.10/32");
  EXPECT_EQ(ts->kernel_ports(), std::make_pair(std::uint16_t{0}, std::uint16_t{0}));  // any port
  EXPECT_EQ(TrafficSelector::parse("::/0")->net.str(), "::/0");
}

TEST(KernelTrafficSelector, RangesBecomeTheirCoveringSubnet) {
  // charon installs a range as to_subnet(): the smallest subnet holding it.
  EXPECT_EQ(TrafficSelector::parse("10.0.0.1..10.0.0.9")->net.str(), "10.0.0.0/28");
  EXPECT_FALSE(TrafficSelector::parse("10.0.0.1..2001:db8::1"));
  EXPECT_FALSE(TrafficSelector::parse("10.0.0.0/24..10.0.1.0"));
}

TEST(KernelTrafficSelector, ProtocolsAndPorts) {
  const auto tcp = TrafficSelector::parse("10.0.0.0/24[tcp/443]");
  ASSERT_TRUE(tcp);
  EXPECT_EQ(tcp->proto, IPPROTO_TCP);
  EXPECT_EQ(tcp->from_port, 443);
  EXPECT_EQ(tcp->to_port, 443);
  EXPECT_EQ(tcp->kernel_ports(), std::make_pair(std::uint16_t{443}, std::uint16_t{0xffff}));
  EXPECT_EQ(tcp->str(), "10.0.0.0/24[tcp/443]");

  const auto udp = TrafficSelector::parse("10.0.0.0/24[udp]");
  ASSERT_TRUE(udp);
  EXPECT_EQ(udp->proto, IPPROTO_UDP);
  EXPECT_EQ(udp->str(), "10.0.0.0/24[udp]");

  EXPECT_EQ(TrafficSelector::parse("10.0.0.0/24[132/5000]")->proto, IPPROTO_SCTP);
  EXPECT_EQ(TrafficSelector::parse("2001:db8::/64[ipv6-icmp]")->proto, IPPROTO_ICMPV6);
  // ICMP type/code are not compared (and so not parsed).
  const auto icmp = TrafficSelector::parse("10.0.0.0/24[icmp/8]");
  ASSERT_TRUE(icmp);
  EXPECT_FALSE(icmp->ports_compared());
}

TEST(KernelTrafficSelector, PortRangesAsCharonsKernelInterfaceMasksThem) {
  // 1024-2047 share their top five bits: port 1024, mask 0xfc00.
  const auto aligned = TrafficSelector::parse("10.0.0.0/8[tcp/1024-2047]");
  ASSERT_TRUE(aligned);
  EXPECT_EQ(aligned->kernel_ports(), std::make_pair(std::uint16_t{1024}, std::uint16_t{0xfc00}));
  // 1000-2000 differ from bit 10: only the shared leading bits remain (0-1023 as 0/0xfc00).
  const auto ragged = TrafficSelector::parse("10.0.0.0/8[tcp/1000-2000]");
  ASSERT_TRUE(ragged);
  EXPECT_EQ(ragged->kernel_ports(), std::make_pair(std::uint16_t{0}, std::uint16_t{0xf800}));
  // The whole range is any port.
  EXPECT_EQ(TrafficSelector::parse("10.0.0.0/8[tcp/0-65535]")->kernel_ports(),
            std::make_pair(std::uint16_t{0}, std::uint16_t{0}));
}

TEST(KernelTrafficSelector, RefusesWhatItCannotRead) {
  for (const char* bad : {"", "dynamic", "10.0.0.0/24[tcp/http]", "10.0.0.0/24[foo]", "10.0.0.0/24[tcp/2-1]",
                          "10.0.0.0/24[tcp", "10.0.0.0/24[tcp/99999]", "[tcp]"}) {
    EXPECT_FALSE(TrafficSelector::parse(bad)) << bad;
  }
}
