// SEG forwarding with real traffic (issue 13): a VAL server in domain a uses a SEAL server in
// domain b, so the planner routes the pair val-1 -Zb-> seg-a -Za-> seg-b -Zb-> gms-b (six
// CHILD_SAs, each with the pair's /32 selectors). Every host runs real charon and ndsipd; the
// topology is pushed to all four. Then real packets go through both SEGs: ping, a TCP
// transfer checked byte for byte, the ESP counters of all six CHILD_SAs, a capture on the lab
// bridge that must show ESP only, and all of it again after rekeys on both SEGs.
//
// The SEG hosts need the lab's SEG step (Lab::make_seg, tests/lab/README.md): charon 5.9.8's
// kernel-libipsec deletes a SEG's CHILD_SAs otherwise. Production SEGs (kernel XFRM) do not.
#include <arpa/inet.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <openssl/evp.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <functional>
#include <fstream>
#include <future>
#include <iterator>
#include <map>
#include <random>
#include <set>
#include <sstream>
#include <thread>
#include <tuple>

#include "lab/bridge_capture.hpp"
#include "lab/lab.hpp"
#include "lab/lab_topology.hpp"
#include "lab/netns_thread.hpp"
#include "lab/process.hpp"
#include "lab/tcp_transfer.hpp"
#include "ndsipd_fixture.hpp"
#include "vici/client.hpp"

using namespace ndsip;
using namespace std::chrono_literals;
using nlohmann::json;
using lab::Capture;
using lab::in_netns;
using lab::read_pcap;
using lab::receive_all;
using lab::send_all;
using lab::sha256_hex;
using lab::Wire;

class Seg : public ndsip::testing::Ndsipd {
 protected:
  // `ndsipctl plan TOPOLOGY --node NAME --json`, offline, with the policies the daemons use.
  std::string plan_json(const std::string& topology, const std::string& node) {
    std::string out;
    const int rc = lab::proc::run({NDSIP_CTL, "plan", topology, "--node", node, "--json", "--policies",
                                   test_policies(), "--templates", NDSIP_SOURCE_DIR "/templates"},
                                  &out);
    if (rc != 0) throw std::runtime_error("ndsipctl plan --node " + node + ": " + out);
    return out;
  }

  // Each tunnel of each host by "host/connection/child", counters as of now (--fresh).
  std::map<std::string, json> tunnels(const std::vector<lab::Host*>& hosts) {
    std::map<std::string, json> out;
    for (lab::Host* h : hosts) {
      const json s = fresh_status(*h);
      for (const json& t : s["tunnels"])
        out[h->name + "/" + t["connection"].get<std::string>() + "/" + t["child"].get<std::string>()] = t;
    }
    return out;
  }

  // Waits until every tunnel in `before` counted at least `n` more packets each way; returns
  // the last counters (a test failure names each tunnel that did not).
  std::map<std::string, json> expect_counters_rose(const std::vector<lab::Host*>& hosts,
                                                   const std::map<std::string, json>& before, unsigned long long n) {
    std::map<std::string, json> now;
    auto rose = [&](const std::string& key, const char* field) {
      return now.count(key) && now.at(key)[field].get<unsigned long long>() >=
                                   before.at(key)[field].get<unsigned long long>() + n;
    };
    const auto deadline = std::chrono::steady_clock::now() + 5s;
    for (;;) {
      now = tunnels(hosts);
      bool all = true;
      for (const auto& [key, t] : before) all &= rose(key, "packets_in") && rose(key, "packets_out");
      if (all || std::chrono::steady_clock::now() > deadline) break;
      std::this_thread::sleep_for(250ms);
    }
    for (const auto& [key, t] : before) {
      EXPECT_TRUE(rose(key, "packets_in") && rose(key, "packets_out"))
          << key << ": expected " << n << " more packets each way; before " << t.dump() << "\nnow "
          << (now.count(key) ? now.at(key).dump() : "(gone)");
    }
    return now;
  }

