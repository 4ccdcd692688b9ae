// CHILD_SAs as charon reports them against the kernel's XFRM policies and states: what each
// needs, what is missing, what no CHILD_SA owns.
#include <gtest/gtest.h>
#include <netinet/in.h>

#include <algorithm>

#include "kernel/xfrm_match.hpp"

using namespace ndsip::kernel;

namespace {

TrafficSelector ts(const char* text) {
  auto t = TrafficSelector::parse(text);
  EXPECT_TRUE(t) << text;
  return t ? *t : TrafficSelector{};
}

ChildSaView child(const char* local, const char* remote, std::uint32_t reqid) {
  ChildSaView c;
  c.name = "net";
  c.reqid = reqid;
  c.local_ts = {ts(local)};
  c.remote_ts = {ts(remote)};
  return c;
}

XfrmPolicy policy(Direction dir, const char* src, const char* dst, std::uint32_t reqid, std::uint32_t index = 0) {
  XfrmPolicy p;
  p.dir = dir;
  p.src = *Prefix::parse(src);
  p.dst = *Prefix::parse(dst);
  p.index = index;
  if (reqid != 0) {
    XfrmTemplate t;
    t.reqid = reqid;
    t.proto = IPPROTO_ESP;
    t.mode = 1;
    p.templates.push_back(t);
  }
  return p;
}

// What charon installs for `c` in tunnel mode: out, in, fwd.
std::vector<XfrmPolicy> installed(const char* local, const char* remote, std::uint32_t reqid) {
  return {policy(Direction::out, local, remote, reqid), policy(Direction::in, remote, local, reqid),
          policy(Direction::fwd, remote, local, reqid)};
}

XfrmState state(std::uint32_t spi, std::uint32_t reqid, std::uint8_t proto = IPPROTO_ESP) {
  XfrmState s;
  s.spi = spi;
  s.reqid = reqid;
  s.proto = proto;
  s.src = *Prefix::parse("192.0.2.10");
  s.dst = *Prefix::parse("192.0.2.11");
  return s;
}

std::vector<std::string> whats(const std::vector<Entry>& entries) {
  std::vector<std::string> out;
  for (const Entry& e : entries) out.push_back(e.what);
  return out;
}

}  // namespace

TEST(KernelExpectedPolicies, TunnelModeHasOutInAndFwdPerSelectorPair) {
  ChildSaView c = child("10.0.0.0/24", "10.1.0.0/24", 7);
  c.remote_ts.push_back(ts("10.2.0.0/24"));
  c.remote_ts.push_back(ts("2001:db8::/64"));  // no IPv6 local selector: no pair
  const auto e = expected_policies(c);
  ASSERT_EQ(e.size(), 6u);
  EXPECT_EQ(e[0].str(), "out policy 10.0.0.0/24 -> 10.1.0.0/24 reqid 7");
  EXPECT_EQ(e[1].str(), "in policy 10.1.0.0/24 -> 10.0.0.0/24 reqid 7");
  EXPECT_EQ(e[2].str(), "fwd policy 10.1.0.0/24 -> 10.0.0.0/24 reqid 7");
  EXPECT_EQ(e[3].str(), "out policy 10.0.0.0/24 -> 10.2.0.0/24 reqid 7");
}

TEST(KernelExpectedPolicies, TransportModeHasNoFwdAndFwdOutIsOptIn) {
  EXPECT_EQ(default_flows(false), (std::vector<Flow>{Flow::out, Flow::in}));
  EXPECT_EQ(default_flows(true), (std::vector<Flow>{Flow::out, Flow::in, Flow::fwd_in}));
  ChildSaView c = child("10.0.0.0/24", "10.1.0.0/24", 7);
  c.flows = default_flows(true, true);
  const auto e = expected_policies(c);
  ASSERT_EQ(e.size(), 4u);
  EXPECT_EQ(e[3].str(), "fwd policy 10.0.0.0/24 -> 10.1.0.0/24 reqid 7");  // fwd-out: local -> remote
}

