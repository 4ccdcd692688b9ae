// The cross-reference rules, one object at a time: what validate.cpp runs over a whole draft
// and the incremental path (state.cpp) over the objects a change touches. An object's
// problems are those whose pointer names it, and depend only on the object and on what the
// view answers about the others, so both paths give the same problems, word for word.
// Internal to the topology part.
//
// A View answers, for the document being checked (positions are indices in its lists):
//   bool nodes_complete(), domains_complete()      every entry has a readable name
//   const DraftNode* node(name), const DraftDomain* domain(name)   the first with that name
//   std::size_t node_position(name), domain_position(name)         of that first one
//   std::vector<std::string> node_names(), domain_names()          distinct, in document order (hints)
//   bool listed_seg(name)            the node is listed in the segs of its own domain
//   Where first_address(text), first_prefix(text)   the first (node position, item) holding it
//   std::size_t first_identity(lowercase text)      the first node position holding it
//   std::size_t first_use(val, seal), first_interconnect(a, b) (a < b)
#pragma once

#include <algorithm>
#include <cctype>
#include <string>
#include <utility>

#include "topology/draft.hpp"
#include "topology/report.hpp"

namespace ndsip::topology::detail {

using Where = std::pair<std::size_t, std::size_t>;

inline std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return s;
}

template <class View>
class Rules {
 public:
  Rules(const View& view, Problems& problems) : v_(view), problems_(problems) {}

  static std::string node_ptr(std::size_t i) { return pointer("/nodes", i); }
  static std::string domain_ptr(std::size_t i) { return pointer("/domains", i); }

  void domain(std::size_t i, const DraftDomain& dom) {
    if (dom.name) {
      if (const std::size_t first = v_.domain_position(*dom.name); first != i) {
        add(pointer(domain_ptr(i), "name"), "duplicate domain name " + quote(*dom.name) + " (first at " +
                                                pointer(domain_ptr(first), "name") + ")");
      }
    }
    for (std::size_t k = 0; k < dom.segs.size(); ++k) {
      if (!dom.segs[k]) continue;
      const std::string ptr = pointer(pointer(domain_ptr(i), "segs"), k);
      const DraftNode* n = resolve(*dom.segs[k], ptr);
      if (!n || !n->domain || !dom.name) continue;
      if (*n->domain != *dom.name) {
        add(ptr, quote(*dom.segs[k]) + " is a node of domain " + quote(*n->domain) +
                     "; a domain's SEGs are its own nodes");
      }
    }
  }

  void node(std::size_t i, const DraftNode& n) {
    if (n.name) {
      if (const std::size_t first = v_.node_position(*n.name); first != i) {
        add(pointer(node_ptr(i), "name"), "duplicate node name " + quote(*n.name) + " (first at " +
                                              pointer(node_ptr(first), "name") + ")");
      }
    }
    if (n.domain) {
      if (const DraftDomain* dom = v_.domain(*n.domain); !dom) {
        if (v_.domains_complete()) {
          add(pointer(node_ptr(i), "domain"), "unknown domain " + quote(*n.domain) + hint(*n.domain, v_.domain_names()));
        }
      } else if (n.role == Role::seg && n.name && !v_.listed_seg(*n.name) && dom->segs_complete) {
        // A SEG nobody routes through would be planned as an ordinary node: almost
        // certainly a forgotten "segs" entry.
        add(node_ptr(i), "seg node is not listed in " + pointer(domain_ptr(v_.domain_position(*n.domain)), "segs"));
      }
    }

    if (n.role == Role::seal_server && !n.has_services) {
      add(node_ptr(i), "missing key \"services\" (a seal-server lists the services it offers)");
    } else if (n.role && n.role != Role::seal_server && n.has_services) {
      add(pointer(node_ptr(i), "services"),
          "only a seal-server offers services; " + (n.name ? quote(*n.name) : std::string("this node")) + " is a " +
              to_string(*n.role));
    }

    auto item = [](std::size_t node, const char* key, std::size_t k) { return pointer(pointer(node_ptr(node), key), k); };
    for (std::size_t k = 0; k < n.addresses.size(); ++k) {
      if (!n.addresses[k]) continue;
      if (const Where first = v_.first_address(*n.addresses[k]); first != Where{i, k}) {
        add(item(i, "addresses", k),
            "address " + quote(*n.addresses[k]) + " is already used at " + item(first.first, "addresses", first.second));
      }
    }
    // Identities are DNS names: compared without case, as certificates match them.
    if (n.identity) {
      if (const std::size_t first = v_.first_identity(lower(*n.identity)); first != i) {
        add(pointer(node_ptr(i), "identity"),
            "identity " + quote(*n.identity) + " is already used at " + pointer(node_ptr(first), "identity"));
      }
    }
    // The same prefix behind two nodes would give two tunnels the same traffic selector.
    for (std::size_t k = 0; k < n.protects.size(); ++k) {
      if (!n.protects[k]) continue;
      if (const Where first = v_.first_prefix(*n.protects[k]); first != Where{i, k}) {
        add(item(i, "protects", k),
            "prefix " + quote(*n.protects[k]) + " is already protected at " + item(first.first, "protects", first.second));
      }
    }
  }

