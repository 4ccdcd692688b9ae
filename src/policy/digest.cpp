#include "policy/digest.hpp"

#include <openssl/evp.h>

#include <stdexcept>

#include "policy/plan.hpp"

namespace ndsip::policy {
namespace {

// Length-prefixed fields, so ("ab","c") and ("a","bc") serialise differently.
void field(std::string& out, const std::string& value) {
  out += std::to_string(value.size());
  out += ':';
  out += value;
}

void fields(std::string& out, const std::vector<std::string>& values) {
  field(out, std::to_string(values.size()));
  for (const std::string& v : values) field(out, v);
}

}  // namespace

std::string connection_digest(const ConnectionPlan& c) {
  std::string canon;
  field(canon, c.name);
  field(canon, to_string(c.zone));
  fields(canon, c.local_addrs);
  fields(canon, c.remote_addrs);
  field(canon, c.local_id);
  field(canon, c.remote_id);
  field(canon, c.remote_ca_id);
  fields(canon, c.ike_proposals);
  field(canon, c.rekey_time);
  field(canon, c.dpd_delay);
  field(canon, c.dpd_timeout);
  field(canon, std::to_string(c.children.size()));
  for (const ChildPlan& ch : c.children) {
    field(canon, ch.name);
    fields(canon, ch.local_ts);
    fields(canon, ch.remote_ts);
    fields(canon, ch.esp_proposals);
    field(canon, ch.mode);
    field(canon, ch.rekey_time);
    field(canon, ch.life_time);
    field(canon, ch.start_action);
    field(canon, ch.close_action);
    field(canon, ch.dpd_action);
    if (ch.standby) {  // only then, so an active child's digest is what it was before standby existed
      field(canon, "standby");
      field(canon, ch.standby_for);
    }
    if (ch.picks_seg) field(canon, "picks-seg");  // likewise only when set
    if (ch.peer_picks_seg) field(canon, "peer-picks-seg");
  }
  return short_digest(canon);
}

std::string short_digest(std::string_view bytes) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  if (EVP_Digest(bytes.data(), bytes.size(), md, &len, EVP_sha256(), nullptr) != 1) {
    throw std::runtime_error("SHA-256 failed (OpenSSL)");
  }
  static const char* hex = "0123456789abcdef";
  std::string out;
  for (unsigned int i = 0; i < 8; ++i) {
    out += hex[md[i] >> 4];
    out += hex[md[i] & 0xf];
  }
  return out;
}

}  // namespace ndsip::policy
