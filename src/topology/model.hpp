// The topology model (format v1): the operator's whole SEAL deployment in one file, from
// which every host derives its own tunnels. Loaded and validated by load.hpp; the planner
// (src/policy) reads only this model, never JSON.
#pragma once

#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace ndsip::topology {

// The SEAL services a SEAL server can offer (TS 23.434 / TS 23.433). Names are the strings
// used in the file.
enum class Service {
  group_management,               // "group-management"
  location_management,            // "location-management"
  configuration_management,       // "configuration-management"
  identity_management,            // "identity-management"
  key_management,                 // "key-management"            -> KM-S
  network_resource_management,    // "network-resource-management"
  data_delivery,                  // "data-delivery" (SEALDD)    -> SEALDD-S / SEALDD-E
};

enum class Role { seal_server, val_server, seg };  // "seal-server", "val-server", "seg"

struct Domain {
  std::string name;           // security domain (operator/PLMN), e.g. "operator-a"
  std::string ca_id;          // the distinguished name of the domain's NDS/IP CA, as in its certificate
  std::vector<std::string> segs;  // names of the nodes acting as this domain's SEG(s), may be empty
};

struct Node {
  std::string name;                 // unique, [a-z0-9-], used in connection names
  Role role = Role::seal_server;
  std::string domain;               // a Domain::name
  std::vector<Service> services;    // seal-server only: what it offers
  std::vector<std::string> addresses;  // IPv4 and/or IPv6 (canonical text form), at least one
  std::string identity;             // FQDN in its certificate's SAN (dNSName); its IKE identity
  std::vector<std::string> protects;   // prefixes (CIDR, canonical); default: each address as /32 or /128
};

// A VAL server using SEAL services of one SEAL server (SEAL-S, KM-S, SEALDD-S).
struct ServiceUse {
  std::string val_server;           // Node::name, role val-server
  std::string seal_server;          // Node::name, role seal-server
  std::vector<Service> services;    // each must be offered by the SEAL server
  bool via_capif = false;           // reached through CAPIF: CAPIF-2/2e (TS 33.122) applies, no tunnel
};

// Two SEAL servers that interconnect (SEAL-E; SEALDD-E for data delivery), across domains or
// inside a distributed deployment.
struct Interconnect {
  std::string a, b;                 // Node::name of two seal-servers
  std::vector<Service> services;    // offered by both
};

struct Topology {
  int version = 1;
  std::string name;                 // deployment name, free text
  std::vector<Domain> domains;
  std::vector<Node> nodes;
  std::vector<ServiceUse> service_uses;
  std::vector<Interconnect> interconnects;

  const Node* node(const std::string& name) const;
  const Domain* domain(const std::string& name) const;
};

const char* to_string(Service service);
const char* to_string(Role role);

// The reverse of to_string: the file's spelling to the enum, nullopt for anything else
// (exact match: the file format is case-sensitive).
std::optional<Service> service_from_string(std::string_view text);
std::optional<Role> role_from_string(std::string_view text);

// Every Service / Role, in declaration order (for messages listing the valid values).
std::span<const Service> all_services();
std::span<const Role> all_roles();

}  // namespace ndsip::topology
