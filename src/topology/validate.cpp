#include "topology/validate.hpp"

#include "topology/nets.hpp"
#include "topology/rules.hpp"

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

// The whole draft, indexed once: the first holder of every name, address, prefix, identity
// and relation pair. Keys are views into the draft, which outlives the check; pointers are
// only formatted for a clash, so a valid 10,000-node file builds none.
class DraftView {
 public:
  explicit DraftView(const Draft& d) : d_(d) {
    for (std::size_t i = 0; i < d.domains.size(); ++i) {
      if (d.domains[i].name && domain_index_.emplace(*d.domains[i].name, i).second) domain_names_.push_back(*d.domains[i].name);
    }
    address_.reserve(d.nodes.size());
    prefix_.reserve(d.nodes.size());
    identity_.reserve(d.nodes.size());
    for (std::size_t i = 0; i < d.nodes.size(); ++i) {
      const DraftNode& n = d.nodes[i];
      if (n.name && node_index_.emplace(*n.name, i).second) node_names_.push_back(*n.name);
      for (std::size_t k = 0; k < n.addresses.size(); ++k) {
        if (!n.addresses[k]) continue;
        address_.emplace(*n.addresses[k], Where{i, k});
        if (const auto span = span_of(*n.addresses[k])) address_nets_.add(*span, Where{i, k});
      }
      for (std::size_t k = 0; k < n.protects.size(); ++k) {
        if (!n.protects[k]) continue;
        prefix_.emplace(*n.protects[k], Where{i, k});
        if (const auto span = span_of(*n.protects[k])) prefix_nets_.add(*span, Where{i, k});
      }
      if (n.identity) identity_.emplace(lower(*n.identity), i);
    }
    for (std::size_t i = 0; i < d.uses.size(); ++i) {
      if (d.uses[i].val_server && d.uses[i].seal_server) uses_.emplace(std::pair(*d.uses[i].val_server, *d.uses[i].seal_server), i);
    }
    for (std::size_t i = 0; i < d.interconnects.size(); ++i) {
      const DraftInterconnect& ic = d.interconnects[i];
      if (ic.a && ic.b) interconnects_.emplace(std::minmax(*ic.a, *ic.b), i);
    }
    // A node is a listed SEG when the (first) domain of its name lists it and it is a node
    // of that domain.
    for (std::size_t i = 0; i < d.domains.size(); ++i) {
      const DraftDomain& dom = d.domains[i];
      if (!dom.name || domain_index_.at(*dom.name) != i) continue;
      for (const auto& seg : dom.segs) {
        const DraftNode* n = seg ? node(*seg) : nullptr;
        if (n && n->domain == dom.name) listed_segs_.insert(*seg);
      }
    }
  }

  bool nodes_complete() const { return d_.nodes_complete; }
  bool domains_complete() const { return d_.domains_complete; }
  const DraftNode* node(const std::string& name) const {
    const auto it = node_index_.find(name);
    return it == node_index_.end() ? nullptr : &d_.nodes[it->second];
  }
  const DraftDomain* domain(const std::string& name) const {
    const auto it = domain_index_.find(name);
    return it == domain_index_.end() ? nullptr : &d_.domains[it->second];
  }
  std::size_t node_position(const std::string& name) const { return node_index_.at(name); }
  std::size_t domain_position(const std::string& name) const { return domain_index_.at(name); }
  const std::vector<std::string>& node_names() const { return node_names_; }
  const std::vector<std::string>& domain_names() const { return domain_names_; }
  bool listed_seg(const std::string& name) const { return listed_segs_.count(name) != 0; }
  Where first_address(const std::string& a) const { return address_.at(a); }
  Where first_prefix(const std::string& p) const { return prefix_.at(p); }
  std::size_t first_identity(const std::string& id) const { return identity_.at(id); }
  template <class F>
  void addresses_inside(const Prefix& p, F&& f) const {
    address_nets_.inside(p, [&](int, Where w) { f(w, d_.nodes[w.first]); });
  }
  template <class F>
  void prefixes_inside(const Prefix& p, F&& f) const {
    prefix_nets_.inside(p, [&](int length, Where w) { f(length, w, d_.nodes[w.first]); });
  }
  std::size_t first_use(const std::string& val, const std::string& seal) const { return uses_.at({val, seal}); }
  std::size_t first_interconnect(const std::string& a, const std::string& b) const { return interconnects_.at({a, b}); }

 private:
  const Draft& d_;
  std::unordered_map<std::string, std::size_t> domain_index_, node_index_;
  std::vector<std::string> domain_names_, node_names_;
  std::unordered_map<std::string_view, Where> address_, prefix_;
  NetIndex<Where> address_nets_, prefix_nets_;
  std::unordered_map<std::string, std::size_t> identity_;
  std::map<std::pair<std::string, std::string>, std::size_t> uses_, interconnects_;
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

void validate(const Draft& draft, Problems& problems) {
  const DraftView view(draft);
  Rules rules(view, problems);
  for (std::size_t i = 0; i < draft.domains.size(); ++i) rules.domain(i, draft.domains[i]);
  for (std::size_t i = 0; i < draft.nodes.size(); ++i) rules.node(i, draft.nodes[i]);
  for (std::size_t i = 0; i < draft.uses.size(); ++i) rules.use(i, draft.uses[i]);
  for (std::size_t i = 0; i < draft.interconnects.size(); ++i) rules.interconnect(i, draft.interconnects[i]);
}

Domain build_domain(const DraftDomain& dd) { return Domain{dd.name.value(), dd.ca_id.value(), values(dd.segs)}; }

Node build_node(const DraftNode& dn) {
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
  return n;
}

ServiceUse build_use(const DraftUse& du) {
  return ServiceUse{du.val_server.value(), du.seal_server.value(), values(du.services), du.via_capif};
}

Interconnect build_interconnect(const DraftInterconnect& di) {
  return Interconnect{di.a.value(), di.b.value(), values(di.services)};
}

Topology build(const Draft& d) {
  Topology t;
  t.version = 1;
  t.name = d.name.value();
  for (const DraftDomain& dd : d.domains) t.domains.push_back(build_domain(dd));
  t.nodes.reserve(d.nodes.size());
  for (const DraftNode& dn : d.nodes) t.nodes.push_back(build_node(dn));
  t.service_uses.reserve(d.uses.size());
  for (const DraftUse& du : d.uses) t.service_uses.push_back(build_use(du));
  for (const DraftInterconnect& di : d.interconnects) t.interconnects.push_back(build_interconnect(di));
  return t;
}

}  // namespace ndsip::topology::detail
