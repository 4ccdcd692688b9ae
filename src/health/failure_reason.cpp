#include "health/failure_reason.hpp"

#include <array>

namespace ndsip::health {

namespace {

struct Pattern {
  std::string_view fragment;  // part of charon's log message
  std::string_view reason;
};

// Ordered: the first fragment found wins. Fragments are charon 5.9's wording.
constexpr std::array<Pattern, 15> patterns = {{
    {"giving up after", "retransmit timeout (peer not responding)"},
    {"peer not responding", "retransmit timeout (peer not responding)"},
    {"AUTHENTICATION_FAILED", "peer-auth-failed (the peer refused our authentication)"},
    {"constraint check failed", "peer-auth-failed (peer's identity or CA does not match the topology)"},
    {"no trusted", "peer-auth-failed (no trusted certificate for the peer)"},
    {"none matched", "peer-auth-failed (peer's signature does not verify)"},
    {"certificate status is revoked", "certificate revoked"},
    {"has been revoked", "certificate revoked"},
    {"certificate expired", "certificate expired"},
    {"certificate invalid (valid from", "certificate expired or not yet valid"},
    // A responder without a matching connection (not yet pushed) answers this too.
    {"NO_PROPOSAL_CHOSEN", "proposal mismatch (no common algorithms, or the peer has no connection for us yet)"},
    {"no acceptable proposal", "proposal mismatch (no common algorithms)"},
    {"TS_UNACCEPTABLE", "traffic selector mismatch"},
    {"traffic selectors", "traffic selector mismatch"},
    {"unable to install", "CHILD_SA install failed"},
}};

}  // namespace

std::optional<std::string> failure_reason(std::string_view line) {
  for (const Pattern& p : patterns) {
    if (line.find(p.fragment) != std::string_view::npos) {
      // "traffic selectors" also appears in harmless lines; only failures count.
      if (p.fragment == "traffic selectors" && line.find("unacceptable") == std::string_view::npos) continue;
      return std::string(p.reason);
    }
  }
  return std::nullopt;
}

}  // namespace ndsip::health
