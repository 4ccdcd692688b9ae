// ndsipd against real charon in the lab (needs root). Not a test: it prints numbers for
// bench/README.md. With no arguments it runs 1,000 and then 10,000 peers of one hub; for each
// size it prints a table, every figure beside swanctl's (same run, same charon, same
// strongswan.conf: the lab's, verbose log included) as a ratio where swanctl has one:
//   (a)  full apply into a fresh charon: `ndsipctl push` beside `swanctl --load-conns` of the
//        equivalent `ndsipctl plan --swanctl` file into a fresh charon;
//   (b)  one peer changed: `ndsipctl push` end to end, the daemon side (the answer's
//        timing_ms), the VICI commands it sent, beside swanctl loading the whole changed file
//        into the charon that holds swanctl's first file;
//   (b2) a delta that does not touch the hub (a second SEAL server and a VAL server using
//        it): ndsipd's CPU time for that push and the VICI commands it sent;
//   (e)  `ndsipctl status --json`, best and worst of 5, beside `swanctl --list-sas`;
//   (d)  peak RSS (VmHWM) of ndsipd and charon, and of swanctl loading the file;
//   (f)  start-up: ndsipd stopped (SIGTERM) and started again on the programmed charon: until
//        the control socket accepts, until status answers, until status shows every
//        connection applied, and the load-conn requests it sent; beside swanctl loading the
//        file charon already holds;
// and once, on a four-host topology:
//   (c)  from a charon restart to every tunnel of the demo topology re-established.
//
//   ndsip_bench_ndsipd                     # 1000, then 10000
//   ndsip_bench_ndsipd 1000 10000          # the same; or --sizes 1000,10000
//   ndsip_bench_ndsipd --skip-restart 500  # without (c)
//   ndsip_bench_ndsipd --perf DIR ...      # perf record -g of ndsipd (and charon in (a)) per step
//   ndsip_bench_ndsipd --vici-sessions 4   # ndsipd with that many VICI sessions for its loads
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <optional>
#include <sstream>
#include <thread>

#include <nlohmann/json.hpp>

#include "bench_support.hpp"
#include "lab/lab.hpp"
#include "lab/lab_topology.hpp"
#include "lab/process.hpp"

using namespace ndsip;
using namespace std::chrono_literals;
using nlohmann::json;
namespace fs = std::filesystem;
using namespace ndsip::bench;

