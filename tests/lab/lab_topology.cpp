#include "lab/lab_topology.hpp"

#include <fstream>
#include <stdexcept>

#include <nlohmann/json.hpp>

namespace ndsip::lab {

std::string LabTopology::json() const {
  using nlohmann::json;
  json doc = {{"version", 1}, {"name", name}};
  doc["domains"] = json::array();
  for (const Domain& d : domains) {
    doc["domains"].push_back({{"name", d.name}, {"ca_id", "CN=ndsip lab CA"}, {"segs", d.segs}});
  }
  doc["nodes"] = json::array();
  for (const Node& n : nodes) {
    json j = {{"name", n.host->name},
              {"role", n.role},
              {"domain", n.domain},
              {"addresses", {n.host->outer_addr}},
              {"identity", n.host->fqdn},
              {"protects", {n.host->inner_addr + "/32"}}};
    if (!n.services.empty()) j["services"] = n.services;
    doc["nodes"].push_back(j);
  }
  doc["service_uses"] = json::array();
  for (const Use& u : uses) {
    json j = {{"val_server", u.val_server}, {"seal_server", u.seal_server}, {"services", u.services}};
    if (u.via_capif) j["via_capif"] = true;
    doc["service_uses"].push_back(j);
  }
  doc["interconnects"] = json::array();
  for (const Interconnect& i : interconnects) {
    doc["interconnects"].push_back({{"between", {i.a, i.b}}, {"services", i.services}});
  }
  return doc.dump(2) + "\n";
}

std::string LabTopology::write(const std::string& path) const {
  std::ofstream out(path, std::ios::trunc);
  out << json();
  if (!out) throw std::runtime_error("cannot write " + path);
  return path;
}

}  // namespace ndsip::lab
