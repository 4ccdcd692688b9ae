// TS 33.210 security profiles (policies/*.json) and connection templates per reference
// point (templates/*.json), as data, with the checker that refuses what NDS/IP and the
// algorithm guidance (RFC 8221, RFC 8247) forbid.
#pragma once

#include <map>
#include <string>
#include <vector>

namespace ndsip::policy {

enum class Zone { za, zb };  // Za: between domains (SEG-SEG); Zb: inside a domain

struct Profile {
  std::string name;                     // file stem: "za", "zb", ...
  std::string file;                     // where it was loaded from (for error messages)
  std::string description;
  Zone zone = Zone::za;                 // which interface it is meant for
  // IKE (IKEv2 only; certificate authentication unless allow_psk)
  int ike_version = 2;
  std::string auth = "certificate";        // "certificate" | "psk" (needs allow_psk)
  std::vector<std::string> ike_proposals;  // strongSwan proposal syntax, e.g. "aes256gcm16-prfsha384-ecp384"
  std::string ike_rekey_time = "4h";       // strongSwan time syntax
  std::string dpd_delay = "30s";
  std::string dpd_timeout;                 // IKEv1 only in charon; kept for operators who set it, empty by default
  // ESP
  std::vector<std::string> esp_proposals;  // e.g. "aes256gcm16-ecp384" (the DH group is PFS on rekey)
  std::string mode = "tunnel";             // "tunnel" | "transport" (transport only where allowed)
  bool allow_transport = false;            // Zb may allow transport mode
  bool encryption_optional = false;        // Zb only: ESP with NULL encryption (integrity kept) allowed
  std::string esp_rekey_time = "1h";
  std::string esp_life_time;               // empty: charon's default (rekey_time + 10%)
  // Explicit opt-ins for what is otherwise refused.
  bool allow_legacy_sha1 = false;          // SHA-1 integrity/PRF
  bool allow_psk = false;                  // pre-shared keys instead of certificates
};

struct Template {
  std::string name;                 // file stem: "seal-s", "seal-e", "km-s", "km-e", "sealdd-s", "sealdd-e", "seg-za", "seg-zb"
  std::string file;
  std::string description;
  std::string reference_point;      // "SEAL-S", "SEAL-E", "KM-S", "KM-E", "SEALDD-S", "SEALDD-E", "SEG-Za", "SEG-Zb"
  std::string za_profile = "za";    // profile when the hop crosses domains
  std::string zb_profile = "zb";    // profile inside a domain
  std::string start_action = "trap";   // "none" | "trap" | "start" | "trap|start"
  std::string close_action = "trap";   // "none" | "trap" | "start"
  std::string dpd_action = "restart";  // "clear" | "trap" | "restart"
};

struct PolicyProblem {
  std::string file;       // e.g. "policies/za.json"
  std::string pointer;    // JSON pointer in that file, e.g. "/esp/proposals/1"
  std::string rule;       // short rule id, e.g. "no-3des", "no-modp1024", "null-encryption-on-za"
  std::string message;    // "ESP proposal \"3des-sha256\" uses 3DES, forbidden by RFC 8221"

  std::string to_string() const;  // "policies/za.json: /esp/proposals/1: ... [no-3des]"
};

struct PolicySet {
  std::map<std::string, Profile> profiles;    // by name
  std::map<std::string, Template> templates;  // by name
};

struct PolicyLoadResult {
  PolicySet set;                         // complete only when problems is empty
  std::vector<PolicyProblem> problems;   // every problem in every file
};

// Loads every *.json in the two directories, checks each profile and template, and checks
// that templates name existing profiles. Deterministic order (by file name).
PolicyLoadResult load_policies(const std::string& policies_dir, const std::string& templates_dir);

// One file's text, for tests and for the loader. Every problem is reported; the result is
// usable only when the returned list is empty. `file` names the file in messages.
std::vector<PolicyProblem> load_profile_text(const std::string& text, const std::string& name,
                                             const std::string& file, Profile* out);
std::vector<PolicyProblem> load_template_text(const std::string& text, const std::string& name,
                                              const std::string& file, Template* out);

// The checker on its own (also used for profiles built in code, e.g. by tests). Pointers
// name the profile's JSON layout ("/esp/proposals/1").
std::vector<PolicyProblem> check_profile(const Profile& profile);

// Templates the planner needs, by file stem; each must be present.
const std::vector<std::string>& required_templates();

}  // namespace ndsip::policy
