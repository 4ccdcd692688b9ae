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
#include <cstring>
#include <fstream>
#include <future>
#include <iterator>
#include <map>
#include <random>
#include <set>
#include <sstream>
#include <thread>
#include <tuple>

#include "lab/lab.hpp"
#include "lab/lab_topology.hpp"
#include "lab/process.hpp"
#include "ndsipd_fixture.hpp"

using namespace ndsip;
using namespace std::chrono_literals;
using nlohmann::json;

namespace {

// ---- helpers: a thread inside a lab namespace, SHA-256, the capture ------------------------

// Runs fn() in a new thread that has joined the network namespace `ns` (setns changes only
// the calling thread; it ends with fn, the rest of the test never leaves its namespace).
// Returns fn's result through the future; a failure to join throws from get().
template <typename F>
auto in_netns(const std::string& ns, F fn) -> std::future<decltype(fn())> {
  return std::async(std::launch::async, [ns, fn = std::move(fn)]() {
    const std::string path = "/run/netns/" + ns;
    const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) throw std::runtime_error("open " + path + ": " + std::strerror(errno));
    const int rc = ::setns(fd, CLONE_NEWNET);
    const int err = errno;
    ::close(fd);
    if (rc != 0) throw std::runtime_error("setns " + path + ": " + std::strerror(err));
    return fn();
  });
}

std::string sha256_hex(const std::string& data) {
  std::array<unsigned char, EVP_MAX_MD_SIZE> md{};
  unsigned int len = 0;
  if (EVP_Digest(data.data(), data.size(), md.data(), &len, EVP_sha256(), nullptr) != 1)
    throw std::runtime_error("EVP_Digest failed");
  std::string hex;
  static const char* digits = "0123456789abcdef";
  for (unsigned i = 0; i < len; ++i) {
    hex += digits[md[i] >> 4];
    hex += digits[md[i] & 0xf];
  }
  return hex;
}

sockaddr_in ipv4(const std::string& addr, std::uint16_t port) {
  sockaddr_in sa{};
  sa.sin_family = AF_INET;
  sa.sin_port = htons(port);
  if (::inet_pton(AF_INET, addr.c_str(), &sa.sin_addr) != 1) throw std::runtime_error("bad address " + addr);
  return sa;
}

// A socket fd closed on every way out.
struct Fd {
  int fd = -1;
  explicit Fd(int f) : fd(f) {
    if (fd < 0) throw std::runtime_error(std::string("socket: ") + std::strerror(errno));
  }
  ~Fd() {
    if (fd >= 0) ::close(fd);
  }
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
};

void wait_fd(int fd, short events, std::chrono::steady_clock::time_point deadline, const char* what) {
  for (;;) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    if (left <= 0ms) throw std::runtime_error(std::string("timed out: ") + what);
    pollfd p{fd, events, 0};
    const int n = ::poll(&p, 1, static_cast<int>(left.count()));
    if (n > 0) return;
    if (n < 0 && errno != EINTR) throw std::runtime_error(std::string("poll: ") + std::strerror(errno));
  }
}

