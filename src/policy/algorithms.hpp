// strongSwan proposal keywords ("aes256gcm16-prfsha384-ecp384"), classified so the policy
// checker can apply TS 33.210 and the RFC 8221 / RFC 8247 algorithm guidance token by token.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace ndsip::policy {

enum class AlgorithmKind {
  encryption,       // non-AEAD cipher: needs an integrity algorithm beside it
  aead,             // AES-GCM/CCM, ChaCha20-Poly1305: encryption and integrity in one
  gmac,             // AES-GMAC: integrity only (NULL encryption in AEAD form), ESP only
  null_encryption,  // "null": no confidentiality
  integrity,
  prf,
  dh,
  esn,
  unknown,
};

struct Algorithm {
  std::string token;
  AlgorithmKind kind = AlgorithmKind::unknown;
  // Non-empty when the algorithm is refused: the rule id and why.
  std::string forbidden_rule;
  std::string forbidden_why;
  bool sha1 = false;  // refused unless the profile sets allow.legacy_sha1
};

Algorithm classify_algorithm(std::string_view token);

// Splits a proposal at '-' and classifies each token.
std::vector<Algorithm> parse_proposal(std::string_view proposal);

}  // namespace ndsip::policy
