#include "topology/delta.hpp"

#include <algorithm>
#include <map>
#include <set>

namespace ndsip::topology {

namespace {

using Kind = ObjectId::Kind;

// An object's identity and its content, flattened to text for comparison.
using Objects = std::map<ObjectId, std::string>;

std::string join(const std::vector<std::string>& v) {
  std::string out;
  for (const std::string& s : v) out += s + '\x1f';
  return out;
}

std::string services(const std::vector<Service>& v) {
  std::string out;
  for (Service s : v) out += std::string(to_string(s)) + ',';
  return out;
}

ObjectId use_id(const ServiceUse& u) { return {Kind::service_use, u.val_server + ">" + u.seal_server}; }
ObjectId interconnect_id(const Interconnect& i) {
  const auto [a, b] = std::minmax(i.a, i.b);
  return {Kind::interconnect, a + "|" + b};
}

Objects objects(const Topology& t) {
  Objects out;
  out[{Kind::header, "name"}] = t.name;
  out[{Kind::header, "version"}] = std::to_string(t.version);
  for (const Domain& d : t.domains) out[{Kind::domain, d.name}] = d.ca_id + '\x1e' + join(d.segs);
  for (const Node& n : t.nodes) {
    out[{Kind::node, n.name}] = std::string(to_string(n.role)) + '\x1e' + n.domain + '\x1e' + services(n.services) +
                                '\x1e' + join(n.addresses) + '\x1e' + n.identity + '\x1e' + join(n.protects);
  }
  for (const ServiceUse& u : t.service_uses) {
    out[use_id(u)] = services(u.services) + (u.via_capif ? "capif" : "");
  }
  for (const Interconnect& i : t.interconnects) {
    out[interconnect_id(i)] = services(i.services);
  }
  return out;
}

}  // namespace

std::string ObjectId::to_string() const {
  switch (kind) {
    case Kind::header: return name.empty() ? std::string("topology") : "topology " + name;
    case Kind::domain: return "domain " + name;
    case Kind::node: return "node " + name;
    case Kind::service_use: return "service-use " + name;
    case Kind::interconnect: return "interconnect " + name;
  }
  return name;
}

ModelChange inverse(const ModelChange& c) {
  ModelChange out;
  out.domains = c.old_domains;
  out.nodes = c.old_nodes;
  out.uses = c.old_uses;
  out.interconnects = c.old_interconnects;
  out.old_domains = c.domains;
  out.old_nodes = c.nodes;
  out.old_uses = c.uses;
  out.old_interconnects = c.interconnects;
  // What the change added, the inverse removes; what it removed, the inverse adds again.
  std::set<ObjectId> before;
  for (const Domain& d : c.old_domains) before.insert({Kind::domain, d.name});
  for (const Node& n : c.old_nodes) before.insert({Kind::node, n.name});
  for (const ServiceUse& u : c.old_uses) before.insert(use_id(u));
  for (const Interconnect& i : c.old_interconnects) before.insert(interconnect_id(i));
  auto added = [&](const ObjectId& id) {
    if (!before.count(id)) out.removed.push_back(id);
  };
  for (const Domain& d : c.domains) added({Kind::domain, d.name});
  for (const Node& n : c.nodes) added({Kind::node, n.name});
  for (const ServiceUse& u : c.uses) added(use_id(u));
  for (const Interconnect& i : c.interconnects) added(interconnect_id(i));
  return out;
}

Delta diff(const Topology& before, const Topology& after) {
  const Objects was = objects(before), is = objects(after);
  Delta d;
  for (const auto& [id, content] : is) {
    const auto it = was.find(id);
    if (it == was.end()) {
      d.added.push_back(id);
    } else if (it->second != content) {
      d.changed.push_back(id);
    }
  }
  for (const auto& [id, content] : was) {
    if (!is.count(id)) d.removed.push_back(id);
  }
  return d;
}

}  // namespace ndsip::topology