// The listener's half of the TCP transfer: bound to the server's inner address (so only a
// packet that reached gms-b itself is answered), one connection, everything read until EOF.
std::string receive_all(const std::string& addr, std::uint16_t port, std::promise<void>& listening) {
  Fd s(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  const int one = 1;
  ::setsockopt(s.fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  const sockaddr_in sa = ipv4(addr, port);
  if (::bind(s.fd, reinterpret_cast<const sockaddr*>(&sa), sizeof sa) != 0 || ::listen(s.fd, 1) != 0)
    throw std::runtime_error("bind/listen " + addr + ": " + std::strerror(errno));
  listening.set_value();
  const auto deadline = std::chrono::steady_clock::now() + 20s;
  wait_fd(s.fd, POLLIN, deadline, "accept");
  Fd c(::accept4(s.fd, nullptr, nullptr, SOCK_CLOEXEC));
  std::string got;
  char buf[65536];
  for (;;) {
    wait_fd(c.fd, POLLIN, deadline, "receive");
    const ssize_t n = ::recv(c.fd, buf, sizeof buf, 0);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) throw std::runtime_error(std::string("recv: ") + std::strerror(errno));
    if (n == 0) break;
    got.append(buf, static_cast<std::size_t>(n));
  }
  return got;
}

// The sender's half: from the VAL server's inner address (the pair's selector), all of `data`,
// then a half-close, then wait for the listener to close (everything was read).
void send_all(const std::string& from, const std::string& to, std::uint16_t port, const std::string& data) {
  Fd s(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
  const sockaddr_in src = ipv4(from, 0), dst = ipv4(to, port);
  if (::bind(s.fd, reinterpret_cast<const sockaddr*>(&src), sizeof src) != 0)
    throw std::runtime_error("bind " + from + ": " + std::strerror(errno));
  const auto deadline = std::chrono::steady_clock::now() + 20s;
  if (::connect(s.fd, reinterpret_cast<const sockaddr*>(&dst), sizeof dst) != 0 && errno != EINPROGRESS)
    throw std::runtime_error("connect " + to + ": " + std::strerror(errno));
  wait_fd(s.fd, POLLOUT, deadline, "connect");
  int err = 0;
  socklen_t len = sizeof err;
  ::getsockopt(s.fd, SOL_SOCKET, SO_ERROR, &err, &len);
  if (err != 0) throw std::runtime_error("connect " + to + ": " + std::strerror(err));
  std::size_t sent = 0;
  while (sent < data.size()) {
    wait_fd(s.fd, POLLOUT, deadline, "send");
    const ssize_t n = ::send(s.fd, data.data() + sent, data.size() - sent, MSG_NOSIGNAL);
    if (n < 0 && (errno == EAGAIN || errno == EINTR)) continue;
    if (n < 0) throw std::runtime_error(std::string("send: ") + std::strerror(errno));
    sent += static_cast<std::size_t>(n);
  }
  ::shutdown(s.fd, SHUT_WR);
  char buf[256];
  for (;;) {
    wait_fd(s.fd, POLLIN, deadline, "the listener's close");
    const ssize_t n = ::recv(s.fd, buf, sizeof buf, 0);
    if (n < 0 && (errno == EAGAIN || errno == EINTR)) continue;
    if (n <= 0) return;
  }
}

// tcpdump on the lab bridge (in the switch namespace), writing a pcap file; ended by its PID
// (ip netns exec execs it: the PID we spawn is tcpdump's), also when the test fails.
class Capture {
 public:
  Capture(const std::string& netns, const std::string& dir) : pcap_(dir + "/bridge.pcap"), log_(dir + "/tcpdump.log") {
    // -Z root: stay root (Debian's tcpdump switches to user tcpdump and hands it the file).
    // -U: every packet is written as it comes. No filter: everything on the bridge is judged.
    // Under `timeout`: should the test die without its destructors (SIGKILL, Ctrl-C), the
    // capture still ends by itself; stop() signals timeout, which passes it on to tcpdump.
    pid_ = lab::proc::spawn({"ip", "netns", "exec", netns, "timeout", "120", lab::proc::find_program("tcpdump"),
                             "-i", "br0", "-n", "-U", "-Z", "root", "-w", pcap_},
                            lab::proc::SpawnOptions{{}, {}, log_, true});
    const auto deadline = std::chrono::steady_clock::now() + 10s;
    while (log().find("listening on") == std::string::npos) {
      if (lab::proc::wait_for(pid_, 0ms)) {
        pid_ = -1;
        throw std::runtime_error("tcpdump exited: " + log());
      }
      if (std::chrono::steady_clock::now() > deadline) throw std::runtime_error("tcpdump not listening: " + log());
      std::this_thread::sleep_for(20ms);
    }
  }
  ~Capture() { stop(); }
  Capture(const Capture&) = delete;
  Capture& operator=(const Capture&) = delete;

  void stop() {
    if (pid_ <= 0) return;
    ::kill(pid_, SIGTERM);
    if (!lab::proc::wait_for(pid_, 5s)) {
      ::kill(pid_, SIGKILL);
      lab::proc::wait_for(pid_, 5s);
    }
    pid_ = -1;
  }
  std::string log() const {
    std::ifstream in(log_);
    return {std::istreambuf_iterator<char>(in), {}};
  }
  const std::string& pcap() const { return pcap_; }

 private:
  std::string pcap_, log_;
  pid_t pid_ = -1;
};

// What crossed the bridge, from the pcap file (read here: no text output of tcpdump to parse).
struct Wire {
  std::size_t frames = 0, arp = 0, ike = 0, keepalive = 0, udp_fragments = 0;
  std::map<std::pair<std::string, std::string>, std::size_t> esp;  // (src, dst) -> ESP packets, in UDP 4500 or raw
  std::vector<std::string> other;                                  // anything else, described

  std::string summary() const {
    std::ostringstream s;
    s << frames << " frames: " << arp << " ARP, " << ike << " IKE, " << keepalive << " NAT keepalives, "
      << udp_fragments << " later fragments of UDP, ESP";
    for (const auto& [dir, n] : esp) s << " " << dir.first << ">" << dir.second << " x" << n;
    s << "; " << other.size() << " other";
    for (std::size_t i = 0; i < other.size() && i < 10; ++i) s << "\n  " << other[i];
    return s.str();
  }
};

Wire read_pcap(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  const std::string f{std::istreambuf_iterator<char>(in), {}};
  if (f.size() < 24) throw std::runtime_error("pcap too short: " + path);
  auto u32 = [&](std::size_t at, bool swap) {
    std::uint32_t v;
    std::memcpy(&v, f.data() + at, 4);
    return swap ? __builtin_bswap32(v) : v;
  };
  const std::uint32_t magic = u32(0, false);
  const bool swap = magic == 0xd4c3b2a1 || magic == 0x4d3cb2a1;
  if (!swap && magic != 0xa1b2c3d4 && magic != 0xa1b23c4d) throw std::runtime_error("not a pcap file: " + path);
  if (u32(20, swap) != 1) throw std::runtime_error("pcap link type is not Ethernet: " + path);
  auto be16 = [](const unsigned char* p) { return static_cast<unsigned>(p[0] << 8 | p[1]); };
  auto addr = [](const unsigned char* p) {
    char b[INET_ADDRSTRLEN];
    ::inet_ntop(AF_INET, p, b, sizeof b);
    return std::string(b);
  };
  Wire w;
  for (std::size_t at = 24; at + 16 <= f.size();) {
    const std::size_t caplen = u32(at + 8, swap);
    const auto* p = reinterpret_cast<const unsigned char*>(f.data() + at + 16);
    at += 16 + caplen;
    if (at > f.size()) break;  // cut short by the stop: not a whole frame
    ++w.frames;
    if (caplen < 14) {
      w.other.push_back("runt frame");
      continue;
    }
    const unsigned type = be16(p + 12);
    if (type == 0x0806) {
      ++w.arp;
      continue;
    }
    if (type != 0x0800 || caplen < 34) {
      w.other.push_back("ethertype " + std::to_string(type));
      continue;
    }
    const unsigned char* ip = p + 14;
    const std::size_t ihl = (ip[0] & 0x0f) * 4u;
    const unsigned proto = ip[9];
    const std::string src = addr(ip + 12), dst = addr(ip + 16);
    const unsigned char* l4 = ip + ihl;
    const std::size_t l4len = caplen - 14 - ihl;
    const std::string what = src + " > " + dst + " proto " + std::to_string(proto);
    if ((be16(ip + 6) & 0x1fff) != 0) {  // a later fragment: no transport header of its own
      if (proto == 17) ++w.udp_fragments;
      else w.other.push_back(what + " (fragment)");
    } else if (proto == 50) {
      ++w.esp[{src, dst}];
    } else if (proto == 17 && l4len >= 8) {
      const unsigned sport = be16(l4), dport = be16(l4 + 2);
      const unsigned char* payload = l4 + 8;
      const std::size_t plen = l4len - 8;
      if (sport == 500 || dport == 500) {
        ++w.ike;
      } else if (sport == 4500 || dport == 4500) {
        if (plen == 1 && payload[0] == 0xff) ++w.keepalive;
        else if (plen >= 4 && std::memcmp(payload, "\0\0\0\0", 4) == 0) ++w.ike;  // non-ESP marker: IKE
        else if (plen >= 8) ++w.esp[{src, dst}];                                   // SPI + sequence: ESP
        else w.other.push_back(what + " UDP 4500, " + std::to_string(plen) + " bytes");
      } else {
        w.other.push_back(what + " UDP " + std::to_string(sport) + " > " + std::to_string(dport));
      }
    } else {
      w.other.push_back(what);  // ICMP (1), TCP (6), ...: plaintext on the wire
    }
  }
  return w;
}

}  // namespace

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
