// Reading a whole file into a string. One helper instead of a private ifstream copy in every
// part: it is binary-safe, refuses directories (an ifstream "opens" a directory and reads
// nothing, which looked like an empty file) and can say why it failed.
#pragma once

#include <optional>
#include <string>

namespace ndsip::common {

struct ReadResult {
  std::optional<std::string> text;  // the whole file; nullopt when it could not be read
  std::string error;                // "cannot read PATH: REASON" when text is nullopt
};

// The whole file, byte for byte; nullopt when it cannot be opened or read, or is a directory.
std::optional<std::string> read_file(const std::string& path);

// The same, with the reason (strerror text) when it fails.
ReadResult read_file_or_error(const std::string& path);

}  // namespace ndsip::common
