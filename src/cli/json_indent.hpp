// JSON as nlohmann's dump(2) prints it, from the compact text nlohmann's dump() made, without
// parsing it: ndsipctl status --json prints ndsipd's 3.5 MB answer (10,000 tunnels) exactly as
// it did when it parsed the answer and dumped it again, in a fraction of the time.
#pragma once

#include <iosfwd>
#include <string>
#include <string_view>

namespace ndsip::cli {

// `compact` must be valid JSON; whitespace between tokens is dropped. No final newline, as
// dump(2) has none. Written in 64 KiB pieces: the 5.7 MB of a 10,000-tunnel status are never
// held whole (fresh memory is paid for page by page, and in a VM dearly).
void write_indented_json(std::string_view compact, std::ostream& out);

// The same, as a string.
std::string indent_json(std::string_view compact);

}  // namespace ndsip::cli