  // val-1 (domain a, SEGs seg-a1 then seg-a2) using gms-b (domain b, SEG seg-b), each host
  // with real charon and ndsipd (`extra` its flags), the topology pushed, every tunnel up.
  struct TwoSegLab {
    lab::Host *val1, *seg_a1, *seg_a2, *seg_b, *gms_b;
    std::vector<lab::Host*> all;
  };
  void bring_up_two_seg_lab(TwoSegLab& l, const std::vector<std::string>& extra = {}) {
    l.val1 = &add("val-1");
    l.seg_a1 = &add("seg-a1");
    l.seg_a2 = &add("seg-a2");
    l.seg_b = &add("seg-b");
    l.gms_b = &add("gms-b");
    l.all = {l.val1, l.seg_a1, l.seg_a2, l.seg_b, l.gms_b};
    lab_->make_pki();
    lab::LabTopology t;
    t.name = "domain a with two SEGs";
    t.domains = {{"a", {"seg-a1", "seg-a2"}}, {"b", {"seg-b"}}};
    t.nodes = {{l.val1, "val-server", "a", {}},
               {l.seg_a1, "seg", "a", {}},
               {l.seg_a2, "seg", "a", {}},
               {l.seg_b, "seg", "b", {}},
               {l.gms_b, "seal-server", "b", {"group-management"}}};
    t.uses = {{"val-1", "gms-b", {"group-management"}}};
    const std::string topo = t.write(lab_->workdir() + "/topology.json");
    for (lab::Host* seg : {l.seg_a1, l.seg_a2, l.seg_b}) {
      lab_->make_seg(*seg, lab::seg_local_addresses(plan_json(topo, seg->name)));
    }
    for (lab::Host* h : l.all) start(*h, extra);
    push_all(t, "topology.json");
    // ndsipctl status exits 0: every tunnel that should be up is (standby ones are not counted).
    for (lab::Host* h : l.all) ASSERT_TRUE(all_up(*h, 30s)) << why(*h);
  }

  // ping -c 5 from val-1's inner address, not quiet: every reply must say ttl=62 (gms-b's 64,
  // less one for each SEG that forwarded it), so no SEG answered in gms-b's place.
  void expect_ping_through_two_segs(const lab::Host& from, const lab::Host& to) {
    std::string out;
    lab_->run(from, {"ping", "-n", "-c", "5", "-i", "0.2", "-W", "1", "-I", from.inner_addr, to.inner_addr}, &out,
              20s);
    std::size_t replies = 0, ttl62 = 0;
    std::istringstream in(out);
    for (std::string line; std::getline(in, line);) {
      if (line.find("bytes from " + to.inner_addr) == std::string::npos) continue;
      ++replies;
      ttl62 += line.find(" ttl=62 ") != std::string::npos;
    }
    EXPECT_EQ(replies, 5u) << out;
    EXPECT_EQ(ttl62, 5u) << out;
  }

  // Echo requests gms-b's own stack answered (Icmp InEchos in its namespace's /proc/net/snmp).
  unsigned long long in_echos(const lab::Host& h) {
    std::string out;
    lab_->run(h, {"cat", "/proc/net/snmp"}, &out);
    std::istringstream in(out);
    std::vector<std::string> names;
    for (std::string line; std::getline(in, line);) {
      if (line.rfind("Icmp: ", 0) != 0) continue;
      std::istringstream words(line.substr(6));
      std::vector<std::string> row{std::istream_iterator<std::string>(words), {}};
      if (names.empty()) {
        names = row;
        continue;
      }
      for (std::size_t i = 0; i < names.size() && i < row.size(); ++i)
        if (names[i] == "InEchos") return std::stoull(row[i]);
    }
    throw std::runtime_error("no Icmp InEchos in /proc/net/snmp of " + h.name + ":\n" + out);
  }
};

