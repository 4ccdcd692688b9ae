// A second look at JSON text nlohmann_json has already accepted: where each value starts
// (so problems can carry a line and be sorted into document order, which nlohmann's sorted
// objects lose) and which object keys appear twice (nlohmann silently keeps the last one, so
// a repeated "addresses" would drop the first list). Internal to the topology part.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <unordered_map>
#include <unordered_set>
#include <vector>

namespace ndsip::topology::detail {

struct Position {
  std::size_t offset = 0;
  int line = 1;
};

struct DuplicateKey {
  std::string pointer;  // of the second (or later) occurrence
  std::string key;
  Position position;
};

struct Located {
  std::unordered_map<std::string, Position> positions;  // only the wanted pointers
  std::vector<DuplicateKey> duplicates;                 // in document order
};

// `text` must be valid JSON nested at most max_json_depth deep (the recursion relies on it).
// Positions are recorded for the pointers in `wanted` only, which keeps a large valid
// topology cheap.
Located locate(std::string_view text, const std::unordered_set<std::string>& wanted);

}  // namespace ndsip::topology::detail
