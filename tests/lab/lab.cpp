#include "lab/lab.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>
#include <stdexcept>
#include <thread>

#include "common/read_file.hpp"
#include "lab/netns.hpp"
#include "lab/pki.hpp"
#include "lab/process.hpp"

namespace ndsip::lab {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

namespace {

constexpr std::size_t kMaxHosts = 200;
constexpr auto kCharonStartTimeout = 10s;
constexpr auto kCharonStopTimeout = 5s;

bool valid_tag(const std::string& s) {
  if (s.empty() || s.size() > 24) return false;
  return std::all_of(s.begin(), s.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
           c == '-';
  });
}

// A DNS label short enough for everything it ends up in.
bool valid_host_name(const std::string& s) {
  if (s.empty() || s.size() > 15 || s.front() == '-' || s.back() == '-') return false;
  return std::all_of(s.begin(), s.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-';
  });
}

// Logs for failure messages: a log that is missing or unreadable just shows as empty.
std::string read_file(const std::string& path) { return common::read_file(path).value_or(""); }

std::string tail_lines(const std::string& text, std::size_t lines) {
  if (lines == 0 || text.empty()) return {};
  std::size_t pos = text.size();
  if (text.back() == '\n') --pos;
  std::size_t seen = 0;
  while (pos > 0) {
    if (text[pos - 1] == '\n' && ++seen == lines) break;
    --pos;
  }
  return text.substr(pos);
}

// The lab is IPv4 only. Without this, IPv6 link-local addresses finish DAD a
// second or so after start-up and charon reacts with MOBIKE address updates:
// IKE traffic at random moments in every test.
void disable_ipv6(const std::string& ns) {
  netns::write_sysctl(ns, "net/ipv6/conf/all/disable_ipv6", "1");
  netns::write_sysctl(ns, "net/ipv6/conf/default/disable_ipv6", "1");
}

bool socket_accepts(const std::string& path) {
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  if (path.size() >= sizeof addr.sun_path) return false;
  std::memcpy(addr.sun_path, path.c_str(), path.size() + 1);
  int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return false;
  bool ok = ::connect(fd, reinterpret_cast<const sockaddr*>(&addr), sizeof addr) == 0;
  ::close(fd);
  return ok;
}

}  // namespace

// ---- construction / teardown ------------------------------------------------

Lab::Lab(const std::string& tag) : tag_(tag) {
  if (!valid_tag(tag_))
    throw std::runtime_error("lab tag must be 1..24 chars of [A-Za-z0-9_-]: '" + tag_ + "'");
  if (::geteuid() != 0) throw std::runtime_error("the ndsip lab needs root (network namespaces)");
  static std::atomic<unsigned> counter{0};
  id_ = std::to_string(::getpid()) + "-" + std::to_string(counter++);
  prefix_ = "ndsip-" + tag_ + "-" + id_ + "-";
  const char* keep = std::getenv("NDSIP_LAB_KEEP");
  keep_ = keep && std::string(keep) == "1";

  sweep_ = sweep_stale_labs();
  if (!sweep_.empty()) std::cerr << "ndsip lab: " << sweep_.summary() << "\n";

  std::string tmpl = std::string(kLabDirPrefix) + tag_ + "-XXXXXX";
  if (!::mkdtemp(tmpl.data()))
    throw std::runtime_error("mkdtemp " + tmpl + ": " + std::strerror(errno));
  workdir_ = tmpl;

  record_.owner_pid = ::getpid();
  record_.owner_start_time = proc::start_time(::getpid()).value_or(0);
  record_.keep = keep_;
  try {
    state_ = std::make_unique<StateFile>(workdir_, record_);
    switch_ns_ = prefix_ + "switch";
    create_netns(switch_ns_);
    disable_ipv6(switch_ns_);
    netns::ip(switch_ns_, {"link", "set", "lo", "up"});
    netns::ip(switch_ns_, {"link", "add", "br0", "type", "bridge"});
    netns::ip(switch_ns_, {"link", "set", "br0", "up"});
  } catch (...) {
    try {
      teardown();
    } catch (const std::exception& e) {
      std::cerr << "ndsip lab: cleanup after failed construction: " << e.what() << "\n";
    }
    throw;
  }
}

