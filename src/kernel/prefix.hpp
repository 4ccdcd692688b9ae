// IP addresses and prefixes as the kernel keeps them: family, bytes, length. One type for
// the topology's addresses, charon's traffic selectors, XFRM selectors and routes, so every
// comparison is made on bytes, never on text ("2001:DB8::1" and "2001:db8:0::1" are one
// address).
#pragma once

#include <array>
#include <compare>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace ndsip::kernel {

struct Prefix {
  int family = 0;                       // AF_INET or AF_INET6; 0: none
  std::array<std::uint8_t, 16> bytes{};  // network byte order; bits past `length` are zero
  unsigned length = 0;                  // 0..32 or 0..128

  // "198.51.100.10", "10.0.0.0/24", "2001:db8::/32". Host bits are cleared ("10.0.0.1/24" is
  // 10.0.0.0/24: the kernel does the same with a selector). nullopt for anything else.
  static std::optional<Prefix> parse(std::string_view text);
  // A whole address (/32, /128) from its bytes (4 or 16 of them).
  static Prefix host(int family, const std::uint8_t* bytes, std::size_t size);
  // A prefix from the kernel's bytes (fewer than the family's are zero-filled: a default
  // route has none) and length (capped at the family's), host bits cleared.
  static Prefix from_bytes(int family, const std::uint8_t* bytes, std::size_t size, unsigned length);
  // The smallest prefix holding both `first` and `last` (same family): charon installs a
  // range traffic selector as this (traffic_selector_t::to_subnet).
  static Prefix covering(const Prefix& first, const Prefix& last);

  unsigned max_length() const;  // 32 or 128
  bool is_host() const { return length == max_length(); }
  // True when every address of `inner` is in this prefix (same family).
  bool contains(const Prefix& inner) const;
  // "10.0.0.0/24"; a host prefix without its length ("198.51.100.10") when `bare_host`.
  std::string str(bool bare_host = false) const;

  auto operator<=>(const Prefix&) const = default;
};

// The canonical text of an address ("2001:db8::1"), "" when `text` is not one address.
std::string canonical_address(std::string_view text);

}  // namespace ndsip::kernel
