// Addresses and prefixes compared as bytes, whatever their spelling.
#include <gtest/gtest.h>
#include <sys/socket.h>

#include "kernel/prefix.hpp"

using ndsip::kernel::canonical_address;
using ndsip::kernel::Prefix;

TEST(KernelPrefix, ParsesAddressesAndPrefixes) {
  const auto host = Prefix::parse("198.51.100.10");
  ASSERT_TRUE(host);
  EXPECT_EQ(host->family, AF_INET);
  EXPECT_EQ(host->length, 32u);
  EXPECT_TRUE(host->is_host());
  EXPECT_EQ(host->str(), "198.51.100.10/32");
  EXPECT_EQ(host->str(true), "198.51.100.10");

  const auto net = Prefix::parse("2001:DB8:0::/32");
  ASSERT_TRUE(net);
  EXPECT_EQ(net->family, AF_INET6);
  EXPECT_EQ(net->str(), "2001:db8::/32");
}

TEST(KernelPrefix, ClearsHostBitsAsTheKernelDoes) {
  EXPECT_EQ(Prefix::parse("10.0.0.77/24")->str(), "10.0.0.0/24");
  EXPECT_EQ(Prefix::parse("10.0.0.77/24"), Prefix::parse("10.0.0.0/24"));
  EXPECT_EQ(Prefix::parse("10.1.2.3/0")->str(), "0.0.0.0/0");
}

TEST(KernelPrefix, RefusesWhatIsNotAPrefix) {
  for (const char* bad : {"", "10.0.0", "10.0.0.0/", "10.0.0.0/33", "::/129", "10.0.0.0/x", "10.0.0.0/24/1",
                          "host.example", "10.0.0.0 /24", "fe80::1%eth0"}) {
    EXPECT_FALSE(Prefix::parse(bad)) << bad;
  }
}

TEST(KernelPrefix, Contains) {
  const Prefix net = *Prefix::parse("198.51.100.0/24");
  EXPECT_TRUE(net.contains(*Prefix::parse("198.51.100.20")));
  EXPECT_TRUE(net.contains(*Prefix::parse("198.51.100.128/25")));
  EXPECT_TRUE(net.contains(net));
  EXPECT_FALSE(net.contains(*Prefix::parse("198.51.101.1")));
  EXPECT_FALSE(net.contains(*Prefix::parse("198.51.0.0/16")));  // wider
  EXPECT_FALSE(net.contains(*Prefix::parse("::ffff:198.51.100.20")));  // another family
  EXPECT_TRUE(Prefix::parse("0.0.0.0/0")->contains(*Prefix::parse("203.0.113.1")));
}

TEST(KernelPrefix, CoveringIsTheSmallestPrefixHoldingBothEnds) {
  EXPECT_EQ(Prefix::covering(*Prefix::parse("10.0.0.1"), *Prefix::parse("10.0.0.9")).str(), "10.0.0.0/28");
  EXPECT_EQ(Prefix::covering(*Prefix::parse("10.0.0.4"), *Prefix::parse("10.0.0.4")).str(), "10.0.0.4/32");
  EXPECT_EQ(Prefix::covering(*Prefix::parse("0.0.0.0"), *Prefix::parse("255.255.255.255")).str(), "0.0.0.0/0");
}

TEST(KernelPrefix, FromKernelBytes) {
  const std::uint8_t bytes[4] = {192, 0, 2, 77};
  EXPECT_EQ(Prefix::from_bytes(AF_INET, bytes, 4, 24).str(), "192.0.2.0/24");
  EXPECT_EQ(Prefix::host(AF_INET, bytes, 4).str(true), "192.0.2.77");
  // A default route carries no bytes at all.
  EXPECT_EQ(Prefix::from_bytes(AF_INET6, nullptr, 0, 0).str(), "::/0");
  // A length past the family's is capped, not trusted.
  EXPECT_EQ(Prefix::from_bytes(AF_INET, bytes, 4, 99).length, 32u);
}

TEST(KernelPrefix, CanonicalAddress) {
  EXPECT_EQ(canonical_address("2001:DB8:0:0::1"), "2001:db8::1");
  EXPECT_EQ(canonical_address("192.0.2.10"), "192.0.2.10");
  EXPECT_EQ(canonical_address("192.0.2.0/24"), "");  // a prefix is not one address
  EXPECT_EQ(canonical_address("gms-a.example"), "");
}
