// Base64 as etcd's JSON gateway writes it (RFC 4648, padded): keys and values are bytes in
// etcd, and the gateway's JSON carries bytes this way.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace ndsip::etcd {

std::string base64_encode(std::string_view bytes);
// nullopt unless `text` is padded base64 of the standard alphabet (no line breaks).
std::optional<std::string> base64_decode(std::string_view text);

}  // namespace ndsip::etcd
