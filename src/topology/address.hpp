// IP addresses and prefixes as the topology file writes them. Parsing goes through the C
// library's inet_pton, so ndsip accepts exactly what the kernel and charon accept, and the
// canonical text comes from inet_ntop, so "2001:DB8:0::10" and "2001:db8::10" compare equal.
// Internal to the topology part.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace ndsip::topology::detail {

struct IpAddress {
  bool v6 = false;
  std::array<std::uint8_t, 16> bytes{};  // network order; IPv4 uses the first 4

  int bits() const { return v6 ? 128 : 32; }
  bool operator==(const IpAddress&) const = default;
};

// Strict: dotted-quad IPv4 (no leading zeros, no short forms) or RFC 4291 IPv6 text, no zone
// index, no whitespace.
std::optional<IpAddress> parse_ip(std::string_view text);
std::string to_text(const IpAddress& address);

// Why an address cannot be a tunnel end point, or nullptr when it can.
const char* unusable_reason(const IpAddress& address);

struct Prefix {
  IpAddress address;
  int length = 0;
};

enum class PrefixError { none, not_cidr, bad_address, bad_length, host_bits };

struct PrefixParse {
  PrefixError error = PrefixError::none;
  Prefix prefix;  // with host bits cleared, also for host_bits (the suggested correction)
};

// "address/length"; the length is decimal without sign or leading zeros.
PrefixParse parse_prefix(std::string_view text);
std::string to_text(const Prefix& prefix);

// The address as a single-host prefix (/32 or /128).
Prefix host_prefix(const IpAddress& address);

// A canonical value of the draft as the span of addresses it stands for: an address as its
// host prefix, "address/length" as that prefix; nullopt for anything else.
std::optional<Prefix> span_of(std::string_view text);

// `prefix` cut to its first `length` bits (length <= prefix.length).
Prefix truncated(const Prefix& prefix, int length);

}  // namespace ndsip::topology::detail
