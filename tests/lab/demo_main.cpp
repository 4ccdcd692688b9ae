// The README's demo: a SEAL deployment of seven hosts in two security domains, each with real
// charon and real ndsipd. Operator A runs a SEAL server with an integrated SEG function, a
// dedicated SEG and two VAL servers (one reaching its SEAL server through CAPIF); operator B
// runs a SEAL server, a dedicated SEG and a VAL server. val-1 uses both SEAL servers: gms-a
// inside its domain (Zb), gms-b across domains through both dedicated SEGs (val-1 -Zb-> seg-a
// -Za-> seg-b -Zb-> gms-b); gms-a's interconnect with gms-b runs Za from gms-a itself to seg-b.
// The demo validates and plans the topology with ndsipctl, pushes it to every host, prints
// `ndsipctl status` of each, sends traffic through every path, shows the ESP counters, and
// cleans up.
//
// The two SEG hosts get the lab's SEG step first (Lab::make_seg, tests/lab/README.md: the
// lab's charon forwards in userspace with kernel-libipsec 5.9.8, which needs it; production
// SEGs do not), with the addresses of their local traffic selectors taken from their plans.
//
// With --etcd the same hosts run as a fleet (docs/fleet.md): an eighth namespace runs etcd,
// every ndsipd watches it, the topology is published once with `ndsipctl publish` instead of
// pushed to each host, and `ndsipctl fleet-status` shows the whole deployment at the end.
#include <unistd.h>

#include <filesystem>
#include <map>
#include <memory>

#include <chrono>
#include <cstdio>
#include <iostream>
#include <thread>

#include <nlohmann/json.hpp>

#include "lab/etcd_server.hpp"
#include "lab/lab.hpp"
#include "lab/lab_topology.hpp"
#include "lab/process.hpp"

using namespace ndsip;
using namespace std::chrono_literals;

namespace {

// Prints an ndsipctl command as the operator would type it (files by their names) and its output.
void show(const std::vector<std::string>& args, const std::string& out) {
  std::string shown = "ndsipctl";
  for (const auto& a : args) shown += " " + (a.rfind('/', 0) == 0 ? a.substr(a.rfind('/') + 1) : a);
  std::printf("\n$ %s\n%s", shown.c_str(), out.c_str());
}

// Runs ndsipctl, echoing the command and its output; returns the exit code.
int ctl(const std::vector<std::string>& args, bool echo = true, std::string* captured = nullptr) {
  std::vector<std::string> argv{NDSIP_CTL};
  argv.insert(argv.end(), args.begin(), args.end());
  std::string out;
  const int rc = lab::proc::run(argv, &out);
  if (echo) show(args, out);
  if (captured) *captured = out;
  return rc;
}

bool wait_all_up(const std::vector<lab::Host*>& hosts, std::chrono::seconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    bool all = true;
    for (const lab::Host* h : hosts) all &= ctl({"status", "--socket", h->control_socket}, false) == 0;
    if (all) return true;
    std::this_thread::sleep_for(250ms);
  }
  return false;
}

}  // namespace

