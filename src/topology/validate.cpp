#include "topology/validate.hpp"

#include <algorithm>
#include <cctype>
#include <map>
#include <string>
#include <string_view>
#include <unordered_map>
#include <unordered_set>
#include <utility>

namespace ndsip::topology::detail {

namespace {

// Remembers where a value was first seen (node index, item index); the second place is the
// one reported, with a pointer back to the first, so the operator sees both ends of the
// clash. Pointers are only formatted for a clash: a valid 10,000-node file builds none.
template <class Key>
class FirstSeen {
 public:
  using Where = std::pair<std::size_t, std::size_t>;

  explicit FirstSeen(std::size_t expected) { first_.reserve(expected); }

  // Where `key` was seen before, or nullptr when it is new.
  const Where* claim(Key key, Where where) {
    auto [it, fresh] = first_.emplace(std::move(key), where);
    return fresh ? nullptr : &it->second;
  }

 private:
  std::unordered_map<Key, Where> first_;
};

std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return s;
}

class Validator {
 public:
  Validator(const Draft& d, Problems& p) : d_(d), problems_(p) {}

  void run() {
    index_domains();
    index_nodes();
    domains_segs();
    nodes();
    uses();
    interconnects();
  }

 private:
  void add(std::string ptr, std::string message) {
    problems_.push_back({std::move(ptr), std::move(message), 0});
  }

  static std::string node_ptr(std::size_t i) { return pointer("/nodes", i); }
  static std::string domain_ptr(std::size_t i) { return pointer("/domains", i); }

  void index_domains() {
    for (std::size_t i = 0; i < d_.domains.size(); ++i) {
      const auto& name = d_.domains[i].name;
      if (!name) continue;
      if (auto [it, fresh] = domain_index_.emplace(*name, i); !fresh) {
        add(pointer(domain_ptr(i), "name"), "duplicate domain name " + quote(*name) +
                                                " (first at " +
                                                pointer(domain_ptr(it->second), "name") + ")");
      } else {
        domain_names_.push_back(*name);
      }
    }
  }

  void index_nodes() {
    for (std::size_t i = 0; i < d_.nodes.size(); ++i) {
      const auto& name = d_.nodes[i].name;
      if (!name) continue;
      if (auto [it, fresh] = node_index_.emplace(*name, i); !fresh) {
        add(pointer(node_ptr(i), "name"), "duplicate node name " + quote(*name) + " (first at " +
                                              pointer(node_ptr(it->second), "name") + ")");
      } else {
        node_names_.push_back(*name);
      }
    }
  }

  // The node a reference names, or nullptr after reporting an unknown name.
  const DraftNode* resolve(const std::string& name, const std::string& ptr) {
    const auto it = node_index_.find(name);
    if (it != node_index_.end()) return &d_.nodes[it->second];
    if (d_.nodes_complete) add(ptr, "unknown node " + quote(name) + hint(name, node_names_));
    return nullptr;
  }

  void domains_segs() {
    for (std::size_t i = 0; i < d_.domains.size(); ++i) {
      const DraftDomain& dom = d_.domains[i];
      for (std::size_t k = 0; k < dom.segs.size(); ++k) {
        if (!dom.segs[k]) continue;
        const std::string ptr = pointer(pointer(domain_ptr(i), "segs"), k);
        const DraftNode* n = resolve(*dom.segs[k], ptr);
        if (!n || !n->domain || !dom.name) continue;
        if (*n->domain != *dom.name) {
          add(ptr, quote(*dom.segs[k]) + " is a node of domain " + quote(*n->domain) +
                       "; a domain's SEGs are its own nodes");
        } else if (domain_index_.at(*dom.name) == i) {
          listed_segs_.emplace(*dom.segs[k]);
        }
      }
    }
  }

