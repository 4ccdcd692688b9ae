// Names of the model's enums and the lookups the planner uses.
#include "topology/model.hpp"

#include <array>

namespace ndsip::topology {

namespace {

constexpr std::array<Service, 7> services = {Service::group_management,
                                             Service::location_management,
                                             Service::configuration_management,
                                             Service::identity_management,
                                             Service::key_management,
                                             Service::network_resource_management,
                                             Service::data_delivery};

constexpr std::array<Role, 3> roles = {Role::seal_server, Role::val_server, Role::seg};

}  // namespace

// Linear searches: the planner looks up a handful of names per connection and a topology has
// at most some thousands of nodes; an index would have to be kept in sync with the vectors,
// which callers (tests, the benchmark) fill directly.
const Node* Topology::node(const std::string& wanted) const {
  for (const Node& n : nodes) {
    if (n.name == wanted) return &n;
  }
  return nullptr;
}

const Domain* Topology::domain(const std::string& wanted) const {
  for (const Domain& d : domains) {
    if (d.name == wanted) return &d;
  }
  return nullptr;
}

const char* to_string(Service service) {
  switch (service) {
    case Service::group_management: return "group-management";
    case Service::location_management: return "location-management";
    case Service::configuration_management: return "configuration-management";
    case Service::identity_management: return "identity-management";
    case Service::key_management: return "key-management";
    case Service::network_resource_management: return "network-resource-management";
    case Service::data_delivery: return "data-delivery";
  }
  return "?";  // only reachable through a cast of an out-of-range value
}

const char* to_string(Role role) {
  switch (role) {
    case Role::seal_server: return "seal-server";
    case Role::val_server: return "val-server";
    case Role::seg: return "seg";
  }
  return "?";
}

std::optional<Service> service_from_string(std::string_view text) {
  for (Service s : services) {
    if (text == to_string(s)) return s;
  }
  return std::nullopt;
}

std::optional<Role> role_from_string(std::string_view text) {
  for (Role r : roles) {
    if (text == to_string(r)) return r;
  }
  return std::nullopt;
}

std::span<const Service> all_services() { return services; }
std::span<const Role> all_roles() { return roles; }

}  // namespace ndsip::topology
