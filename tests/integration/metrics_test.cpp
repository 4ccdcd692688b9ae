// ndsipd's metrics scraped by a real Prometheus server (Debian's prometheus package) in the
// lab: the server runs in the hub's namespace with a 1 s scrape interval and the shipped
// alerting rules, scrapes ndsipd's metrics-listen on that namespace's loopback, and is asked
// over its HTTP API (/api/v1/query), as an operator's dashboards and alerts ask it. A tunnel
// taken down (the peer's charon killed) reads 0 within a scrape interval or two of ndsipd
// seeing it, and 1 again once the peer is back. Root (the lab); skipped without, or without
// the prometheus package. The server is started by the test and stopped by its PID.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <csignal>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <thread>

#include <nlohmann/json.hpp>

#include "common/read_file.hpp"
#include "lab/netns_thread.hpp"
#include "lab/process.hpp"
#include "ndsipd_fixture.hpp"

using namespace ndsip;
using namespace std::chrono_literals;
using nlohmann::json;
namespace fs = std::filesystem;

namespace {

constexpr int kMetricsPort = 9474;
constexpr int kPrometheusPort = 9090;

// One HTTP/1.0 GET to 127.0.0.1:port inside namespace `ns` (1.0: the answer is not chunked
// and ends with the connection). Returns the body, or "" when nothing answered with 200.
std::string http_get(const std::string& ns, int port, const std::string& target) {
  return lab::in_netns(ns, [port, target] {
           const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
           sockaddr_in a{};
           a.sin_family = AF_INET;
           a.sin_port = htons(static_cast<std::uint16_t>(port));
           a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
           std::string out;
           if (::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0) {
             const std::string req = "GET " + target + " HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n";
             ::send(fd, req.data(), req.size(), MSG_NOSIGNAL);
             for (;;) {
               pollfd p{fd, POLLIN, 0};
               if (::poll(&p, 1, 5000) <= 0) break;
               char buf[65536];
               const ssize_t n = ::recv(fd, buf, sizeof buf, 0);
               if (n <= 0) break;
               out.append(buf, static_cast<std::size_t>(n));
             }
           }
           ::close(fd);
           const auto body = out.find("\r\n\r\n");
           if (out.rfind("HTTP/1.0 200", 0) != 0 && out.rfind("HTTP/1.1 200", 0) != 0) return std::string();
           return body == std::string::npos ? std::string() : out.substr(body + 4);
         })
      .get();
}

std::string url_encode(const std::string& s) {
  static const char* hex = "0123456789ABCDEF";
  std::string out;
  for (const unsigned char c : s) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += hex[c >> 4];
      out += hex[c & 15];
    }
  }
  return out;
}

// A Prometheus server in a lab namespace, on its loopback: a config of its own, storage in a
// directory of the test's, stopped (SIGTERM, then SIGKILL) by PID when it goes out of scope.
class PrometheusServer {
 public:
  PrometheusServer(std::string ns, const std::string& dir, const std::string& scrape_target,
                   const std::string& rules)
      : ns_(std::move(ns)), log_(dir + "/prometheus.log") {
    fs::create_directories(dir + "/data");
    std::ofstream(dir + "/prometheus.yml") << "global:\n"
                                              "  scrape_interval: 1s\n"
                                              "  scrape_timeout: 1s\n"
                                              "  evaluation_interval: 1s\n"
                                              "rule_files:\n"
                                              "  - "
                                           << rules
                                           << "\n"
                                              "scrape_configs:\n"
                                              "  - job_name: ndsipd\n"
                                              "    static_configs:\n"
                                              "      - targets: ['"
                                           << scrape_target << "']\n";
    lab::proc::SpawnOptions o;
    o.output_file = log_;
    // `ip netns exec` execs the server: the PID is the server's.
    pid_ = lab::proc::spawn({"ip", "netns", "exec", ns_, lab::proc::find_program("prometheus"),
                        "--config.file=" + dir + "/prometheus.yml", "--storage.tsdb.path=" + dir + "/data",
                        "--web.listen-address=127.0.0.1:" + std::to_string(kPrometheusPort), "--log.level=warn"},
                       o);
    const auto deadline = std::chrono::steady_clock::now() + 30s;
    while (http_get(ns_, kPrometheusPort, "/-/ready").empty()) {
      if (lab::proc::wait_for(pid_, 0ms)) {
        pid_ = -1;
        throw std::runtime_error("prometheus exited at start; see " + log_);
      }
      if (std::chrono::steady_clock::now() > deadline) throw std::runtime_error("prometheus not ready in 30 s");
      std::this_thread::sleep_for(100ms);
    }
  }
  ~PrometheusServer() {
    if (pid_ <= 0) return;
    ::kill(pid_, SIGTERM);
    if (!lab::proc::wait_for(pid_, 10s)) {
      ::kill(pid_, SIGKILL);
      lab::proc::wait_for(pid_, 5s);
    }
  }
  PrometheusServer(const PrometheusServer&) = delete;
  PrometheusServer& operator=(const PrometheusServer&) = delete;

