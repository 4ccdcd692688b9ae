// Why a tunnel is not up, as a type: decisions (a revoked tunnel shows `revoked`, an expired
// certificate outranks the generic authentication failure charon logs after it) are made on
// the kind, and the operator's words are made at the edge, by describe().
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace ndsip::health {

enum class Failure {
  none,
  sa_went_down,              // an established SA disappeared
  connect_timeout,           // initiated, no CHILD_SA within connect-timeout
  retransmit_timeout,        // charon gave up retransmitting: the peer does not answer
  auth_refused_by_peer,      // the peer refused our authentication
  peer_identity_mismatch,    // the peer's identity or CA does not match the topology
  peer_untrusted,            // no trusted certificate for the peer
  peer_signature_invalid,    // the peer's signature does not verify
  certificate_revoked,       // the peer's certificate is revoked (CRL)
  certificate_expired,       // a certificate charon checked is expired or not yet valid
  peer_certificate_expired,  // the certificate the peer presented expired while in use
  own_certificate_expired,   // ours expired with no valid renewal
  proposal_mismatch,         // NO_PROPOSAL_CHOSEN: no common algorithms, or no connection yet
  ts_mismatch,               // TS_UNACCEPTABLE
  child_install_failed,      // charon could not install the CHILD_SA in the kernel
  initiate_failed,           // charon refused or failed the initiate command
  rekey_failed,              // charon refused the rekey ndsipd asked for
  black_hole,                // outbound packets rise, inbound flat
  peer_not_answering,        // charon retransmits to the peer of an established IKE_SA
  charon_unreachable,        // the VICI connection is down
  address_missing,           // none of the connection's local addresses is on the host (detail: which)
  kernel_state_missing,      // charon says INSTALLED, the kernel lacks its policies/routes (detail: which)
};

// A stable machine name ("retransmit-timeout"), for JSON and metrics.
const char* code(Failure f);
// The operator's words; `detail` (a serial, charon's message) is added in parentheses.
std::string describe(Failure f, const std::string& detail = {});

// A failure said by one of charon's log lines (the VICI "log" event, which names the IKE_SA);
// nullopt for lines that say nothing about a failure. charon 5.9.8 sends no structured alert
// events over VICI, so its log is the one place most reasons are said.
std::optional<Failure> failure_from_log(std::string_view line);

// The retransmission count of charon's "retransmit N of request with message ID M" line:
// an established IKE_SA whose peer stopped answering (it restarted, or the path is gone).
std::optional<int> retransmit_from_log(std::string_view line);

// Reasons that say more than the generic authentication failure charon logs after them.
bool outranks_auth_failure(Failure f);

}  // namespace ndsip::health