TEST_F(Seg, TrafficCrossesBothSegsAsEspOnlyAndSurvivesRekeysOnEachSeg) {
  const auto t0 = std::chrono::steady_clock::now();
  lab::Host& val1 = add("val-1");
  lab::Host& seg_a = add("seg-a");
  lab::Host& seg_b = add("seg-b");
  lab::Host& gms_b = add("gms-b");
  const std::vector<lab::Host*> all{&val1, &seg_a, &seg_b, &gms_b};
  lab_->make_pki();

  // val-1 (domain a) uses gms-b (domain b); each domain has a dedicated SEG. docs/planner.md:
  // the pair's path is val-1 -Zb-> seg-a -Za-> seg-b -Zb-> gms-b.
  lab::LabTopology t;
  t.name = "two domains, a SEG each";
  t.domains = {{"a", {"seg-a"}}, {"b", {"seg-b"}}};
  t.nodes = {{&val1, "val-server", "a", {}},
             {&seg_a, "seg", "a", {}},
             {&seg_b, "seg", "b", {}},
             {&gms_b, "seal-server", "b", {"group-management", "key-management"}}};
  t.uses = {{"val-1", "gms-b", {"group-management", "key-management"}}};
  const std::string topo = t.write(lab_->workdir() + "/topology.json");

  // The lab's SEG step, with the addresses of each SEG's local selectors taken from its plan:
  // seg-a's are gms-b's inner address (towards val-1) and val-1's (towards seg-b), and the
  // mirror image on seg-b.
  for (lab::Host* seg : {&seg_a, &seg_b}) {
    const std::vector<std::string> forwarded = lab::seg_local_addresses(plan_json(topo, seg->name));
    EXPECT_EQ(std::set<std::string>(forwarded.begin(), forwarded.end()),
              (std::set<std::string>{val1.inner_addr, gms_b.inner_addr}))
        << seg->name;
    lab_->make_seg(*seg, forwarded);
    std::string rules;
    lab_->run(*seg, {"ip", "rule", "show"}, &rules);
    const std::string lines = "\n" + rules;
    EXPECT_EQ(lines.find("\n0:\tfrom all lookup local\n"), std::string::npos) << rules;
    EXPECT_NE(lines.find("\n500:\tfrom all lookup local\n"), std::string::npos) << rules;
  }
  for (lab::Host* h : all) start(*h);
  push_all(t, "topology.json");
  for (lab::Host* h : all) ASSERT_TRUE(all_up(*h, 30s)) << why(*h);

  // The six CHILD_SAs: one on each end, two on each SEG, each with the pair's /32 selectors.
  const std::map<std::string, json> up = tunnels(all);
  ASSERT_EQ(up.size(), 6u) << json(up).dump(2);
  EXPECT_EQ(up.count("seg-a/zb_seg-a_val-1/gms-b_val-1") + up.count("seg-a/za_seg-a_seg-b/val-1_gms-b") +
                up.count("seg-b/za_seg-b_seg-a/gms-b_val-1") + up.count("seg-b/zb_seg-b_gms-b/val-1_gms-b") +
                up.count("val-1/zb_val-1_seg-a/val-1_gms-b") + up.count("gms-b/zb_gms-b_seg-b/gms-b_val-1"),
            6u)
      << json(up).dump(2);
  const auto t_up = std::chrono::steady_clock::now();

  Capture capture(lab_->switch_netns(), lab_->workdir());

  // Ping: 5/5, answered by gms-b itself after two forwarding hops.
  const unsigned long long echos = in_echos(gms_b);
  expect_ping_through_two_segs(val1, gms_b);
  EXPECT_GE(in_echos(gms_b), echos + 5);

  // TCP: 256 KiB of random bytes from val-1 to a listener in gms-b's namespace, byte-identical.
  std::string data(256 * 1024, '\0');
  std::mt19937_64 rng(std::random_device{}());
  for (char& c : data) c = static_cast<char>(rng() & 0xff);
  std::promise<void> listening;
  auto ready = listening.get_future();
  const std::string gms_addr = gms_b.inner_addr, val_addr = val1.inner_addr;
  auto received = in_netns(gms_b.netns, [&] { return receive_all(gms_addr, 7777, listening); });
  ready.wait_for(10s);
  auto sent = in_netns(val1.netns, [&] {
    send_all(val_addr, gms_addr, 7777, data);
    return true;
  });
  std::string got;
  ASSERT_NO_THROW(sent.get());
  ASSERT_NO_THROW(got = received.get());
  EXPECT_EQ(got.size(), data.size());
  EXPECT_EQ(sha256_hex(got), sha256_hex(data));

  // Every CHILD_SA on the path carried it, both ways.
  const std::map<std::string, json> after_traffic = expect_counters_rose(all, up, 5);

  // Rekeys on each SEG, one at a time (each waited for: new inbound SPI): both CHILD_SAs of
  // seg-a, both of seg-b, then seg-b's Za IKE_SA.
  const std::string swanctl = lab::proc::find_program("swanctl");
  auto spi_of = [&](lab::Host& h, const std::string& conn, const std::string& child) {
    const auto now = tunnels({&h});
    const std::string key = h.name + "/" + conn + "/" + child;
    return now.count(key) && now.at(key)["state"] == "up" ? now.at(key)["spi_in"].get<std::string>() : "";
  };
  const std::vector<std::tuple<lab::Host*, std::string, std::string>> children{
      {&seg_a, "zb_seg-a_val-1", "gms-b_val-1"},
      {&seg_a, "za_seg-a_seg-b", "val-1_gms-b"},
      {&seg_b, "za_seg-b_seg-a", "gms-b_val-1"},
      {&seg_b, "zb_seg-b_gms-b", "val-1_gms-b"}};
  for (const auto& [h, conn, child] : children) {
    const std::string old_spi = spi_of(*h, conn, child);
    std::string out;
    ASSERT_EQ(lab::proc::run({swanctl, "--rekey", "--child", child, "--uri", h->vici_uri}, &out), 0) << out;
    const auto deadline = std::chrono::steady_clock::now() + 10s;
    std::string spi;
    while (((spi = spi_of(*h, conn, child)).empty() || spi == old_spi) && std::chrono::steady_clock::now() < deadline)
      std::this_thread::sleep_for(100ms);
    EXPECT_NE(spi, old_spi) << h->name << " " << child << " not rekeyed" << why(*h);
    EXPECT_FALSE(spi.empty()) << h->name << " " << child << " not up after its rekey" << why(*h);
  }
  {
    const auto ike_of = [&] {
      const auto now = tunnels({&seg_b});
      const json& t = now.at("seg-b/za_seg-b_seg-a/gms-b_val-1");
      return t["state"] == "up" ? t["ike_uniqueid"].get<unsigned long long>() : 0ull;
    };
    const unsigned long long old_ike = ike_of();
    std::string out;
    ASSERT_EQ(lab::proc::run({swanctl, "--rekey", "--ike", "za_seg-b_seg-a", "--uri", seg_b.vici_uri}, &out), 0)
        << out;
    const auto deadline = std::chrono::steady_clock::now() + 10s;
    unsigned long long ike = 0;
    while (((ike = ike_of()) == 0 || ike == old_ike) && std::chrono::steady_clock::now() < deadline)
      std::this_thread::sleep_for(100ms);
    EXPECT_NE(ike, old_ike) << "seg-b's Za IKE_SA not rekeyed" << why(seg_b);
    EXPECT_NE(ike, 0u) << "seg-b's Za tunnel not up after the IKE rekey" << why(seg_b);
  }
  for (lab::Host* h : all) ASSERT_TRUE(all_up(*h, 20s)) << why(*h);
  const std::map<std::string, json> rekeyed = tunnels(all);
  ASSERT_EQ(rekeyed.size(), 6u) << json(rekeyed).dump(2);
  for (const auto& [key, tun] : rekeyed) {
    EXPECT_NE(tun["spi_in"], after_traffic.at(key)["spi_in"]) << key << ": the same CHILD_SA as before the rekeys";
  }
  // And through the new SAs: ping again, counters of every new CHILD_SA rising.
  expect_ping_through_two_segs(val1, gms_b);
  expect_counters_rose(all, rekeyed, 5);

  // The bridge saw ESP on each of the three hops, both ways, and nothing else but IKE and ARP:
  // no ICMP or TCP, no inner address in any IP header.
  capture.stop();
  const Wire wire = read_pcap(capture.pcap());
  EXPECT_TRUE(wire.other.empty()) << wire.summary();
  const std::vector<std::pair<const lab::Host*, const lab::Host*>> hops{
      {&val1, &seg_a}, {&seg_a, &seg_b}, {&seg_b, &gms_b}};
  for (auto [x, y] : hops) {
    for (auto [from, to] : {std::pair{x, y}, std::pair{y, x}}) {
      const auto it = wire.esp.find({from->outer_addr, to->outer_addr});
      // 10 pings (before and after the rekeys) plus the TCP transfer.
      EXPECT_GE(it == wire.esp.end() ? 0u : it->second, 10u)
          << from->name << " -> " << to->name << ": " << wire.summary();
    }
  }
  std::cerr << "SEG path: up in "
            << std::chrono::duration<double>(t_up - t0).count() << " s, whole test "
            << std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count() << " s; wire: "
            << wire.summary() << "\n";
}