Lab::~Lab() {
  try {
    teardown();
  } catch (const std::exception& e) {
    std::cerr << "ndsip lab: teardown of " << workdir_ << " failed: " << e.what() << "\n";
  }
}

void Lab::teardown() {
  if (torn_down_) return;
  torn_down_ = true;
  std::vector<std::string> errors;

  // ndsipd first (it would only reconnect to charons going away), then every charon.
  for (auto& h : hosts_) {
    try {
      stop_ndsipd(h, SIGTERM);
    } catch (const std::exception& e) {
      errors.emplace_back(e.what());
    }
  }
  // Signal every charon first so they shut down in parallel, then reap each.
  for (auto& h : hosts_)
    if (h.charon_pid > 0) ::kill(h.charon_pid, SIGTERM);
  for (auto& h : hosts_) {
    try {
      stop_charon(h, SIGTERM);
    } catch (const std::exception& e) {
      errors.emplace_back(e.what());
    }
  }
  // Hosts before the switch: reverse order of creation. Only namespaces that
  // are still the ones we made.
  for (std::size_t i = record_.netns.size(); i-- > 0;) {
    const auto n = record_.netns[i];
    try {
      if (n.inode != 0 && netns::inode(n.name) == n.inode) netns::del(n.name);
      record_.netns.erase(record_.netns.begin() + static_cast<std::ptrdiff_t>(i));
      persist();
    } catch (const std::exception& e) {
      errors.emplace_back(e.what());
    }
  }

  if (errors.empty()) {
    if (state_) state_->close(keep_);
    if (!keep_ && !workdir_.empty()) {
      std::error_code ec;
      fs::remove_all(workdir_, ec);
      if (ec) errors.push_back("remove " + workdir_ + ": " + ec.message());
    }
  }
  // On errors lab.state stays; once this process is gone the next lab's sweep
  // retries the cleanup.
  state_.reset();

  if (!errors.empty()) {
    std::string msg = "lab teardown incomplete (" + workdir_ + "):";
    for (const auto& e : errors) msg += "\n- " + e;
    throw std::runtime_error(msg);
  }
}

void Lab::persist() {
  if (state_) state_->write(record_);
}

void Lab::create_netns(const std::string& name) {
  // Record first (so a crash in between leaves nothing unrecorded), then create,
  // then record the namespace's identity.
  record_.netns.push_back({name, 0});
  persist();
  try {
    netns::add(name);
  } catch (...) {
    record_.netns.pop_back();  // not ours: never delete a name we failed to create
    persist();
    throw;
  }
  record_.netns.back().inode = netns::inode(name);
  persist();
}

// ---- hosts ------------------------------------------------------------------

Host& Lab::add_host(const std::string& name) {
  if (torn_down_) throw std::runtime_error("add_host: lab already torn down");
  if (!valid_host_name(name) || name == "switch")
    throw std::runtime_error("host name must be a DNS label of 1..15 chars [a-z0-9-], not 'switch': '" +
                             name + "'");
  for (const auto& h : hosts_)
    if (h.name == name) throw std::runtime_error("add_host: duplicate host name '" + name + "'");
  if (hosts_.size() >= kMaxHosts) throw std::runtime_error("add_host: too many hosts");

  Host h;
  h.index = hosts_.size();
  h.name = name;
  h.netns = prefix_ + name;
  h.fqdn = name + "." + kDomain;
  h.outer_addr = "192.0.2." + std::to_string(10 + h.index);
  h.inner_addr = "198.51.100." + std::to_string(10 + h.index);
  h.dir = workdir_ + "/" + name;
  h.vici_socket = h.dir + "/charon.vici";
  h.vici_uri = "unix://" + h.vici_socket;
  h.charon_log = h.dir + "/charon.log";
  if (h.vici_socket.size() >= sizeof(sockaddr_un::sun_path))
    throw std::runtime_error("VICI socket path too long for AF_UNIX: " + h.vici_socket);
  fs::create_directories(h.dir);

  // Peer names only have to be unique inside this lab's switch namespace; a
  // counter (not the host index) so a failed add_host never blocks a retry.
  const std::string peer = "vp" + std::to_string(next_port_++);  // <= 15 chars

  create_netns(h.netns);
  try {
    disable_ipv6(h.netns);
    netns::ip(h.netns, {"link", "set", "lo", "up"});
    netns::ip(h.netns, {"link", "add", "eth0", "type", "veth", "peer", "name", peer, "netns", switch_ns_});
    netns::ip(switch_ns_, {"link", "set", peer, "master", "br0"});
    netns::ip(switch_ns_, {"link", "set", peer, "up"});
    netns::ip(h.netns, {"addr", "add", h.outer_addr + "/" + std::to_string(kOuterPrefixLen), "dev", "eth0"});
    netns::ip(h.netns, {"link", "set", "eth0", "up"});
    netns::ip(h.netns, {"addr", "add", h.inner_addr + "/32", "dev", "lo"});
  } catch (...) {
    try {
      netns::del(h.netns);
      record_.netns.pop_back();
      persist();
    } catch (const std::exception& e) {
      std::cerr << "ndsip lab: cleanup of half-made host " << name << ": " << e.what() << "\n";
    }
    throw;
  }
  hosts_.push_back(std::move(h));
  charon_start_.push_back(0);
  return hosts_.back();
}

