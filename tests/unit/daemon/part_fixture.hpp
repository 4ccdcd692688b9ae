// What the daemon parts' tests share: a small topology (gms serves val1, and val2 when asked),
// the shipped policies, a temporary directory, and the plan of a node.
#pragma once

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <string>

#include <nlohmann/json.hpp>

#include "daemon/evaluate.hpp"
#include "support/temp_dir.hpp"

namespace ndsip::test {

namespace fs = std::filesystem;

// gms (SEAL server, group- and key-management) used by val1 (and val2) over both services.
inline std::string small_topology(bool with_val2 = false, const std::string& name = "unit") {
  using nlohmann::json;
  json doc = {{"version", 1}, {"name", name}};
  doc["domains"] = json::array({{{"name", "lab"}, {"ca_id", "CN=ndsip unit CA"}, {"segs", json::array()}}});
  auto node = [](const std::string& n, const std::string& role, int host) {
    json j = {{"name", n},
              {"role", role},
              {"domain", "lab"},
              {"addresses", {"192.0.2." + std::to_string(host)}},
              {"identity", n + ".unit.test"},
              {"protects", {"198.51.100." + std::to_string(host) + "/32"}}};
    if (role == "seal-server") j["services"] = {"group-management", "key-management"};
    return j;
  };
  doc["nodes"] = json::array({node("gms", "seal-server", 10), node("val1", "val-server", 20)});
  doc["service_uses"] = json::array(
      {{{"val_server", "val1"}, {"seal_server", "gms"}, {"services", {"group-management", "key-management"}}}});
  if (with_val2) {
    doc["nodes"].push_back(node("val2", "val-server", 21));
    doc["service_uses"].push_back(
        {{"val_server", "val2"}, {"seal_server", "gms"}, {"services", {"group-management"}}});
  }
  doc["interconnects"] = json::array();
  return doc.dump(2) + "\n";
}

inline policy::PolicySet shipped_policies() {
  const auto loaded =
      daemon::load_policy_set(NDSIP_SOURCE_DIR "/policies", NDSIP_SOURCE_DIR "/templates");
  EXPECT_TRUE(loaded.problems.empty());
  return loaded.set;
}


}  // namespace ndsip::test
