// Why a tunnel failed, in an operator's words, from charon's log lines (the VICI "log"
// event, which names the IKE_SA). charon 5.9.8 sends no structured alert events over VICI,
// so its log is the one place the reason is said.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace ndsip::health {

// "retransmit timeout (peer not responding)", "peer-auth-failed (...)", "proposal mismatch
// (...)", "traffic selector mismatch", "certificate revoked", ...; nullopt for lines that say
// nothing about a failure.
std::optional<std::string> failure_reason(std::string_view log_line);

}  // namespace ndsip::health
