// The fleet on etcd (issue 12), in the lab (needs root). Not a test: it prints numbers for
// bench/README.md, each beside the alternative measured in the same run.
//
//   (F) Fleet: H lab hosts (24 by default), each with charon and ndsipd, a quarter of them
//       SEAL servers and the rest VAL servers using one each; etcd in a lab namespace of its
//       own. The change: from the topology without service uses (no tunnels) to the one with
//       them (every host gets tunnels), and back. Per host, the time from the operator's
//       command to every tunnel of that host up (status: tunnel_counts up == the tunnels its
//       plan has), for one `ndsipctl publish` to etcd beside a loop of `ndsipctl push` to each
//       host in turn (ndsipd started with the local source), R rounds each; median and max
//       over every host of every round.
//   (S) Scale: a topology of N nodes (10,000 by default): two lab hosts with charon and ndsipd,
//       zz-a and zz-u, each a SEAL server with 50 VAL servers on paper, and paper SEAL/VAL
//       pairs for the rest. The change: one VAL server more, using zz-a. From the publish's
//       transaction (sent by this program, as ndsipctl publish builds it) to the new
//       connection in zz-a's charon (get-conns polled every millisecond), R times; zz-u's
//       status tells what the revision cost it (its own plan made again? VICI commands?).
//       Beside it, the same kind of change by `ndsipctl push` of the whole file to zz-a's
//       ndsipd started with the local source: from the command to the connection in charon.
//
//   ndsip_bench_fleet                          # (F) with 24 hosts, 3 rounds; (S) at 10,000 nodes, 5 changes
//   ndsip_bench_fleet --hosts 32 --rounds 5 --nodes 10000 --changes 10
//   ndsip_bench_fleet --skip-fleet | --skip-scale
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iostream>
#include <map>
#include <thread>

#include <nlohmann/json.hpp>

#include "control/client.hpp"
#include "etcd/client.hpp"
#include "etcd/publication.hpp"
#include "lab/etcd_server.hpp"
#include "bench_support.hpp"
#include "lab/lab.hpp"
#include "lab/lab_topology.hpp"
#include "lab/netns_thread.hpp"
#include "lab/process.hpp"
#include "topology/state.hpp"
#include "vici/client.hpp"

using namespace ndsip;
using namespace std::chrono_literals;
using nlohmann::json;
namespace fs = std::filesystem;
using namespace ndsip::bench;