namespace {

// Timeouts grow with the size: the lab's charon logs every load-conn at cfg level 2 (about
// 80 lines each), and at 10,000 connections a full load takes minutes, not seconds.
struct Scale {
  double factor = 1;
  std::chrono::milliseconds of(std::chrono::milliseconds base) const {
    return std::chrono::milliseconds(static_cast<long long>(static_cast<double>(base.count()) * factor));
  }
};

// The hub (this lab host) and `peers` VAL servers that exist only on paper. The hub's name
// sorts last, so it answers and never initiates: the bench measures programming, not 10,000
// initiations to nowhere. `changed_peer` protects a second /32, from a range no node uses
// (one connection changes); `elsewhere` adds a second SEAL server and a VAL server using it, nodes the hub has
// no relation with (a delta that does not touch the hub).
std::string hub_topology(const lab::Host& hub, int peers, int changed_peer, bool elsewhere = false) {
  json doc = {{"version", 1}, {"name", "bench"}};
  doc["domains"] = {{{"name", "core"}, {"ca_id", "CN=ndsip lab CA"}}};
  doc["nodes"] = {{{"name", hub.name}, {"role", "seal-server"}, {"domain", "core"},
                   {"services", {"group-management"}}, {"addresses", {hub.outer_addr}},
                   {"identity", hub.fqdn}, {"protects", {hub.inner_addr + "/32"}}}};
  doc["service_uses"] = json::array();
  for (int i = 0; i < peers; ++i) {
    const std::string name = "val-" + std::to_string(1000 + i);
    json protects = {paper_ip(2 * i + 2) + "/32"};
    if (i == changed_peer) protects.push_back(paper_ip(2 * peers + 20) + "/32");
    doc["nodes"].push_back({{"name", name}, {"role", "val-server"}, {"domain", "core"},
                            {"addresses", {paper_ip(2 * i + 1)}}, {"identity", name + ".bench.example"},
                            {"protects", protects}});
    doc["service_uses"].push_back({{"val_server", name}, {"seal_server", hub.name},
                                   {"services", {"group-management"}}});
  }
  if (elsewhere) {
    const int base = 2 * peers + 10;
    doc["nodes"].push_back({{"name", "gms-2"}, {"role", "seal-server"}, {"domain", "core"},
                            {"services", {"group-management"}}, {"addresses", {paper_ip(base)}},
                            {"identity", "gms-2.bench.example"}, {"protects", {paper_ip(base + 1) + "/32"}}});
    doc["nodes"].push_back({{"name", "val-elsewhere"}, {"role", "val-server"}, {"domain", "core"},
                            {"addresses", {paper_ip(base + 2)}}, {"identity", "val-elsewhere.bench.example"},
                            {"protects", {paper_ip(base + 3) + "/32"}}});
    doc["service_uses"].push_back({{"val_server", "val-elsewhere"}, {"seal_server", "gms-2"},
                                   {"services", {"group-management"}}});
  }
  return doc.dump(1);
}

std::string write(const std::string& path, const std::string& text) {
  std::ofstream(path) << text;
  return path;
}

// One ndsipctl run: wall time, exit status, the JSON it printed (stdout only).
struct Ctl {
  double ms = 0;
  int rc = -1;
  json j;
  std::string err;
  bool gave_up = false;  // ndsipctl's own 120 s ran out; the end was seen in status
};

Ctl ctl(const std::string& workdir, const std::vector<std::string>& args, std::chrono::milliseconds timeout) {
  std::vector<std::string> argv{NDSIP_CTL};
  argv.insert(argv.end(), args.begin(), args.end());
  lab::proc::RunOptions o;
  o.timeout = timeout;
  o.stdout_file = workdir + "/ndsipctl.out";
  Ctl c;
  const auto t0 = Clock::now();
  c.rc = lab::proc::run(argv, &c.err, o);
  c.ms = ms_since(t0);
  std::ifstream in(o.stdout_file);
  std::stringstream s;
  s << in.rdbuf();
  c.j = json::parse(s.str(), nullptr, false);
  return c;
}

// ndsipctl waits 120 s for an answer (its own fixed limit) and a full apply of 10,000
// connections may take longer on a loaded machine; ndsipd carries on regardless. For a full
// apply (`full_apply_of` connections) the end is then seen in status instead (last_apply).
Ctl push(const lab::Host& h, const std::string& workdir, const std::string& file, const Scale& scale,
         std::size_t full_apply_of = 0) {
  const auto t0 = Clock::now();
  Ctl c = ctl(workdir, {"push", file, "--json", "--socket", h.control_socket}, scale.of(120s));
  if (c.j.is_object() && c.j.value("ok", false)) return c;
  if (full_apply_of > 0 && c.err.find("did not answer within") != std::string::npos) {
    std::printf("    (%s; waiting for status to show the apply)\n", c.err.substr(0, c.err.find('\n')).c_str());
    for (;;) {
      const Ctl s = ctl(workdir, {"status", "--json", "--socket", h.control_socket}, scale.of(60s));
      const json la = s.j.is_object() ? s.j.value("last_apply", json()) : json();
      if (la.is_object() && la.value("load", json::array()).size() == full_apply_of) {
        c.ms = ms_since(t0);
        c.j = la;
        c.gave_up = true;
        return c;
      }
      if (Clock::now() - t0 > scale.of(300s)) break;
      std::this_thread::sleep_for(50ms);
    }
  }
  throw std::runtime_error("push " + file + " failed (exit " + std::to_string(c.rc) + ", " + fmt("%.0f ms", c.ms) +
                           "): " + c.err + (c.j.is_object() ? c.j.dump().substr(0, 2000) : ""));
}

double timing(const json& answer, const char* part) {
  if (!answer.contains("timing_ms") || !answer["timing_ms"].contains(part)) return -1;
  return answer["timing_ms"][part].get<double>();
}

double daemon_side(const json& answer) {
  return timing(answer, "validate_and_plan") + timing(answer, "store") + timing(answer, "apply");
}

// A program run as a direct child, with its wall time and peak RSS (wait4).
struct Run {
  double ms = 0;
  double cpu_ms = 0;  // its own user + system time
  long maxrss_kib = 0;
  int rc = -1;
};

Run run_measured(const std::vector<std::string>& argv, const std::string& output_file,
                 std::chrono::milliseconds timeout) {
  lab::proc::SpawnOptions o;
  o.output_file = output_file;
  const auto t0 = Clock::now();
  const pid_t pid = lab::proc::spawn(argv, o);
  Run r;
  for (;;) {
    int status = 0;
    rusage ru{};
    const pid_t got = ::wait4(pid, &status, WNOHANG, &ru);
    if (got == pid) {
      r.ms = ms_since(t0);
      r.maxrss_kib = ru.ru_maxrss;
      auto ms = [](const timeval& t) { return static_cast<double>(t.tv_sec) * 1000.0 + static_cast<double>(t.tv_usec) / 1000.0; };
      r.cpu_ms = ms(ru.ru_utime) + ms(ru.ru_stime);
      r.rc = lab::proc::exit_code(status);
      return r;
    }
    if (got < 0 && errno != EINTR) throw std::runtime_error("wait4: " + std::string(std::strerror(errno)));
    if (Clock::now() - t0 > timeout) {
      ::kill(pid, SIGKILL);
      ::waitpid(pid, nullptr, 0);
      throw std::runtime_error(lab::proc::quote(argv) + ": no end after " +
                               std::to_string(timeout.count() / 1000) + " s");
    }
    std::this_thread::sleep_for(200us);
  }
}

Run swanctl(const lab::Host& h, const std::vector<std::string>& args, const std::string& workdir,
            std::chrono::milliseconds timeout) {
  std::vector<std::string> argv{"swanctl"};
  argv.insert(argv.end(), args.begin(), args.end());
  argv.insert(argv.end(), {"--uri", h.vici_uri});
  const std::string out = workdir + "/swanctl.out";
  fs::remove(out);
  const Run r = run_measured(argv, out, timeout);
  if (r.rc != 0) {
    std::ifstream in(out);
    std::stringstream s;
    s << in.rdbuf();
    throw std::runtime_error(lab::proc::quote(argv) + " failed:\n" + s.str().substr(0, 2000));
  }
  return r;
}

long status_kib(pid_t pid, const char* field) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  const std::string key = std::string(field) + ":";
  for (std::string line; std::getline(in, line);) {
    if (line.rfind(key, 0) == 0) return std::stol(line.substr(key.size()));
  }
  return -1;
}