Host& Lab::host(const std::string& name) {
  for (auto& h : hosts_)
    if (h.name == name) return h;
  throw std::runtime_error("no host '" + name + "' in lab " + workdir_);
}

std::size_t Lab::index_of(const Host& h) const {
  for (std::size_t i = 0; i < hosts_.size(); ++i)
    if (&hosts_[i] == &h) return i;
  throw std::runtime_error("host '" + h.name + "' does not belong to lab " + workdir_);
}

const std::string& Lab::workdir() const { return workdir_; }

// ---- PKI --------------------------------------------------------------------

void Lab::make_pki() {
  if (torn_down_) throw std::runtime_error("make_pki: lab already torn down");
  if (ca_cert_.empty()) {
    auto ca = pki::make_ca(workdir_ + "/ca", "ndsip lab CA");
    ca_cert_ = ca.cert;
    ca_key_ = ca.key;
  }
  const pki::Credential ca{ca_key_, ca_cert_};
  for (auto& h : hosts_) {
    if (!h.cert_pem.empty()) continue;
    auto cred = pki::issue(ca, h.fqdn, h.dir + "/key.pem", h.dir + "/cert.pem");
    h.key_pem = cred.key;
    h.cert_pem = cred.cert;
  }
}

std::string Lab::ca_cert_pem() const { return ca_cert_; }
std::string Lab::ca_key_pem() const { return ca_key_; }

// ---- charon -----------------------------------------------------------------

std::string Lab::write_strongswan_conf(const Host& h) const {
  const std::string path = h.dir + "/strongswan.conf";
  std::ostringstream c;
  c << "# Written by the ndsip test lab for host " << h.name << " (" << h.netns << ").\n"
    << "# One key = value per line.\n"
    << "charon-systemd {\n"
    // kernel-libipsec before kernel-netlink: userspace ESP (the kernel here has
    // no ESP); Debian disables kernel-libipsec unless it is named explicitly.
    << "  load = random nonce openssl pem pkcs1 pkcs8 x509 revocation constraints pubkey kdf hmac"
       " sha2 aes gcm kernel-libipsec kernel-netlink socket-default vici\n"
    << "  install_routes = yes\n"
    // Notice dead peers in seconds, not minutes.
    << "  retransmit_timeout = 1.0\n"
    << "  retransmit_base = 1.2\n"
    << "  retransmit_tries = 3\n"
    << "  filelog {\n"
    << "    lab {\n"
    << "      path = " << h.charon_log << "\n"
    << "      time_format = %T\n"
    << "      time_add_ms = yes\n"
    << "      ike_name = yes\n"
    << "      append = yes\n"
    << "      flush_line = yes\n"
    << "      default = 1\n"
    << "      ike = 2\n"
    << "      cfg = 2\n"
    << "    }\n"
    << "  }\n"
    << "  journal {\n"
    << "    default = -1\n"
    << "  }\n"
    << "  plugins {\n"
    << "    vici {\n"
    << "      socket = " << h.vici_uri << "\n"
    << "    }\n"
    << "  }\n";
  if (!h.charon_extra_conf.empty()) {
    c << "  # charon_extra_conf\n" << h.charon_extra_conf;
    if (h.charon_extra_conf.back() != '\n') c << '\n';
  }
  c << "}\n";
  std::ofstream out(path, std::ios::trunc);
  out << c.str();
  out.close();
  if (!out) throw std::runtime_error("cannot write " + path);
  return path;
}

