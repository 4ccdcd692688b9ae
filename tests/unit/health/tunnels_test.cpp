// Tunnel states from list-sas snapshots: up, down with a reason, connecting with a timeout,
// re-initiation paced and backed off, black holes found.
#include <gtest/gtest.h>

#include <algorithm>
#include <map>

#include "health/failure.hpp"
#include "health/status_view.hpp"
#include "health/tunnels.hpp"
#include "reconcile/connection_section.hpp"

using namespace ndsip;
using namespace std::chrono_literals;
using health::State;

namespace {

policy::NodePlan plan_with(int peers) {
  policy::NodePlan p;
  p.node = "a";
  for (int i = 0; i < peers; ++i) {
    policy::ConnectionPlan c;
    c.peer = "p" + std::to_string(i);
    c.name = "zb_a_" + c.peer;
    policy::ChildPlan ch;
    ch.name = "a_" + c.peer;
    c.children = {ch};
    p.connections.push_back(c);
  }
  return p;
}

vici::IkeSa sa(const std::string& conn, const std::string& child, unsigned long long in,
               unsigned long long out, unsigned long long id = 1) {
  vici::IkeSa s;
  s.name = conn;
  s.uniqueid = 7;
  s.state = "ESTABLISHED";
  vici::ChildSa c;
  c.name = child;
  c.state = "INSTALLED";
  c.uniqueid = id;
  c.packets_in = in;
  c.packets_out = out;
  c.install_time = 12;
  s.children = {c};
  return s;
}

}  // namespace

TEST(Tunnels, UpDownAndTheReason) {
  health::Tunnels t;
  t.set_desired(plan_with(1), &reconcile::is_initiator);
  const auto now = health::Clock::now();
  t.observe({sa("zb_a_p0", "a_p0", 1, 1)}, now);
  EXPECT_EQ(t.all().at("zb_a_p0/a_p0").state, State::up);
  EXPECT_EQ(t.all().at("zb_a_p0/a_p0").established, 12u);
  t.observe({}, now + 1s);
  EXPECT_EQ(t.all().at("zb_a_p0/a_p0").state, State::down);
  EXPECT_EQ(t.all().at("zb_a_p0/a_p0").failure, health::Failure::sa_went_down);
  EXPECT_EQ(t.all().at("zb_a_p0/a_p0").last_error(), "SA went down");
  t.all_down(health::Failure::charon_unreachable, "x", now + 2s);
  EXPECT_EQ(t.all().at("zb_a_p0/a_p0").last_error(), "charon unreachable (x)");
}

TEST(Tunnels, InitiationsArePacedAndBackedOff) {
  health::Tunnels t(health::Settings{5s, 30s});
  t.set_desired(plan_with(10), &reconcile::is_initiator);
  const auto now = health::Clock::now();
  auto due = t.due(now, 3);
  ASSERT_EQ(due.size(), 3u);  // at most 3 in flight
  for (const auto& k : due) t.started(k, now);
  EXPECT_EQ(t.connecting(), 3u);
  EXPECT_TRUE(t.due(now, 3).empty());
  // Connecting for longer than the timeout: down, with a reason, and not retried at once.
  t.observe({}, now + 6s);
  const auto& first = t.all().at(due[0]);
  EXPECT_EQ(first.state, State::down);
  EXPECT_EQ(first.failure, health::Failure::connect_timeout);
  EXPECT_NE(first.last_error().find("timeout"), std::string::npos);
  EXPECT_GT(first.next_attempt, now);
  // retry_now (ndsipctl reconnect) makes a peer due at once.
  t.retry_now(first.peer);
  EXPECT_EQ(t.all().at(due[0]).next_attempt, health::Clock::time_point{});
}

