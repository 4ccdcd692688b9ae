// A topology change as objects: what a new topology adds, changes and removes against the one
// in force, each object named by its identity (a name, or the pair it joins). A push that
// changes nothing is recognised as such (whatever its spacing or key order), and the
// operator sees what a push changed in the deployment's own terms.
#pragma once

#include <compare>
#include <string>
#include <vector>

#include "topology/model.hpp"

namespace ndsip::topology {

struct ObjectId {
  enum class Kind { header, domain, node, service_use, interconnect };
  Kind kind = Kind::header;
  std::string name;  // the header's field ("" for the whole header); the object's name; "val>seal"; "a|b" (a < b)

  // "node val-1", "service-use val-1>gms-a", "interconnect gms-a|gms-b", "topology name",
  // "topology" (the whole header)
  std::string to_string() const;
  auto operator<=>(const ObjectId&) const = default;
};

struct Delta {
  std::vector<ObjectId> added, changed, removed;  // each sorted
  bool empty() const { return added.empty() && changed.empty() && removed.empty(); }
  std::size_t size() const { return added.size() + changed.size() + removed.size(); }
};

// A change in model terms, for the planner: the objects added or changed, and the removed.
struct ModelChange {
  std::vector<Domain> domains;
  std::vector<Node> nodes;
  std::vector<ServiceUse> uses;
  std::vector<Interconnect> interconnects;
  std::vector<ObjectId> removed;
  std::vector<Domain> old_domains;  // the content before, of changed and removed ones
  std::vector<Node> old_nodes;
  std::vector<ServiceUse> old_uses;
  std::vector<Interconnect> old_interconnects;
};

// The change that undoes `change`.
ModelChange inverse(const ModelChange& change);

// What `after` adds, changes and removes against `before`. Order of objects in the file and
// of their lists does not count where the format gives it no meaning (nodes, domains, uses,
// interconnects are sets); within an object it does (addresses are preference-ordered).
Delta diff(const Topology& before, const Topology& after);

}  // namespace ndsip::topology
