// Plans one node of a generated 10,000-node topology in which that node has 1,000 peers,
// and reports the time of plan_node and the process's peak RSS. Targets (issue 3): under
// 200 ms and under 64 MiB. With --json FILE it also writes the topology as JSON and times
// loading and validating it (ndsipctl's path).
#include <sys/resource.h>

#include <chrono>
#include <cstdio>
#include <fstream>
#include <string>

#include <nlohmann/json.hpp>

#include "policy/plan.hpp"
#include "topology/load.hpp"

using namespace ndsip;
using topology::Role;
using topology::Service;

namespace {

std::string ip(int i) {  // distinct addresses in the benchmarking range 198.18.0.0/15 (data only)
  return "198." + std::to_string(18 + ((i >> 16) & 1)) + "." + std::to_string((i >> 8) & 255) +
         "." + std::to_string(i & 255);
}

// Domain "core" with the hub SEAL server and 1,000 VAL servers using it; the other ~9,000
// nodes are SEAL server + VAL server pairs in 10 other domains, each with a SEG, plus
// interconnects from the hub to one SEAL server per domain.
topology::Topology generate(int total_nodes, int hub_peers) {
  topology::Topology t;
  t.name = "bench";
  auto add_node = [&](const std::string& name, Role role, const std::string& domain) {
    topology::Node n;
    n.name = name;
    n.role = role;
    n.domain = domain;
    const int i = static_cast<int>(t.nodes.size()) + 1;
    n.addresses = {ip(i)};
    n.identity = name + "." + domain + ".example";
    n.protects = {ip(i) + "/32"};
    if (role == Role::seal_server) n.services = {Service::group_management, Service::data_delivery};
    t.nodes.push_back(std::move(n));
  };
  t.domains.push_back({"core", "CN=core CA", {}});
  add_node("hub", Role::seal_server, "core");
  for (int i = 0; i < hub_peers; ++i) {
    add_node("val-" + std::to_string(i), Role::val_server, "core");
    t.service_uses.push_back({"val-" + std::to_string(i), "hub", {Service::group_management}, false});
  }
  const int domains = 10;
  for (int d = 0; d < domains; ++d) {
    const std::string dom = "dom-" + std::to_string(d);
    t.domains.push_back({dom, "CN=" + dom + " CA", {"seg-" + std::to_string(d)}});
    add_node("seg-" + std::to_string(d), Role::seg, dom);
  }
  for (int k = 0; static_cast<int>(t.nodes.size()) + 2 <= total_nodes; ++k) {
    const std::string dom = "dom-" + std::to_string(k % domains);
    const std::string s = "sv-" + std::to_string(k), v = "vs-" + std::to_string(k);
    add_node(s, Role::seal_server, dom);
    add_node(v, Role::val_server, dom);
    t.service_uses.push_back({v, s, {Service::group_management}, false});
    if (k < domains) t.interconnects.push_back({"hub", s, {Service::group_management}});
  }
  return t;
}

long peak_rss_kib() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  return u.ru_maxrss;
}

double ms(std::chrono::steady_clock::duration d) {
  return std::chrono::duration<double, std::milli>(d).count();
}

}  // namespace

int main(int argc, char** argv) {
  const policy::PolicyLoadResult pol =
      policy::load_policies(NDSIP_SOURCE_DIR "/policies", NDSIP_SOURCE_DIR "/templates");
  if (!pol.problems.empty()) {
    std::fprintf(stderr, "%s\n", pol.problems.front().to_string().c_str());
    return 1;
  }
  const topology::Topology t = generate(10000, 1000);
  std::printf("topology: %zu nodes, %zu domains, %zu service uses, %zu interconnects\n",
              t.nodes.size(), t.domains.size(), t.service_uses.size(), t.interconnects.size());
  std::printf("peak RSS after generating it: %.1f MiB\n", static_cast<double>(peak_rss_kib()) / 1024);

  double best = 1e9;
  std::size_t connections = 0;
  for (int run = 0; run < 5; ++run) {
    const auto t0 = std::chrono::steady_clock::now();
    const policy::NodePlan plan = policy::plan_node(t, pol.set, "hub");
    best = std::min(best, ms(std::chrono::steady_clock::now() - t0));
    connections = plan.connections.size();
  }
  std::printf("plan_node(hub): %zu connections, best of 5: %.1f ms\n", connections, best);
  {
    // What validate does: every node planned, sharing one Planner.
    const auto t0 = std::chrono::steady_clock::now();
    const policy::Planner planner(t, pol.set);
    std::size_t total = 0;
    for (const topology::Node& n : t.nodes) total += planner.plan(n.name).connections.size();
    std::printf("plan every node (%zu connections in all): %.1f ms\n", total,
                ms(std::chrono::steady_clock::now() - t0));
  }
  std::printf("peak RSS: %.1f MiB\n", static_cast<double>(peak_rss_kib()) / 1024);

  if (argc == 3 && std::string(argv[1]) == "--json") {
    // Serialise through the documented format and time the loader on it.
    nlohmann::json doc = {{"version", 1}, {"name", t.name}};
    for (const auto& d : t.domains) {
      doc["domains"].push_back({{"name", d.name}, {"ca_id", d.ca_id}, {"segs", d.segs}});
    }
    for (const auto& n : t.nodes) {
      nlohmann::json j = {{"name", n.name}, {"role", topology::to_string(n.role)},
                          {"domain", n.domain}, {"addresses", n.addresses},
                          {"identity", n.identity}, {"protects", n.protects}};
      for (Service s : n.services) j["services"].push_back(topology::to_string(s));
      doc["nodes"].push_back(j);
    }
    for (const auto& u : t.service_uses) {
      nlohmann::json j = {{"val_server", u.val_server}, {"seal_server", u.seal_server}};
      for (Service s : u.services) j["services"].push_back(topology::to_string(s));
      doc["service_uses"].push_back(j);
    }
    for (const auto& ic : t.interconnects) {
      nlohmann::json j = {{"between", {ic.a, ic.b}}};
      for (Service s : ic.services) j["services"].push_back(topology::to_string(s));
      doc["interconnects"].push_back(j);
    }
    std::ofstream(argv[2]) << doc.dump(1);
    const auto t0 = std::chrono::steady_clock::now();
    const topology::LoadResult loaded = topology::load_topology_file(argv[2]);
    std::printf("load + validate %s: %.1f ms, %zu problems\n", argv[2],
                ms(std::chrono::steady_clock::now() - t0), loaded.problems.size());
    std::printf("peak RSS: %.1f MiB\n", static_cast<double>(peak_rss_kib()) / 1024);
  }
  return 0;
}