TEST(KernelXfrmMatch, EverythingThereIsOkAndNothingStale) {
  XfrmSnapshot k;
  k.policies = installed("198.51.100.10/32", "198.51.100.11/32", 1);
  k.states = {state(0xc0000001, 1), state(0xc0000002, 1)};
  ChildSaView c = child("198.51.100.10/32", "198.51.100.11/32", 1);
  c.spi_in = 0xc0000001;
  c.spi_out = 0xc0000002;
  const XfrmMatch m = match_xfrm({c}, k);
  ASSERT_EQ(m.missing.size(), 1u);
  EXPECT_TRUE(m.missing[0].empty()) << testing::PrintToString(whats(m.missing[0]));
  EXPECT_TRUE(m.stale.empty()) << testing::PrintToString(whats(m.stale));
}

TEST(KernelXfrmMatch, AFlushedKernelMissesEveryPolicyOfEveryChild) {
  const std::vector<ChildSaView> children{child("198.51.100.10/32", "198.51.100.11/32", 1),
                                          child("198.51.100.10/32", "198.51.100.12/32", 2)};
  const XfrmMatch m = match_xfrm(children, XfrmSnapshot{});
  ASSERT_EQ(m.missing.size(), 2u);
  EXPECT_EQ(whats(m.missing[0]), (std::vector<std::string>{"out policy 198.51.100.10/32 -> 198.51.100.11/32 reqid 1",
                                                           "in policy 198.51.100.11/32 -> 198.51.100.10/32 reqid 1",
                                                           "fwd policy 198.51.100.11/32 -> 198.51.100.10/32 reqid 1"}));
  EXPECT_EQ(m.missing[1].size(), 3u);
  EXPECT_TRUE(std::all_of(m.missing[1].begin(), m.missing[1].end(), [](const Entry& e) { return e.kind == EntryKind::policy; }));
}

TEST(KernelXfrmMatch, OneMissingDirectionIsNamed) {
  XfrmSnapshot k;
  k.policies = installed("10.0.0.0/24", "10.1.0.0/24", 7);
  k.policies.erase(k.policies.begin() + 2);  // fwd gone
  const XfrmMatch m = match_xfrm({child("10.0.0.0/24", "10.1.0.0/24", 7)}, k);
  EXPECT_EQ(whats(m.missing[0]), (std::vector<std::string>{"fwd policy 10.1.0.0/24 -> 10.0.0.0/24 reqid 7"}));
}

TEST(KernelXfrmMatch, APolicyOfAnotherReqidIsMissingForThisChildAndStale) {
  XfrmSnapshot k;
  k.policies = installed("10.0.0.0/24", "10.1.0.0/24", 7);
  k.policies[0] = policy(Direction::out, "10.0.0.0/24", "10.1.0.0/24", 5, 42);
  const XfrmMatch m = match_xfrm({child("10.0.0.0/24", "10.1.0.0/24", 7)}, k);
  EXPECT_EQ(whats(m.missing[0]),
            (std::vector<std::string>{"out policy 10.0.0.0/24 -> 10.1.0.0/24 reqid 7: the kernel's has reqid 5"}));
  EXPECT_EQ(whats(m.stale), (std::vector<std::string>{"out policy 10.0.0.0/24 -> 10.1.0.0/24 reqid 5 (index 42, priority 0)"}));
}

TEST(KernelXfrmMatch, BlockAndTemplateLessPoliciesDoNotProtectAndAreNotStale) {
  XfrmSnapshot k;
  k.policies = installed("10.0.0.0/24", "10.1.0.0/24", 7);
  k.policies[0].block = true;
  k.policies[1].templates.clear();
  const XfrmMatch m = match_xfrm({child("10.0.0.0/24", "10.1.0.0/24", 7)}, k);
  EXPECT_EQ(whats(m.missing[0]), (std::vector<std::string>{
                                     "out policy 10.0.0.0/24 -> 10.1.0.0/24 reqid 7: the kernel's blocks",
                                     "in policy 10.1.0.0/24 -> 10.0.0.0/24 reqid 7: the kernel's has no IPsec template"}));
  EXPECT_TRUE(m.stale.empty());  // a drop or bypass policy is someone's intent, not a leftover
}

