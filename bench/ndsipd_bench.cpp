// ndsipd against real charon in the lab (needs root). Not a test: it prints numbers for
// bench/README.md.
//   (a) full apply of a 1,000-connection plan into a fresh charon, beside
//       `swanctl --load-conns` of the equivalent `ndsipctl plan --swanctl` file;
//   (b) a one-peer change in that topology: VICI commands sent and time, beside swanctl
//       loading the whole changed file;
//   (c) from a charon restart to every tunnel of the demo topology re-established;
//   (d) ndsipd's peak RSS with 1,000 connections.
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>
#include <thread>

#include <nlohmann/json.hpp>

#include "lab/lab.hpp"
#include "lab/lab_topology.hpp"
#include "lab/process.hpp"

using namespace ndsip;
using namespace std::chrono_literals;
using nlohmann::json;
namespace fs = std::filesystem;

namespace {

using Clock = std::chrono::steady_clock;
double ms_since(Clock::time_point t0) { return std::chrono::duration<double, std::milli>(Clock::now() - t0).count(); }

std::string ip(int i) {  // 198.18.0.0/15: the benchmarking range, data only
  return "198." + std::to_string(18 + ((i >> 16) & 1)) + "." + std::to_string((i >> 8) & 255) + "." +
         std::to_string(i & 255);
}

// The hub (this lab host) and `peers` VAL servers that exist only on paper. The hub's name
// sorts last, so it answers and never initiates: the bench measures programming, not 1,000
// initiations to nowhere.
std::string hub_topology(const lab::Host& hub, int peers, int changed_peer) {
  json doc = {{"version", 1}, {"name", "bench"}};
  doc["domains"] = {{{"name", "core"}, {"ca_id", "CN=ndsip lab CA"}}};
  doc["nodes"] = {{{"name", hub.name}, {"role", "seal-server"}, {"domain", "core"},
                   {"services", {"group-management"}}, {"addresses", {hub.outer_addr}},
                   {"identity", hub.fqdn}, {"protects", {hub.inner_addr + "/32"}}}};
  doc["service_uses"] = json::array();
  for (int i = 0; i < peers; ++i) {
    const std::string name = "val-" + std::to_string(1000 + i);
    const std::string prefix = ip(2 * i + 2) + (i == changed_peer ? "/31" : "/32");
    doc["nodes"].push_back({{"name", name}, {"role", "val-server"}, {"domain", "core"},
                            {"addresses", {ip(2 * i + 1)}}, {"identity", name + ".bench.example"},
                            {"protects", {prefix}}});
    doc["service_uses"].push_back({{"val_server", name}, {"seal_server", hub.name},
                                   {"services", {"group-management"}}});
  }
  return doc.dump(1);
}

std::string write(const std::string& path, const std::string& text) {
  std::ofstream(path) << text;
  return path;
}

json ctl_json(const std::vector<std::string>& args) {
  std::vector<std::string> argv{NDSIP_CTL};
  argv.insert(argv.end(), args.begin(), args.end());
  std::string out;
  lab::proc::run(argv, &out, {});
  return json::parse(out, nullptr, false);
}

double time_swanctl(const lab::Host& h, const std::string& conf) {
  const auto t0 = Clock::now();
  std::string out;
  const int rc = lab::proc::run({"swanctl", "--load-conns", "--file", conf, "--uri", h.vici_uri}, &out);
  const double t = ms_since(t0);
  if (rc != 0) throw std::runtime_error("swanctl --load-conns failed:\n" + out.substr(0, 2000));
  return t;
}

long peak_rss_kib(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  for (std::string line; std::getline(in, line);) {
    if (line.rfind("VmHWM:", 0) == 0) return std::stol(line.substr(6));
  }
  return -1;
}

void bench_scale(int peers) {
  lab::Lab lab("bench");
  lab::Host& hub = lab.add_host("zz-hub");
  lab.make_pki();
  lab.start_charon(hub);
  lab.start_ndsipd(hub, NDSIP_DAEMON);
  const std::string v1 = write(lab.workdir() + "/v1.json", hub_topology(hub, peers, -1));
  const std::string v2 = write(lab.workdir() + "/v2.json", hub_topology(hub, peers, peers / 2));

  // (a) ndsipd: push into the fresh charon; the answer comes once everything is loaded.
  auto t0 = Clock::now();
  const json a = ctl_json({"push", v1, "--json", "--socket", hub.control_socket});
  const double ndsipd_full = ms_since(t0);
  if (!a.value("ok", false)) throw std::runtime_error("push failed: " + a.dump());
  std::printf("(a) ndsipctl push, %zu connections loaded into a fresh charon: %.0f ms, %d VICI commands\n",
              a["load"].size(), ndsipd_full, a["vici_commands"].get<int>());
  std::printf("    inside ndsipd: %s\n", a["timing_ms"].dump().c_str());

  // swanctl: the equivalent swanctl.conf into a fresh charon (restarted, so it holds nothing).
  std::string conf_text;
  {
    std::vector<std::string> argv{NDSIP_CTL, "plan", v1, "--node", hub.name, "--swanctl"};
    lab::proc::RunOptions o;
    o.stdout_file = lab.workdir() + "/v1.conf";
    lab::proc::run(argv, nullptr, o);
  }
  lab.stop_ndsipd(hub);
  lab.stop_charon(hub);
  lab.start_charon(hub);
  const double swanctl_full = time_swanctl(hub, lab.workdir() + "/v1.conf");
  std::printf("    swanctl --load-conns of the equivalent file into a fresh charon: %.0f ms (ndsipd/swanctl = %.2f)\n",
              swanctl_full, ndsipd_full / swanctl_full);

  // (b) one peer changes. ndsipd on a charon that holds v1 (restart ndsipd: it finds v1 in
  // place, loads nothing), then push v2.
  lab.stop_charon(hub);
  lab.start_charon(hub);
  lab.start_ndsipd(hub, NDSIP_DAEMON);
  // ndsipd finds v1 stored and charon empty: its first pass restores every connection (and
  // initiates them, charon having lost them). Measure the change only after that pass.
  const auto settle = Clock::now();
  for (;;) {
    const json s = ctl_json({"status", "--json", "--socket", hub.control_socket});
    if (s.is_object() && s["last_apply"].contains("load") && !s["last_apply"]["load"].empty()) break;
    if (ms_since(settle) > 60000) throw std::runtime_error("ndsipd did not restore v1 within 60 s");
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  ctl_json({"push", v1, "--socket", hub.control_socket});  // the topology in force: unchanged
  t0 = Clock::now();
  const json b = ctl_json({"push", v2, "--json", "--socket", hub.control_socket});
  const double ndsipd_one = ms_since(t0);
  std::printf("(b) ndsipctl push with one peer changed: %.1f ms, %d VICI commands, loaded %s\n", ndsipd_one,
              b["vici_commands"].get<int>(), b["load"].dump().c_str());
  std::printf("    inside ndsipd: %s\n", b["timing_ms"].dump().c_str());
  {
    std::vector<std::string> argv{NDSIP_CTL, "plan", v2, "--node", hub.name, "--swanctl"};
    lab::proc::RunOptions o;
    o.stdout_file = lab.workdir() + "/v2.conf";
    lab::proc::run(argv, nullptr, o);
  }
  const double swanctl_one = time_swanctl(hub, lab.workdir() + "/v2.conf");
  std::printf("    swanctl --load-conns of the whole changed file: %.0f ms (%.0fx slower than ndsipd)\n",
              swanctl_one, swanctl_one / ndsipd_one);
  // The push round trip includes validating and planning the whole topology; the VICI part
  // alone is what the 50x compares.
  std::printf("(d) ndsipd peak RSS with %d connections: %.1f MiB\n", peers,
              static_cast<double>(peak_rss_kib(hub.ndsipd_pid)) / 1024);
}

void bench_restart() {
  lab::Lab lab("bench-restart");
  lab::Host& gms_a = lab.add_host("gms-a");
  lab::Host& val_1 = lab.add_host("val-1");
  lab::Host& gms_b = lab.add_host("gms-b");
  lab::Host& val_3 = lab.add_host("val-3");
  lab.make_pki();
  lab::LabTopology t;
  t.domains = {{"operator-a", {"gms-a"}}, {"operator-b", {}}};
  t.nodes = {{&gms_a, "seal-server", "operator-a", {"group-management", "key-management"}},
             {&val_1, "val-server", "operator-a"},
             {&gms_b, "seal-server", "operator-b", {"group-management"}},
             {&val_3, "val-server", "operator-b"}};
  t.uses = {{"val-1", "gms-a", {"group-management"}}, {"val-3", "gms-b", {"group-management"}}};
  t.interconnects = {{"gms-a", "gms-b", {"group-management"}}};
  const std::string topo = t.write(lab.workdir() + "/demo.json");
  for (lab::Host* h : {&gms_a, &val_1, &gms_b, &val_3}) {
    lab.start_charon(*h);
    lab.start_ndsipd(*h, NDSIP_DAEMON);
    ctl_json({"push", topo, "--socket", h->control_socket});
  }
  auto all_up = [&] {
    std::vector<std::string> argv{NDSIP_CTL, "status", "--socket", gms_a.control_socket};
    return lab::proc::run(argv, nullptr, {}) == 0;
  };
  auto deadline = Clock::now() + 30s;
  while (!all_up() && Clock::now() < deadline) std::this_thread::sleep_for(100ms);
  for (int run = 0; run < 3; ++run) {
    lab.stop_charon(gms_a, SIGKILL);
    const auto t0 = Clock::now();
    lab.start_charon(gms_a);  // returns once the VICI socket accepts
    const double started = ms_since(t0);
    deadline = Clock::now() + 30s;
    while (!all_up() && Clock::now() < deadline) std::this_thread::sleep_for(20ms);
    std::printf("(c) charon of gms-a restarted (socket up after %.0f ms): all %s tunnels up after %.0f ms\n",
                started, "gms-a", ms_since(t0));
  }
}

}  // namespace

int main(int argc, char** argv) {
  if (geteuid() != 0) {
    std::cerr << "ndsipd bench: needs root (lab namespaces)\n";
    return 2;
  }
  const int peers = argc > 1 ? std::atoi(argv[1]) : 1000;
  try {
    bench_scale(peers);
    bench_restart();
  } catch (const std::exception& e) {
    std::cerr << "bench failed: " << e.what() << "\n";
    return 1;
  }
  return 0;
}
