// The stages a topology text goes through before and after decoding, shared by the full load
// (load.cpp) and the incremental path (state.cpp) so both report the same problems the same
// way. Internal to the topology part.
#pragma once

#include <nlohmann/json.hpp>
#include <optional>
#include <string>

#include "topology/report.hpp"

namespace ndsip::topology::detail {

// The raw-text checks and the parse: the document, or nullopt with the one problem that
// stops everything (encoding, size, syntax).
std::optional<nlohmann::json> parse_document(const std::string& text, Problems& problems);

// Adds the keys the text repeats (nlohmann keeps only the last), then sorts every problem
// into document order and gives it its line.
void finish(const std::string& text, Problems& problems);

}  // namespace ndsip::topology::detail