// Two dedicated SEGs in domain a (docs/planner.md, "Dedicated, integrated and redundant
// SEGs"): every hop through seg-a2 is planned and loaded, but standby; traffic takes the
// preferred seg-a1, and no host holds a CHILD_SA through seg-a2. (Failing over to it is the
// next step of issue 14.)
TEST_F(Seg, WithTwoSegsTrafficTakesThePreferredOneAndTheOtherStandsBy) {
  TwoSegLab l;
  ASSERT_NO_FATAL_FAILURE(bring_up_two_seg_lab(l));
  lab::Host &val1 = *l.val1, &seg_a1 = *l.seg_a1, &seg_a2 = *l.seg_a2, &seg_b = *l.seg_b, &gms_b = *l.gms_b;
  const std::vector<lab::Host*>& all = l.all;

  const std::map<std::string, json> rows = tunnels(all);
  std::set<std::string> up, standby;
  for (const auto& [key, row] : rows) (row["state"] == "up" ? up : standby).insert(key);
  EXPECT_EQ(up, (std::set<std::string>{"val-1/zb_val-1_seg-a1/val-1_gms-b", "seg-a1/zb_seg-a1_val-1/gms-b_val-1",
                                       "seg-a1/za_seg-a1_seg-b/val-1_gms-b", "seg-b/za_seg-b_seg-a1/gms-b_val-1",
                                       "seg-b/zb_seg-b_gms-b/val-1_gms-b", "gms-b/zb_gms-b_seg-b/gms-b_val-1"}))
      << json(rows).dump(2);
  EXPECT_EQ(standby, (std::set<std::string>{"val-1/zb_val-1_seg-a2/val-1_gms-b", "seg-a2/zb_seg-a2_val-1/gms-b_val-1",
                                            "seg-a2/za_seg-a2_seg-b/val-1_gms-b", "seg-b/za_seg-b_seg-a2/gms-b_val-1"}))
      << json(rows).dump(2);
  for (const std::string& key : standby) EXPECT_EQ(rows.at(key)["state"], "standby") << key;

  expect_ping_through_two_segs(val1, gms_b);
  // seg-a2 holds no CHILD_SA: only the IKE_SAs val-1 and seg-b keep ready to fail over.
  vici::Client c(5s);
  c.connect(seg_a2.vici_uri);
  for (const vici::IkeSa& sa : c.list_sas()) EXPECT_TRUE(sa.children.empty()) << sa.name;
  std::string status;
  ctl(val1, {"status"}, &status);
  EXPECT_NE(status.find("1 of 1 up, 1 standby"), std::string::npos) << status;
}

