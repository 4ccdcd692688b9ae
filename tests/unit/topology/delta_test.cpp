// Topology deltas: objects by identity, added / changed / removed; a reordered or respaced
// file is no change.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "topology/delta.hpp"
#include "topology/load.hpp"

using namespace ndsip::topology;
using nlohmann::json;

namespace {

json base() {
  return json::parse(R"({"version": 1, "name": "d",
    "domains": [{"name": "a", "ca_id": "CN=A", "segs": []}],
    "nodes": [
      {"name": "gms", "role": "seal-server", "domain": "a", "services": ["group-management"],
       "addresses": ["192.0.2.10"], "identity": "gms.a.example"},
      {"name": "val1", "role": "val-server", "domain": "a", "addresses": ["192.0.2.20"], "identity": "val1.a.example"},
      {"name": "val2", "role": "val-server", "domain": "a", "addresses": ["192.0.2.21"], "identity": "val2.a.example"}],
    "service_uses": [{"val_server": "val1", "seal_server": "gms", "services": ["group-management"]}],
    "interconnects": []})");
}

Topology load(const json& j) {
  LoadResult r = load_topology_text(j.dump());
  EXPECT_TRUE(r.problems.empty()) << r.problems.front().to_string();
  return *r.topology;
}

std::vector<std::string> names(const std::vector<ObjectId>& ids) {
  std::vector<std::string> out;
  for (const auto& id : ids) out.push_back(id.to_string());
  return out;
}

}  // namespace

TEST(Delta, TheSameTopologyReorderedIsNoChange) {
  json moved = base();
  std::swap(moved["nodes"][0], moved["nodes"][2]);
  EXPECT_TRUE(diff(load(base()), load(moved)).empty());
  EXPECT_TRUE(diff(load(base()), load(json::parse(base().dump(4)))).empty());
}

TEST(Delta, AddedChangedRemovedByIdentity) {
  json after = base();
  after["nodes"][1]["addresses"][0] = "192.0.2.30";                                      // val1 changed
  after["nodes"].erase(2);                                                                // val2 removed
  after["nodes"].push_back({{"name", "val3"}, {"role", "val-server"}, {"domain", "a"},
                            {"addresses", {"192.0.2.22"}}, {"identity", "val3.a.example"}});  // val3 added
  after["service_uses"].push_back(
      {{"val_server", "val3"}, {"seal_server", "gms"}, {"services", {"group-management"}}});
  after["name"] = "d2";
  const Delta d = diff(load(base()), load(after));
  EXPECT_EQ(names(d.added), (std::vector<std::string>{"node val3", "service-use val3>gms"}));
  EXPECT_EQ(names(d.changed), (std::vector<std::string>{"topology name", "node val1"}));
  EXPECT_EQ(names(d.removed), (std::vector<std::string>{"node val2"}));
  EXPECT_EQ(d.size(), 5u);
}

TEST(Delta, ADefaultThatChangesWithAnAddressIsAChange) {
  // protects defaults to the addresses: changing an address changes what the node protects.
  json after = base();
  after["nodes"][0]["addresses"] = {"192.0.2.10", "2001:db8::10"};
  const Delta d = diff(load(base()), load(after));
  EXPECT_EQ(names(d.changed), (std::vector<std::string>{"node gms"}));
}
