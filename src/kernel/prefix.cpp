#include "kernel/prefix.hpp"

#include <arpa/inet.h>
#include <sys/socket.h>

#include <algorithm>
#include <charconv>
#include <cstring>

namespace ndsip::kernel {
namespace {

// Clears the bits past `length`.
void mask(Prefix& p) {
  for (unsigned bit = p.length; bit < 128; ++bit) {
    p.bytes[bit / 8] &= static_cast<std::uint8_t>(~(0x80u >> (bit % 8)));
  }
}

bool bit_at(const Prefix& p, unsigned bit) { return (p.bytes[bit / 8] & (0x80u >> (bit % 8))) != 0; }

std::optional<Prefix> parse_address(std::string_view text) {
  // inet_pton wants a terminated string; an address is at most 45 characters.
  char buffer[64];
  if (text.empty() || text.size() >= sizeof buffer) return std::nullopt;
  std::memcpy(buffer, text.data(), text.size());
  buffer[text.size()] = '\0';
  Prefix p;
  if (::inet_pton(AF_INET, buffer, p.bytes.data()) == 1) {
    p.family = AF_INET;
    p.length = 32;
    return p;
  }
  if (::inet_pton(AF_INET6, buffer, p.bytes.data()) == 1) {
    p.family = AF_INET6;
    p.length = 128;
    return p;
  }
  return std::nullopt;
}

}  // namespace

unsigned Prefix::max_length() const { return family == AF_INET6 ? 128 : 32; }

std::optional<Prefix> Prefix::parse(std::string_view text) {
  const auto slash = text.find('/');
  auto p = parse_address(text.substr(0, slash));
  if (!p) return std::nullopt;
  if (slash != std::string_view::npos) {
    const std::string_view digits = text.substr(slash + 1);
    unsigned length = 0;
    const auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), length);
    if (digits.empty() || ec != std::errc() || end != digits.data() + digits.size() || length > p->max_length()) {
      return std::nullopt;
    }
    p->length = length;
    mask(*p);
  }
  return p;
}

Prefix Prefix::host(int family, const std::uint8_t* bytes, std::size_t size) {
  return from_bytes(family, bytes, size, family == AF_INET6 ? 128 : 32);
}

Prefix Prefix::from_bytes(int family, const std::uint8_t* bytes, std::size_t size, unsigned length) {
  Prefix p;
  p.family = family;
  p.length = std::min(length, p.max_length());
  if (bytes) std::memcpy(p.bytes.data(), bytes, std::min<std::size_t>(size, p.max_length() / 8));
  mask(p);
  return p;
}

Prefix Prefix::covering(const Prefix& first, const Prefix& last) {
  Prefix p = first;
  unsigned length = 0;
  const unsigned limit = std::min(first.length, last.length);
  while (length < limit && bit_at(first, length) == bit_at(last, length)) ++length;
  p.length = length;
  mask(p);
  return p;
}

bool Prefix::contains(const Prefix& inner) const {
  if (family != inner.family || inner.length < length) return false;
  for (unsigned bit = 0; bit < length; ++bit) {
    if (bit_at(*this, bit) != bit_at(inner, bit)) return false;
  }
  return true;
}

std::string Prefix::str(bool bare_host) const {
  if (family != AF_INET && family != AF_INET6) return "?";
  char buffer[INET6_ADDRSTRLEN];
  ::inet_ntop(family, bytes.data(), buffer, sizeof buffer);
  std::string out = buffer;
  if (!(bare_host && is_host())) out += "/" + std::to_string(length);
  return out;
}

std::string canonical_address(std::string_view text) {
  const auto p = parse_address(text);
  return p ? p->str(true) : std::string();
}

}  // namespace ndsip::kernel