TEST(KernelXfrmMatch, PoliciesNoChildOwnsAreStale) {
  XfrmSnapshot k;
  k.policies = installed("10.0.0.0/24", "10.1.0.0/24", 7);
  const auto leftover = installed("10.0.0.0/24", "10.9.0.0/24", 9);
  k.policies.insert(k.policies.end(), leftover.begin(), leftover.end());
  k.policies.push_back(policy(Direction::out, "0.0.0.0/0", "0.0.0.0/0", 0));  // a bypass: not IPsec
  XfrmPolicy sub = policy(Direction::out, "10.0.0.0/24", "10.8.0.0/24", 8);
  sub.sub = true;  // sub policies are not charon's: neither matched nor stale
  k.policies.push_back(sub);
  const XfrmMatch m = match_xfrm({child("10.0.0.0/24", "10.1.0.0/24", 7)}, k);
  EXPECT_TRUE(m.missing[0].empty());
  ASSERT_EQ(m.stale.size(), 3u);
  for (const Entry& e : m.stale) {
    EXPECT_EQ(e.kind, EntryKind::policy);
    EXPECT_NE(e.what.find("10.9.0.0/24"), std::string::npos) << e.what;
  }
}

TEST(KernelXfrmMatch, UnknownReqidMatchesOnSelectorsAlone) {
  XfrmSnapshot k;
  k.policies = installed("10.0.0.0/24", "10.1.0.0/24", 7);
  const XfrmMatch m = match_xfrm({child("10.0.0.0/24", "10.1.0.0/24", 0)}, k);
  EXPECT_TRUE(m.missing[0].empty());
  EXPECT_TRUE(m.stale.empty());
}

TEST(KernelXfrmMatch, ProtocolAndPortsArePartOfTheSelector) {
  XfrmSnapshot k;
  k.policies = installed("10.0.0.0/24", "10.1.0.0/24", 7);
  for (XfrmPolicy& p : k.policies) p.proto = IPPROTO_TCP;
  k.policies[0].dport = 443;
  k.policies[0].dport_mask = 0xffff;
  k.policies[1].sport = 443;
  k.policies[1].sport_mask = 0xffff;
  k.policies[2].sport = 443;
  k.policies[2].sport_mask = 0xffff;
  ChildSaView c = child("10.0.0.0/24[tcp]", "10.1.0.0/24[tcp/443]", 7);
  EXPECT_TRUE(match_xfrm({c}, k).missing[0].empty());
  // Another port is another selector.
  c.remote_ts = {ts("10.1.0.0/24[tcp/80]")};
  EXPECT_EQ(match_xfrm({c}, k).missing[0].size(), 3u);
  // The kernel's any-protocol policy does not carry a TCP-only selector.
  ChildSaView any = child("10.0.0.0/24", "10.1.0.0/24", 7);
  EXPECT_EQ(match_xfrm({any}, k).missing[0].size(), 3u);
}

TEST(KernelXfrmMatch, TrapsNeedPoliciesButNoStates) {
  XfrmSnapshot k;
  k.policies = installed("10.0.0.0/24", "10.1.0.0/24", 7);
  ChildSaView trap = child("10.0.0.0/24", "10.1.0.0/24", 7);
  trap.role = Role::trap;
  trap.spi_in = 0x1234;  // ignored for a trap
  EXPECT_TRUE(match_xfrm({trap}, k).missing[0].empty());
  EXPECT_EQ(match_xfrm({trap}, XfrmSnapshot{}).missing[0].size(), 3u);
}

