// A capture on the lab bridge (tcpdump in the switch namespace, a pcap file) and what crossed
// it, read from the pcap here: the check that nothing but IKE and ESP goes between hosts.
#pragma once

#include <sys/types.h>

#include <cstddef>
#include <map>
#include <string>
#include <utility>
#include <vector>

namespace ndsip::lab {

// tcpdump on the lab bridge (in the switch namespace `netns`), writing <dir>/bridge.pcap; ended
// by its PID (ip netns exec execs it: the PID spawned is tcpdump's), also when a test fails,
// and under `timeout 120` should the test die without its destructors.
class Capture {
 public:
  Capture(const std::string& netns, const std::string& dir);  // returns once tcpdump listens
  ~Capture() { stop(); }
  Capture(const Capture&) = delete;
  Capture& operator=(const Capture&) = delete;

  void stop();
  std::string log() const;
  const std::string& pcap() const { return pcap_; }

 private:
  std::string pcap_, log_;
  pid_t pid_ = -1;
};

// What crossed the bridge, from the pcap file (read here: no text output of tcpdump to parse).
struct Wire {
  std::size_t frames = 0, arp = 0, ike = 0, keepalive = 0, udp_fragments = 0;
  std::map<std::pair<std::string, std::string>, std::size_t> esp;  // (src, dst) -> ESP packets, in UDP 4500 or raw
  std::vector<std::string> other;                                  // anything else, described

  std::string summary() const;
};

// Ethernet frames of a pcap file, sorted into the kinds above. Throws for a file that is not a
// pcap of Ethernet.
Wire read_pcap(const std::string& path);

}  // namespace ndsip::lab
