// Programs a certificate-authenticated IKEv2 tunnel between two lab hosts through ndsip's
// own VICI client: credentials loaded separately (load-cert, load-key), the connection
// referencing identities only. Shared by the integration tests and the demo program; the
// daemon's planner takes this over for real topologies.
#pragma once

#include <string>

#include "lab/lab.hpp"
#include "vici/client.hpp"

namespace ndsip::lab {

// The lab's proposals: AES-GCM-256 with ECP-384 for IKE and ESP (TS 33.210 / RFC 8221).
inline constexpr const char* ike_proposal = "aes256gcm16-prfsha384-ecp384";
inline constexpr const char* esp_proposal = "aes256gcm16-ecp384";

// Loads the lab CA (as a CA certificate), the host's certificate and its private key.
// Returns the key id charon assigned.
std::string load_credentials(vici::Client& client, const Lab& lab, const Host& host);

// The load-conn body for a tunnel from `self` to `peer` protecting their inner addresses,
// with one child named `child`.
vici::Section tunnel_connection(const Host& self, const Host& peer, const std::string& child);

// Loads credentials and the tunnel connection on both ends (a over client_a, b over
// client_b). Nothing is initiated.
void program_tunnel(vici::Client& client_a, vici::Client& client_b, const Lab& lab, const Host& a,
                    const Host& b);

// Connection and child name used between two hosts: "<self>-<peer>" and "<self>-<peer>-net".
std::string connection_name(const Host& self, const Host& peer);
std::string child_name(const Host& self, const Host& peer);

}  // namespace ndsip::lab
