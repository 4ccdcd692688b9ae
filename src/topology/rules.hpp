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
//   addresses_inside(Prefix, f)      f(Where, const DraftNode&) for every node address in it
//   prefixes_inside(Prefix, f)       f(length, Where, const DraftNode&) for every "protects"
//                                    entry in it (the prefix itself included)
//   std::size_t first_identity(lowercase text)      the first node position holding it
//   std::size_t first_use(val, seal), first_interconnect(a, b) (a < b)
#pragma once

#include <algorithm>
#include <cctype>
#include <optional>
#include <string>
#include <utility>

#include "topology/address.hpp"
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
    // What a prefix takes in is this node's traffic alone: one problem per prefix at most, the
    // first of these.
    for (std::size_t k = 0; k < n.protects.size(); ++k) {
      if (!n.protects[k]) continue;
      const std::string& text = *n.protects[k];
      // Rule 29: the same prefix behind two nodes would give two tunnels the same selector.
      if (const Where first = v_.first_prefix(text); first != Where{i, k}) {
        add(item(i, "protects", k),
            "prefix " + quote(text) + " is already protected at " + item(first.first, "protects", first.second));
        continue;
      }
      const std::optional<Prefix> span = span_of(text);
      if (!span) continue;
      // Rule 37: another node's address inside is that node's IKE end point, and its default
      // selector: the tunnel would take in its traffic (its IKE packets, or packets sent in its
      // name by this node's peer). An address this node holds too is rule 25's, reported there.
      std::optional<Where> taken;
      const DraftNode* owner = nullptr;
      v_.addresses_inside(*span, [&](Where w, const DraftNode& h) {
        if (w.first == i || (taken && *taken < w)) return;
        if (std::find(n.addresses.begin(), n.addresses.end(), h.addresses[w.second]) != n.addresses.end()) return;
        taken = w;
        owner = &h;
      });
      if (taken) {
        add(item(i, "protects", k), "prefix " + quote(text) + " takes in " + quote(*owner->addresses[taken->second]) +
                                        ", the address of " + who(*owner) + " at " +
                                        item(taken->first, "addresses", taken->second) +
                                        "; a node protects its own traffic, never another node's IKE end point or "
                                        "default traffic selector");
        continue;
      }
      // Rule 38: a prefix of another domain inside: that domain's SEG would send its own
      // traffic into the Za tunnel. Reported at the wider prefix, which takes the other in.
      if (!n.domain) continue;
      const DraftNode* other = nullptr;
      v_.prefixes_inside(*span, [&](int length, Where w, const DraftNode& h) {
        if (length == span->length || !h.domain || *h.domain == *n.domain || (taken && *taken < w)) return;
        taken = w;
        other = &h;
      });
      if (taken) {
        add(item(i, "protects", k), "prefix " + quote(text) + " of domain " + quote(*n.domain) + " takes in " +
                                        quote(*other->protects[taken->second]) + ", protected in domain " +
                                        quote(*other->domain) + " at " + item(taken->first, "protects", taken->second) +
                                        "; the traffic selectors of two domains must not overlap");
      }
    }
  }

  void use(std::size_t i, const DraftUse& u) {
    const std::string ptr = pointer("/service_uses", i);
    const DraftNode* val =
        u.val_server ? expect_role(*u.val_server, pointer(ptr, "val_server"), Role::val_server, "") : nullptr;
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
      } else if (val && seal && !u.via_capif) {
        // Through CAPIF there is no tunnel (CAPIF-2/2e security instead): nothing to carry.
        share_family(ptr, *u.val_server, *val, *u.seal_server, *seal);
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
    } else if (a && b) {
      share_family(ptr, *ic.a, *a, *ic.b, *b);
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

  // `role "name"`, or the node's position when it has no readable name.
  std::string who(const DraftNode& n) const {
    const std::string role = n.role ? to_string(*n.role) : "node";
    return n.name ? role + " " + quote(*n.name) : "a " + role + " without a name";
  }

  // The address families a node's traffic selectors have (1 IPv4, 2 IPv6) and where they are
  // written: its "protects", else its addresses (the default). Nothing when a value there
  // was already reported, as malformed or as another node's (rules 25 and 29): the families
  // are not known then.
  struct Families {
    int bits = 0;
    std::string where;
  };
  std::optional<Families> families(const std::string& name, const DraftNode& n) const {
    const auto& texts = n.has_protects ? n.protects : n.addresses;
    if (texts.empty()) return std::nullopt;
    const std::size_t position = v_.node_position(name);
    Families f;
    for (std::size_t k = 0; k < texts.size(); ++k) {
      if (!texts[k]) return std::nullopt;
      const Where first = n.has_protects ? v_.first_prefix(*texts[k]) : v_.first_address(*texts[k]);
      if (first != Where{position, k}) return std::nullopt;
      f.bits |= texts[k]->find(':') == std::string::npos ? 1 : 2;
    }
    f.where = pointer(node_ptr(position), n.has_protects ? "protects" : "addresses") +
              (n.has_protects ? "" : ", by default");
    return f;
  }

  // Rule 39: the two ends of a tunnel protect a common address family. Each hop may carry
  // either family inside the other, but a packet goes from one end's selector to the other's,
  // so with none in common (an IPv4-only VAL server and an IPv6-only SEAL server behind SEGs)
  // no packet could ever use the tunnel.
  void share_family(const std::string& ptr, const std::string& x, const DraftNode& nx, const std::string& y,
                    const DraftNode& ny) {
    const auto fx = families(x, nx), fy = families(y, ny);
    if (!fx || !fy || (fx->bits & fy->bits) != 0) return;
    auto only = [](int bits) { return bits == 1 ? "IPv4" : "IPv6"; };
    add(ptr, quote(x) + " protects only " + only(fx->bits) + " (" + fx->where + ") and " + quote(y) + " only " +
                 only(fy->bits) + " (" + fy->where + "); no packet between them could be carried");
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
