// The key a renewal certifies: generated here like the current one (same type and size) or
// as configured, or read from a file (pre-staged or HSM-made keys, and tests against a CA
// that returns a fixed certificate). Only key types TS 33.310 / ndsip's policy allows.
#pragma once

#include <string>

#include "certs/x509.hpp"

namespace ndsip::cmp {

// "rsa:3072", "ec:P-256", "ec:P-384", "ed25519"; "" when `key` is none of these.
std::string key_spec(EVP_PKEY* key);
// Whether `spec` is one generate() makes; otherwise the error says what is allowed.
bool valid_key_spec(const std::string& spec, std::string* error);
// A fresh key of `spec` (RSA at least 2048 bits). Throws std::runtime_error on a bad spec.
certs::Key generate_key(const std::string& spec);
// PKCS#8 PEM, unencrypted (written 0600 by the caller).
std::string private_key_pem(EVP_PKEY* key);
std::string certificate_pem(X509* cert);

}  // namespace ndsip::cmp