void Lab::start_charon(Host& h) {
  if (torn_down_) throw std::runtime_error("start_charon: lab already torn down");
  const std::size_t idx = index_of(h);
  if (charon_running(h))
    throw std::runtime_error("start_charon: charon of " + h.name + " already runs (PID " +
                             std::to_string(h.charon_pid) + ")");
  const std::string conf = write_strongswan_conf(h);
  std::error_code ec;
  fs::remove(h.vici_socket, ec);

  const std::string charon = proc::find_program("charon-systemd");
  const std::vector<std::string> argv{
      "ip", "netns", "exec", h.netns, "sh", "-c",
      // A private /run: charon instances must not share pid files or sockets.
      // ip netns exec and exec keep the PID: the child we fork becomes charon.
      "mount -t tmpfs tmpfs /run && exec " + proc::quote({charon})};
  proc::SpawnOptions opts;
  opts.set_env = {"STRONGSWAN_CONF=" + conf};
  opts.unset_env = {"NOTIFY_SOCKET"};
  opts.output_file = h.dir + "/charon.stdout";
  opts.new_process_group = true;  // a Ctrl-C for the test does not hit charon
  const auto t0 = std::chrono::steady_clock::now();
  const pid_t pid = proc::spawn(argv, opts);
  h.charon_pid = pid;
  charon_start_[idx] = proc::start_time(pid).value_or(0);
  record_.charons.push_back({pid, charon_start_[idx], h.netns});
  persist();

  auto failure = [&](const std::string& what) {
    std::string msg = "start_charon(" + h.name + "): " + what + "\ncommand: STRONGSWAN_CONF=" + conf +
                      " " + proc::quote(argv);
    std::string out = read_file(opts.output_file);
    if (!out.empty()) msg += "\n--- charon.stdout ---\n" + tail_lines(out, 20);
    msg += "\n--- tail of " + h.charon_log + " ---\n" + log_tail(h, 30);
    return std::runtime_error(msg);
  };

  const auto deadline = t0 + kCharonStartTimeout;
  for (;;) {
    if (auto status = proc::wait_for(pid, 0ms)) {
      h.charon_pid = -1;
      std::erase_if(record_.charons, [&](const LabState::Charon& c) { return c.pid == pid; });
      persist();
      throw failure("charon exited during start-up: " + proc::describe_status(*status));
    }
    if (socket_accepts(h.vici_socket)) return;
    if (std::chrono::steady_clock::now() >= deadline) {
      try {
        stop_charon(h, SIGKILL);
      } catch (const std::exception&) {
      }
      throw failure("VICI socket " + h.vici_socket + " not accepting connections after " +
                    std::to_string(std::chrono::seconds(kCharonStartTimeout).count()) + " s");
    }
    std::this_thread::sleep_for(5ms);
  }
}

void Lab::stop_charon(Host& h, int signal) {
  const std::size_t idx = index_of(h);
  if (h.charon_pid <= 0) return;
  const pid_t pid = h.charon_pid;
  ::kill(pid, signal);  // an unreaped child cannot be gone, only a zombie
  auto status = proc::wait_for(pid, kCharonStopTimeout);
  if (!status) {
    ::kill(pid, SIGKILL);
    status = proc::wait_for(pid, kCharonStopTimeout);
    if (!status)
      throw std::runtime_error("charon of " + h.name + " (PID " + std::to_string(pid) +
                               ") survived SIGKILL for " +
                               std::to_string(std::chrono::seconds(kCharonStopTimeout).count()) + " s");
  }
  h.charon_pid = -1;
  charon_start_[idx] = 0;
  std::erase_if(record_.charons, [&](const LabState::Charon& c) { return c.pid == pid; });
  persist();
  std::error_code ec;
  fs::remove(h.vici_socket, ec);
}