  json api(const std::string& target) const {
    const std::string body = http_get(ns_, kPrometheusPort, target);
    return json::parse(body, nullptr, false);
  }
  // An instant query's result vector (empty when the query fails or has no result).
  json query(const std::string& promql) const {
    const json r = api("/api/v1/query?query=" + url_encode(promql));
    if (!r.is_object() || r.value("status", "") != "success") return json::array();
    return r["data"]["result"];
  }
  // The value of a query with one sample, or nullopt.
  std::optional<double> value(const std::string& promql) const {
    const json r = query(promql);
    if (!r.is_array() || r.size() != 1) return std::nullopt;
    return std::stod(r[0]["value"][1].get<std::string>());
  }
  std::string log_tail() const {
    std::ifstream in(log_);
    std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    return text.size() > 3000 ? text.substr(text.size() - 3000) : text;
  }

 private:
  std::string ns_, log_;
  pid_t pid_ = -1;
};

class Metrics : public ndsip::testing::Ndsipd {
 protected:
  // Seconds until `done` holds (checked every 100 ms), or -1 after `limit`.
  static double seconds_until(const std::function<bool()>& done, std::chrono::seconds limit) {
    const auto t0 = std::chrono::steady_clock::now();
    while (std::chrono::steady_clock::now() - t0 < limit) {
      if (done()) return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
      std::this_thread::sleep_for(100ms);
    }
    return -1;
  }
  std::unique_ptr<PrometheusServer> prometheus_;  // gone before the lab (a member of the subclass)
};

}  // namespace