// Failover between SEGs (issue 14): two SEGs in domain a, val-1 pinging gms-b every 100 ms
// through the preferred seg-a1. seg-a1's charon is killed (SIGKILL: no DELETE, its peers learn
// it from silence); val-1 and seg-b each move the pair to seg-a2, whose IKE_SAs they kept up
// without children, and the ping goes on. The lost replies are counted and bound. When seg-a1's
// charon is back (its ndsipd loads it again), both fail back once seg-a1 has answered for the
// hold (5 s here), and then stay: no flapping. A restart of val-1's ndsipd while on seg-a2
// keeps it there. seg-a2's CHILD_SAs are closed after the
// hand-over.
class SegFailover : public Seg {
 protected:
  // The one row of status's seg_choices on `h` (the pair val-1 <-> gms-b).
  json choice(const lab::Host& h) {
    const json s = status(h);
    if (!s.contains("seg_choices") || s["seg_choices"].size() != 1) return json();
    return s["seg_choices"][0];
  }
  // Waits until `pred` holds of h's choice; false after `timeout`.
  bool wait_choice(const lab::Host& h, const std::function<bool(const json&)>& pred, std::chrono::seconds timeout) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (std::chrono::steady_clock::now() < deadline) {
      const json c = choice(h);
      if (!c.is_null() && pred(c)) return true;
      std::this_thread::sleep_for(100ms);
    }
    return false;
  }
  // ping every 100 ms for `count` echoes from `from` to `to`: {sent, received}.
  std::pair<int, int> ping_run(const lab::Host& from, const lab::Host& to, int count) {
    std::string out;
    lab_->run(from, {"ping", "-n", "-q", "-c", std::to_string(count), "-i", "0.1", "-W", "1", "-I", from.inner_addr,
                     to.inner_addr},
              &out, std::chrono::seconds(count / 10 + 15));
    // "200 packets transmitted, 187 received, ..."
    int sent = 0, received = 0;
    const std::size_t at = out.find(" packets transmitted");
    const std::size_t line = at == std::string::npos ? std::string::npos : out.rfind('\n', at);
    if (at == std::string::npos ||
        std::sscanf(out.c_str() + (line == std::string::npos ? 0 : line + 1), "%d packets transmitted, %d received",
                    &sent, &received) != 2)
      ADD_FAILURE() << "ping output not understood: " << out;
    return {sent, received};
  }
};

