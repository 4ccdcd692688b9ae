// Random topologies and random changes to them, for the property tests of the incremental
// check (topology) and the incremental planner. Names, addresses and identities come from
// small pools so that clashes, unknown references and wrong roles are common; mistakes are
// drawn rarely, so about half of the documents are valid.
#pragma once

#include <algorithm>
#include <nlohmann/json.hpp>
#include <random>
#include <string>
#include <vector>

namespace ndsip::testing {

using nlohmann::json;

class Generator {
 public:
  explicit Generator(unsigned seed) : rng_(seed) {}

  bool chance(int percent) { return std::uniform_int_distribution<int>(0, 99)(rng_) < percent; }
  template <class T>
  const T& pick(const std::vector<T>& v) {
    return v[std::uniform_int_distribution<std::size_t>(0, v.size() - 1)(rng_)];
  }
  std::size_t below(std::size_t n) { return std::uniform_int_distribution<std::size_t>(0, n - 1)(rng_); }

  const std::vector<std::string> domains = {"a", "b", "c"};
  // seg-b2: a second dedicated SEG of domain b (names ending in 2 are b's).
  const std::vector<std::string> nodes = {"gms-a", "gms-b", "kms-c", "val-1", "val-2", "val-3", "seg-a", "seg-b", "seg-b2"};
  const std::vector<std::string> services = {"group-management", "key-management", "data-delivery"};

  // Each name has a sensible role, domain, address and prefix; mistakes are drawn rarely, so
  // about half of the documents are valid and the rest have a few problems each.
  static std::string role_of(const std::string& n) {
    return n.rfind("val", 0) == 0 ? "val-server" : n.rfind("seg", 0) == 0 ? "seg" : "seal-server";
  }
  static std::string domain_of(const std::string& n) { return std::string(1, n.back() == 'c' ? 'c' : n.back() == 'b' || n.back() == '2' ? 'b' : 'a'); }
  std::size_t index_of(const std::string& n) const {
    return static_cast<std::size_t>(std::find(nodes.begin(), nodes.end(), n) - nodes.begin());
  }
  std::string address_of(const std::string& n) {
    if (chance(3)) return pick(std::vector<std::string>{"192.0.2.1", "10.0.0.300", "2001:db8::1"});
    return "192.0.2." + std::to_string(1 + index_of(n));
  }

  json service_list(bool all = false) {
    json out = json::array();
    if (all) {
      for (const auto& sv : services) out.push_back(sv);
      return out;
    }
    out.push_back(chance(97) ? "group-management" : pick(std::vector<std::string>{"key-management", "group-managment"}));
    if (chance(20)) out.push_back("data-delivery");
    if (chance(1)) out = json::array();
    return out;
  }

  json domain(const std::string& name) {
    json d = {{"name", name}, {"ca_id", "CN=" + name + " CA"}};
    if (name != "c" && chance(50)) {
      d["segs"] = json::array({chance(95) ? "seg-" + name : pick(nodes)});
    } else if (chance(10)) {
      d["segs"] = json::array();
    }
    if (chance(2)) d["ca_id"] = "";
    if (chance(1)) d["colour"] = "red";
    return d;
  }

  json node(const std::string& name) {
    json n = {{"name", name}, {"role", chance(97) ? role_of(name) : pick(std::vector<std::string>{"val-server", "seal-server", "seg", "sealserver"})},
              {"domain", chance(97) ? domain_of(name) : pick(std::vector<std::string>{"a", "zz", "b"})}};
    if (n["role"] == "seal-server" ? chance(98) : chance(2)) n["services"] = service_list(true);
    n["addresses"] = json::array({address_of(name)});
    if (chance(10)) n["addresses"].push_back("2001:db8::" + std::to_string(10 + index_of(name)));
    n["identity"] = chance(97) ? name + ".example" : pick(std::vector<std::string>{"bad identity", "GMS-A.example", "gms-a.example"});
    if (chance(30)) {
      n["protects"] = json::array({chance(95) ? "198.51." + std::to_string(index_of(name)) + ".0/24" : "198.51.0.0/24"});
    }
    if (chance(1)) n.erase("addresses");
    if (chance(2)) n["comment"] = "why";
    return n;
  }

  std::string node_with_role(const std::string& role) {
    for (int i = 0; i < 20; ++i) {
      const std::string& n = pick(nodes);
      if (role_of(n) == role || chance(5)) return n;
    }
    return pick(nodes);
  }

  json use() {
    json u = {{"val_server", node_with_role("val-server")}, {"seal_server", node_with_role("seal-server")},
              {"services", service_list()}};
    if (chance(10)) u["via_capif"] = true;
    if (chance(1)) u["via_capif"] = "yes";
    return u;
  }

  // Mostly a pair not used yet: a repeated pair makes the document one for the full check.
  void add_use(json& uses) {
    for (int i = 0; i < 10; ++i) {
      json u = use();
      if (std::none_of(uses.begin(), uses.end(), [&](const json& e) {
            return e["val_server"] == u["val_server"] && e["seal_server"] == u["seal_server"];
          }) || chance(2)) {
        uses.push_back(u);
        return;
      }
    }
  }