void Lab::start_ndsipd(Host& h, const std::string& program, const std::vector<std::string>& extra) {
  if (torn_down_) throw std::runtime_error("start_ndsipd: lab already torn down");
  if (h.ndsipd_pid > 0) throw std::runtime_error("start_ndsipd: ndsipd of " + h.name + " already runs");
  h.ndsipd_log = h.dir + "/ndsipd.log";
  h.control_socket = h.dir + "/ndsipd.sock";
  h.state_dir = h.dir + "/ndsip-state";
  std::error_code ec;
  fs::remove(h.control_socket, ec);
  std::vector<std::string> argv{"ip", "netns", "exec", h.netns, program,
                                "--node", h.name, "--vici", h.vici_uri,
                                "--control-socket", h.control_socket, "--state-dir", h.state_dir,
                                "--poll-interval", "1s", "--connect-timeout", "5s"};
  if (!h.cert_pem.empty()) {
    argv.insert(argv.end(), {"--cert", h.cert_pem, "--key", h.key_pem, "--ca", ca_cert_pem()});
  }
  argv.insert(argv.end(), extra.begin(), extra.end());
  proc::SpawnOptions opts;
  opts.unset_env = {"NOTIFY_SOCKET", "WATCHDOG_USEC", "WATCHDOG_PID"};
  opts.set_env = h.ndsipd_env;
  opts.output_file = h.ndsipd_log;
  opts.new_process_group = true;
  const pid_t pid = proc::spawn(argv, opts);
  h.ndsipd_pid = pid;
  record_.charons.push_back({pid, proc::start_time(pid).value_or(0), h.netns});
  persist();
  const auto deadline = std::chrono::steady_clock::now() + kCharonStartTimeout;
  for (;;) {
    if (auto status = proc::wait_for(pid, 0ms)) {
      h.ndsipd_pid = -1;
      std::erase_if(record_.charons, [&](const LabState::Charon& c) { return c.pid == pid; });
      persist();
      throw std::runtime_error("ndsipd of " + h.name + " exited during start-up: " +
                               proc::describe_status(*status) + "\n--- " + h.ndsipd_log + " ---\n" +
                               ndsipd_log_tail(h));
    }
    if (socket_accepts(h.control_socket)) return;
    if (std::chrono::steady_clock::now() >= deadline) {
      stop_ndsipd(h, SIGKILL);
      throw std::runtime_error("ndsipd of " + h.name + ": control socket not accepting\n" +
                               ndsipd_log_tail(h));
    }
    std::this_thread::sleep_for(5ms);
  }
}

void Lab::stop_ndsipd(Host& h, int signal) {
  if (h.ndsipd_pid <= 0) return;
  const pid_t pid = h.ndsipd_pid;
  ::kill(pid, signal);
  auto status = proc::wait_for(pid, kCharonStopTimeout);
  if (!status) {
    ::kill(pid, SIGKILL);
    status = proc::wait_for(pid, kCharonStopTimeout);
    if (!status) throw std::runtime_error("ndsipd of " + h.name + " survived SIGKILL");
  }
  h.ndsipd_pid = -1;
  std::erase_if(record_.charons, [&](const LabState::Charon& c) { return c.pid == pid; });
  persist();
}

std::string Lab::ndsipd_log_tail(const Host& h, std::size_t lines) const {
  return tail_lines(read_file(h.ndsipd_log), lines);
}

// ---- SEG hosts (lab only) ----------------------------------------------------

namespace {

// The IPv4 addresses on h's lo, from `ip -4 -o addr show dev lo` ("1: lo    inet 127.0.0.1/8 ...").
std::vector<std::string> lo_addresses(const std::string& ns) {
  std::vector<std::string> out;
  std::istringstream in(netns::ip(ns, {"-4", "-o", "addr", "show", "dev", "lo"}));
  for (std::string line; std::getline(in, line);) {
    std::istringstream words(line);
    for (std::string w; words >> w;) {
      if (w != "inet") continue;
      std::string a;
      if (words >> a) out.push_back(a.substr(0, a.find('/')));
      break;
    }
  }
  return out;
}

// Whether `ip rule show` lists `<pref>:\tfrom all lookup local`.
bool has_local_rule(const std::string& rules, const std::string& pref) {
  std::istringstream in(rules);
  for (std::string line; std::getline(in, line);) {
    if (line.rfind(pref + ":", 0) == 0 && line.find("from all lookup local") != std::string::npos) return true;
  }
  return false;
}

}  // namespace

