#include "lab/bridge_capture.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>

#include <chrono>
#include <csignal>
#include <cstdint>
#include <cstring>
#include <fstream>
#include <iterator>
#include <sstream>
#include <stdexcept>
#include <thread>

#include "lab/process.hpp"

namespace ndsip::lab {

using namespace std::chrono_literals;

Capture::Capture(const std::string& netns, const std::string& dir) : pcap_(dir + "/bridge.pcap"), log_(dir + "/tcpdump.log") {
  // -Z root: stay root (Debian's tcpdump switches to user tcpdump and hands it the file).
  // -U: every packet is written as it comes. No filter: everything on the bridge is judged.
  // Under `timeout`: should the test die without its destructors (SIGKILL, Ctrl-C), the
  // capture still ends by itself; stop() signals timeout, which passes it on to tcpdump.
  pid_ = proc::spawn({"ip", "netns", "exec", netns, "timeout", "120", proc::find_program("tcpdump"),
                           "-i", "br0", "-n", "-U", "-Z", "root", "-w", pcap_},
                          proc::SpawnOptions{{}, {}, log_, true});
  const auto deadline = std::chrono::steady_clock::now() + 10s;
  while (log().find("listening on") == std::string::npos) {
    if (proc::wait_for(pid_, 0ms)) {
      pid_ = -1;
      throw std::runtime_error("tcpdump exited: " + log());
    }
    if (std::chrono::steady_clock::now() > deadline) throw std::runtime_error("tcpdump not listening: " + log());
    std::this_thread::sleep_for(20ms);
  }
}

void Capture::stop() {
  if (pid_ <= 0) return;
  ::kill(pid_, SIGTERM);
  if (!proc::wait_for(pid_, 5s)) {
    ::kill(pid_, SIGKILL);
    proc::wait_for(pid_, 5s);
  }
  pid_ = -1;
}

std::string Capture::log() const {
  std::ifstream in(log_);
  return {std::istreambuf_iterator<char>(in), {}};
}

std::string Wire::summary() const {
  std::ostringstream s;
  s << frames << " frames: " << arp << " ARP, " << ike << " IKE, " << keepalive << " NAT keepalives, "
    << udp_fragments << " later fragments of UDP, ESP";
  for (const auto& [dir, n] : esp) s << " " << dir.first << ">" << dir.second << " x" << n;
  s << "; " << other.size() << " other";
  for (std::size_t i = 0; i < other.size() && i < 10; ++i) s << "\n  " << other[i];
  return s.str();
}

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

}  // namespace ndsip::lab
