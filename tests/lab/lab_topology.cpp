#include "lab/lab_topology.hpp"

#include <algorithm>
#include <filesystem>
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

std::vector<std::string> seg_local_addresses(const std::string& plan_json) {
  const nlohmann::json plan = nlohmann::json::parse(plan_json, nullptr, false);
  if (!plan.is_object() || !plan.contains("connections") || !plan["connections"].is_array())
    throw std::runtime_error("seg_local_addresses: not the output of `ndsipctl plan --json`:\n" + plan_json);
  std::vector<std::string> out;
  for (const auto& conn : plan["connections"]) {
    for (const auto& child : conn.value("children", nlohmann::json::array())) {
      for (const auto& ts : child.value("local_ts", nlohmann::json::array())) {
        const std::string prefix = ts.get<std::string>();
        const auto slash = prefix.find('/');
        if (slash == std::string::npos || prefix.substr(slash) != "/32" || prefix.find(':') != std::string::npos)
          throw std::runtime_error("seg_local_addresses: local_ts " + prefix + " of " +
                                   conn.value("name", std::string("?")) +
                                   " is not an IPv4 /32; the lab's SEG recipe needs host addresses");
        out.push_back(prefix.substr(0, slash));
      }
    }
  }
  std::sort(out.begin(), out.end());
  out.erase(std::unique(out.begin(), out.end()), out.end());
  return out;
}

std::string fast_dpd_policies(const std::string& workdir, const std::string& shipped) {
  const std::filesystem::path dir = std::filesystem::path(workdir) / "policies";
  if (!std::filesystem::exists(dir)) {
    std::filesystem::create_directories(dir);
    for (const auto& e : std::filesystem::directory_iterator(shipped)) {
      nlohmann::json p = nlohmann::json::parse(std::ifstream(e.path()));
      p["ike"]["dpd_delay"] = "2s";
      std::ofstream(dir / e.path().filename()) << p.dump(2);
    }
  }
  return dir.string();
}

}  // namespace ndsip::lab