TEST_F(SegFailover, KillingThePreferredSegsCharonMovesTrafficToTheOtherAndBackWithoutFlapping) {
  TwoSegLab l;
  ASSERT_NO_FATAL_FAILURE(bring_up_two_seg_lab(l, {"--failback-hold", "5s"}));
  lab::Host &val1 = *l.val1, &seg_a1 = *l.seg_a1, &seg_a2 = *l.seg_a2, &seg_b = *l.seg_b, &gms_b = *l.gms_b;
  const std::vector<lab::Host*>& all = l.all;
  // The pickers (val-1 among domain a's SEGs, seg-b among domain a's SEGs) hold seg-a2's
  // IKE_SA ready.
  auto ready = [](const json& c) { return c["via"] == "seg-a1" && c["others"][0]["answering"] == true; };
  ASSERT_TRUE(wait_choice(val1, ready, 20s)) << status(val1).dump(2);
  ASSERT_TRUE(wait_choice(seg_b, ready, 20s)) << status(seg_b).dump(2);
  EXPECT_TRUE(choice(seg_a1).is_null()) << "seg-a1 picks nothing: its peers do";
  expect_ping_through_two_segs(val1, gms_b);

  // --- failover: seg-a1's charon killed while val-1 pings ---
  auto pinging = std::async(std::launch::async, [&] { return ping_run(val1, gms_b, 120); });  // 12 s
  std::this_thread::sleep_for(3s);
  const auto killed = std::chrono::steady_clock::now();
  lab_->stop_charon(seg_a1, SIGKILL);
  auto via_a2 = [](const json& c) { return c["via"] == "seg-a2"; };
  ASSERT_TRUE(wait_choice(val1, via_a2, 30s)) << why(val1);
  ASSERT_TRUE(wait_choice(seg_b, via_a2, 30s)) << why(seg_b);
  const auto switched = std::chrono::steady_clock::now();
  const auto [sent, received] = pinging.get();
  const int lost = sent - received;
  const double switch_s = std::chrono::duration<double>(switched - killed).count();
  std::printf("[ measured ] SEG failover: both pickers on seg-a2 %.1f s after seg-a1's charon was killed; "
              "%d of %d echoes lost (%.1f s of traffic at 100 ms)\n",
              switch_s, lost, sent, lost * 0.1);
  EXPECT_GT(received, sent / 2) << "traffic did not resume through seg-a2";
  // The bound: DPD after 2 s without inbound, the first retransmit 1 s later, then a
  // CREATE_CHILD_SA on the IKE_SA kept ready. 10 s leaves room for a loaded machine.
  EXPECT_LE(lost, 100) << "more than 10 s of traffic lost";
  expect_ping_through_two_segs(val1, gms_b);
  EXPECT_NE(choice(val1)["why"].get<std::string>().find("seg-a1 failed"), std::string::npos) << choice(val1).dump();

  // --- a restart of val-1's ndsipd meanwhile keeps the pair on seg-a2 (the choice is saved,
  // charon holds it): nothing is loaded again and the ping goes on ---
  auto pinging_restart = std::async(std::launch::async, [&] { return ping_run(val1, gms_b, 50); });  // 5 s
  lab_->stop_ndsipd(val1);
  start(val1, {"--failback-hold", "5s"});
  ASSERT_TRUE(wait_choice(val1, [](const json& c) { return c["why"] == "kept from before ndsipd started"; }, 20s))
      << why(val1);
  EXPECT_EQ(choice(val1)["via"], "seg-a2");
  const auto [sent_restart, received_restart] = pinging_restart.get();
  EXPECT_EQ(received_restart, sent_restart) << "a restart of ndsipd cost traffic";
  EXPECT_EQ(status(val1)["last_apply"].value("load", json::array()).size(), 0u) << status(val1)["last_apply"].dump();

  // --- failback: seg-a1's charon back, its ndsipd loads it; the pickers wait out the hold ---
  const auto back = std::chrono::steady_clock::now();
  lab_->start_charon(seg_a1);
  auto pinging_back = std::async(std::launch::async, [&] { return ping_run(val1, gms_b, 200); });  // 20 s
  auto via_a1 = [](const json& c) {
    return c["via"] == "seg-a1" && c["why"].get<std::string>().find("answered for 5 s") != std::string::npos;
  };
  ASSERT_TRUE(wait_choice(val1, via_a1, 45s)) << why(val1);
  ASSERT_TRUE(wait_choice(seg_b, via_a1, 45s)) << why(seg_b);
  const double failback_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - back).count();
  EXPECT_GE(failback_s, 5.0) << "failed back before the hold";
  const auto [sent_back, received_back] = pinging_back.get();
  std::printf("[ measured ] SEG failback: both pickers on seg-a1 %.1f s after its charon started (hold 5 s); "
              "%d of %d echoes lost meanwhile\n",
              failback_s, sent_back - received_back, sent_back);
  EXPECT_LE(sent_back - received_back, 10) << "the hand-over back is make before break";
  for (lab::Host* h : all) EXPECT_TRUE(all_up(*h, 20s)) << why(*h);
  // Traffic goes through seg-a1 again, and seg-a2 is left with the pickers' IKE_SAs alone.
  const std::map<std::string, json> before = tunnels({&seg_a1});
  std::map<std::string, json> through_a1;
  for (const auto& [key, row] : before) {
    if (row["state"] == "up") through_a1.emplace(key, row);
  }
  ASSERT_EQ(through_a1.size(), 2u) << json(before).dump(2);
  expect_ping_through_two_segs(val1, gms_b);
  expect_counters_rose({&seg_a1}, through_a1, 5);
  const auto children_deadline = std::chrono::steady_clock::now() + 10s;
  std::size_t children = 0, ikes = 0;
  do {
    vici::Client c(5s);
    c.connect(seg_a2.vici_uri);
    children = ikes = 0;
    for (const vici::IkeSa& sa : c.list_sas()) {
      ++ikes;
      children += sa.children.size();
    }
    if (children == 0) break;
    std::this_thread::sleep_for(250ms);
  } while (std::chrono::steady_clock::now() < children_deadline);
  EXPECT_EQ(children, 0u) << "seg-a2's CHILD_SAs outlived the hand-over";
  EXPECT_EQ(ikes, 2u) << "val-1's and seg-b's IKE_SAs to seg-a2 are kept ready";

  // No flapping: twice the hold later, still on seg-a1 with no switch since. (seg-b made two;
  // val-1's count restarted with its ndsipd: one.)
  EXPECT_EQ(choice(seg_b)["switches"], 2);
  EXPECT_EQ(choice(val1)["switches"], 1);
  std::this_thread::sleep_for(10s);
  for (lab::Host* h : {&val1, &seg_b}) {
    const json c = choice(*h);
    EXPECT_EQ(c["via"], "seg-a1") << h->name << ": " << c.dump();
    EXPECT_EQ(c["switches"], h == &seg_b ? 2 : 1) << h->name << ": " << c.dump();
  }
}

