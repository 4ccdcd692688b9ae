#include "topology/delta.hpp"

#include <algorithm>
#include <map>

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
    out[{Kind::service_use, u.val_server + ">" + u.seal_server}] = services(u.services) + (u.via_capif ? "capif" : "");
  }
  for (const Interconnect& i : t.interconnects) {
    const auto [a, b] = std::minmax(i.a, i.b);
    out[{Kind::interconnect, a + "|" + b}] = services(i.services);
  }
  return out;
}

}  // namespace

std::string ObjectId::to_string() const {
  switch (kind) {
    case Kind::header: return "topology " + name;
    case Kind::domain: return "domain " + name;
    case Kind::node: return "node " + name;
    case Kind::service_use: return "service-use " + name;
    case Kind::interconnect: return "interconnect " + name;
  }
  return name;
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
