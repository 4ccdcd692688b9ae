// Checks on the raw bytes of a topology, made before any JSON parser sees them: size,
// emptiness, UTF-8, binary data and nesting depth. nlohmann_json parses recursively, so a
// megabyte of "[[[[..." would overflow the stack inside it; the depth scan here is iterative
// and runs first. Internal to the topology part.
#pragma once

#include <cstddef>
#include <optional>
#include <string_view>

#include "topology/load.hpp"

namespace ndsip::topology::detail {

// 1-based line of the byte at `offset` (offsets past the end count as the last line).
int line_at(std::string_view text, std::size_t offset);

// The first problem found in the raw text, or nullopt when a JSON parser may have it.
std::optional<Problem> check_text(std::string_view text);

// Exposed for tests: offset of the first byte that breaks UTF-8 (RFC 3629: no overlong
// forms, no surrogates, nothing above U+10FFFF), or nullopt.
std::optional<std::size_t> invalid_utf8_at(std::string_view text);

// Exposed for tests: offset of the bracket that opens level max_depth + 1, or nullopt.
// Brackets inside strings do not count.
std::optional<std::size_t> too_deep_at(std::string_view text, int max_depth);

}  // namespace ndsip::topology::detail