void Lab::make_seg(Host& h, const std::vector<std::string>& forwarded_addresses) {
  if (torn_down_) throw std::runtime_error("make_seg: lab already torn down");
  (void)index_of(h);  // throws for a host of another lab
  for (const std::string& a : forwarded_addresses) {
    in_addr parsed{};
    if (::inet_pton(AF_INET, a.c_str(), &parsed) != 1)
      throw std::runtime_error("make_seg(" + h.name + "): not an IPv4 address (the lab is IPv4 only): '" + a + "'");
  }
  // Forward, and never answer a packet that leaves the way it came (ipsec0 -> ipsec0) with a
  // redirect: `all`, `default` (the TUN device charon makes later), and eth0 and lo, which exist.
  netns::write_sysctl(h.netns, "net/ipv4/ip_forward", "1");
  for (const char* dev : {"all", "default", "eth0", "lo"})
    netns::write_sysctl(h.netns, std::string("net/ipv4/conf/") + dev + "/send_redirects", "0");

  // kernel-libipsec's install_route() wants an address of the host inside each local_ts as
  // the route's source; without one charon deletes the CHILD_SA. This kernel has no dummy
  // driver: lo carries them.
  const std::vector<std::string> have = lo_addresses(h.netns);
  for (const std::string& a : forwarded_addresses) {
    if (std::find(have.begin(), have.end(), a) != have.end()) continue;  // own inner address, or a repeat call
    netns::ip(h.netns, {"addr", "add", a + "/32", "dev", "lo"});
    if (std::find(h.seg_addresses.begin(), h.seg_addresses.end(), a) == h.seg_addresses.end())
      h.seg_addresses.push_back(a);
  }
  // Local delivery behind charon's `pref 220 lookup 220`: with `lookup local` first, a
  // decrypted packet for val-1 arriving at seg-a would be delivered to seg-a itself (or
  // dropped as a martian), never forwarded into the tunnel. Added before the old one goes, so
  // there is no moment without local delivery.
  if (!has_local_rule(netns::ip(h.netns, {"rule", "show"}), "500"))
    netns::ip(h.netns, {"rule", "add", "pref", "500", "lookup", "local"});
  if (has_local_rule(netns::ip(h.netns, {"rule", "show"}), "0"))
    netns::ip(h.netns, {"rule", "del", "pref", "0", "lookup", "local"});
  h.seg = true;
}

bool Lab::charon_running(Host& h) {
  const std::size_t idx = index_of(h);
  if (h.charon_pid <= 0) return false;
  if (!proc::wait_for(h.charon_pid, 0ms)) return true;
  const pid_t pid = h.charon_pid;
  h.charon_pid = -1;
  charon_start_[idx] = 0;
  std::erase_if(record_.charons, [&](const LabState::Charon& c) { return c.pid == pid; });
  persist();
  return false;
}

std::string Lab::log_tail(const Host& h, std::size_t lines) const {
  return tail_lines(read_file(h.charon_log), lines);
}

// ---- commands in a host -----------------------------------------------------

int Lab::run(const Host& h, const std::vector<std::string>& argv, std::string* output,
             std::chrono::milliseconds timeout) const {
  if (argv.empty()) throw std::runtime_error("run: empty command line");
  std::vector<std::string> full{"ip", "netns", "exec", h.netns};
  full.insert(full.end(), argv.begin(), argv.end());
  proc::RunOptions opts;
  opts.timeout = timeout;
  return proc::run(full, output, opts);
}

int Lab::ping_replies(const Host& from, const std::string& to, int count) const {
  if (count < 1) throw std::runtime_error("ping: count must be >= 1");
  const std::vector<std::string> argv{"ping", "-n", "-q", "-c", std::to_string(count), "-i", "0.2",
                                      "-W", "1", "-I", from.inner_addr, to};
  std::string out;
  run(from, argv, &out, std::chrono::seconds(10 + 2 * count));
  // "3 packets transmitted, 3 received, 0% packet loss, time 402ms"
  auto pos = out.find(" received");
  auto tx = out.find("packets transmitted");
  if (pos == std::string::npos || tx == std::string::npos)
    throw std::runtime_error("ping did not report: " + proc::quote(argv) + " (in " + from.netns +
                             ")\n--- output ---\n" + out);
  auto start = out.rfind(' ', pos - 1);
  try {
    return std::stoi(out.substr(start + 1, pos - start - 1));
  } catch (const std::exception&) {
    throw std::runtime_error("cannot parse ping output:\n" + out);
  }
}

bool Lab::ping(const Host& from, const std::string& to, int count) const {
  return ping_replies(from, to, count) == count;
}

}  // namespace ndsip::lab
