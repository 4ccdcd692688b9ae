// Loading a topology file: JSON (nlohmann_json) into the model, with every error found, not
// only the first. Each error names the JSON pointer of the offending value. Nothing here
// throws for bad input; a Topology is returned only when there are no errors.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "topology/model.hpp"

namespace ndsip::topology {

struct Problem {
  std::string pointer;  // RFC 6901 JSON pointer, "" for the whole document
  std::string message;  // e.g. "\"10.0.0.300\" is not an IP address"
  int line = 0;         // 1-based line of the syntax error, or of the value `pointer` names (for a
                        // missing key: of its object); 0 when there is no text (file errors)

  // "/nodes/3/addresses/0: \"10.0.0.300\" is not an IP address"; a problem without a pointer
  // (syntax, encoding) starts with "line N: " instead when the line is known.
  std::string to_string() const;
};

struct LoadResult {
  std::optional<Topology> topology;  // set only when problems is empty
  std::vector<Problem> problems;     // in document order
};

// Limits that keep a hostile file from exhausting the daemon.
inline constexpr std::size_t max_topology_bytes = 64 * 1024 * 1024;
inline constexpr int max_json_depth = 32;

LoadResult load_topology_text(const std::string& text);
LoadResult load_topology_file(const std::string& path);

}  // namespace ndsip::topology