// A peer that has no configuration yet answers NO_PROPOSAL_CHOSEN (a fleet taking a publish,
// or a loop of pushes reaching the initiator first): the attempt is over, the tunnel is down at
// once and due again when its backoff ends, not after the connect timeout.
TEST(Tunnels, AFailedAttemptIsDownAtOnceAndDueWhenItsBackoffEnds) {
  health::Tunnels t(health::Settings{30s, 30s});
  t.set_desired(plan_with(2), &reconcile::is_initiator);
  const auto now = health::Clock::now();
  EXPECT_FALSE(t.next_due(now));  // due now: nothing waits out a backoff
  for (const auto& k : t.due(now, 10)) t.started(k, now);
  const health::Tunnel& p0 = t.all().at("zb_a_p0/a_p0");
  const health::Tunnel& p1 = t.all().at("zb_a_p1/a_p1");
  EXPECT_TRUE(t.note("zb_a_p0", health::Failure::proposal_mismatch, {}, now + 10ms));
  EXPECT_EQ(p0.state, State::down);
  EXPECT_EQ(p1.state, State::connecting);  // another connection's attempt goes on
  ASSERT_TRUE(t.next_due(now + 10ms));
  EXPECT_EQ(*t.next_due(now + 10ms), p0.next_attempt);
  EXPECT_LE(p0.next_attempt, now + 1s);  // the first backoff: at most a second
  EXPECT_TRUE(t.due(now + 10ms, 10).empty());
  EXPECT_EQ(t.due(p0.next_attempt, 10), std::vector<std::string>{"zb_a_p0/a_p0"});
  // A CHILD_SA's own failure may leave the IKE_SA coming up: still connecting.
  EXPECT_FALSE(t.note("zb_a_p1", health::Failure::ts_mismatch, {}, now + 20ms));
  EXPECT_EQ(p1.state, State::connecting);
  EXPECT_EQ(p1.failure, health::Failure::ts_mismatch);
  // An established tunnel is not ended by a failure line (a re-authentication's, say).
  t.observe({sa("zb_a_p1", "a_p1", 1, 1)}, now + 30ms);
  EXPECT_FALSE(t.note("zb_a_p1", health::Failure::auth_refused_by_peer, {}, now + 40ms));
  EXPECT_EQ(p1.state, State::up);
}

// A virtual IP failed over away from this host: its tunnels are down with `address missing`
// and that address, not initiated (it cannot work), not `up` whatever list-sas still shows;
// back on the host, they are due at once. A connection with another local address still on
// the host is not held.
TEST(Tunnels, AnAddressGoneHoldsItsTunnelsAndItsReturnMakesThemDueAtOnce) {
  health::Tunnels t(health::Settings{30s, 30s});
  // Both connections start from the virtual IP; p1 may also use a fixed one.
  const policy::NodePlan p = plan_with(2);
  policy::NodePlan q;
  q.node = p.node;
  for (policy::ConnectionPlan c : p.connections) {
    c.local_addrs = {"192.0.2.10"};
    if (c.peer == "p1") c.local_addrs.push_back("192.0.2.11");
    q.connections.push_back(c);
  }
  t.set_desired(q, &reconcile::is_initiator);
  const auto now = health::Clock::now();
  t.observe({sa("zb_a_p0", "a_p0", 1, 1)}, now);
  const health::Tunnel& p0 = t.all().at("zb_a_p0/a_p0");
  const health::Tunnel& p1 = t.all().at("zb_a_p1/a_p1");
  ASSERT_EQ(p0.state, State::up);
  t.address_changed("192.0.2.10", false, now + 1s);
  EXPECT_EQ(p0.state, State::down);
  EXPECT_EQ(p0.failure, health::Failure::address_missing);
  EXPECT_EQ(p0.last_error(), "address missing (192.0.2.10)");
  EXPECT_FALSE(t.address_missing(p1));  // 192.0.2.11 is still here
  EXPECT_EQ(t.due(now + 100s, 10), std::vector<std::string>{"zb_a_p1/a_p1"});
  // charon still lists the SA: not up while the address is gone.
  t.observe({sa("zb_a_p0", "a_p0", 2, 2)}, now + 2s);
  EXPECT_EQ(p0.state, State::down);
  EXPECT_EQ(p0.failure, health::Failure::address_missing);
  // Back: due at once, without the backoff.
  t.address_changed("192.0.2.10", true, now + 3s);
  EXPECT_EQ(p0.failure, health::Failure::none);
  const auto due = t.due(now + 3s, 10);
  EXPECT_NE(std::find(due.begin(), due.end(), "zb_a_p0/a_p0"), due.end());
  t.observe({sa("zb_a_p0", "a_p0", 3, 3)}, now + 4s);
  EXPECT_EQ(p0.state, State::up);
}

