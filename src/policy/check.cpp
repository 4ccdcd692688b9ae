// The policy checker: what TS 33.210 (NDS/IP), RFC 4301/4303 and the algorithm guidance of
// RFC 8221 (ESP) and RFC 8247 (IKEv2) forbid, each refusal naming the proposal, the file
// and the rule.
#include <regex>

#include "policy/algorithms.hpp"
#include "policy/profile.hpp"

namespace ndsip::policy {
namespace {

struct Checker {
  const Profile& p;
  std::vector<PolicyProblem> problems;

  void add(const std::string& pointer, const std::string& rule, const std::string& message) {
    problems.push_back({p.file, pointer, rule, message});
  }

  // Rules shared by IKE and ESP proposals: every token known, none forbidden.
  std::vector<Algorithm> tokens(const std::string& what, const std::string& pointer,
                                const std::string& proposal) {
    std::vector<Algorithm> algs = parse_proposal(proposal);
    for (const Algorithm& a : algs) {
      if (a.kind == AlgorithmKind::unknown) {
        add(pointer, "unknown-algorithm",
            what + " proposal \"" + proposal + "\": \"" + a.token +
                "\" is not a strongSwan algorithm keyword");
      } else if (!a.forbidden_rule.empty() && !(a.sha1 && p.allow_legacy_sha1)) {
        add(pointer, a.forbidden_rule,
            what + " proposal \"" + proposal + "\" uses " + a.token + ": " + a.forbidden_why);
      }
    }
    return algs;
  }

  static bool any(const std::vector<Algorithm>& algs, AlgorithmKind kind) {
    for (const Algorithm& a : algs) {
      if (a.kind == kind) return true;
    }
    return false;
  }

  void ike_proposal(std::size_t i, const std::string& proposal) {
    const std::string ptr = "/ike/proposals/" + std::to_string(i);
    const auto algs = tokens("IKE", ptr, proposal);
    // A misspelt keyword is reported once; guessing the structure around it would only add noise.
    if (any(algs, AlgorithmKind::unknown)) return;
    const bool aead = any(algs, AlgorithmKind::aead);
    if (any(algs, AlgorithmKind::null_encryption) || any(algs, AlgorithmKind::gmac)) {
      add(ptr, "ike-encryption-required",
          "IKE proposal \"" + proposal + "\" has no encryption; IKE_SAs are always encrypted");
    } else if (!aead && !any(algs, AlgorithmKind::encryption)) {
      add(ptr, "ike-encryption-required",
          "IKE proposal \"" + proposal + "\" names no encryption algorithm");
    }
    if (!aead && any(algs, AlgorithmKind::encryption) && !any(algs, AlgorithmKind::integrity)) {
      add(ptr, "integrity-required",
          "IKE proposal \"" + proposal + "\" uses non-AEAD encryption without integrity");
    }
    if (aead && !any(algs, AlgorithmKind::prf)) {
      add(ptr, "ike-aead-needs-prf",
          "IKE proposal \"" + proposal + "\" uses AEAD encryption and names no PRF (add e.g. prfsha384)");
    }
    if (!any(algs, AlgorithmKind::dh)) {
      add(ptr, "ike-needs-dh", "IKE proposal \"" + proposal + "\" names no DH group");
    }
  }

  void esp_proposal(std::size_t i, const std::string& proposal) {
    const std::string ptr = "/esp/proposals/" + std::to_string(i);
    const auto algs = tokens("ESP", ptr, proposal);
    // A misspelt keyword is reported once; guessing the structure around it would only add noise.
    if (any(algs, AlgorithmKind::unknown)) return;
    const bool aead = any(algs, AlgorithmKind::aead);
    const bool integrity = any(algs, AlgorithmKind::integrity) || any(algs, AlgorithmKind::gmac);
    const bool null = any(algs, AlgorithmKind::null_encryption) || any(algs, AlgorithmKind::gmac);
    if (!aead && !null && !any(algs, AlgorithmKind::encryption)) {
      add(ptr, "esp-encryption-missing",
          "ESP proposal \"" + proposal +
              "\" names no encryption algorithm (integrity-only ESP is spelled with null or aesNNNgmac)");
    }
    if (any(algs, AlgorithmKind::null_encryption) && !integrity) {
      add(ptr, "null-without-integrity",
          "ESP proposal \"" + proposal +
              "\" has NULL encryption and no integrity: no protection at all (RFC 4303)");
    } else if (null && p.zone == Zone::za) {
      add(ptr, "null-encryption-on-za",
          "ESP proposal \"" + proposal + "\" has no encryption; Za requires encryption (TS 33.210)");
    } else if (null && !p.encryption_optional) {
      add(ptr, "null-encryption-not-allowed",
          "ESP proposal \"" + proposal +
              "\" has no encryption; a Zb profile may drop encryption only with allow.null_encryption");
    }
    if (any(algs, AlgorithmKind::encryption) && !integrity) {
      add(ptr, "integrity-required",
          "ESP proposal \"" + proposal + "\" uses non-AEAD encryption without integrity");
    }
    if (!any(algs, AlgorithmKind::dh)) {
      add(ptr, "esp-pfs",
          "ESP proposal \"" + proposal + "\" names no DH group: CHILD_SA rekeys would lack PFS");
    }
    if (any(algs, AlgorithmKind::prf)) {
      add(ptr, "esp-no-prf", "ESP proposal \"" + proposal + "\" names a PRF, which only IKE uses");
    }
  }