  void use(std::size_t i, const DraftUse& u) {
    const std::string ptr = pointer("/service_uses", i);
    if (u.val_server) expect_role(*u.val_server, pointer(ptr, "val_server"), Role::val_server, "");
    const DraftNode* seal =
        u.seal_server ? expect_role(*u.seal_server, pointer(ptr, "seal_server"), Role::seal_server, "") : nullptr;
    if (services_known(seal)) {
      for (std::size_t k = 0; k < u.services.size(); ++k) {
        if (u.services[k] && !offers(*seal, *u.services[k])) {
          add(pointer(pointer(ptr, "services"), k),
              quote(to_string(*u.services[k])) + " is not offered by " + quote(*u.seal_server));
        }
      }
    }
    if (u.val_server && u.seal_server) {
      if (const std::size_t first = v_.first_use(*u.val_server, *u.seal_server); first != i) {
        add(ptr, quote(*u.val_server) + " already uses " + quote(*u.seal_server) + " at " +
                     pointer("/service_uses", first) + "; merge the two entries");
      }
    }
  }

  void interconnect(std::size_t i, const DraftInterconnect& ic) {
    const std::string ptr = pointer("/interconnects", i);
    if (!ic.a || !ic.b) return;
    const char* why = "; interconnects join seal-servers";
    const DraftNode* a = expect_role(*ic.a, pointer(pointer(ptr, "between"), 0), Role::seal_server, why);
    const DraftNode* b = expect_role(*ic.b, pointer(pointer(ptr, "between"), 1), Role::seal_server, why);
    for (std::size_t k = 0; k < ic.services.size(); ++k) {
      if (!ic.services[k]) continue;
      std::vector<std::string> missing;
      if (services_known(a) && !offers(*a, *ic.services[k])) missing.push_back(quote(*ic.a));
      if (services_known(b) && !offers(*b, *ic.services[k])) missing.push_back(quote(*ic.b));
      if (!missing.empty()) {
        add(pointer(pointer(ptr, "services"), k), quote(to_string(*ic.services[k])) + " is not offered by " +
                                                      missing[0] + (missing.size() > 1 ? " nor " + missing[1] : std::string()));
      }
    }
    // Either order names the same pair: one SEAL-E relation, one tunnel.
    const auto [x, y] = std::minmax(*ic.a, *ic.b);
    if (const std::size_t first = v_.first_interconnect(x, y); first != i) {
      add(pointer(ptr, "between"), quote(*ic.a) + " and " + quote(*ic.b) + " are already interconnected at " +
                                       pointer("/interconnects", first) + "; merge the two entries");
    }
  }

 private:
  void add(std::string ptr, std::string message) { problems_.push_back({std::move(ptr), std::move(message), 0}); }

  // The node a reference names, or nullptr after reporting an unknown name.
  const DraftNode* resolve(const std::string& name, const std::string& ptr) {
    if (const DraftNode* n = v_.node(name)) return n;
    if (v_.nodes_complete()) add(ptr, "unknown node " + quote(name) + hint(name, v_.node_names()));
    return nullptr;
  }

  // Reports `name` unless it resolves to a node of `role`; returns that node.
  const DraftNode* expect_role(const std::string& name, const std::string& ptr, Role role, const char* why) {
    const DraftNode* n = resolve(name, ptr);
    if (!n || !n->role) return nullptr;
    if (*n->role != role) {
      add(ptr, quote(name) + " is a " + to_string(*n->role) + ", not a " + to_string(role) + why);
      return nullptr;
    }
    return n;
  }

  // Whether the node's list of services could be read in full: only then is "not offered"
  // a finding rather than an echo of the list's own problem.
  static bool services_known(const DraftNode* n) {
    return n && n->has_services && !n->services.empty() &&
           std::all_of(n->services.begin(), n->services.end(), [](const auto& s) { return s.has_value(); });
  }

  static bool offers(const DraftNode& n, Service s) {
    return std::find(n.services.begin(), n.services.end(), std::optional<Service>(s)) != n.services.end();
  }

  const View& v_;
  Problems& problems_;
};

}  // namespace ndsip::topology::detail