namespace {

struct Options {
  int hosts = 24, rounds = 3, nodes = 10000, changes = 5;
  bool fleet = true, scale = true;
};

struct Stats {
  double median = 0, max = 0;
  std::size_t n = 0;
};
Stats stats(std::vector<double> v) {
  Stats s;
  s.n = v.size();
  if (v.empty()) return s;
  std::sort(v.begin(), v.end());
  s.median = v.size() % 2 ? v[v.size() / 2] : (v[v.size() / 2 - 1] + v[v.size() / 2]) / 2;
  s.max = v.back();
  return s;
}

std::string write(const std::string& path, const std::string& text) {
  std::ofstream(path) << text;
  return path;
}

std::string policies_dir(const std::string& workdir) {
  return lab::fast_dpd_policies(workdir, NDSIP_SOURCE_DIR "/policies");
}

lab::Host& add_host(lab::Lab& lab, const std::string& name) {
  lab::Host& h = lab.add_host(name);
  h.charon_extra_conf = "retransmit_tries = 2\nretransmit_timeout = 1\nretransmit_base = 1\nmake_before_break = yes\n";
  return h;
}

json status(const lab::Host& h) {
  const control::ControlResult r = control::control_request(h.control_socket, {{"command", "status"}}, 10s);
  return r.response ? *r.response : json();
}

std::size_t count(const json& s, const char* what) {
  if (!s.is_object() || !s.contains("tunnel_counts")) return static_cast<std::size_t>(-1);
  return s["tunnel_counts"].value(what, std::size_t{0});
}

// Polls every host's status until each has exactly `expected[h]` tunnels, all up; returns per
// host the time from t0 at which that was first seen. Throws after `limit`.
// With `command` (a child of ours), *command_ms gets when it ended (or -1 if it had not by then).
std::vector<double> wait_converged(const std::vector<lab::Host*>& hosts, const std::vector<std::size_t>& expected,
                                   Clock::time_point t0, std::chrono::seconds limit, pid_t command = -1,
                                   double* command_ms = nullptr) {
  std::vector<double> at(hosts.size(), -1);
  std::size_t left = hosts.size();
  if (command_ms) *command_ms = -1;
  while (left > 0) {
    // Ended? (WNOWAIT: reaped later by finish(), which reads its exit status.)
    siginfo_t info{};
    if (command > 0 && command_ms && *command_ms < 0 &&
        ::waitid(P_PID, static_cast<id_t>(command), &info, WEXITED | WNOHANG | WNOWAIT) == 0 && info.si_pid == command) {
      *command_ms = ms_between(t0, Clock::now());
    }
    for (std::size_t i = 0; i < hosts.size(); ++i) {
      if (at[i] >= 0) continue;
      const json s = status(*hosts[i]);
      if (count(s, "total") == expected[i] && count(s, "up") == expected[i]) {
        at[i] = ms_between(t0, Clock::now());
        --left;
      }
    }
    if (Clock::now() - t0 > limit) {
      std::string late;
      for (std::size_t i = 0; i < hosts.size(); ++i) {
        if (at[i] < 0) late += " " + hosts[i]->name + " " + status(*hosts[i]).value("tunnel_counts", json()).dump();
      }
      throw std::runtime_error("not converged after " + std::to_string(limit.count()) + " s:" + late);
    }
    std::this_thread::sleep_for(10ms);
  }
  return at;
}

// Runs argv to its end (a child of ours, never waited for by name).
int run_to_end(const std::vector<std::string>& argv, const std::string& log) {
  lab::proc::SpawnOptions o;
  o.output_file = log;
  const pid_t pid = lab::proc::spawn(argv, o);
  const auto status = lab::proc::wait_for(pid, std::chrono::seconds(300));
  if (!status) {
    ::kill(pid, SIGKILL);
    lab::proc::wait_for(pid, std::chrono::seconds(5));
    throw std::runtime_error(lab::proc::quote(argv) + ": no end after 300 s");
  }
  return lab::proc::exit_code(*status);
}

// ---------------------------------------------------------------------------------------
// (F) the fleet

void fleet(const Options& o) {
  lab::Lab lab("fleet-bench");
  lab::Host& store = lab.add_host("etcd");
  const int seals = std::max(1, o.hosts / 4);
  std::vector<lab::Host*> hosts;
  for (int i = 0; i < o.hosts; ++i) {
    char name[16];
    std::snprintf(name, sizeof name, i < seals ? "gms-%02d" : "val-%02d", i < seals ? i + 1 : i - seals + 1);
    hosts.push_back(&add_host(lab, name));
  }
  lab.make_pki();
  const std::string policies = policies_dir(lab.workdir());
  const std::string templates = NDSIP_SOURCE_DIR "/templates";

  // Without uses (no tunnels) and with them (each VAL server uses one SEAL server).
  lab::LabTopology without;
  without.name = "fleet";
  for (int i = 0; i < o.hosts; ++i) {
    if (i < seals) {
      without.nodes.push_back({hosts[i], "seal-server", "lab", {"group-management"}});
    } else {
      without.nodes.push_back({hosts[i], "val-server"});
    }
  }
  lab::LabTopology with = without;
  std::vector<std::size_t> expected(hosts.size(), 0), none(hosts.size(), 0);
  for (int i = seals; i < o.hosts; ++i) {
    const int seal = (i - seals) % seals;
    with.uses.push_back({hosts[i]->name, hosts[seal]->name, {"group-management"}});
    ++expected[i];
    ++expected[seal];
  }
  const std::string file_without = without.write(lab.workdir() + "/without.json");
  const std::string file_with = with.write(lab.workdir() + "/with.json");
  std::printf("(F) %d hosts (%d SEAL servers, %d VAL servers), %zu tunnels; %d rounds each\n", o.hosts, seals,
              o.hosts - seals, with.uses.size(), o.rounds);

  // The per-host push loop: ndsipd with the local source; the operator's script pushes to
  // each host in turn.
  for (lab::Host* h : hosts) {
    lab.start_charon(*h);
    lab.start_ndsipd(*h, NDSIP_DAEMON, {"--policies", policies, "--templates", templates});
  }
  auto push_loop = [&](const std::string& file) {
    std::string script = "set -e\n";
    for (lab::Host* h : hosts) script += "'" NDSIP_CTL "' push '" + file + "' --socket '" + h->control_socket + "' >/dev/null\n";
    lab::proc::SpawnOptions so;
    so.output_file = lab.workdir() + "/push-loop.log";
    return lab::proc::spawn({"sh", "-c", script}, so);
  };
  auto finish = [](pid_t pid, const char* what) {
    const auto st = lab::proc::wait_for(pid, std::chrono::seconds(300));
    if (!st || lab::proc::exit_code(*st) != 0) throw std::runtime_error(std::string(what) + " failed");
  };
  // R rounds of one way of making the change: `start` runs the command for a file (a child
  // of ours); each round times the change to every host up, then undoes it. `after` runs
  // once the hosts are up (the publish rounds read what the revision cost each daemon).
  auto rounds = [&](const char* what, const std::function<pid_t(const std::string&)>& start,
                    const std::function<void()>& after) {
    std::vector<double> all;
    for (int r = 0; r < o.rounds; ++r) {
      const auto t0 = Clock::now();
      const pid_t command = start(file_with);
      double command_ms = -1;
      const std::vector<double> at = wait_converged(hosts, expected, t0, 180s, command, &command_ms);
      finish(command, what);
      all.insert(all.end(), at.begin(), at.end());
      after();
      std::printf("  %s, round %d: every host up after %.0f ms (the command itself %s)\n", what, r + 1,
                  *std::max_element(at.begin(), at.end()),
                  command_ms < 0 ? "ended after that" : ("ended at " + fmt("%.0f ms", command_ms)).c_str());
      finish(start(file_without), what);
      wait_converged(hosts, none, Clock::now(), 120s);
    }
    return all;
  };
  finish(push_loop(file_without), "the first push loop");
  const std::vector<double> pushed = rounds("push loop", push_loop, [] {});

  // The same change published once to etcd: ndsipd started again with etcd as the source.
  fs::create_directories(lab.workdir() + "/etcd-data");
  lab::EtcdServer etcd(lab.workdir() + "/etcd-data", store.netns, store.outer_addr);
  etcd.start();
  auto publish = [&](const std::string& file) {
    lab::proc::SpawnOptions so;
    so.output_file = lab.workdir() + "/publish.log";
    return lab::proc::spawn({"ip", "netns", "exec", store.netns, NDSIP_CTL, "publish", file, "--etcd", etcd.endpoint(),
                             "--policies", policies, "--templates", templates},
                            so);
  };
  finish(publish(file_without), "the first publish");
  for (lab::Host* h : hosts) {
    lab.stop_ndsipd(*h);
    lab.start_ndsipd(*h, NDSIP_DAEMON,
                     {"--policies", policies, "--templates", templates, "--topology-source", "etcd",
                      "--etcd-endpoints", etcd.endpoint()});
  }
  std::vector<double> daemon_ms;
  const std::vector<double> published = rounds("publish", publish, [&] {
    for (lab::Host* h : hosts) {
      const json last = status(*h).value("source", json()).value("last_revision", json());
      if (last.is_object()) daemon_ms.push_back(last.value("ms", 0.0));
    }
  });

  const Stats e = stats(published), l = stats(pushed), d = stats(daemon_ms);
  std::printf("\n(F) from the command to each host's tunnels all up (%zu host-rounds each)\n", e.n);
  std::printf("| | one ndsipctl publish (etcd) | loop of ndsipctl push | publish / loop |\n|---|---|---|---|\n");
  std::printf("| median over hosts | %.0f ms | %.0f ms | %.2f |\n", e.median, l.median, e.median / l.median);
  std::printf("| max (the whole fleet) | %.0f ms | %.0f ms | %.2f |\n", e.max, l.max, e.max / l.max);
  std::printf("ndsipd's own time per revision (from its arrival to its apply's end): median %.1f ms, max %.1f ms\n\n",
              d.median, d.max);
}

// ---------------------------------------------------------------------------------------
// (S) scale

// zz-a and zz-u (lab hosts; their names sort last, so they answer and never initiate to the
// paper peers) with 50 VAL servers each, paper SEAL/VAL pairs up to `nodes`, and `extra`
// more VAL servers using zz-a (the one-peer changes).
json scale_topology(const lab::Host& a, const lab::Host& u, int nodes, int extra) {
  json doc = {{"version", 1}, {"name", "fleet-scale"}};
  doc["domains"] = {{{"name", "core"}, {"ca_id", "CN=ndsip lab CA"}}};
  doc["nodes"] = json::array();
  doc["service_uses"] = json::array();
  int next_ip = 1;
  auto paper = [&](const std::string& name, const char* role) {
    json n = {{"name", name}, {"role", role}, {"domain", "core"}, {"addresses", {paper_ip(next_ip)}},
              {"identity", name + ".bench.example"}, {"protects", {paper_ip(next_ip + 1) + "/32"}}};
    if (std::string(role) == "seal-server") n["services"] = {"group-management"};
    next_ip += 2;
    doc["nodes"].push_back(n);
  };
  auto use = [&](const std::string& val, const std::string& seal) {
    doc["service_uses"].push_back({{"val_server", val}, {"seal_server", seal}, {"services", {"group-management"}}});
  };
  for (const lab::Host* h : {&a, &u}) {
    doc["nodes"].push_back({{"name", h->name}, {"role", "seal-server"}, {"domain", "core"},
                            {"services", {"group-management"}}, {"addresses", {h->outer_addr}},
                            {"identity", h->fqdn}, {"protects", {h->inner_addr + "/32"}}});
    for (int i = 0; i < 50; ++i) {
      const std::string v = "val-" + h->name + "-" + std::to_string(i);
      paper(v, "val-server");
      use(v, h->name);
    }
  }
  for (int p = 0; static_cast<int>(doc["nodes"].size()) + 2 <= nodes; ++p) {
    paper("seal-" + std::to_string(p), "seal-server");
    paper("val-" + std::to_string(p), "val-server");
    use("val-" + std::to_string(p), "seal-" + std::to_string(p));
  }
  for (int k = 0; k < extra; ++k) {
    const std::string v = "val-new-" + std::to_string(k);
    paper(v, "val-server");
    use(v, a.name);
  }
  return doc;
}


// What ndsipctl publish does, timed around its transaction: reads etcd, computes the delta of
// `text` against it and commits it guarded by the publish key.
struct Committed {
  Clock::time_point sent, answered;
  std::int64_t revision = 0;
};
Committed publish_in_process(const std::string& netns, const std::string& endpoint, const std::string& text) {
  // etcd listens on a lab address: the client runs in a thread inside the store's namespace.
  return lab::in_netns(netns, [&] {
    Committed c;
    topology::TopologyState state;
    const topology::Proposal p = state.propose(text);
    if (!p.problems.empty()) throw std::runtime_error("the topology has problems: " + p.problems.front().to_string());
    state.commit();
    const etcd::Layout layout;
    etcd::ClientSettings settings;
    settings.endpoints = etcd::parse_endpoints(endpoint);
    etcd::BlockingClient client(settings);
    const etcd::RangeResult publish = client.range(layout.publish_key(), "");
    const etcd::RangeResult objects =
        client.range(layout.objects_prefix(), etcd::prefix_end(layout.objects_prefix()), publish.header.revision);
    const etcd::Held held = etcd::held_from(objects, publish, layout);
    const etcd::Publication change = etcd::publication(state.objects(), held, layout);
    etcd::PublishRecord record{state.digest(), state.name(), "ndsip_bench_fleet", "", state.objects().size(),
                               held.publish ? held.publish->mod_revision : 0};
    const std::string body = etcd::publish_txn(change, held, record, layout);
    c.sent = Clock::now();
    const etcd::TxnResult r = etcd::parse_txn(client.post("/v3/kv/txn", body));
    c.answered = Clock::now();
    if (!r.succeeded) throw std::runtime_error("the publish lost its guard");
    c.revision = r.header.revision;
    return c;
  }).get();
}

// When `vici` shows `want` connections (polled every millisecond), or throws after `limit`.
Clock::time_point conns_reach(vici::Client& vici, std::size_t want, std::chrono::seconds limit) {
  const auto t0 = Clock::now();
  for (;;) {
    if (vici.get_conns().size() >= want) return Clock::now();
    if (Clock::now() - t0 > limit) throw std::runtime_error("charon never had " + std::to_string(want) + " connections");
    std::this_thread::sleep_for(1ms);
  }
}

void scale(const Options& o) {
  lab::Lab lab("fleet-scale");
  lab::Host& store = lab.add_host("etcd");
  lab::Host& a = add_host(lab, "zz-a");
  lab::Host& u = add_host(lab, "zz-u");
  lab.make_pki();
  const std::string policies = policies_dir(lab.workdir());
  const std::string templates = NDSIP_SOURCE_DIR "/templates";
  fs::create_directories(lab.workdir() + "/etcd-data");
  lab::EtcdServer etcd(lab.workdir() + "/etcd-data", store.netns, store.outer_addr);
  // One publish is one transaction: the first one writes every object.
  etcd.extra_args = {"--max-txn-ops", std::to_string(o.nodes * 3), "--max-request-bytes", std::to_string(64 << 20)};
  etcd.start();

  std::printf("(S) %d topology nodes; the first publish writes them all\n", o.nodes);
  const auto first = publish_in_process(store.netns, etcd.endpoint(), scale_topology(a, u, o.nodes, 0).dump());
  std::printf("  first publish: transaction of every object answered in %.0f ms (revision %lld)\n",
              ms_between(first.sent, first.answered), static_cast<long long>(first.revision));
  const std::vector<std::string> source{"--policies", policies, "--templates", templates, "--topology-source", "etcd",
                                        "--etcd-endpoints", etcd.endpoint()};
  for (lab::Host* h : {&a, &u}) lab.start_charon(*h);
  vici::Client vici;
  vici.connect(a.vici_uri);
  const auto started = Clock::now();
  for (lab::Host* h : {&a, &u}) lab.start_ndsipd(*h, NDSIP_DAEMON, source);
  conns_reach(vici, 50, 300s);  // zz-a has read etcd and applied its plan
  std::printf("  zz-a: its 50 connections in charon %.0f ms after starting zz-a's and zz-u's ndsipd (each reads "
              "%d nodes from etcd)\n",
              ms_between(started, Clock::now()), o.nodes);
  std::this_thread::sleep_for(2s);  // both daemons settled (zz-u too)

  std::vector<double> from_sent, from_answer, untouched_ms, affected_ms;
  bool untouched_planned = false;
  long untouched_vici = 0;
  for (int k = 1; k <= o.changes; ++k) {
    const std::string text = scale_topology(a, u, o.nodes, k).dump();
    const Committed c = publish_in_process(store.netns, etcd.endpoint(), text);
    const Clock::time_point in_charon = conns_reach(vici, 50 + static_cast<std::size_t>(k), 60s);
    from_sent.push_back(ms_between(c.sent, in_charon));
    from_answer.push_back(ms_between(c.answered, in_charon));
    // zz-u: the same revision arrived; what did it cost there?
    json last;
    for (int tries = 0; tries < 500; ++tries) {
      last = status(u).value("source", json()).value("last_revision", json());
      if (last.is_object() && last.value("revision", std::int64_t{0}) == c.revision) break;
      std::this_thread::sleep_for(10ms);
    }
    if (!last.is_object() || last.value("revision", std::int64_t{0}) != c.revision) {
      throw std::runtime_error("zz-u never took revision " + std::to_string(c.revision) + ": " + last.dump());
    }
    const json affected = status(a).value("source", json()).value("last_revision", json());
    if (affected.is_object()) affected_ms.push_back(affected.value("ms", 0.0));
    untouched_planned = untouched_planned || last.value("this_node_planned", true);
    untouched_vici += last.value("vici_commands", 0L);
    untouched_ms.push_back(last.value("ms", 0.0));
    std::printf("  change %d: in zz-a's charon %.1f ms after the transaction was sent (%.1f ms after etcd answered); "
                "zz-a's ndsipd took %.1f ms of it; zz-u: own plan made %s, %ld VICI commands, %.1f ms\n",
                k, from_sent.back(), from_answer.back(), affected_ms.empty() ? -1.0 : affected_ms.back(),
                last.value("this_node_planned", true) ? "yes" : "no", last.value("vici_commands", 0L), untouched_ms.back());
  }

  // The alternative: the same change pushed to zz-a's ndsipd with the local source.
  lab.stop_ndsipd(a);
  lab.start_ndsipd(a, NDSIP_DAEMON, {"--policies", policies, "--templates", templates});
  std::this_thread::sleep_for(2s);
  std::vector<double> pushed;
  for (int k = o.changes + 1; k <= 2 * o.changes; ++k) {
    const std::string file = write(lab.workdir() + "/push.json", scale_topology(a, u, o.nodes, k).dump());
    const auto t0 = Clock::now();
    lab::proc::SpawnOptions so;
    so.output_file = lab.workdir() + "/push.log";
    const pid_t pid = lab::proc::spawn({NDSIP_CTL, "push", file, "--socket", a.control_socket}, so);
    const Clock::time_point in_charon = conns_reach(vici, 50 + static_cast<std::size_t>(k), 60s);
    const auto st = lab::proc::wait_for(pid, std::chrono::seconds(120));
    if (!st || lab::proc::exit_code(*st) != 0) throw std::runtime_error("ndsipctl push failed; see push.log");
    pushed.push_back(ms_between(t0, in_charon));
    std::printf("  push %d: in zz-a's charon %.1f ms after ndsipctl push started\n", k - o.changes, pushed.back());
  }

  const Stats s = stats(from_sent), w = stats(from_answer), p = stats(pushed), uu = stats(untouched_ms);
  std::printf("\n(S) %d nodes: a one-peer change to the affected host's charon (%zu changes each)\n", o.nodes, s.n);
  std::printf("| | etcd: from the transaction sent | etcd: from etcd's answer | ndsipctl push of the file | etcd (sent) / push |\n");
  std::printf("|---|---|---|---|---|\n");
  std::printf("| median | %.1f ms | %.1f ms | %.1f ms | %.2f |\n", s.median, w.median, p.median, s.median / p.median);
  std::printf("| max | %.1f ms | %.1f ms | %.1f ms | %.2f |\n", s.max, w.max, p.max, s.max / p.max);
  std::printf("untouched host zz-u: own plan made again: %s; VICI commands sent: %ld; its time per revision: "
              "median %.1f ms, max %.1f ms\n",
              untouched_planned ? "yes" : "never", untouched_vici, uu.median, uu.max);
}

}  // namespace

int main(int argc, char** argv) {
  Options o;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    auto number = [&](int& into) {
      if (i + 1 >= argc) throw std::runtime_error(a + " needs a number");
      into = std::stoi(argv[++i]);
    };
    if (a == "--hosts") {
      number(o.hosts);
    } else if (a == "--rounds") {
      number(o.rounds);
    } else if (a == "--nodes") {
      number(o.nodes);
    } else if (a == "--changes") {
      number(o.changes);
    } else if (a == "--skip-fleet") {
      o.fleet = false;
    } else if (a == "--skip-scale") {
      o.scale = false;
    } else {
      std::fprintf(stderr, "usage: ndsip_bench_fleet [--hosts N] [--rounds R] [--nodes N] [--changes K] "
                           "[--skip-fleet] [--skip-scale]\n");
      return 2;
    }
  }
  if (geteuid() != 0) {
    std::fprintf(stderr, "ndsip_bench_fleet needs root (the lab's network namespaces)\n");
    return 2;
  }
  try {
    if (o.fleet) fleet(o);
    if (o.scale) scale(o);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "ndsip_bench_fleet: %s\n", e.what());
    return 1;
  }
  return 0;
}
