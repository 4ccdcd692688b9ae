// How deep a JSON text nests, found without parsing it. nlohmann_json parses recursively, so
// a few megabytes of "[[[[..." would exhaust the stack (or, on the control socket, hold the
// loop for tens of seconds); this iterative scan runs before any parser sees untrusted text.
// The topology loader and the control socket share it.
#pragma once

#include <cstddef>
#include <optional>
#include <string_view>

namespace ndsip::common {

// Offset of the bracket that opens level max_depth + 1, or nullopt. Brackets inside strings
// do not count; unbalanced closers cannot buy depth.
std::optional<std::size_t> json_too_deep_at(std::string_view text, int max_depth);

}  // namespace ndsip::common
