#include "topology/address.hpp"

#include <arpa/inet.h>
#include <sys/socket.h>

#include <algorithm>

namespace ndsip::topology::detail {

std::optional<IpAddress> parse_ip(std::string_view text) {
  // inet_pton wants a NUL-terminated string: copy into a bounded buffer (longest valid text
  // is an IPv6 address with an embedded IPv4 tail, 45 characters). A NUL inside the view
  // would otherwise cut the text short and accept "192.0.2.1\0junk".
  char buffer[INET6_ADDRSTRLEN + 1];
  if (text.empty() || text.size() >= sizeof buffer || text.find('\0') != std::string_view::npos) {
    return std::nullopt;
  }
  std::copy(text.begin(), text.end(), buffer);
  buffer[text.size()] = '\0';
  IpAddress out;
  out.v6 = text.find(':') != std::string_view::npos;
  if (inet_pton(out.v6 ? AF_INET6 : AF_INET, buffer, out.bytes.data()) != 1) return std::nullopt;
  return out;
}

std::string to_text(const IpAddress& address) {
  char buffer[INET6_ADDRSTRLEN];
  if (!inet_ntop(address.v6 ? AF_INET6 : AF_INET, address.bytes.data(), buffer, sizeof buffer)) {
    return "?";  // cannot happen for a valid family and buffer size
  }
  return buffer;
}

const char* unusable_reason(const IpAddress& a) {
  const auto& b = a.bytes;
  if (!a.v6) {
    if (b[0] == 0 && b[1] == 0 && b[2] == 0 && b[3] == 0) return "the unspecified address";
    if (b[0] == 127) return "a loopback address";
    if (b[0] >= 224 && b[0] <= 239) return "a multicast address";
    if (b[0] == 255 && b[1] == 255 && b[2] == 255 && b[3] == 255) return "the broadcast address";
    return nullptr;
  }
  const bool zero_prefix = std::all_of(b.begin(), b.begin() + 10, [](auto x) { return x == 0; });
  if (zero_prefix && b[10] == 0 && b[11] == 0 && b[12] == 0 && b[13] == 0 && b[14] == 0) {
    if (b[15] == 0) return "the unspecified address";
    if (b[15] == 1) return "a loopback address";
  }
  // IPv4-mapped: charon and the kernel treat these as IPv4, so the file must say IPv4.
  if (zero_prefix && b[10] == 0xff && b[11] == 0xff)
    return "an IPv4-mapped IPv6 address (write the IPv4 address)";
  if (b[0] == 0xff) return "a multicast address";
  // Link-local needs a zone index, which a topology shared by all hosts cannot give.
  if (b[0] == 0xfe && (b[1] & 0xc0) == 0x80) return "a link-local address";
  return nullptr;
}

namespace {

// Clears the bits after `length`; returns whether any were set.
bool clear_host_bits(IpAddress& a, int length) {
  bool had = false;
  for (int i = 0; i < a.bits() / 8; ++i) {
    const int keep = std::clamp(length - i * 8, 0, 8);
    const auto mask = static_cast<std::uint8_t>(keep == 0 ? 0 : 0xff << (8 - keep));
    if (a.bytes[static_cast<std::size_t>(i)] & ~mask & 0xff) had = true;
    a.bytes[static_cast<std::size_t>(i)] &= mask;
  }
  return had;
}

}  // namespace

PrefixParse parse_prefix(std::string_view text) {
  PrefixParse out;
  const auto slash = text.find('/');
  if (slash == std::string_view::npos) {
    out.error = PrefixError::not_cidr;
    return out;
  }
  const auto address = parse_ip(text.substr(0, slash));
  if (!address) {
    out.error = PrefixError::bad_address;
    return out;
  }
  const std::string_view digits = text.substr(slash + 1);
  // At most 3 digits, no sign, no leading zero (so "/024" is not silently "/24").
  if (digits.empty() || digits.size() > 3 || (digits.size() > 1 && digits[0] == '0') ||
      !std::all_of(digits.begin(), digits.end(), [](char c) { return c >= '0' && c <= '9'; })) {
    out.error = PrefixError::bad_length;
    return out;
  }
  int length = 0;
  for (char c : digits) length = length * 10 + (c - '0');
  if (length > address->bits()) {
    out.error = PrefixError::bad_length;
    return out;
  }
  out.prefix.address = *address;
  out.prefix.length = length;
  if (clear_host_bits(out.prefix.address, length)) out.error = PrefixError::host_bits;
  return out;
}

std::string to_text(const Prefix& prefix) {
  return to_text(prefix.address) + "/" + std::to_string(prefix.length);
}

Prefix host_prefix(const IpAddress& address) { return Prefix{address, address.bits()}; }

std::optional<Prefix> span_of(std::string_view text) {
  if (text.find('/') == std::string_view::npos) {
    const auto address = parse_ip(text);
    if (!address) return std::nullopt;
    return host_prefix(*address);
  }
  const PrefixParse r = parse_prefix(text);
  if (r.error != PrefixError::none) return std::nullopt;
  return r.prefix;
}

Prefix truncated(const Prefix& prefix, int length) {
  Prefix out{prefix.address, length};
  clear_host_bits(out.address, length);
  return out;
}

}  // namespace ndsip::topology::detail
