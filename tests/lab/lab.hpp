// The ndsip test lab: real strongSwan charon daemons in network namespaces.
//
//   ndsip::lab::Lab lab("mytest");
//   auto& a = lab.add_host("a");
//   auto& b = lab.add_host("b");
//   lab.make_pki();
//   lab.start_charon(a);
//   lab.start_charon(b);
//   ... program a and b over VICI at a.vici_uri / b.vici_uri ...
//   EXPECT_TRUE(lab.ping(a, b.inner_addr));
//   // ~Lab() tears everything down, also when the test throws.
//
// Must run as root. Not thread-safe: drive one Lab from one thread at a time.
// See tests/lab/README.md for addresses, names and the cleanup rules.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <csignal>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <memory>
#include <string>
#include <vector>

#include "lab/state.hpp"

namespace ndsip::lab {

// Everything about one host (one network namespace with one charon).
struct Host {
  std::string name;        // e.g. "a"
  std::string netns;       // namespace name chosen by the lab, unique per lab instance
  std::string fqdn;        // "<name>.lab.ndsip.test": the IKE identity and the certificate SAN (dNSName)
  std::string outer_addr;  // IPv4 address (no prefix) on eth0 in the netns: 192.0.2.<10+i>, /24, all hosts on one bridge
  std::string inner_addr;  // IPv4 address (no prefix) on lo in the netns, as /32: 198.51.100.<10+i>; the address tunnels protect
  std::string dir;         // per-host work dir: strongswan.conf, charon.log, charon.vici socket, certs
  std::string vici_uri;    // "unix://<dir>/charon.vici"
  std::string cert_pem, key_pem;  // paths of this host's cert and private key (PEM), after make_pki()
  pid_t charon_pid = -1;          // -1 while charon is not running

  std::size_t index = 0;          // i: position in the order of add_host()
  std::string vici_socket;        // "<dir>/charon.vici" (the path inside vici_uri)
  std::string charon_log;         // "<dir>/charon.log" (filelog, appended across restarts)
  // Extra lines for the charon-systemd section of this host's strongswan.conf,
  // written by the next start_charon() ("one key = value per line").
  std::string charon_extra_conf;

  // ndsipd, when the test runs one for this host (start_ndsipd).
  pid_t ndsipd_pid = -1;
  std::string ndsipd_log;      // "<dir>/ndsipd.log" (stdout and stderr, appended across restarts)
  std::string control_socket;  // "<dir>/ndsipd.sock"
  std::string state_dir;       // "<dir>/ndsip-state"
  std::vector<std::string> ndsipd_env;  // extra "NAME=value" for the next start_ndsipd()

  // After make_seg(): the forwarded addresses this host holds on lo (lab-only SEG recipe).
  bool seg = false;
  std::vector<std::string> seg_addresses;
};

class Lab {
 public:
  static constexpr const char* kDomain = "lab.ndsip.test";
  static constexpr int kOuterPrefixLen = 24;

  // Sweeps stale labs (see state.hpp), creates /tmp/ndsip-lab-<tag>-XXXXXX and
  // a "switch" netns holding the bridge br0. tag: [A-Za-z0-9_-], 1..24 chars.
  explicit Lab(const std::string& tag);
  ~Lab();  // teardown() if not done; never throws (problems go to stderr)
  Lab(const Lab&) = delete;
  Lab& operator=(const Lab&) = delete;

  // Creates the netns, a veth pair (eth0 inside the host ns, the peer attached
  // to br0 in the switch ns), addresses, lo up, inner addr on lo.
  // name: a DNS label ([a-z0-9-], 1..15 chars, not "switch"); unique in the lab.
  // The returned reference stays valid for the lifetime of the Lab.
  Host& add_host(const std::string& name);

  // CA (ECDSA P-256, self-signed, CN "ndsip lab CA") + for every host an ECDSA
  // P-256 key and a cert issued by the CA with SAN = fqdn, using `pki`.
  // Hosts that already have a cert keep it: call again after adding hosts.
  void make_pki();
  std::string ca_cert_pem() const;  // path of the CA cert ("" before make_pki())
  std::string ca_key_pem() const;   // path of the CA key ("" before make_pki())

  // Writes <dir>/strongswan.conf, starts charon-systemd in h.netns with a
  // private /run and returns once the VICI socket accepts connections.
  // Throws (with the tail of charon.log) if charon exits or 10 s pass.
  // Charon starts empty: no connections, no credentials.
  void start_charon(Host& h);

