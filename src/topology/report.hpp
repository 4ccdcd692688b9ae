// Small helpers for writing problems: JSON pointers, quoting values, "did you mean" hints.
// Internal to the topology part.
#pragma once

#include <cstddef>
#include <nlohmann/json.hpp>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "topology/load.hpp"

namespace ndsip::topology::detail {

using Problems = std::vector<Problem>;

// RFC 6901: appends "/" and the key with "~" and "/" escaped.
std::string pointer(const std::string& base, std::string_view key);
std::string pointer(const std::string& base, std::size_t index);

// A string as a JSON string literal, shortened to 64 characters so a hostile value cannot
// blow up a message.
std::string quote(std::string_view text);

// "the string \"x\"", "the number 3", "an object", ... for "must be X, got Y" messages.
std::string describe(const nlohmann::json& value);

// Levenshtein distance, for typo hints. Returns a value > limit as soon as it is known to
// exceed it.
std::size_t edit_distance(std::string_view a, std::string_view b, std::size_t limit);

// The candidate `text` was probably meant to be, or nullopt: a small edit distance relative
// to the length, or a case-only difference.
std::optional<std::string> closest(std::string_view text, std::span<const std::string> candidates);

// " (did you mean \"x\"?)" or "".
std::string hint(std::string_view text, std::span<const std::string> candidates);

}  // namespace ndsip::topology::detail