  json interconnect() {
    const std::string a = node_with_role("seal-server");
    std::string b = node_with_role("seal-server");
    for (int i = 0; i < 10 && b == a && !chance(2); ++i) b = node_with_role("seal-server");
    return {{"between", {a, b}}, {"services", service_list()}};
  }

  json topology() {
    json doc = {{"version", 1}, {"name", "prop"}};
    doc["domains"] = json::array();
    for (const auto& d : domains) {
      if (chance(95)) doc["domains"].push_back(domain(d));
    }
    doc["nodes"] = json::array();
    for (const auto& n : nodes) {
      if (chance(75)) doc["nodes"].push_back(node(n));
    }
    // A domain lists its SEGs when there are some (mostly): its dedicated ones, and now and
    // then its SEAL server as an integrated SEG, before or after them.
    for (json& d : doc["domains"]) {
      const std::string name = d["name"].get<std::string>();
      auto present = [&](const std::string& n) {
        return std::any_of(doc["nodes"].begin(), doc["nodes"].end(), [&](const json& e) { return e["name"] == n; });
      };
      if (chance(95)) {
        json segs = json::array();
        for (const std::string& seg : {"seg-" + name, "seg-" + name + "2"}) {
          if (present(seg)) segs.push_back(seg);
        }
        if (const std::string gms = "gms-" + name; present(gms) && chance(20)) {
          segs.insert(chance(50) ? segs.begin() : segs.end(), gms);
        }
        if (segs.empty()) d.erase("segs"); else d["segs"] = segs;
      }
    }
    doc["service_uses"] = json::array();
    for (int i = 0, n = static_cast<int>(below(4)); i < n; ++i) add_use(doc["service_uses"]);
    if (chance(80)) {
      doc["interconnects"] = json::array();
      for (int i = 0, n = static_cast<int>(below(2)); i < n; ++i) doc["interconnects"].push_back(interconnect());
    }
    return doc;
  }

  // A name of `list` not in use yet (most of the time).
  std::string fresh_name(const json& list, const std::vector<std::string>& pool) {
    for (int i = 0; i < 10; ++i) {
      const std::string& n = pick(pool);
      if (std::none_of(list.begin(), list.end(), [&](const json& e) { return e.value("name", "") == n; }) || chance(3)) return n;
    }
    return pick(pool);
  }

  // Changes a few objects: content, additions, removals, reordering, the header; rarely
  // something that leaves the document without identities.
  void change(json& doc) {
    const int steps = 1 + static_cast<int>(below(3));
    for (int s = 0; s < steps; ++s) {
      const char* list = pick(std::vector<const char*>{"domains", "nodes", "nodes", "service_uses", "interconnects"});
      if (!doc.contains(list)) doc[list] = json::array();
      json& l = doc[list];
      const int what = static_cast<int>(below(10));
      if (what < 3 && !l.empty()) {
        l.erase(l.begin() + static_cast<long>(below(l.size())));
      } else if (what < 7 && !l.empty()) {
        json& e = l[below(l.size())];
        const std::string name = e.value("name", std::string("val-9"));
        if (std::string(list) == "nodes") {
          json fresh = node(name);
          // Often a single field, as an operator would edit it.
          const char* field = pick(std::vector<const char*>{"role", "domain", "addresses", "identity", "protects"});
          if (fresh.contains(field)) e[field] = fresh[field]; else e.erase(field);
        } else if (std::string(list) == "domains") {
          e = domain(name);
        } else if (std::string(list) == "service_uses") {
          json fresh = use();
          e["services"] = fresh["services"];
          if (chance(30)) e["seal_server"] = fresh["seal_server"];
        } else {
          e["services"] = service_list();
        }
      } else if (what < 9) {
        if (std::string(list) == "nodes") l.push_back(node(fresh_name(l, nodes)));
        else if (std::string(list) == "domains") l.push_back(domain(fresh_name(l, domains)));
        else if (std::string(list) == "service_uses") add_use(l);
        else l.push_back(interconnect());
      } else if (l.size() > 1) {
        std::swap(l[below(l.size())], l[below(l.size())]);
      }
    }
    // Whole-domain changes an operator makes in one push: a new CA, a SEG added or taken away
    // (node and listing together).
    if (chance(15) && !doc["domains"].empty()) {
      json& d = doc["domains"][below(doc["domains"].size())];
      const std::string name = d["name"].get<std::string>();
      if (chance(40)) {
        d["ca_id"] = "CN=" + name + " CA " + std::to_string(below(100));
      } else if (name != "c") {
        const std::string seg = "seg-" + name;
        json& nodes_list = doc["nodes"];
        auto it = std::find_if(nodes_list.begin(), nodes_list.end(), [&](const json& n) { return n.value("name", "") == seg; });
        if (it != nodes_list.end()) {
          nodes_list.erase(it);
          d.erase("segs");
        } else {
          nodes_list.push_back(node(seg));
          d["segs"] = json::array({seg});
        }
      }
    }
    if (chance(5)) doc["name"] = "renamed";
    if (chance(2) && !doc["nodes"].empty()) doc["nodes"][0].erase("name");  // no identity
  }

 private:
  std::mt19937 rng_;
};

}  // namespace ndsip::testing