  // strongSwan time syntax: a number with an optional s/m/h/d suffix.
  static long seconds(const std::string& t) {
    static const std::regex syntax("([0-9]{1,9})([smhd]?)");
    std::smatch m;
    if (!std::regex_match(t, m, syntax)) return -1;
    const long n = std::stol(m[1].str());
    const std::string unit = m[2].str();
    return unit == "m" ? n * 60 : unit == "h" ? n * 3600 : unit == "d" ? n * 86400 : n;
  }

  long time(const std::string& pointer, const std::string& value, bool optional) {
    if (value.empty() && optional) return 0;
    const long s = seconds(value);
    if (s <= 0) {
      add(pointer, "time-syntax",
          "\"" + value + "\" is not a positive strongSwan time (e.g. \"30s\", \"1h\", \"4h\")");
    }
    return s;
  }

  void run() {
    if (p.ike_version != 2) {
      add("/ike/version", "ikev2-only",
          "IKE version " + std::to_string(p.ike_version) + " is refused: NDS/IP uses IKEv2 only (TS 33.210)");
    }
    if (p.auth == "psk") {
      if (!p.allow_psk) {
        add("/ike/auth", "no-psk",
            "pre-shared keys are refused; TS 33.310 asks for certificates (set allow.psk to override)");
      }
    } else if (p.auth != "certificate") {
      add("/ike/auth", "auth", "\"" + p.auth + "\" is not an authentication method (certificate, psk)");
    }
    if (p.ike_proposals.empty()) add("/ike/proposals", "no-proposals", "no IKE proposals");
    for (std::size_t i = 0; i < p.ike_proposals.size(); ++i) ike_proposal(i, p.ike_proposals[i]);
    if (p.esp_proposals.empty()) add("/esp/proposals", "no-proposals", "no ESP proposals");
    for (std::size_t i = 0; i < p.esp_proposals.size(); ++i) esp_proposal(i, p.esp_proposals[i]);

    if (p.mode != "tunnel" && p.mode != "transport") {
      add("/esp/mode", "mode", "\"" + p.mode + "\" is not an ESP mode (tunnel, transport)");
    } else if (p.mode == "transport" && p.zone == Zone::za) {
      add("/esp/mode", "za-tunnel-only", "Za requires ESP tunnel mode (TS 33.210)");
    } else if (p.mode == "transport" && !p.allow_transport) {
      add("/esp/mode", "transport-not-allowed",
          "transport mode needs allow.transport_mode (Zb profiles only)");
    }
    if (p.zone == Zone::za && p.allow_transport) {
      add("/allow/transport_mode", "za-tunnel-only", "Za profiles cannot allow transport mode (TS 33.210)");
    }
    if (p.zone == Zone::za && p.encryption_optional) {
      add("/allow/null_encryption", "null-encryption-on-za",
          "Za profiles cannot make encryption optional (TS 33.210)");
    }

    time("/ike/rekey_time", p.ike_rekey_time, false);
    time("/ike/dpd_delay", p.dpd_delay, false);
    time("/ike/dpd_timeout", p.dpd_timeout, true);
    const long rekey = time("/esp/rekey_time", p.esp_rekey_time, false);
    const long life = time("/esp/life_time", p.esp_life_time, true);
    if (rekey > 0 && life > 0 && life <= rekey) {
      add("/esp/life_time", "life-after-rekey",
          "life_time " + p.esp_life_time + " must be longer than rekey_time " + p.esp_rekey_time +
              ", or the CHILD_SA expires before it is rekeyed");
    }
  }
};

}  // namespace

std::string PolicyProblem::to_string() const {
  std::string out = file;
  if (!pointer.empty()) out += (out.empty() ? "" : ": ") + pointer;
  out += (out.empty() ? "" : ": ") + message;
  if (!rule.empty()) out += " [" + rule + "]";
  return out;
}

std::vector<PolicyProblem> check_profile(const Profile& profile) {
  Checker c{profile, {}};
  c.run();
  return c.problems;
}

}  // namespace ndsip::policy
