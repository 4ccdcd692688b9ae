#include "health/failure.hpp"

#include <array>

namespace ndsip::health {

namespace {

struct Text {
  Failure failure;
  const char* code;
  const char* words;
};

constexpr std::array<Text, 22> texts = {{
    {Failure::none, "none", ""},
    {Failure::sa_went_down, "sa-went-down", "SA went down"},
    {Failure::connect_timeout, "connect-timeout", "no answer from peer (timeout)"},
    {Failure::retransmit_timeout, "retransmit-timeout", "retransmit timeout (peer not responding)"},
    {Failure::auth_refused_by_peer, "peer-auth-failed", "peer-auth-failed (the peer refused our authentication)"},
    {Failure::peer_identity_mismatch, "peer-identity-mismatch",
     "peer-auth-failed (peer's identity or CA does not match the topology)"},
    {Failure::peer_untrusted, "peer-untrusted", "peer-auth-failed (no trusted certificate for the peer)"},
    {Failure::peer_signature_invalid, "peer-signature-invalid", "peer-auth-failed (peer's signature does not verify)"},
    {Failure::certificate_revoked, "certificate-revoked", "certificate revoked"},
    {Failure::certificate_expired, "certificate-expired", "certificate expired or not yet valid"},
    {Failure::peer_certificate_expired, "peer-certificate-expired", "peer certificate expired"},
    {Failure::own_certificate_expired, "own-certificate-expired", "own certificate expired, no valid renewal"},
    {Failure::proposal_mismatch, "proposal-mismatch",
     "proposal mismatch (no common algorithms, or the peer has no connection for us yet)"},
    {Failure::ts_mismatch, "ts-mismatch", "traffic selector mismatch"},
    {Failure::child_install_failed, "child-install-failed", "CHILD_SA install failed"},
    {Failure::initiate_failed, "initiate-failed", "initiate failed"},
    {Failure::rekey_failed, "rekey-failed", "rekey failed"},
    {Failure::black_hole, "black-hole", "black hole: outbound packets rise, inbound flat"},
    {Failure::peer_not_answering, "peer-not-answering",
     "peer not answering (charon retransmits; the peer may have restarted)"},
    {Failure::charon_unreachable, "charon-unreachable", "charon unreachable"},
    {Failure::address_missing, "address-missing", "address missing"},
    {Failure::kernel_state_missing, "kernel-state-missing", "kernel state missing"},
}};

const Text& text_of(Failure f) {
  for (const Text& t : texts) {
    if (t.failure == f) return t;
  }
  return texts[0];
}

struct Pattern {
  std::string_view fragment;  // part of charon's log message (charon 5.9's wording)
  Failure failure;
};

// Ordered: the first fragment found wins.
constexpr std::array<Pattern, 15> patterns = {{
    {"giving up after", Failure::retransmit_timeout},
    {"peer not responding", Failure::retransmit_timeout},
    {"AUTHENTICATION_FAILED", Failure::auth_refused_by_peer},
    {"constraint check failed", Failure::peer_identity_mismatch},
    {"no trusted", Failure::peer_untrusted},
    {"none matched", Failure::peer_signature_invalid},
    {"certificate status is revoked", Failure::certificate_revoked},
    {"has been revoked", Failure::certificate_revoked},
    {"certificate expired", Failure::certificate_expired},
    {"certificate invalid (valid from", Failure::certificate_expired},
    // A responder without a matching connection (not yet pushed) answers this too.
    {"NO_PROPOSAL_CHOSEN", Failure::proposal_mismatch},
    {"no acceptable proposal", Failure::proposal_mismatch},
    {"TS_UNACCEPTABLE", Failure::ts_mismatch},
    {"traffic selectors", Failure::ts_mismatch},
    {"unable to install", Failure::child_install_failed},
}};

}  // namespace

const char* code(Failure f) { return text_of(f).code; }

std::string describe(Failure f, const std::string& detail) {
  std::string words = text_of(f).words;
  if (!detail.empty()) words += (words.empty() ? "" : " (") + detail + (words.empty() ? "" : ")");
  return words;
}

std::optional<Failure> failure_from_log(std::string_view line) {
  for (const Pattern& p : patterns) {
    if (line.find(p.fragment) == std::string_view::npos) continue;
    // "traffic selectors" also appears in harmless lines; only failures count.
    if (p.fragment == "traffic selectors" && line.find("unacceptable") == std::string_view::npos) continue;
    return p.failure;
  }
  return std::nullopt;
}

std::optional<int> retransmit_from_log(std::string_view line) {
  // charon 5.9: "retransmit 2 of request with message ID 7"
  constexpr std::string_view head = "retransmit ";
  if (line.substr(0, head.size()) != head || line.find(" of request") == std::string_view::npos) return std::nullopt;
  int n = 0;
  std::size_t i = head.size();
  for (; i < line.size() && line[i] >= '0' && line[i] <= '9' && n < 1000; ++i) n = n * 10 + (line[i] - '0');
  if (i == head.size()) return std::nullopt;
  return n;
}

bool outranks_auth_failure(Failure f) {
  return f == Failure::certificate_revoked || f == Failure::certificate_expired ||
         f == Failure::peer_certificate_expired || f == Failure::own_certificate_expired;
}

}  // namespace ndsip::health