// The kernel's side of an installed CHILD_SA: a gap is a fault only when two checks in a row
// see it (the kernel's copy may lag charon), then the tunnel is degraded and a repair is due,
// again at the 4th and 8th check; unknown (the kernel unreadable) is never a gap; ok again
// makes it up and clears the count.
TEST(Tunnels, AKernelGapSeenTwiceDegradesAndIsRepairedLessAndLessOften) {
  health::Tunnels t;
  t.set_desired(plan_with(1), &reconcile::is_initiator);
  const auto now = health::Clock::now();
  const std::string k = "zb_a_p0/a_p0";
  t.observe({sa("zb_a_p0", "a_p0", 1, 1)}, now);
  using V = health::Tunnels::KernelCheck::Verdict;
  const std::map<std::string, health::Tunnels::KernelCheck> gap{{k, {V::missing, "route to 10.0.0.1/32"}}},
      ok{{k, {V::ok, "ok"}}}, unknown{{k, {V::unknown, "unknown"}}};
  const health::Tunnel& tun = t.all().at(k);
  EXPECT_TRUE(t.observe_kernel(unknown, now).empty());
  EXPECT_TRUE(t.observe_kernel(unknown, now).empty());
  EXPECT_EQ(tun.state, State::up);
  EXPECT_TRUE(t.observe_kernel(gap, now).empty());  // once: perhaps the kernel's copy lags
  EXPECT_EQ(tun.state, State::up);
  EXPECT_EQ(t.observe_kernel(gap, now), std::vector<std::string>{k});
  EXPECT_EQ(tun.state, State::degraded);
  EXPECT_EQ(tun.last_error(), "kernel state missing (route to 10.0.0.1/32)");
  EXPECT_EQ(tun.kernel, "route to 10.0.0.1/32");
  // list-sas still shows the same SA installed: not up while the kernel lacks it.
  t.observe({sa("zb_a_p0", "a_p0", 2, 2)}, now + 1s);
  EXPECT_EQ(tun.state, State::degraded);
  EXPECT_TRUE(t.observe_kernel(gap, now).empty());                    // 3rd
  EXPECT_EQ(t.observe_kernel(gap, now), std::vector<std::string>{k});  // 4th: try again
  for (int i = 5; i < 8; ++i) EXPECT_TRUE(t.observe_kernel(gap, now).empty()) << i;
  EXPECT_EQ(t.observe_kernel(gap, now), std::vector<std::string>{k});  // 8th
  EXPECT_TRUE(t.observe_kernel(ok, now + 2s).empty());
  EXPECT_EQ(tun.state, State::up);
  EXPECT_EQ(tun.kernel, "ok");
  EXPECT_EQ(tun.kernel_gaps, 0);
}

TEST(Tunnels, ResponderSideIsNeverDue) {
  health::Tunnels t;
  policy::NodePlan p = plan_with(1);
  p.node = "zz";  // "zz" > "p0": the peer initiates
  t.set_desired(p, &reconcile::is_initiator);
  EXPECT_TRUE(t.due(health::Clock::now(), 10).empty());
}

// A standby child (through a second SEG, ChildPlan::standby) is never initiated: it waits
// for a failover. It reads `standby` in status and is not counted among the down ones.
TEST(Tunnels, AStandbyChildIsNeverDueAndNotCountedDown) {
  health::Tunnels t;
  policy::NodePlan p = plan_with(2);
  auto standby = *p.connections.shared(1);
  standby.children[0].standby = true;
  standby.children[0].standby_for = "p0";
  policy::ConnectionList list;
  list.push_back(p.connections.shared(0));
  list.push_back(standby);
  p.connections = list;
  t.set_desired(p, &reconcile::is_initiator);
  const auto now = health::Clock::now();
  const std::vector<std::string> due = t.due(now, 10);
  EXPECT_EQ(due, std::vector<std::string>{"zb_a_p0/a_p0"});
  EXPECT_FALSE(t.next_due(now).has_value());
  const auto counts = health::tunnel_counts(t);
  EXPECT_EQ(counts.at("standby"), 1);
  EXPECT_EQ(counts.at("down"), 1);
  EXPECT_EQ(counts.at("total"), 1);  // the tunnels that should be up
  const auto rows = health::tunnel_rows(t, now, 0s);
  EXPECT_EQ(rows.at(1).at("state"), "standby");
  // Should charon hold it all the same (the peer initiated it), it is what it is: up.
  t.observe({sa("zb_a_p1", "a_p1", 1, 1)}, now);
  EXPECT_EQ(t.all().at("zb_a_p1/a_p1").state, State::up);
  EXPECT_EQ(health::tunnel_counts(t).at("standby"), 0);
}

