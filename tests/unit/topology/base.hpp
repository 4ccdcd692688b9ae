// A small valid topology for the tests to break in one place at a time.
#pragma once

#include <nlohmann/json.hpp>

namespace ndsip::topology::test {

// nodes: 0 gms-a (seal-server), 1 val-1, 2 seg-a (operator-a), 3 gms-b (operator-b).
inline nlohmann::json base() {
  return nlohmann::json::parse(R"({
  "version": 1,
  "name": "test",
  "domains": [
    {"name": "operator-a", "ca_id": "C=DE, O=Operator A, CN=Operator A CA", "segs": ["seg-a"]},
    {"name": "operator-b", "ca_id": "CN=Operator B CA"}
  ],
  "nodes": [
    {"name": "gms-a", "role": "seal-server", "domain": "operator-a",
     "services": ["group-management", "key-management", "data-delivery"],
     "addresses": ["192.0.2.10", "2001:db8::10"], "identity": "gms-a.operator-a.example",
     "protects": ["198.51.100.10/32"]},
    {"name": "val-1", "role": "val-server", "domain": "operator-a",
     "addresses": ["192.0.2.20"], "identity": "val-1.operator-a.example"},
    {"name": "seg-a", "role": "seg", "domain": "operator-a",
     "addresses": ["192.0.2.1"], "identity": "seg-a.operator-a.example"},
    {"name": "gms-b", "role": "seal-server", "domain": "operator-b",
     "services": ["group-management", "data-delivery"],
     "addresses": ["192.0.2.110"], "identity": "gms-b.operator-b.example"}
  ],
  "service_uses": [
    {"val_server": "val-1", "seal_server": "gms-a", "services": ["group-management", "key-management"]}
  ],
  "interconnects": [
    {"between": ["gms-a", "gms-b"], "services": ["group-management"]}
  ]
})");
}

}  // namespace ndsip::topology::test