// The addresses for the SEG step come from the SEG's plan: each local_ts address once, sorted;
// anything the lab's recipe cannot serve (a prefix wider than /32, IPv6) or a text that is no
// plan is refused rather than half-applied. No lab needed.
TEST(SegLocalAddresses, EveryLocalSelectorOnceAndOnlyHostAddresses) {
  auto plan = [](const json& local_ts) {
    return json{{"connections",
                 {{{"name", "zb_seg-a_val-1"}, {"children", {{{"local_ts", local_ts}, {"remote_ts", {"10.0.0.1/32"}}}}}},
                  {{"name", "za_seg-a_seg-b"}, {"children", {{{"local_ts", {"10.0.0.9/32"}}}}}}}}}
        .dump();
  };
  EXPECT_EQ(lab::seg_local_addresses(plan({"10.0.0.7/32", "10.0.0.9/32"})),
            (std::vector<std::string>{"10.0.0.7", "10.0.0.9"}));
  EXPECT_THROW(lab::seg_local_addresses(plan({"10.0.0.0/24"})), std::runtime_error);
  EXPECT_THROW(lab::seg_local_addresses(plan({"2001:db8::7/128"})), std::runtime_error);
  EXPECT_THROW(lab::seg_local_addresses("node seg-a (seg, domain a)\n"), std::runtime_error);
  EXPECT_EQ(lab::seg_local_addresses(R"({"connections": []})"), std::vector<std::string>{});
}