TEST(Tunnels, BlackHoleIsDegradedOnce) {
  health::Tunnels t(health::Settings{30s, 10s});
  t.set_desired(plan_with(1), &reconcile::is_initiator);
  const auto now = health::Clock::now();
  EXPECT_TRUE(t.observe({sa("zb_a_p0", "a_p0", 5, 5)}, now).empty());
  EXPECT_TRUE(t.observe({sa("zb_a_p0", "a_p0", 5, 9)}, now + 1s).empty());
  EXPECT_TRUE(t.observe({sa("zb_a_p0", "a_p0", 5, 20)}, now + 5s).empty());
  EXPECT_EQ(t.observe({sa("zb_a_p0", "a_p0", 5, 30)}, now + 12s).size(), 1u);
  EXPECT_EQ(t.all().at("zb_a_p0/a_p0").state, State::degraded);
  EXPECT_TRUE(t.observe({sa("zb_a_p0", "a_p0", 5, 40)}, now + 13s).empty());  // reported once
  // Inbound moves again (or a new CHILD_SA replaced it): up.
  t.observe({sa("zb_a_p0", "a_p0", 6, 41)}, now + 14s);
  EXPECT_EQ(t.all().at("zb_a_p0/a_p0").state, State::up);
}

TEST(Tunnels, IdleTunnelIsNotABlackHole) {
  health::Tunnels t(health::Settings{30s, 10s});
  t.set_desired(plan_with(1), &reconcile::is_initiator);
  const auto now = health::Clock::now();
  for (int i = 0; i < 5; ++i) t.observe({sa("zb_a_p0", "a_p0", 5, 5)}, now + std::chrono::seconds(10 * i));
  EXPECT_EQ(t.all().at("zb_a_p0/a_p0").state, State::up);
}

TEST(Failure, CharonLogLinesToTypedFailures) {
  using health::Failure;
  using health::failure_from_log;
  EXPECT_EQ(failure_from_log("giving up after 2 retransmits"), Failure::retransmit_timeout);
  EXPECT_EQ(failure_from_log("received AUTHENTICATION_FAILED notify error"), Failure::auth_refused_by_peer);
  EXPECT_EQ(failure_from_log("no trusted ECDSA public key found for 'val1.lab.ndsip.test'"), Failure::peer_untrusted);
  EXPECT_EQ(failure_from_log("received NO_PROPOSAL_CHOSEN notify error"), Failure::proposal_mismatch);
  EXPECT_EQ(failure_from_log("received TS_UNACCEPTABLE notify, no CHILD_SA built"), Failure::ts_mismatch);
  EXPECT_EQ(failure_from_log("certificate status is revoked"), Failure::certificate_revoked);
  EXPECT_FALSE(failure_from_log("IKE_SA zb_a_b[1] established between ..."));
  EXPECT_FALSE(failure_from_log("selected traffic selectors: 10.0.0.1/32 === 10.0.0.2/32"));
  EXPECT_FALSE(failure_from_log(""));
}

TEST(Failure, WordsAreMadeAtTheEdgeWithTheDetail) {
  using health::Failure;
  EXPECT_EQ(health::describe(Failure::retransmit_timeout), "retransmit timeout (peer not responding)");
  EXPECT_EQ(health::describe(Failure::certificate_revoked, "serial 0A"), "certificate revoked (serial 0A)");
  EXPECT_STREQ(health::code(Failure::proposal_mismatch), "proposal-mismatch");
  EXPECT_EQ(health::describe(Failure::none), "");
}

TEST(Tunnels, FailuresAreNotedOnTheNamedConnectionOnly) {
  health::Tunnels t;
  t.set_desired(plan_with(2), &reconcile::is_initiator);
  t.note("zb_a_p0", health::Failure::proposal_mismatch);
  EXPECT_EQ(t.all().at("zb_a_p0/a_p0").failure, health::Failure::proposal_mismatch);
  // The other tunnel, down as well, is not given someone else's reason.
  EXPECT_EQ(t.all().at("zb_a_p1/a_p1").failure, health::Failure::none);
}

