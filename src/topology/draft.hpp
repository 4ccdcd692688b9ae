// What the decoder could read from the JSON, kept even when parts are wrong, so the
// cross-reference checks can still run and report everything at once. Every vector is
// index-aligned with its JSON array (an element that is not even an object stays as an empty
// entry), so /nodes/3/addresses/1 is drafts.nodes[3].addresses[1]. A field is nullopt when it
// is missing or its value was already reported as wrong, so later checks skip it instead of
// reporting the same mistake twice. Internal to the topology part.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "topology/model.hpp"

namespace ndsip::topology::detail {

struct DraftDomain {
  std::optional<std::string> name;  // any string, even a malformed one, so references resolve
  std::optional<std::string> ca_id;
  std::vector<std::optional<std::string>> segs;
  bool segs_complete = true;  // false when "segs" or one of its entries could not be read
};

struct DraftNode {
  std::optional<std::string> name;  // any string (see DraftDomain::name)
  std::optional<Role> role;
  std::optional<std::string> domain;
  bool has_services = false;  // the key is present, whatever its value
  std::vector<std::optional<Service>> services;
  std::vector<std::optional<std::string>> addresses;  // canonical text
  std::optional<std::string> identity;                // a valid FQDN
  bool has_protects = false;
  std::vector<std::optional<std::string>> protects;  // canonical CIDR
};

struct DraftUse {
  std::optional<std::string> val_server;
  std::optional<std::string> seal_server;
  std::vector<std::optional<Service>> services;
  bool via_capif = false;
};

struct DraftInterconnect {
  std::optional<std::string> a, b;  // set only when "between" is two distinct strings
  std::vector<std::optional<Service>> services;
};

struct Draft {
  // False when the list is missing, not an array, or has an entry without a readable name: a
  // reference to an unknown name may then mean that entry, so it is not reported (the entry's
  // own problem is).
  bool domains_complete = true;
  bool nodes_complete = true;
  std::optional<std::string> name;
  std::vector<DraftDomain> domains;
  std::vector<DraftNode> nodes;
  std::vector<DraftUse> uses;
  std::vector<DraftInterconnect> interconnects;
};

}  // namespace ndsip::topology::detail
