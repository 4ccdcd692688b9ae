#include "cmp/new_key.hpp"

#include <openssl/bio.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/objects.h>
#include <openssl/pem.h>

#include <charconv>
#include <stdexcept>

namespace ndsip::cmp {

namespace {

// RSA below 2048 bits is refused by TS 33.310 and ndsip's policy; above 8192 a keygen takes
// minutes and no CA of an operator asks for it.
constexpr int kMinRsaBits = 2048;
constexpr int kMaxRsaBits = 8192;

const char* const kAllowed = "rsa:<bits> (2048 to 8192), ec:P-256, ec:P-384 or ed25519";

struct BioFree { void operator()(BIO* b) const { BIO_free(b); } };
using Bio = std::unique_ptr<BIO, BioFree>;

std::string drain(BIO* bio) {
  char* data = nullptr;
  const long n = BIO_get_mem_data(bio, &data);
  return n > 0 ? std::string(data, static_cast<std::size_t>(n)) : std::string();
}

// The bits of "rsa:<bits>", or 0 when `spec` is not of that form.
int rsa_bits(const std::string& spec) {
  const std::string prefix = "rsa:";
  if (spec.rfind(prefix, 0) != 0) return 0;
  int bits = 0;
  const char* first = spec.data() + prefix.size();
  const char* last = spec.data() + spec.size();
  const auto [end, ec] = std::from_chars(first, last, bits);
  if (ec != std::errc() || end != last || first == last) return 0;
  return bits;
}

}  // namespace

std::string key_spec(EVP_PKEY* key) {
  if (!key) return "";
  if (EVP_PKEY_is_a(key, "RSA")) {
    const int bits = EVP_PKEY_get_bits(key);
    return bits >= kMinRsaBits && bits <= kMaxRsaBits ? "rsa:" + std::to_string(bits) : "";
  }
  if (EVP_PKEY_is_a(key, "ED25519")) return "ed25519";
  if (EVP_PKEY_is_a(key, "EC")) {
    char group[64] = {};
    std::size_t len = 0;
    if (EVP_PKEY_get_utf8_string_param(key, OSSL_PKEY_PARAM_GROUP_NAME, group, sizeof group, &len) != 1) {
      ERR_clear_error();
      return "";
    }
    // The provider names the group "prime256v1" / "secp384r1"; the spec uses the NIST name.
    const char* nist = EC_curve_nid2nist(OBJ_txt2nid(group));
    const std::string name = nist ? nist : "";
    return name == "P-256" || name == "P-384" ? "ec:" + name : "";
  }
  return "";
}

bool valid_key_spec(const std::string& spec, std::string* error) {
  auto fail = [&](const std::string& why) {
    if (error) *error = why;
    return false;
  };
  if (spec == "ec:P-256" || spec == "ec:P-384" || spec == "ed25519") return true;
  if (spec.rfind("rsa:", 0) == 0) {
    const int bits = rsa_bits(spec);
    if (bits == 0) return fail("key spec \"" + spec + "\" has no RSA size in bits; use " + kAllowed);
    if (bits < kMinRsaBits) {
      return fail("RSA key of " + std::to_string(bits) + " bits is too small (at least " +
                  std::to_string(kMinRsaBits) + ")");
    }
    if (bits > kMaxRsaBits) {
      return fail("RSA key of " + std::to_string(bits) + " bits is too large (at most " +
                  std::to_string(kMaxRsaBits) + ")");
    }
    return true;
  }
  if (spec.empty()) return fail(std::string("no key spec given; use ") + kAllowed);
  return fail("unsupported key spec \"" + spec + "\"; use " + kAllowed);
}

certs::Key generate_key(const std::string& spec) {
  std::string error;
  if (!valid_key_spec(spec, &error)) throw std::runtime_error(error);
  EVP_PKEY* key = nullptr;
  if (spec == "ed25519") {
    key = EVP_PKEY_Q_keygen(nullptr, nullptr, "ED25519");
  } else if (spec.rfind("ec:", 0) == 0) {
    key = EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", spec.substr(3).c_str());
  } else {
    key = EVP_PKEY_Q_keygen(nullptr, nullptr, "RSA", static_cast<std::size_t>(rsa_bits(spec)));
  }
  if (!key) {
    ERR_clear_error();
    throw std::runtime_error("cannot generate a " + spec + " key");
  }
  return certs::Key(key);
}

std::string private_key_pem(EVP_PKEY* key) {
  Bio bio(BIO_new(BIO_s_mem()));
  if (!key || !bio || PEM_write_bio_PrivateKey(bio.get(), key, nullptr, nullptr, 0, nullptr, nullptr) != 1) {
    ERR_clear_error();
    return "";
  }
  return drain(bio.get());
}

std::string certificate_pem(X509* cert) {
  Bio bio(BIO_new(BIO_s_mem()));
  if (!cert || !bio || PEM_write_bio_X509(bio.get(), cert) != 1) {
    ERR_clear_error();
    return "";
  }
  return drain(bio.get());
}

}  // namespace ndsip::cmp