TEST(KernelXfrmMatch, LeavingChildrenNeedNothingButOwnWhatTheyStillHave) {
  XfrmSnapshot k;
  k.policies = installed("10.0.0.0/24", "10.1.0.0/24", 7);
  k.states = {state(0xaaaa0001, 7), state(0xaaaa0002, 7)};
  ChildSaView old = child("10.0.0.0/24", "10.1.0.0/24", 7);
  old.role = Role::leaving;
  old.spi_in = 0xaaaa0001;
  old.spi_out = 0xaaaa0002;
  XfrmMatch m = match_xfrm({old}, k);
  EXPECT_TRUE(m.missing[0].empty());
  EXPECT_TRUE(m.stale.empty());
  m = match_xfrm({old}, XfrmSnapshot{});
  EXPECT_TRUE(m.missing[0].empty());
}

TEST(KernelXfrmMatch, StatesByTheirSpis) {
  XfrmSnapshot k;
  k.policies = installed("10.0.0.0/24", "10.1.0.0/24", 7);
  k.states = {state(0xc0000001, 7), state(0xc0000002, 5), state(0xdead0001, 7), state(0x0000beef, 3, IPPROTO_COMP)};
  ChildSaView c = child("10.0.0.0/24", "10.1.0.0/24", 7);
  c.spi_in = 0xc0000001;
  c.spi_out = 0xc0000002;
  XfrmMatch m = match_xfrm({c}, k);
  EXPECT_EQ(whats(m.missing[0]),
            (std::vector<std::string>{"out ESP state c0000002: the kernel's has reqid 5, not 7"}));
  // 0xdead0001 belongs to no CHILD_SA; IPComp states are not looked at.
  EXPECT_EQ(whats(m.stale), (std::vector<std::string>{"ESP state dead0001 192.0.2.10 -> 192.0.2.11 reqid 7"}));

  c.spi_in = 0xc0000009;
  m = match_xfrm({c}, k);
  EXPECT_EQ(m.missing[0][0].what, "in ESP state c0000009 reqid 7");
  EXPECT_EQ(m.missing[0][0].kind, EntryKind::state);
}

TEST(KernelXfrmMatch, StatesOfAChildWhoseSpisAreUnknownAreItsOwn) {
  XfrmSnapshot k;
  k.policies = installed("10.0.0.0/24", "10.1.0.0/24", 7);
  k.states = {state(0xc0000001, 7), state(0xc0000002, 7), state(0xc0000003, 8)};
  const XfrmMatch m = match_xfrm({child("10.0.0.0/24", "10.1.0.0/24", 7)}, k);
  EXPECT_TRUE(m.missing[0].empty());  // no SPIs: states not looked for
  ASSERT_EQ(m.stale.size(), 1u);      // reqid 8 is nobody's
  EXPECT_NE(m.stale[0].what.find("c0000003"), std::string::npos);
}

TEST(KernelXfrmMatch, UnreadableSelectorsAreGapsNotSilence) {
  ChildSaView c = child("10.0.0.0/24", "10.1.0.0/24", 7);
  c.unparsed_ts = {"10.0.0.0/24[tcp/http]"};
  XfrmSnapshot k;
  k.policies = installed("10.0.0.0/24", "10.1.0.0/24", 7);
  const XfrmMatch m = match_xfrm({c}, k);
  ASSERT_EQ(m.missing[0].size(), 1u);
  EXPECT_EQ(m.missing[0][0].kind, EntryKind::selector);
  EXPECT_EQ(m.missing[0][0].what, "traffic selector '10.0.0.0/24[tcp/http]' not understood");
}

TEST(KernelXfrmPolicy, Describes) {
  XfrmPolicy p = policy(Direction::out, "10.0.0.0/24", "10.1.0.0/24", 7, 1234);
  p.priority = 375423;
  EXPECT_EQ(p.str(), "out policy 10.0.0.0/24 -> 10.1.0.0/24 reqid 7 (index 1234, priority 375423)");
  p.proto = IPPROTO_TCP;
  p.dport = 443;
  p.dport_mask = 0xffff;
  EXPECT_EQ(p.selector_str(), "out policy 10.0.0.0/24[tcp] -> 10.1.0.0/24[tcp/443]");
}