TEST(Tunnels, RevokedOutranksTheAuthenticationFailureThatFollowsIt) {
  health::Tunnels t;
  t.set_desired(plan_with(1), &reconcile::is_initiator);
  t.note("zb_a_p0", health::Failure::certificate_revoked, "serial 1F");
  t.note("zb_a_p0", health::Failure::auth_refused_by_peer);
  const health::Tunnel& tunnel = t.all().at("zb_a_p0/a_p0");
  EXPECT_TRUE(tunnel.revoked());
  EXPECT_EQ(tunnel.last_error(), "certificate revoked (serial 1F)");
  // A different failure (not an authentication one) replaces it.
  t.note("zb_a_p0", health::Failure::retransmit_timeout);
  EXPECT_FALSE(t.all().at("zb_a_p0/a_p0").revoked());
}

TEST(Tunnels, AnUnansweredPeerIsNotUpUntilItAnswersOrANewSaComes) {
  health::Tunnels t;
  t.set_desired(plan_with(1), &reconcile::is_initiator);
  const auto now = health::Clock::now();
  t.observe({sa("zb_a_p0", "a_p0", 5, 5)}, now);
  ASSERT_EQ(t.all().at("zb_a_p0/a_p0").state, State::up);
  // A retransmit on another IKE_SA of the connection (a re-authentication's new one) is not it.
  EXPECT_FALSE(t.unanswered("zb_a_p0", 8, now + 1s));
  EXPECT_EQ(t.all().at("zb_a_p0/a_p0").state, State::up);
  EXPECT_TRUE(t.unanswered("zb_a_p0", 7, now + 1s));
  EXPECT_EQ(t.all().at("zb_a_p0/a_p0").state, State::degraded);
  EXPECT_EQ(t.all().at("zb_a_p0/a_p0").failure, health::Failure::peer_not_answering);
  // charon still lists the SA as established: that does not make it up.
  t.observe({sa("zb_a_p0", "a_p0", 5, 9)}, now + 2s);
  EXPECT_EQ(t.all().at("zb_a_p0/a_p0").state, State::degraded);
  // Inbound traffic: the peer answers after all.
  t.observe({sa("zb_a_p0", "a_p0", 6, 9)}, now + 3s);
  EXPECT_EQ(t.all().at("zb_a_p0/a_p0").state, State::up);
  // A tunnel that is not established is not "unanswered": an initiation retransmits too.
  health::Tunnels fresh;
  fresh.set_desired(plan_with(1), &reconcile::is_initiator);
  EXPECT_FALSE(fresh.unanswered("zb_a_p0", 0, now));
}

TEST(Tunnels, InitiateNowOverridesTheInitiatorRuleUntilUp) {
  health::Tunnels t;
  policy::NodePlan p = plan_with(1);
  p.node = "zz";  // the peer initiates by the rule
  t.set_desired(p, &reconcile::is_initiator);
  const auto now = health::Clock::now();
  EXPECT_TRUE(t.due(now, 10).empty());
  t.initiate_now("zb_a_p0");
  ASSERT_EQ(t.due(now, 10).size(), 1u);
  t.started("zb_a_p0/a_p0", now);
  t.observe({}, now + 40s);  // timed out: still forced, after its backoff
  EXPECT_EQ(t.due(now + 100s, 10).size(), 1u);
  t.observe({sa("zb_a_p0", "a_p0", 1, 1)}, now + 101s);  // up: back to the rule
  t.observe({}, now + 102s);
  EXPECT_TRUE(t.due(now + 200s, 10).empty());
}

TEST(Failure, RetransmitLinesAreCounted) {
  EXPECT_EQ(health::retransmit_from_log("retransmit 2 of request with message ID 7"), 2);
  EXPECT_EQ(health::retransmit_from_log("retransmit 1 of request with message ID 0"), 1);
  EXPECT_FALSE(health::retransmit_from_log("retransmit of request"));
  EXPECT_FALSE(health::retransmit_from_log("giving up after 5 retransmits"));
}
