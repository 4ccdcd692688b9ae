// Syntax of the names in a topology: node and domain names (they become parts of charon
// connection and child names), certificate identities (FQDNs) and CA distinguished names.
// Internal to the topology part.
#pragma once

#include <string_view>

namespace ndsip::topology::detail {

inline constexpr std::size_t max_name_length = 32;

// [a-z0-9-]{1,32}, starting with a letter: safe in swanctl section names, file names and
// log lines, and free of "_" and "." which the planner uses as separators.
bool is_valid_name(std::string_view name);

// Why `identity` is not a host name per RFC 1123 with at least two labels, or nullptr.
const char* fqdn_problem(std::string_view identity);

// Why `dn` does not look like a distinguished name ("C=DE, O=..., CN=..."), or nullptr.
// Only the shape is checked; charon parses it when the planner hands it over.
const char* dn_problem(std::string_view dn);

}  // namespace ndsip::topology::detail