  void nodes() {
    // Keys are views into the draft, which outlives this check.
    FirstSeen<std::string_view> addresses(d_.nodes.size()), prefixes(d_.nodes.size());
    FirstSeen<std::string> identities(d_.nodes.size());
    auto item = [](std::size_t i, const char* key, std::size_t k) {
      return pointer(pointer(node_ptr(i), key), k);
    };
    for (std::size_t i = 0; i < d_.nodes.size(); ++i) {
      const DraftNode& n = d_.nodes[i];

      if (n.domain) {
        const auto dom = domain_index_.find(*n.domain);
        if (dom == domain_index_.end()) {
          if (d_.domains_complete) {
            add(pointer(node_ptr(i), "domain"),
                "unknown domain " + quote(*n.domain) + hint(*n.domain, domain_names_));
          }
        } else if (n.role == Role::seg && n.name && !listed_segs_.count(*n.name) &&
                   d_.domains[dom->second].segs_complete) {
          // A SEG nobody routes through would be planned as an ordinary node: almost
          // certainly a forgotten "segs" entry.
          add(node_ptr(i), "seg node is not listed in " + pointer(domain_ptr(dom->second), "segs"));
        }
      }

      if (n.role == Role::seal_server && !n.has_services) {
        add(node_ptr(i), "missing key \"services\" (a seal-server lists the services it offers)");
      } else if (n.role && n.role != Role::seal_server && n.has_services) {
        add(pointer(node_ptr(i), "services"),
            "only a seal-server offers services; " +
                (n.name ? quote(*n.name) : std::string("this node")) + " is a " +
                to_string(*n.role));
      }

      for (std::size_t k = 0; k < n.addresses.size(); ++k) {
        if (!n.addresses[k]) continue;
        if (const auto* first = addresses.claim(*n.addresses[k], {i, k})) {
          add(item(i, "addresses", k), "address " + quote(*n.addresses[k]) +
                                           " is already used at " +
                                           item(first->first, "addresses", first->second));
        }
      }
      // Identities are DNS names: compared without case, as certificates match them.
      if (n.identity) {
        if (const auto* first = identities.claim(lower(*n.identity), {i, 0})) {
          add(pointer(node_ptr(i), "identity"), "identity " + quote(*n.identity) +
                                                    " is already used at " +
                                                    pointer(node_ptr(first->first), "identity"));
        }
      }
      // The same prefix behind two nodes would give two tunnels the same traffic selector.
      for (std::size_t k = 0; k < n.protects.size(); ++k) {
        if (!n.protects[k]) continue;
        if (const auto* first = prefixes.claim(*n.protects[k], {i, k})) {
          add(item(i, "protects", k), "prefix " + quote(*n.protects[k]) +
                                          " is already protected at " +
                                          item(first->first, "protects", first->second));
        }
      }
    }
  }

  // Reports `name` unless it resolves to a node of `role`; returns that node.
  const DraftNode* expect_role(const std::string& name, const std::string& ptr, Role role,
                               const char* why) {
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
           std::all_of(n->services.begin(), n->services.end(),
                       [](const auto& s) { return s.has_value(); });
  }

  static bool offers(const DraftNode& n, Service s) {
    return std::find(n.services.begin(), n.services.end(), std::optional<Service>(s)) !=
           n.services.end();
  }

  void uses() {
    std::map<std::pair<std::string, std::string>, std::size_t> pairs;
    for (std::size_t i = 0; i < d_.uses.size(); ++i) {
      const DraftUse& u = d_.uses[i];
      const std::string ptr = pointer("/service_uses", i);
      if (u.val_server)
        expect_role(*u.val_server, pointer(ptr, "val_server"), Role::val_server, "");
      const DraftNode* seal =
          u.seal_server
              ? expect_role(*u.seal_server, pointer(ptr, "seal_server"), Role::seal_server, "")
              : nullptr;
      if (services_known(seal)) {
        for (std::size_t k = 0; k < u.services.size(); ++k) {
          if (u.services[k] && !offers(*seal, *u.services[k])) {
            add(pointer(pointer(ptr, "services"), k),
                quote(to_string(*u.services[k])) + " is not offered by " + quote(*u.seal_server));
          }
        }
      }
      if (u.val_server && u.seal_server) {
        auto [it, fresh] = pairs.emplace(std::make_pair(*u.val_server, *u.seal_server), i);
        if (!fresh) {
          add(ptr, quote(*u.val_server) + " already uses " + quote(*u.seal_server) + " at " +
                       pointer("/service_uses", it->second) + "; merge the two entries");
        }
      }
    }
  }

