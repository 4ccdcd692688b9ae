// ndsipd with metrics-listen, in-process against a scripted charon: a scrape over HTTP shows
// the tunnel table as status does (up after a list-sas that has its SA, 0 after one that has
// not), charon's link, the topology's version, the push and reconcile that happened, the VICI
// commands sent and a rekey charon reported. A listen address that cannot be had stops the
// start with an error naming it.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <future>

#include "control/client.hpp"
#include "daemon/daemon.hpp"
#include "daemon/part_fixture.hpp"
#include "exposition.hpp"
#include "support/loop.hpp"
#include "support/scripted_charon.hpp"

using namespace ndsip;
using namespace std::chrono_literals;
using nlohmann::json;
using test::run_until;
namespace fs = std::filesystem;

namespace {

unsigned short free_port() {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof a;
  ::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a);
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
  ::close(fd);
  return ntohs(a.sin_port);
}

// GET /metrics, blocking (run from another thread than the loop's).
std::string scrape(unsigned short port) {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(port);
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  std::string out;
  if (::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0) {
    const std::string req = "GET /metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
    ::send(fd, req.data(), req.size(), MSG_NOSIGNAL);
    char buf[65536];
    for (ssize_t n; (n = ::recv(fd, buf, sizeof buf, 0)) > 0;) out.append(buf, static_cast<std::size_t>(n));
  }
  ::close(fd);
  const auto body = out.find("\r\n\r\n");
  return body == std::string::npos ? "" : out.substr(body + 4);
}

// One IKE_SA of `connection` with one installed CHILD_SA, as list-sas streams it.
vici::Message ike_sa(const std::string& connection, const std::string& child) {
  vici::Message m;
  vici::Section& ike = m.add_section(connection);
  ike.set("uniqueid", "5").set("state", "ESTABLISHED").set("version", "2");
  vici::Section& c = ike.add_section("child-sas").add_section(child + "-1");
  c.set("name", child).set("uniqueid", "3").set("state", "INSTALLED").set("install-time", "42");
  c.set("spi-in", "c1").set("spi-out", "c2").set("bytes-in", "840").set("packets-in", "10");
  return m;
}

struct Rig {
  test::ScriptedCharon charon;
  test::TempDir dir;
  boost::asio::io_context io;
  daemon::Config config;
  std::unique_ptr<daemon::Daemon> d;
  std::atomic<bool> tunnel_up{false};
  unsigned short port = free_port();

  Rig() {
    config.node = "gms";
    config.vici_uri = charon.uri();
    config.control_socket = dir.path("ndsipd.sock");
    config.kernel_view = false;
    config.state_dir = dir.path("state");
    config.policies_dir = NDSIP_SOURCE_DIR "/policies";
    config.templates_dir = NDSIP_SOURCE_DIR "/templates";
    config.vici_timeout = 2s;
    config.metrics_listen = "127.0.0.1:" + std::to_string(port);
    charon.on("list-sas", [this](const vici::Message&) {
      test::ScriptedCharon::Answer a;
      if (tunnel_up) a.streamed.push_back(ike_sa("zb_gms_val1", "gms_val1"));
      return a;
    });
  }

  template <typename F>
  auto off_loop(F f) {
    auto result = std::async(std::launch::async, std::move(f));
    EXPECT_TRUE(run_until(io, [&] { return result.wait_for(0s) == std::future_status::ready; }, 10s));
    return result.get();
  }
  json ask(json request) {
    const control::ControlResult r =
        off_loop([this, request] { return control::control_request(config.control_socket, request, 10s); });
    return r.response ? *r.response : json{};
  }
  std::string metrics() {
    return off_loop([this] { return scrape(port); });
  }
};

}  // namespace