TEST_F(Metrics, APrometheusServerSeesATunnelGoDownAndComeBack) {
  if (geteuid() != 0) GTEST_SKIP() << "the lab needs root";
  try {
    lab::proc::find_program("prometheus");
  } catch (const std::exception&) {
    GTEST_SKIP() << "prometheus (Debian's prometheus package) is not installed";
  }
  lab::Host& gms = add("gms");
  lab::Host& val1 = add("val1");
  lab_->make_pki();
  start(gms, {"--metrics-listen", "127.0.0.1:" + std::to_string(kMetricsPort)});
  start(val1);
  push_all(topology(false), "topology.json");
  ASSERT_TRUE(all_up(gms)) << why(gms);

  // ndsipd serves the text format; the lab's traffic stays in gms's namespace.
  const std::string text = http_get(gms.netns, kMetricsPort, "/metrics");
  ASSERT_NE(text.find("ndsip_tunnel_up{"), std::string::npos) << text << lab_->ndsipd_log_tail(gms);
  ASSERT_NO_THROW(prometheus_ = std::make_unique<PrometheusServer>(
                      gms.netns, lab_->workdir() + "/prometheus", "127.0.0.1:" + std::to_string(kMetricsPort),
                      NDSIP_SOURCE_DIR "/monitoring/ndsip.rules.yml"));
  PrometheusServer& p = *prometheus_;
  const std::string up = "ndsip_tunnel_up{job=\"ndsipd\",peer=\"val1\"}";

  // Scraped, and the tunnel reads 1.
  const double first = seconds_until([&] { return p.value(up) == 1.0; }, 30s);
  std::cout << "[ measured ] prometheus start to the tunnel reading 1: " << first << " s\n";
  ASSERT_GE(first, 0) << p.query("up").dump() << p.log_tail();
  EXPECT_EQ(p.value("up{job=\"ndsipd\"}"), 1.0);
  EXPECT_EQ(p.value("ndsip_charon_connected"), 1.0);
  EXPECT_EQ(p.value("ndsip_topology_version"), 1.0);
  EXPECT_GE(p.value("sum(ndsip_vici_commands_total{command=\"load-conn\",result=\"ok\"})").value_or(0), 1.0);
  EXPECT_GE(p.value("ndsip_certificate_expiry_timestamp_seconds{role=\"own\"} - time()").value_or(0), 86400.0);
  EXPECT_GE(p.value("sum(ndsip_push_duration_seconds_count)").value_or(0), 1.0);
  // The shipped rules load into a real server, every one healthy.
  const json rules = p.api("/api/v1/rules");
  ASSERT_TRUE(rules.is_object()) << p.log_tail();
  std::size_t loaded = 0;
  for (const json& g : rules["data"]["groups"]) {
    for (const json& r : g["rules"]) {
      ++loaded;
      EXPECT_EQ(r["health"], "ok") << r.dump();
    }
  }
  // As many as the file has.
  const std::string file = ndsip::common::read_file(NDSIP_SOURCE_DIR "/monitoring/ndsip.rules.yml").value_or("");
  std::size_t in_file = 0;
  for (std::size_t at = 0; (at = file.find("- alert:", at)) != std::string::npos; ++at) ++in_file;
  EXPECT_GE(in_file, 9u);
  EXPECT_EQ(loaded, in_file) << rules.dump(2);

  // The peer's charon killed: gms's ndsipd sees its IKE_SA unanswered within seconds, and
  // Prometheus reads 0 within a scrape interval or two of that.
  const auto killed = std::chrono::steady_clock::now();
  lab_->stop_charon(val1, SIGKILL);
  const double status_down = seconds_until([&] { return (*tunnel(status(gms), "val1"))["state"] != "up"; }, 30s);
  ASSERT_GE(status_down, 0) << why(gms);
  const double prom_down = seconds_until([&] { return p.value(up) == 0.0; }, 30s);
  std::cout << "[ measured ] peer's charon killed to ndsipd status not up: " << status_down
            << " s; then to prometheus reading 0: " << prom_down << " s (scrape interval 1 s)\n";
  ASSERT_GE(prom_down, 0) << why(gms) << p.query(up).dump();
  EXPECT_LE(prom_down, 3.0) << "more than a scrape interval or two after ndsipd saw it";
  EXPECT_LE(std::chrono::steady_clock::now() - killed, 20s);
  EXPECT_GE(p.value("sum(ndsip_tunnel_failures_total{peer=\"val1\"})").value_or(0), 1.0) << why(gms);

  // Back: val1's ndsipd finds its charon empty and initiates at once; 1 again.
  lab_->start_charon(val1);
  const double prom_up = seconds_until([&] { return p.value(up) == 1.0; }, 60s);
  std::cout << "[ measured ] peer's charon started to prometheus reading 1: " << prom_up << " s\n";
  ASSERT_GE(prom_up, 0) << why(gms) << why(val1);
  EXPECT_TRUE(all_up(gms, 5s)) << why(gms);
  // The flap is in the series as it happened: down and up again.
  EXPECT_GE(p.value("changes(" + up + "[5m])").value_or(0), 2.0);
  EXPECT_GE(p.value("sum(ndsip_tunnel_initiations_total)").value_or(0), 1.0);
}

// Without metrics-listen nothing listens: no port, no HTTP.
TEST_F(Metrics, OffByDefault) {
  if (geteuid() != 0) GTEST_SKIP() << "the lab needs root";
  lab::Host& gms = add("gms");
  lab_->make_pki();
  start(gms);
  EXPECT_EQ(http_get(gms.netns, kMetricsPort, "/metrics"), "");
  std::string listening;
  lab_->run(gms, {"ss", "-Htln"}, &listening);
  EXPECT_EQ(listening.find(":" + std::to_string(kMetricsPort)), std::string::npos) << listening;
  EXPECT_EQ(listening, "") << "ndsipd listens on TCP without metrics-listen";
}
