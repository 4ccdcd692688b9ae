// libFuzzer target for loading a topology from untrusted bytes (ndsipctl push hands the
// daemon whatever file it is given). Besides "no crash, no sanitizer report", it checks the
// loader's contract, which can fail:
//   - a topology comes back exactly when there are no problems;
//   - every problem has a message and its pointer is "" or starts with '/';
//   - problems carry a line (except those about the text as a whole) and come in document
//     order, so their lines never go back;
//   - the incremental check (TopologyState) of the bytes against a topology in force gives the
//     very same problems, and taking it back leaves the state as it was;
//   - an accepted topology is internally consistent (references resolve, roles match), and
//     loading it again after a round trip through the canonical JSON form gives the same
//     model (nothing is lost or defaulted differently).
#include <cstdint>
#include <cstdlib>
#include <nlohmann/json.hpp>
#include <string>

#include "topology/load.hpp"
#include "topology/state.hpp"

using namespace ndsip::topology;

namespace {

[[noreturn]] void fail() { std::abort(); }

nlohmann::json services_json(const std::vector<Service>& services) {
  nlohmann::json out = nlohmann::json::array();
  for (Service s : services) out.push_back(to_string(s));
  return out;
}

// The model written back as a v1 file, with every default spelt out.
std::string to_json(const Topology& t) {
  nlohmann::json doc = {{"version", 1}, {"name", t.name}};
  doc["domains"] = nlohmann::json::array();
  for (const Domain& d : t.domains)
    doc["domains"].push_back({{"name", d.name}, {"ca_id", d.ca_id}, {"segs", d.segs}});
  doc["nodes"] = nlohmann::json::array();
  for (const Node& n : t.nodes) {
    nlohmann::json j = {{"name", n.name},         {"role", to_string(n.role)},
                        {"domain", n.domain},     {"addresses", n.addresses},
                        {"identity", n.identity}, {"protects", n.protects}};
    if (n.role == Role::seal_server) j["services"] = services_json(n.services);
    doc["nodes"].push_back(j);
  }
  doc["service_uses"] = nlohmann::json::array();
  for (const ServiceUse& u : t.service_uses) {
    doc["service_uses"].push_back({{"val_server", u.val_server},
                                   {"seal_server", u.seal_server},
                                   {"services", services_json(u.services)},
                                   {"via_capif", u.via_capif}});
  }
  doc["interconnects"] = nlohmann::json::array();
  for (const Interconnect& i : t.interconnects) {
    doc["interconnects"].push_back(
        {{"between", {i.a, i.b}}, {"services", services_json(i.services)}});
  }
  return doc.dump();
}

bool same(const Topology& x, const Topology& y) { return to_json(x) == to_json(y); }

void check_consistent(const Topology& t) {
  for (const Node& n : t.nodes) {
    if (!t.domain(n.domain) || n.addresses.empty() || n.protects.empty()) fail();
    if ((n.role == Role::seal_server) == n.services.empty()) fail();
  }
  for (const Domain& d : t.domains) {
    for (const std::string& s : d.segs) {
      const Node* n = t.node(s);
      if (!n || n->domain != d.name) fail();
    }
  }
  for (const ServiceUse& u : t.service_uses) {
    const Node* v = t.node(u.val_server);
    const Node* s = t.node(u.seal_server);
    if (!v || !s || v->role != Role::val_server || s->role != Role::seal_server ||
        u.services.empty())
      fail();
  }
  for (const Interconnect& i : t.interconnects) {
    const Node* a = t.node(i.a);
    const Node* b = t.node(i.b);
    if (!a || !b || a == b || a->role != Role::seal_server || b->role != Role::seal_server) fail();
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  const LoadResult r = load_topology_text(text);

  if (r.topology.has_value() == !r.problems.empty()) fail();
  int previous_line = 0;
  for (const Problem& p : r.problems) {
    if (p.message.empty() || p.to_string().empty()) fail();
    if (!p.pointer.empty() && p.pointer[0] != '/') fail();
    // Line 0 only for problems about the text as a whole; everything else is placed.
    const bool whole_text = p.message.rfind("the file ", 0) == 0 ||
                            p.message.rfind("the topology is ", 0) == 0 ||
                            p.message.rfind("not valid JSON: number", 0) == 0;
    if (p.line < 0 || (p.line == 0 && !whole_text)) fail();
    // Document order: lines never go back.
    if (p.line < previous_line) fail();
    previous_line = p.line;
  }

  // The incremental path, against a small topology in force (so the bytes are a change).
  static TopologyState* state = [] {
    auto* s = new TopologyState;
    s->propose(R"({"version": 1, "name": "base", "domains": [{"name": "a", "ca_id": "CN=A"}],
      "nodes": [{"name": "gms", "role": "seal-server", "domain": "a", "services": ["group-management"],
                 "addresses": ["192.0.2.1"], "identity": "gms.example"},
                {"name": "val", "role": "val-server", "domain": "a", "addresses": ["192.0.2.2"], "identity": "val.example"}],
      "service_uses": [{"val_server": "val", "seal_server": "gms", "services": ["group-management"]}]})");
    s->commit();
    return s;
  }();
  static const std::string digest = state->digest();
  const Proposal p = state->propose(text);
  if (p.problems.size() != r.problems.size()) fail();
  for (std::size_t i = 0; i < p.problems.size(); ++i) {
    if (p.problems[i].to_string() != r.problems[i].to_string() || p.problems[i].line != r.problems[i].line) fail();
  }
  state->abort();
  if (state->digest() != digest) fail();

  if (r.topology) {
    check_consistent(*r.topology);
    const LoadResult again = load_topology_text(to_json(*r.topology));
    if (!again.topology || !same(*r.topology, *again.topology)) fail();
  }
  return 0;
}