  void interconnects() {
    std::map<std::pair<std::string, std::string>, std::size_t> pairs;
    for (std::size_t i = 0; i < d_.interconnects.size(); ++i) {
      const DraftInterconnect& ic = d_.interconnects[i];
      const std::string ptr = pointer("/interconnects", i);
      if (!ic.a || !ic.b) continue;
      const char* why = "; interconnects join seal-servers";
      const DraftNode* a =
          expect_role(*ic.a, pointer(pointer(ptr, "between"), 0), Role::seal_server, why);
      const DraftNode* b =
          expect_role(*ic.b, pointer(pointer(ptr, "between"), 1), Role::seal_server, why);
      for (std::size_t k = 0; k < ic.services.size(); ++k) {
        if (!ic.services[k]) continue;
        std::vector<std::string> missing;
        if (services_known(a) && !offers(*a, *ic.services[k])) missing.push_back(quote(*ic.a));
        if (services_known(b) && !offers(*b, *ic.services[k])) missing.push_back(quote(*ic.b));
        if (!missing.empty()) {
          add(pointer(pointer(ptr, "services"), k),
              quote(to_string(*ic.services[k])) + " is not offered by " + missing[0] +
                  (missing.size() > 1 ? " nor " + missing[1] : std::string()));
        }
      }
      // Either order names the same pair: one SEAL-E relation, one tunnel.
      auto key = std::minmax(*ic.a, *ic.b);
      auto [it, fresh] = pairs.emplace(std::make_pair(key.first, key.second), i);
      if (!fresh) {
        add(pointer(ptr, "between"),
            quote(*ic.a) + " and " + quote(*ic.b) + " are already interconnected at " +
                pointer("/interconnects", it->second) + "; merge the two entries");
      }
    }
  }

  const Draft& d_;
  Problems& problems_;
  std::unordered_map<std::string, std::size_t> domain_index_, node_index_;
  std::vector<std::string> domain_names_, node_names_;  // for hints
  std::unordered_set<std::string> listed_segs_;
};

template <class T>
std::vector<T> values(const std::vector<std::optional<T>>& in) {
  std::vector<T> out;
  out.reserve(in.size());
  for (const auto& v : in) out.push_back(v.value());
  return out;
}

}  // namespace

void validate(const Draft& draft, Problems& problems) { Validator(draft, problems).run(); }

Topology build(const Draft& d) {
  Topology t;
  t.version = 1;
  t.name = d.name.value();
  for (const DraftDomain& dd : d.domains) {
    t.domains.push_back(Domain{dd.name.value(), dd.ca_id.value(), values(dd.segs)});
  }
  for (const DraftNode& dn : d.nodes) {
    Node n;
    n.name = dn.name.value();
    n.role = dn.role.value();
    n.domain = dn.domain.value();
    n.services = values(dn.services);
    n.addresses = values(dn.addresses);
    n.identity = dn.identity.value();
    if (dn.has_protects) {
      n.protects = values(dn.protects);
    } else {
      // Default: each address as a host prefix. Canonical addresses give canonical prefixes.
      for (const std::string& a : n.addresses) {
        n.protects.push_back(a + (a.find(':') == std::string::npos ? "/32" : "/128"));
      }
    }
    t.nodes.push_back(std::move(n));
  }
  for (const DraftUse& du : d.uses) {
    t.service_uses.push_back(ServiceUse{du.val_server.value(), du.seal_server.value(),
                                        values(du.services), du.via_capif});
  }
  for (const DraftInterconnect& di : d.interconnects) {
    t.interconnects.push_back(Interconnect{di.a.value(), di.b.value(), values(di.services)});
  }
  return t;
}

}  // namespace ndsip::topology::detail