int main(int argc, char** argv) {
  const bool fleet = argc == 2 && std::string(argv[1]) == "--etcd";
  if (argc > 2 || (argc == 2 && !fleet)) {
    std::cerr << "usage: ndsip_lab_demo [--etcd]\n";
    return 2;
  }
  if (geteuid() != 0) {
    std::cerr << "ndsip demo: needs root (it creates network namespaces)\n";
    return 2;
  }
  try {
    const auto t0 = std::chrono::steady_clock::now();
    lab::Lab lab("demo");
    lab::Host& gms_a = lab.add_host("gms-a");
    lab::Host& val_1 = lab.add_host("val-1");
    lab::Host& val_2 = lab.add_host("val-2");
    lab::Host& gms_b = lab.add_host("gms-b");
    lab::Host& val_3 = lab.add_host("val-3");
    lab::Host& seg_a = lab.add_host("seg-a");
    lab::Host& seg_b = lab.add_host("seg-b");
    const std::vector<lab::Host*> hosts{&gms_a, &val_1, &val_2, &gms_b, &val_3, &seg_a, &seg_b};
    lab.make_pki();

    lab::LabTopology t;
    t.name = "ndsip demo: two operators";
    // seg-a first: operator A's other nodes leave the domain through it; gms-a, listed too, has
    // an integrated SEG function and runs Za itself.
    t.domains = {{"operator-a", {"seg-a", "gms-a"}}, {"operator-b", {"seg-b"}}};
    t.nodes = {{&gms_a, "seal-server", "operator-a", {"group-management", "key-management", "location-management"}},
               {&val_1, "val-server", "operator-a", {}},
               {&val_2, "val-server", "operator-a", {}},
               {&gms_b, "seal-server", "operator-b", {"group-management", "data-delivery"}},
               {&val_3, "val-server", "operator-b", {}},
               {&seg_a, "seg", "operator-a", {}},
               {&seg_b, "seg", "operator-b", {}}};
    t.uses = {{"val-1", "gms-a", {"group-management", "key-management"}},
              {"val-1", "gms-b", {"group-management"}},
              {"val-2", "gms-a", {"group-management", "location-management"}, true},
              {"val-3", "gms-b", {"group-management", "data-delivery"}}};
    t.interconnects = {{"gms-a", "gms-b", {"group-management"}}};
    const std::string topo = t.write(lab.workdir() + "/demo-topology.json");

    // The lab-only SEG step (before charon starts, in the loop below) needs the addresses of
    // each SEG's local traffic selectors: taken from its own plan, what charon will be given,
    // not worked out again here.
    std::map<const lab::Host*, std::vector<std::string>> forwarded;
    for (lab::Host* seg : {&seg_a, &seg_b}) {
      std::string plan;
      if (ctl({"plan", topo, "--node", seg->name, "--json"}, false, &plan) != 0) {
        std::fprintf(stderr, "ndsipctl plan --node %s failed:\n%s", seg->name.c_str(), plan.c_str());
        return 1;
      }
      forwarded[seg] = lab::seg_local_addresses(plan);
    }

    std::unique_ptr<lab::EtcdServer> etcd;
    lab::Host* store = nullptr;
    std::vector<std::string> source;
    if (fleet) {
      store = &lab.add_host("etcd");
      std::filesystem::create_directories(lab.workdir() + "/etcd-data");
      etcd = std::make_unique<lab::EtcdServer>(lab.workdir() + "/etcd-data", store->netns, store->outer_addr);
      etcd->start();
      source = {"--topology-source", "etcd", "--etcd-endpoints", etcd->endpoint()};
      std::printf("etcd: %s, in its own namespace\n", etcd->endpoint().c_str());
    }
    // ndsipctl's fleet commands run where etcd is reachable: in the lab, inside a lab namespace.
    auto fleet_ctl = [&](std::vector<std::string> args) {
      args.insert(args.end(), {"--etcd", etcd->endpoint()});
      std::string out;
      std::vector<std::string> argv{NDSIP_CTL};
      argv.insert(argv.end(), args.begin(), args.end());
      const int rc = lab.run(*store, argv, &out);
      show(args, out);
      return rc;
    };

    std::printf("lab: %zu hosts, each in its own network namespace with its own charon and ndsipd\n",
                hosts.size());
    for (lab::Host* h : hosts) {
      if (auto seg = forwarded.find(h); seg != forwarded.end()) lab.make_seg(*h, seg->second);
      lab.start_charon(*h);
      lab.start_ndsipd(*h, NDSIP_DAEMON, source);
      std::printf("  %-6s %-26s outer %-12s protects %s/32  (charon pid %d, ndsipd pid %d)\n",
                  h->name.c_str(), h->fqdn.c_str(), h->outer_addr.c_str(), h->inner_addr.c_str(),
                  h->charon_pid, h->ndsipd_pid);
      if (h->seg) {
        std::string list;
        for (const std::string& a : forwarded.at(h)) list += (list.empty() ? "" : ", ") + a;
        std::printf("         SEG, lab-only step: forwarding on, %s on lo, local delivery after table 220\n",
                    list.c_str());
      }
    }
    std::printf("  (the SEG step is for the lab's userspace ESP, kernel-libipsec 5.9.8; see tests/lab/README.md)\n");

    if (ctl({"validate", topo}) != 0) return 1;
    ctl({"plan", topo, "--node", "gms-a"});
    ctl({"plan", topo, "--node", "seg-b"});
    if (fleet) {
      if (fleet_ctl({"publish", topo}) != 0) return 1;
      std::printf("\npublished once; every ndsipd watching etcd takes it. Waiting for every tunnel...\n");
    } else {
      for (lab::Host* h : hosts) {
        if (ctl({"push", topo, "--socket", h->control_socket}, h == &gms_a) != 0) {
          std::fprintf(stderr, "push to %s failed:\n%s", h->name.c_str(), lab.ndsipd_log_tail(*h).c_str());
          return 1;
        }
      }
      std::printf("\npushed to all %zu hosts; waiting for every tunnel to come up...\n", hosts.size());
    }
    const bool up = wait_all_up(hosts, 30s);

    for (lab::Host* h : hosts) ctl({"status", "--socket", h->control_socket});
    if (!up) {
      std::fprintf(stderr, "\nnot every tunnel came up in 30 s\n");
      return 1;
    }

    // Traffic through every path, between the protected prefixes.
    std::printf("\ntraffic between protected addresses (through ESP):\n");
    int failures = 0;
    struct Path {
      lab::Host *from, *to;
      const char* via;
    };
    const std::vector<Path> paths{{&val_1, &gms_a, "Zb"},
                                  {&val_1, &gms_b, "Zb to seg-a, Za seg-a - seg-b, Zb seg-b - gms-b"},
                                  {&gms_a, &gms_b, "Za gms-a (integrated SEG) - seg-b, Zb seg-b - gms-b"},
                                  {&val_3, &gms_b, "Zb"}};
    for (const Path& p : paths) {
      const int replies = lab.ping_replies(*p.from, p.to->inner_addr, 5);
      std::printf("  %-6s -> %-6s %s -> %s: %d/5 replies  (%s)\n", p.from->name.c_str(), p.to->name.c_str(),
                  p.from->inner_addr.c_str(), p.to->inner_addr.c_str(), replies, p.via);
      failures += replies == 5 ? 0 : 1;
    }
    std::printf("  val-2  -> gms-a  no tunnel: CAPIF-2 security applies (TS 33.122)\n");
    std::printf("\nESP counters after the pings:\n");
    for (lab::Host* h : {&gms_a, &seg_a, &seg_b, &gms_b}) {
      std::string out;
      // --fresh: counters as of now (ndsipd's kept state has them as of its last list-sas).
      ctl({"status", "--json", "--fresh", "--socket", h->control_socket}, false, &out);
      const nlohmann::json status = nlohmann::json::parse(out);
      for (const auto& tun : status["tunnels"]) {
        std::printf("  %-6s %-12s %-2s with %-6s packets in %llu out %llu, bytes in %llu out %llu, SPIs %s/%s\n",
                    h->name.c_str(), tun["child"].get<std::string>().c_str(),
                    tun["zone"].get<std::string>().c_str(), tun["peer"].get<std::string>().c_str(),
                    tun["packets_in"].get<unsigned long long>(),
                    tun["packets_out"].get<unsigned long long>(), tun["bytes_in"].get<unsigned long long>(),
                    tun["bytes_out"].get<unsigned long long>(), tun["spi_in"].get<std::string>().c_str(),
                    tun["spi_out"].get<std::string>().c_str());
      }
    }
    if (fleet) {
      // Each ndsipd writes its status key every poll interval: wait for all of them to show the
      // publish applied, then show the fleet as an operator would see it.
      const auto deadline = std::chrono::steady_clock::now() + 30s;
      std::string out;
      while (lab.run(*store, {NDSIP_CTL, "fleet-status", "--etcd", etcd->endpoint()}, &out) != 0 &&
             std::chrono::steady_clock::now() < deadline) {
        std::this_thread::sleep_for(500ms);
      }
      failures += fleet_ctl({"fleet-status"}) == 0 ? 0 : 1;
    }
    std::printf("\n%s in %.1f s; cleaning up (ndsipd and charon stopped by PID, namespaces deleted)\n",
                failures == 0 ? "demo passed" : "demo FAILED",
                std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
    return failures == 0 ? 0 : 1;
  } catch (const std::exception& e) {
    std::cerr << "ndsip demo failed: " << e.what() << "\n";
    return 1;
  }
}