  // Sends `signal` to charon by PID and reaps it (SIGKILL after 5 s if needed);
  // removes the stale socket file. No-op if it is not running.
  void stop_charon(Host& h, int signal = SIGTERM);

  // Starts `program` (ndsipd) for h inside h's namespace with the lab's settings for that host
  // (node = h.name, its VICI socket, control socket, state directory, credentials) plus
  // `extra` arguments, and waits until its control socket accepts. Tracked like charon: torn
  // down with the lab, swept after a crash, ended by PID only.
  void start_ndsipd(Host& h, const std::string& program, const std::vector<std::string>& extra = {});
  void stop_ndsipd(Host& h, int signal = SIGTERM);
  std::string ndsipd_log_tail(const Host& h, std::size_t lines = 40) const;

  // LAB ONLY: lets h forward as a SEG under kernel-libipsec (strongSwan 5.9.8), which
  // otherwise deletes every CHILD_SA whose local traffic selector holds no address of the
  // host ("error installing route with policy ... out"): on a SEG the local selectors are the
  // far side's protected addresses. In h's namespace: ip_forward = 1, send_redirects = 0,
  // each of `forwarded_addresses` (IPv4, no prefix: every address of a local_ts of h's plan,
  // see seg_local_addresses() in lab_topology.hpp) on lo as /32 (skipping ones h already has),
  // and the `lookup local` rule moved from pref 0 to pref 500, behind charon's table 220
  // (pref 220), so packets to those addresses are routed into the tunnels instead of being
  // delivered to h. Everything is namespace state: deleting the namespace undoes it.
  // Call before start_charon(h) (the TUN device then inherits send_redirects = 0); calling
  // it again adds only what is missing. Production SEGs (kernel XFRM) need none of this.
  void make_seg(Host& h, const std::vector<std::string>& forwarded_addresses);

  // Reaps charon if it has exited on its own; true while it runs.
  bool charon_running(Host& h);

  // Runs argv inside h.netns (`ip netns exec`), captures stdout+stderr into
  // *output, returns the exit status (128+N if killed by signal N). Throws if
  // the command cannot be started or runs longer than `timeout`.
  int run(const Host& h, const std::vector<std::string>& argv, std::string* output = nullptr,
          std::chrono::milliseconds timeout = std::chrono::seconds(60)) const;

  // Pings `to` from h's inner address (ping -I inner_addr -W 1, 0.2 s apart).
  // True only if ALL `count` echo requests were answered.
  bool ping(const Host& from, const std::string& to, int count = 3) const;
  // The same, returning how many replies came back.
  int ping_replies(const Host& from, const std::string& to, int count = 3) const;

  // Last `lines` lines of h's charon.log.
  std::string log_tail(const Host& h, std::size_t lines = 40) const;

  const std::string& workdir() const;
  const std::string& tag() const { return tag_; }
  const std::string& id() const { return id_; }                // "<pid>-<counter>"
  const std::string& switch_netns() const { return switch_ns_; }
  const std::deque<Host>& hosts() const { return hosts_; }
  Host& host(const std::string& name);
  const SweepReport& sweep_report() const { return sweep_; }  // what the constructor cleaned up

  // Idempotent: stops every charon it started (by PID), deletes every netns it
  // created (by the names it chose), removes workdir unless env NDSIP_LAB_KEEP=1.
  // Does all it can, then throws if anything failed.
  void teardown();

 private:
  std::size_t index_of(const Host& h) const;
  void persist();
  void create_netns(const std::string& name);
  std::string write_strongswan_conf(const Host& h) const;

  std::string tag_;
  std::string id_;
  std::string prefix_;  // "ndsip-<tag>-<id>-"
  std::string workdir_;
  std::string switch_ns_;
  bool keep_ = false;
  bool torn_down_ = false;
  unsigned next_port_ = 0;  // names of the veth peers in the switch netns: vp0, vp1, ...
  std::deque<Host> hosts_;
  std::vector<std::uint64_t> charon_start_;  // per host: start time of the running charon
  std::string ca_cert_, ca_key_;
  LabState record_;
  std::unique_ptr<StateFile> state_;
  SweepReport sweep_;
};

}  // namespace ndsip::lab
