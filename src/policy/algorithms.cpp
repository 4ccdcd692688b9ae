#include "policy/algorithms.hpp"

#include <array>
#include <regex>

namespace ndsip::policy {
namespace {

struct Entry {
  std::string_view pattern;  // ECMAScript regex over the whole token
  AlgorithmKind kind;
  std::string_view rule;     // "" when allowed
  std::string_view why;
  bool sha1 = false;
};

// Keywords as strongSwan's proposal parser spells them (proposal_keywords.txt). Anything
// else is "unknown": a typo must be an error, never a silently weaker proposal.
const std::array<Entry, 26> entries = {{
    {"aes(128|192|256)?(gcm|ccm)(8|12|16|64|96|128)?", AlgorithmKind::aead, "", ""},
    {"chacha20poly1305", AlgorithmKind::aead, "", ""},
    {"camellia(128|192|256)?ccm(8|12|16|64|96|128)?", AlgorithmKind::aead, "", ""},
    {"aes(128|192|256)?gmac", AlgorithmKind::gmac, "", ""},
    {"aes(128|192|256)?(ctr)?", AlgorithmKind::encryption, "", ""},
    {"camellia(128|192|256)?(ctr)?", AlgorithmKind::encryption, "", ""},
    {"null", AlgorithmKind::null_encryption, "", ""},
    {"3des", AlgorithmKind::encryption, "no-3des", "3DES is forbidden (RFC 8221, RFC 8247: 64-bit block)"},
    {"des|desiv64|desiv32", AlgorithmKind::encryption, "no-des", "DES is forbidden (RFC 8221, RFC 8247)"},
    {"blowfish(128|192|256)?|cast128|idea|rc5|3idea", AlgorithmKind::encryption, "no-legacy-cipher",
     "legacy cipher outside RFC 8221 / RFC 8247"},
    {"sha256|sha2_256|sha384|sha2_384|sha512|sha2_512", AlgorithmKind::integrity, "", ""},
    {"sha256_96|sha2_256_96", AlgorithmKind::integrity, "no-truncated-sha256",
     "truncated HMAC-SHA-256 (96 bits) is not interoperable (RFC 4868 uses 128 bits)"},
    {"aesxcbc|aescmac", AlgorithmKind::integrity, "", ""},
    {"sha1|sha|sha1_160", AlgorithmKind::integrity, "no-sha1",
     "SHA-1 integrity is refused unless the profile sets allow.legacy_sha1", true},
    {"md5|md5_128", AlgorithmKind::integrity, "no-md5", "MD5 is forbidden (RFC 8221, RFC 8247)"},
    {"prfsha256|prfsha384|prfsha512|prfaesxcbc|prfaescmac", AlgorithmKind::prf, "", ""},
    {"prfsha1", AlgorithmKind::prf, "no-sha1",
     "a SHA-1 PRF is refused unless the profile sets allow.legacy_sha1", true},
    {"prfmd5", AlgorithmKind::prf, "no-md5", "an MD5 PRF is forbidden (RFC 8247)"},
    {"modp2048|modp3072|modp4096|modp6144|modp8192", AlgorithmKind::dh, "", ""},
    {"ecp256|ecp384|ecp521|ecp256bp|ecp384bp|ecp512bp", AlgorithmKind::dh, "", ""},
    {"curve25519|x25519|curve448|x448", AlgorithmKind::dh, "", ""},
    {"modp768", AlgorithmKind::dh, "no-weak-dh", "DH group 1 (modp768) is forbidden (RFC 8247)"},
    {"modp1024", AlgorithmKind::dh, "no-weak-dh", "DH group 2 (modp1024) is forbidden (RFC 8247)"},
    {"modp1536", AlgorithmKind::dh, "no-weak-dh", "DH group 5 (modp1536) is forbidden (RFC 8247)"},
    {"modp1024s160|modp2048s224|modp2048s256|ecp192|ecp224|ecp224bp", AlgorithmKind::dh,
     "no-weak-dh", "this DH group is forbidden or not recommended (RFC 8247)"},
    {"esn|noesn", AlgorithmKind::esn, "", ""},
}};

}  // namespace

Algorithm classify_algorithm(std::string_view token) {
  static const std::vector<std::regex> compiled = [] {
    std::vector<std::regex> out;
    for (const Entry& e : entries) out.emplace_back(std::string(e.pattern));
    return out;
  }();
  Algorithm a;
  a.token = std::string(token);
  for (std::size_t i = 0; i < entries.size(); ++i) {
    if (std::regex_match(a.token, compiled[i])) {
      a.kind = entries[i].kind;
      a.forbidden_rule = std::string(entries[i].rule);
      a.forbidden_why = std::string(entries[i].why);
      a.sha1 = entries[i].sha1;
      return a;
    }
  }
  return a;
}

std::vector<Algorithm> parse_proposal(std::string_view proposal) {
  std::vector<Algorithm> out;
  std::size_t start = 0;
  while (start <= proposal.size()) {
    const std::size_t dash = proposal.find('-', start);
    const std::size_t end = dash == std::string_view::npos ? proposal.size() : dash;
    out.push_back(classify_algorithm(proposal.substr(start, end - start)));
    if (dash == std::string_view::npos) break;
    start = dash + 1;
  }
  return out;
}

}  // namespace ndsip::policy
