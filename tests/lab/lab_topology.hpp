// Topologies for lab hosts (format v1, docs/topology.md), as the JSON text that ndsipctl
// validates, plans and pushes. Nodes take their addresses, identities and protected prefixes
// from the lab hosts; every domain trusts the lab CA.
#pragma once

#include <string>
#include <vector>

#include "lab/lab.hpp"

namespace ndsip::lab {

struct LabTopology {
  struct Domain {
    std::string name;
    std::vector<std::string> segs;
  };
  struct Node {
    const Host* host;
    std::string role;                   // "seal-server", "val-server", "seg"
    std::string domain = "lab";
    std::vector<std::string> services;  // seal-server only
  };
  struct Use {
    std::string val_server, seal_server;
    std::vector<std::string> services;
    bool via_capif = false;
  };
  struct Interconnect {
    std::string a, b;
    std::vector<std::string> services;
  };

  std::string name = "lab";
  std::vector<Domain> domains{{"lab", {}}};
  std::vector<Node> nodes;
  std::vector<Use> uses;
  std::vector<Interconnect> interconnects;

  std::string json() const;
  // Writes json() to `path` and returns path.
  std::string write(const std::string& path) const;
};

// What Lab::make_seg() needs for a SEG host: every address in a local traffic selector of that
// node's plan, as `ndsipctl plan TOPOLOGY --node SEG --json` prints it; sorted, each once.
// Taken from the plan, not worked out from the topology here, so it is exactly what charon
// is given (a SEG's local_ts are the protected prefixes of the far ends it forwards for; the
// planner's path rules are not repeated in the lab, and cannot drift from it). Throws if the
// text is not a plan or a local_ts is not an IPv4 /32: the lab's recipe puts host addresses
// on lo (a wider prefix would need the other recipe, tests/lab/README.md).
std::vector<std::string> seg_local_addresses(const std::string& plan_json);

// The shipped profiles (`shipped`, a policies directory) copied into `<workdir>/policies` with
// DPD every 2 s, so that "peer down" tests and benches take seconds, not minutes. Returns
// that directory; a second call finds it there.
std::string fast_dpd_policies(const std::string& workdir, const std::string& shipped);

}  // namespace ndsip::lab