std::string loadavg() {
  std::ifstream in("/proc/loadavg");
  std::string a, b, c;
  in >> a >> b >> c;
  return a + " " + b + " " + c;
}

double mib(long kib) { return static_cast<double>(kib) / 1024; }

// CPU time of a process: utime + stime from /proc/PID/stat (clock ticks, 10 ms here) and the
// sum of its threads' schedstat run time (nanoseconds).
struct Cpu {
  double ticks_ms = 0;
  double sched_ms = 0;
};

Cpu cpu_of(pid_t pid) {
  Cpu c;
  {
    std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
    std::string s((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    std::istringstream rest(s.substr(s.rfind(')') + 2));  // fields from 3 (state) on
    std::string field;
    unsigned long long utime = 0, stime = 0;
    for (int i = 3; i <= 15 && rest >> field; ++i) {
      if (i == 14) utime = std::stoull(field);
      if (i == 15) stime = std::stoull(field);
    }
    c.ticks_ms = static_cast<double>(utime + stime) * 1000.0 / static_cast<double>(::sysconf(_SC_CLK_TCK));
  }
  std::error_code ec;
  for (const auto& task : fs::directory_iterator("/proc/" + std::to_string(pid) + "/task", ec)) {
    std::ifstream in(task.path() / "schedstat");
    unsigned long long ns = 0;
    if (in >> ns) c.sched_ms += static_cast<double>(ns) / 1e6;
  }
  return c;
}

std::string comm(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/comm");
  std::string s;
  std::getline(in, s);
  return s;
}

// charon's log (the lab's filelog, appended): where it ends now, and how many VICI requests of
// a kind it logged since ("vici client N requests: load-conn").
std::uintmax_t log_end(const std::string& path) {
  std::error_code ec;
  const auto n = fs::file_size(path, ec);
  return ec ? 0 : n;
}

std::size_t count_since(const std::string& path, std::uintmax_t from, const std::string& what) {
  std::ifstream in(path);
  in.seekg(static_cast<std::streamoff>(from));
  std::size_t n = 0;
  for (std::string line; std::getline(in, line);) {
    if (line.find(what) != std::string::npos) ++n;
  }
  return n;
}

// Every VICI request charon logged since `from`, by command: "load-conn 1, list-sas 1".
std::string requests_since(const std::string& path, std::uintmax_t from) {
  std::ifstream in(path);
  in.seekg(static_cast<std::streamoff>(from));
  std::map<std::string, std::size_t> by;
  const std::string tag = " requests: ";
  for (std::string line; std::getline(in, line);) {
    const auto at = line.find(tag);
    if (at != std::string::npos) ++by[line.substr(at + tag.size())];
  }
  std::string out;
  for (const auto& [what, n] : by) out += (out.empty() ? "" : ", ") + what + " " + std::to_string(n);
  return out.empty() ? "none" : out;
}

// charon's own time for the first load-conn it logged since `from`: from "requests:
// load-conn" to the line after "installing '<child>'" (the trap policy in place), from the
// log's millisecond timestamps ("09:41:54.494 11[CFG] ..."); -1 if not found.
double charon_load_conn_ms(const std::string& path, std::uintmax_t from) {
  std::ifstream in(path);
  in.seekg(static_cast<std::streamoff>(from));
  auto stamp = [](const std::string& line) {
    int h = 0, m = 0, sec = 0, milli = 0;
    if (std::sscanf(line.c_str(), "%d:%d:%d.%d", &h, &m, &sec, &milli) != 4) return -1.0;
    return ((h * 60.0 + m) * 60.0 + sec) * 1000.0 + milli;
  };
  double start = -1;
  bool installed = false;
  for (std::string line; std::getline(in, line);) {
    if (start < 0) {
      if (line.find("requests: load-conn") != std::string::npos) start = stamp(line);
    } else if (installed) {
      return stamp(line) - start;
    } else if (line.find("] installing '") != std::string::npos) {
      installed = true;
    }
  }
  return -1;
}

std::string lines_since(const std::string& path, std::uintmax_t from) {
  std::ifstream in(path);
  in.seekg(static_cast<std::streamoff>(from));
  std::string out;
  for (std::string line; std::getline(in, line);) out += "    " + line + "\n";
  return out;
}

bool log_has_since(const std::string& path, std::uintmax_t from, const std::string& what) {
  return count_since(path, from, what) > 0;
}

// perf record -g of one process while a step runs (--perf DIR).
class Perf {
 public:
  // dwarf: call graphs through ndsipd's own frames (a Release build keeps no frame pointers);
  // for short steps only, the data grows fast.
  Perf(const std::string& dir, pid_t pid, const std::string& name, bool dwarf = false) {
    if (dir.empty()) return;
    const std::string out = dir + "/" + name + ".data";
    lab::proc::SpawnOptions o;
    o.output_file = dir + "/" + name + ".log";
    // pid < 0: the whole machine (for a process not started yet); perf report --comm picks it out.
    std::vector<std::string> argv{"perf", "record", "-o", out};
    if (dwarf) {
      argv.insert(argv.end(), {"--call-graph", "dwarf,16384", "-F", "999"});
    } else {
      argv.push_back("-g");
    }
    if (pid > 0) {
      argv.insert(argv.end(), {"-p", std::to_string(pid)});
    } else {
      argv.push_back("-a");
    }
    pid_ = lab::proc::spawn(argv, o);
    std::this_thread::sleep_for(500ms);  // attached before the step starts
  }
  ~Perf() {
    if (pid_ <= 0) return;
    ::kill(pid_, SIGINT);
    lab::proc::wait_for(pid_, 30s);
  }
  Perf(const Perf&) = delete;
  Perf& operator=(const Perf&) = delete;

 private:
  pid_t pid_ = -1;
};

struct Options {
  std::vector<int> sizes;
  bool restart = true;
  std::string perf_dir;
  std::vector<std::string> ndsipd_args;  // passed to every ndsipd the bench starts
};

std::string plan_swanctl(const lab::Lab& lab, const lab::Host& hub, const std::string& topo, const std::string& out) {
  std::vector<std::string> argv{NDSIP_CTL, "plan", topo, "--node", hub.name, "--swanctl"};
  lab::proc::RunOptions o;
  o.stdout_file = lab.workdir() + "/" + out;
  o.timeout = 600s;
  std::string err;
  if (lab::proc::run(argv, &err, o) != 0) throw std::runtime_error("ndsipctl plan --swanctl failed: " + err);
  return o.stdout_file;
}

// Waits until ndsipd's log says it is ready (connected, first pass done) since `from`.
void wait_ready(const lab::Lab& lab, const lab::Host& hub, std::uintmax_t from, std::chrono::milliseconds timeout) {
  const auto t0 = Clock::now();
  while (!log_has_since(hub.ndsipd_log, from, "ndsipd: ready:")) {
    if (Clock::now() - t0 > timeout)
      throw std::runtime_error("ndsipd not ready after " + std::to_string(timeout.count() / 1000) + " s\n" +
                               lab.ndsipd_log_tail(hub));
    std::this_thread::sleep_for(5ms);
  }
}

void bench_scale(int peers, const Options& opt) {
  const Scale scale{std::max(1.0, peers / 1000.0)};
  const std::string perf_dir = opt.perf_dir.empty() ? "" : opt.perf_dir + "/" + std::to_string(peers);
  if (!perf_dir.empty()) fs::create_directories(perf_dir);
  const auto total0 = Clock::now();
  const std::string load_start = loadavg();
  lab::Lab lab("bench");
  lab::Host& hub = lab.add_host("zz-hub");
  lab.make_pki();
  const std::string wd = lab.workdir();
  const std::string v1 = write(wd + "/v1.json", hub_topology(hub, peers, -1));
  const std::string v2 = write(wd + "/v2.json", hub_topology(hub, peers, peers / 2));
  const std::string v3 = write(wd + "/v3.json", hub_topology(hub, peers, peers / 2, true));
  const std::string conf1 = plan_swanctl(lab, hub, v1, "v1.conf");
  const std::string conf2 = plan_swanctl(lab, hub, v2, "v2.conf");
  std::printf("\n== %d peers: topology of %d nodes, %s bytes; hub zz-hub; charon log as the lab sets it "
              "(filelog default 1, ike 2, cfg 2) ==\n",
              peers, peers + 1, std::to_string(fs::file_size(v1)).c_str());
  std::fflush(stdout);

  // (a) swanctl: the equivalent swanctl.conf into a fresh charon.
  lab.start_charon(hub);
  auto mark = log_end(hub.charon_log);
  const Cpu swan_c0 = cpu_of(hub.charon_pid);
  const Run swan_full = swanctl(hub, {"--load-conns", "--file", conf1}, wd, scale.of(300s));
  const std::size_t swan_full_loads = count_since(hub.charon_log, mark, "requests: load-conn");
  const double swan_cpu_charon = cpu_of(hub.charon_pid).sched_ms - swan_c0.sched_ms;
  std::printf("(a) swanctl --load-conns into a fresh charon: %.0f ms (%zu load-conn)\n", swan_full.ms, swan_full_loads);
  std::fflush(stdout);

  // (b) swanctl: the whole changed file into the charon that holds swanctl's v1 (how one peer
  // changes without ndsipd). Not on top of what ndsipd loaded: ndsipd sends a responder's
  // connections with dpd_action = trap where `plan --swanctl` says restart, so charon would
  // replace every child and re-install every trap (minutes at 10,000).
  mark = log_end(hub.charon_log);
  const Run swan_one = swanctl(hub, {"--load-conns", "--file", conf2}, wd, scale.of(300s));
  const std::size_t swan_one_loads = count_since(hub.charon_log, mark, "requests: load-conn");
  const std::size_t swan_one_traps = count_since(hub.charon_log, mark, "] uninstalling '");
  std::printf("(b) swanctl --load-conns of the whole changed file: %.0f ms (%zu load-conn, %zu trap re-installed; "
              "swanctl's own CPU %.0f ms)\n",
              swan_one.ms, swan_one_loads, swan_one_traps, swan_one.cpu_ms);
  // (f) swanctl: the same file again, all of it in charon already (what making sure charon
  // holds the file costs swanctl; ndsipd's start-up does that with get-conns).
  const Run swan_same = swanctl(hub, {"--load-conns", "--file", conf2}, wd, scale.of(300s));
  std::printf("(f) swanctl --load-conns of the file charon holds: %.0f ms\n", swan_same.ms);
  const long charon_hwm_swanctl = status_kib(hub.charon_pid, "VmHWM");
  std::fflush(stdout);

  // (a) ndsipd: a fresh charon, a fresh ndsipd (no state), push; the answer comes once
  // everything is loaded.
  lab.stop_charon(hub);
  lab.start_charon(hub);
  lab.start_ndsipd(hub, NDSIP_DAEMON, opt.ndsipd_args);
  wait_ready(lab, hub, 0, scale.of(60s));
  if (comm(hub.ndsipd_pid) != "ndsipd")
    throw std::runtime_error("PID " + std::to_string(hub.ndsipd_pid) + " is " + comm(hub.ndsipd_pid) + ", not ndsipd");
  mark = log_end(hub.charon_log);
  Ctl a;
  const Cpu a_n0 = cpu_of(hub.ndsipd_pid), a_c0 = cpu_of(hub.charon_pid);
  {
    Perf p1(perf_dir, hub.ndsipd_pid, "a-ndsipd"), p2(perf_dir, hub.charon_pid, "a-charon");
    a = push(hub, wd, v1, scale, static_cast<std::size_t>(peers));
  }
  const double a_cpu_ndsipd = cpu_of(hub.ndsipd_pid).sched_ms - a_n0.sched_ms;
  const double a_cpu_charon = cpu_of(hub.charon_pid).sched_ms - a_c0.sched_ms;
  const std::size_t a_loads = count_since(hub.charon_log, mark, "requests: load-conn");
  std::printf("(a) ndsipctl push into a fresh charon: %.0f ms%s, %d VICI commands, timing_ms %s; charon logged: %s\n",
              a.ms, a.gave_up ? " (seen in status: ndsipctl gave up after 120 s)" : "", a.j.value("vici_commands", -1),
              a.j["timing_ms"].dump().c_str(), requests_since(hub.charon_log, mark).c_str());
  std::fflush(stdout);

  // The topology in force again: nothing stored, nothing applied.
  const Ctl same = push(hub, wd, v1, scale);

  // (b) one peer changed.
  Ctl b;
  mark = log_end(hub.charon_log);
  {
    Perf p(perf_dir, hub.ndsipd_pid, "b-ndsipd", true);
    b = push(hub, wd, v2, scale);
  }
  const std::size_t b_loads = count_since(hub.charon_log, mark, "requests: load-conn");
  const std::size_t b_traps = count_since(hub.charon_log, mark, "] uninstalling '");
  const double b_charon = charon_load_conn_ms(hub.charon_log, mark);
  std::printf("(b) ndsipctl push, one peer changed: %.1f ms, %d VICI commands, loaded %s, timing_ms %s; charon logged: "
              "%s; charon's log spans %.0f ms from that load-conn to its trap installed\n",
              b.ms, b.j.value("vici_commands", -1), b.j["load"].dump().c_str(), b.j["timing_ms"].dump().c_str(),
              requests_since(hub.charon_log, mark).c_str(), b_charon);
  std::fflush(stdout);
  // (b2) a delta that does not touch the hub.
  Ctl b2;
  mark = log_end(hub.charon_log);
  const Cpu cpu0 = cpu_of(hub.ndsipd_pid);
  {
    Perf p(perf_dir, hub.ndsipd_pid, "b2-ndsipd", true);
    b2 = push(hub, wd, v3, scale);
  }
  const Cpu cpu1 = cpu_of(hub.ndsipd_pid);
  const std::size_t b2_requests = count_since(hub.charon_log, mark, "requests: load-conn") +
                                  count_since(hub.charon_log, mark, "requests: unload-conn");
  const std::string b2_logged = requests_since(hub.charon_log, mark);
  const double b2_ticks = cpu1.ticks_ms - cpu0.ticks_ms, b2_sched = cpu1.sched_ms - cpu0.sched_ms;
  const std::size_t connections =
      b2.j.value("unchanged", std::size_t{0}) + b2.j.value("load", json::array()).size();
  std::printf("(b2) push not touching the hub: %.1f ms end to end; ndsipd CPU %.0f ms (ticks), %.1f ms (schedstat); "
              "%d VICI commands; load %s; timing_ms %s; topology_changes %s; charon logged: %s\n",
              b2.ms, b2_ticks, b2_sched, b2.j.value("vici_commands", -1), b2.j["load"].dump().c_str(),
              b2.j["timing_ms"].dump().c_str(), b2.j["topology_changes"].dump().c_str(), b2_logged.c_str());
  std::fflush(stdout);

  // (e) status, and the closest swanctl query (list-sas: what status asks charon).
  std::vector<double> st, sw;
  std::optional<Perf> perf_e;
  perf_e.emplace(perf_dir, hub.ndsipd_pid, "e-ndsipd", true);
  const Cpu e0 = cpu_of(hub.ndsipd_pid);
  std::size_t status_bytes = 0;
  for (int i = 0; i < 5; ++i) {
    const Ctl s = ctl(wd, {"status", "--json", "--socket", hub.control_socket}, scale.of(60s));
    if (!s.j.is_object()) throw std::runtime_error("status --json answered nothing: " + s.err);
    status_bytes = s.j.dump().size();
    st.push_back(s.ms);
    sw.push_back(swanctl(hub, {"--list-sas"}, wd, scale.of(60s)).ms);
  }
  perf_e.reset();
  // The swanctl runs in between cost ndsipd nothing but its 1 s list-sas poll.
  const double e_cpu = (cpu_of(hub.ndsipd_pid).sched_ms - e0.sched_ms) / 5;
  std::sort(st.begin(), st.end());
  std::sort(sw.begin(), sw.end());
  const Run list_conns = swanctl(hub, {"--list-conns"}, wd, scale.of(60s));

  // (d) peak RSS.
  const long ndsipd_hwm = status_kib(hub.ndsipd_pid, "VmHWM"), ndsipd_rss = status_kib(hub.ndsipd_pid, "VmRSS");
  const long charon_hwm = status_kib(hub.charon_pid, "VmHWM");

  // (f) start-up on a programmed charon.
  lab.stop_ndsipd(hub, SIGTERM);
  const auto ndsipd_log_from = log_end(hub.ndsipd_log);
  mark = log_end(hub.charon_log);
  std::optional<Perf> perf_f;
  perf_f.emplace(perf_dir, -1, "f-all");  // the whole machine: ndsipd is not started yet
  const auto f0 = Clock::now();
  lab.start_ndsipd(hub, NDSIP_DAEMON, opt.ndsipd_args);  // returns once the control socket accepts
  const double f_socket = ms_since(f0);
  double f_answer = -1, f_loaded = -1, f_ready_log = -1;
  json f_apply;
  for (;;) {
    if (f_ready_log < 0 && log_has_since(hub.ndsipd_log, ndsipd_log_from, "ndsipd: ready:")) f_ready_log = ms_since(f0);
    const Ctl s = ctl(wd, {"status", "--json", "--socket", hub.control_socket}, scale.of(60s));
    if (s.j.is_object() && s.j.contains("node")) {
      if (f_answer < 0) f_answer = ms_since(f0);
      const json& la = s.j["last_apply"];
      if (la.is_object() && la.contains("unchanged") &&
          la.value("unchanged", std::size_t{0}) + la.value("load", json::array()).size() == connections) {
        f_loaded = ms_since(f0);
        f_apply = la;
        break;
      }
    }
    if (ms_since(f0) > static_cast<double>(scale.of(60s).count()))
      throw std::runtime_error("restarted ndsipd did not apply within the timeout\n" + lab.ndsipd_log_tail(hub));
    std::this_thread::sleep_for(2ms);
  }
  if (f_ready_log < 0) {
    const auto t = Clock::now();
    while (!log_has_since(hub.ndsipd_log, ndsipd_log_from, "ndsipd: ready:") && ms_since(t) < 10000)
      std::this_thread::sleep_for(2ms);
    f_ready_log = ms_since(f0);
  }
  perf_f.reset();
  const std::size_t f_loads = count_since(hub.charon_log, mark, "requests: load-conn");
  const std::string f_requests = requests_since(hub.charon_log, mark);
  const Cpu f_cpu = cpu_of(hub.ndsipd_pid);
  std::printf("(f) restarted ndsipd: CPU %.0f ms so far (schedstat); its log:\n%s", f_cpu.sched_ms,
              lines_since(hub.ndsipd_log, ndsipd_log_from).c_str());
  const long f_hwm = status_kib(hub.ndsipd_pid, "VmHWM");
  const double total_s = ms_since(total0) / 1000;

  // The table.
  const double swan_full_ms = swan_full.ms, swan_one_ms = swan_one.ms;
  std::printf("\n%d peers (%zu connections on the hub), whole run %.0f s, load average at start %s, at end %s\n\n",
              peers, connections, total_s, load_start.c_str(), loadavg().c_str());
  std::printf("| | ndsipd | swanctl, same run | ratio |\n|---|---|---|---|\n");
  const std::string a_parts =
      a.gave_up ? std::string("ndsipctl gave up at 120 s, the end seen in status; no timing_ms")
                : "validate + plan " + fmt("%.0f", timing(a.j, "validate_and_plan")) + ", store " +
                      fmt("%.1f", timing(a.j, "store")) + ", apply " + fmt("%.0f", timing(a.j, "apply"));
  std::printf("| (a) full apply into a fresh charon | %.0f ms (%s; %d VICI commands, %zu load-conn; CPU ndsipd %.0f ms, "
              "charon %.1f s) | `--load-conns` of the equivalent file: %.0f ms (%zu load-conn; CPU charon %.1f s, "
              "swanctl itself %.0f ms) | "
              "ndsipd/swanctl **%.2f** |\n",
              a.ms, a_parts.c_str(),
              a.j.value("vici_commands", -1), a_loads, a_cpu_ndsipd, a_cpu_charon / 1000, swan_full_ms,
              swan_full_loads, swan_cpu_charon / 1000, swan_full.cpu_ms, a.ms / swan_full_ms);
  std::printf("| (b) one peer changed: `ndsipctl push` end to end | %.1f ms | `--load-conns` of the whole changed "
              "file: %.0f ms (%zu load-conn) | swanctl/ndsipd **%.0fx** |\n",
              b.ms, swan_one_ms, swan_one_loads, swan_one_ms / b.ms);
  std::printf("| (b) daemon side (timing_ms) | %.1f ms: validate + plan %.1f, store %.1f, apply %.1f | | swanctl/daemon "
              "side %.0fx, swanctl/apply %.0fx |\n",
              daemon_side(b.j), timing(b.j, "validate_and_plan"), timing(b.j, "store"), timing(b.j, "apply"),
              swan_one_ms / daemon_side(b.j), swan_one_ms / timing(b.j, "apply"));
  std::printf("| (b) VICI commands | **%d** (%zu load-conn in charon's log, %zu trap re-installed; charon's log spans "
              "%.0f ms for it) | %zu load-conn, %zu trap re-installed | |\n",
              b.j.value("vici_commands", -1), b_loads, b_traps, b_charon, swan_one_loads, swan_one_traps);
  std::printf("| (b2) delta not touching the hub | ndsipd CPU %.0f ms (utime+stime, 10 ms ticks), %.1f ms (schedstat); "
              "push %.1f ms end to end (validate + plan %.1f, store %.1f, apply %.1f); **%d VICI commands** (%zu "
              "load/unload-conn in charon's log) | | |\n",
              b2_ticks, b2_sched, b2.ms, timing(b2.j, "validate_and_plan"), timing(b2.j, "store"), timing(b2.j, "apply"),
              b2.j.value("vici_commands", -1), b2_requests);
  std::printf("| (e) `ndsipctl status --json`, best / worst of 5 | %.1f / %.1f ms (ndsipd CPU %.0f ms per status; "
              "answer %.1f MB) | `--list-sas` %.1f / %.1f ms (`--list-conns` %.0f ms) | ndsipd/list-sas %.1f (best) |\n",
              st.front(), st.back(), e_cpu, static_cast<double>(status_bytes) / 1e6, sw.front(), sw.back(),
              list_conns.ms, st.front() / sw.front());
  std::printf("| (d) peak RSS (VmHWM) | ndsipd %.1f MiB (now %.1f); restarted ndsipd %.1f MiB | charon %.1f MiB "
              "(%.1f MiB with swanctl's loads alone); swanctl itself %.1f MiB | |\n",
              mib(ndsipd_hwm), mib(ndsipd_rss), mib(f_hwm), mib(charon_hwm), mib(charon_hwm_swanctl),
              mib(std::max({swan_full.maxrss_kib, swan_one.maxrss_kib, swan_same.maxrss_kib})));
  std::printf("| (f) start-up, charon programmed | socket accepts %.0f ms; status answers %.0f ms; status shows all %zu "
              "applied %.0f ms (log \"ready\" %.0f ms); **%zu load-conn** sent (charon logged: %s; "
              "last_apply load %zu, vici_commands %d) | `--load-conns` of the file charon holds: %.0f ms | swanctl/ndsipd "
              "%.1fx |\n",
              f_socket, f_answer, connections, f_loaded, f_ready_log, f_loads, f_requests.c_str(),
              f_apply.value("load", json::array()).size(), f_apply.value("vici_commands", -1), swan_same.ms,
              swan_same.ms / f_loaded);
  std::printf("\nunchanged push of the topology in force: %.1f ms (%s)\n", same.ms,
              same.j.value("note", std::string()).c_str());
  std::fflush(stdout);
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
    ctl(lab.workdir(), {"push", topo, "--socket", h->control_socket}, 60s);
  }
  auto all_up = [&] {
    std::vector<std::string> argv{NDSIP_CTL, "status", "--socket", gms_a.control_socket};
    return lab::proc::run(argv, nullptr, {}) == 0;
  };
  auto deadline = Clock::now() + 30s;
  while (!all_up() && Clock::now() < deadline) std::this_thread::sleep_for(100ms);
  std::printf("\n");
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

std::optional<Options> parse(int argc, char** argv) {
  Options o;
  auto sizes = [&](const std::string& list) {
    std::stringstream s(list);
    for (std::string item; std::getline(s, item, ',');) {
      const int n = std::atoi(item.c_str());
      if (n < 1) return false;
      o.sizes.push_back(n);
    }
    return true;
  };
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg == "--sizes" && i + 1 < argc) {
      if (!sizes(argv[++i])) return std::nullopt;
    } else if (arg.rfind("--sizes=", 0) == 0) {
      if (!sizes(arg.substr(8))) return std::nullopt;
    } else if (arg == "--perf" && i + 1 < argc) {
      o.perf_dir = fs::absolute(argv[++i]);
    } else if (arg == "--vici-sessions" && i + 1 < argc) {
      o.ndsipd_args = {"--vici-sessions", argv[++i]};
    } else if (arg == "--skip-restart") {
      o.restart = false;
    } else if (!arg.empty() && arg[0] != '-') {
      if (!sizes(arg)) return std::nullopt;
    } else {
      return std::nullopt;
    }
  }
  if (o.sizes.empty()) o.sizes = {1000, 10000};
  return o;
}

}  // namespace

int main(int argc, char** argv) {
  const auto opt = parse(argc, argv);
  if (!opt) {
    std::cerr << "usage: ndsip_bench_ndsipd [--sizes N,M | N M ...] [--skip-restart] [--perf DIR] [--vici-sessions N]\n"
                 "  default sizes: 1000 10000 (peers of the hub)\n";
    return 64;
  }
  if (geteuid() != 0) {
    std::cerr << "ndsipd bench: needs root (lab namespaces)\n";
    return 2;
  }
  try {
    for (int peers : opt->sizes) bench_scale(peers, *opt);
    if (opt->restart) bench_restart();
  } catch (const std::exception& e) {
    std::cerr << "bench failed: " << e.what() << "\n";
    return 1;
  }
  return 0;
}