TEST(MetricsDaemon, AScrapeShowsWhatStatusShows) {
  Rig rig;
  rig.d = std::make_unique<daemon::Daemon>(rig.io, rig.config);
  rig.d->start();
  ASSERT_EQ(rig.ask({{"command", "push"}, {"topology", test::small_topology()}})["ok"], true);
  ASSERT_TRUE(run_until(rig.io, [&] { return rig.ask({{"command", "status"}})["polled"]["at"].is_string(); }));
  std::string text = rig.metrics();
  const std::map<std::string, std::string> tunnel{{"connection", "zb_gms_val1"}, {"peer", "val1"}, {"zone", "Zb"}};
  EXPECT_EQ(test::sample(text, "ndsip_tunnel_up", tunnel), 0) << text;
  EXPECT_EQ(test::sample(text, "ndsip_charon_connected"), 1);
  EXPECT_EQ(test::sample(text, "ndsip_topology_version"), 1);
  EXPECT_EQ(test::sample(text, "ndsip_push_duration_seconds_count", {{"source", "control"}, {"result", "applied"}}),
            1);
  EXPECT_GE(test::sample(text, "ndsip_reconcile_duration_seconds_count").value_or(0), 1);
  EXPECT_GE(test::sample(text, "ndsip_vici_commands_total", {{"command", "load-conn"}, {"result", "ok"}}).value_or(0),
            1);
  EXPECT_GE(test::sample(text, "ndsip_vici_commands_total", {{"command", "list-sas"}, {"result", "ok"}}).value_or(0),
            1);
  // gms sorts first: it initiates, and each initiation is counted for the connection.
  ASSERT_TRUE(run_until(rig.io, [&] { return rig.charon.count("initiate") > 0; }));
  EXPECT_GE(test::sample(rig.metrics(), "ndsip_tunnel_initiations_total", {{"peer", "val1"}}).value_or(0), 1);

  // charon has the SA: up at the scrape after the next list-sas.
  rig.tunnel_up = true;
  ASSERT_EQ(rig.ask({{"command", "status"}, {"fresh", true}})["tunnel_counts"]["up"], 1);
  text = rig.metrics();
  EXPECT_EQ(test::sample(text, "ndsip_tunnel_up", tunnel), 1) << text;
  EXPECT_EQ(test::sample(text, "ndsip_tunnel_inbound_bytes_total", tunnel), 840);
  EXPECT_EQ(test::sample(text, "ndsip_tunnels", {{"state", "up"}}), 1);

  // A rekey charon reports is counted for the connection.
  vici::Message rekey;
  rekey.add_section("zb_gms_val1").add_section("child-sas");
  rig.charon.event("child-rekey", rekey);
  ASSERT_TRUE(run_until(rig.io, [&] {
    return test::sample(rig.metrics(), "ndsip_rekeys_total", {{"kind", "child"}, {"peer", "val1"}}) == 1;
  }));

  // Gone from charon: 0 at the scrape after the list-sas that shows it, and a failure counted.
  rig.tunnel_up = false;
  ASSERT_EQ(rig.ask({{"command", "status"}, {"fresh", true}})["tunnel_counts"]["up"], 0);
  text = rig.metrics();
  EXPECT_EQ(test::sample(text, "ndsip_tunnel_up", tunnel), 0) << text;
  EXPECT_EQ(test::sample(text, "ndsip_tunnel_failures_total", {{"peer", "val1"}, {"reason", "sa-went-down"}}), 1) << text << rig.ask({{"command", "status"}}).dump(2);

  // charon gone: the link reads 0.
  rig.charon.hang_up();
  ASSERT_TRUE(run_until(rig.io, [&] { return test::sample(rig.metrics(), "ndsip_charon_connected") == 0; }));
}

TEST(MetricsDaemon, ARefusedPushIsTimedAsRefused) {
  Rig rig;
  rig.d = std::make_unique<daemon::Daemon>(rig.io, rig.config);
  rig.d->start();
  ASSERT_EQ(rig.ask({{"command", "push"}, {"topology", "{ not json"}})["ok"], false);
  const std::string text = rig.metrics();
  EXPECT_EQ(test::sample(text, "ndsip_push_duration_seconds_count", {{"result", "refused"}}), 1) << text;
  EXPECT_EQ(test::sample(text, "ndsip_topology_version"), 0);
}

TEST(MetricsDaemon, AListenAddressInUseStopsTheStart) {
  Rig rig;
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(rig.port);
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
  ASSERT_EQ(::listen(fd, 1), 0);
  rig.d = std::make_unique<daemon::Daemon>(rig.io, rig.config);
  try {
    rig.d->start();
    ADD_FAILURE() << "started without its metrics listener";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("metrics-listen 127.0.0.1 port " + std::to_string(rig.port)),
              std::string::npos)
        << e.what();
  }
  ::close(fd);
  // Nothing was started before it: no control socket.
  EXPECT_FALSE(fs::exists(rig.config.control_socket));
}

TEST(MetricsDaemon, MetricsListenIsASettingAndAFlag) {
  auto parsed = daemon::parse_config({"--node", "gms", "--metrics-listen", "[::1]:9474"});
  ASSERT_TRUE(parsed.config) << parsed.output;
  EXPECT_EQ(parsed.config->metrics_listen, "[::1]:9474");
  EXPECT_EQ(daemon::parse_config({"--node", "gms"}).config->metrics_listen, "");  // off by default
  test::TempDir dir;
  std::ofstream(dir.path("ndsipd.conf")) << "node = gms\nmetrics-listen = 127.0.0.1:9474\n";
  parsed = daemon::parse_config({"--config", dir.path("ndsipd.conf")});
  ASSERT_TRUE(parsed.config) << parsed.output;
  EXPECT_EQ(parsed.config->metrics_listen, "127.0.0.1:9474");
  parsed = daemon::parse_config({"--node", "gms", "--metrics-listen", "localhost:9474"});
  EXPECT_FALSE(parsed.config);
  EXPECT_EQ(parsed.exit_code, 2);
  EXPECT_NE(parsed.output.find("metrics-listen \"localhost:9474\""), std::string::npos) << parsed.output;
}
