// `ndsipctl status` for people: a header (node, topology, charon, certificate) and a table of
// tunnels whose columns are as wide as their widest cell, so nothing runs into its neighbour.
#pragma once

#include <iosfwd>
#include <string>

#include <nlohmann/json.hpp>

namespace ndsip::cli {

// Prints ndsipd's status answer (docs/control.md) as the header and the table.
void print_status(const nlohmann::json& status, std::ostream& out);

// The certificate renewal over CMP (status's credentials.renewal, certs' own.renewal) in one
// line: the next attempt and the last one's outcome; "" when renewal is off.
std::string renewal_line(const nlohmann::json& renewal);

// "1d2h3m4s"; "0s" for zero.
std::string duration(long long seconds);

}  // namespace ndsip::cli
