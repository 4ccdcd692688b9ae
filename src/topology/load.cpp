// The public entry points: bytes -> checks on the raw text -> nlohmann_json -> decode ->
// validate -> model. Problems from all stages are put in document order and given lines.
#include "topology/load.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <nlohmann/json.hpp>
#include <system_error>
#include <unordered_set>

#include "topology/decode.hpp"
#include "topology/stages.hpp"
#include "topology/locate.hpp"
#include "topology/text.hpp"
#include "topology/validate.hpp"

namespace ndsip::topology {

std::string Problem::to_string() const {
  // The pointer leads, as `ndsipctl validate` promises ("/nodes/3/addresses/0: ..."). A
  // problem without one (syntax, encoding) is located by its line instead.
  std::string out;
  if (pointer.empty() && line > 0) out += "line " + std::to_string(line) + ": ";
  if (!pointer.empty()) out += pointer + ": ";
  return out + message;
}

namespace {

using detail::Problems;

// nlohmann's what() reads "[json.exception.parse_error.101] parse error at line 3, column 7:
// syntax error while parsing ..."; keep the part after the position, which we give ourselves.
std::string parser_detail(const std::string& what) {
  std::string detail = what;
  if (const auto pos = detail.find(": ");
      detail.rfind("[json.exception.", 0) == 0 && pos != std::string::npos) {
    detail = detail.substr(pos + 2);
  } else if (detail.rfind("[json.exception.", 0) == 0) {
    detail = detail.substr(detail.find(']') + 1);
    if (!detail.empty() && detail[0] == ' ') detail.erase(0, 1);
  }
  // The parser quotes the token it choked on, which can be as long as the input.
  constexpr std::size_t max = 200;
  if (detail.size() > max) {
    std::size_t cut = max;
    while (cut > 0 && (static_cast<unsigned char>(detail[cut]) & 0xc0) == 0x80) --cut;
    detail = detail.substr(0, cut) + "...";
  }
  return detail;
}

// Sorts problems into document order and gives each the line of the value it points at (or
// of the nearest enclosing value that exists: "missing key" points at its object).
void place(const std::string& text, Problems& problems,
           const std::vector<detail::DuplicateKey>& duplicates) {
  std::unordered_set<std::string> wanted;
  for (const Problem& p : problems) {
    for (std::string ptr = p.pointer;; ptr.resize(ptr.rfind('/'))) {
      wanted.insert(ptr);
      if (ptr.empty()) break;
    }
  }
  const detail::Located located = detail::locate(text, wanted);
  std::vector<std::pair<std::size_t, Problem>> keyed;
  for (Problem& p : problems) {
    detail::Position pos{0, 1};
    for (std::string ptr = p.pointer;; ptr.resize(ptr.rfind('/'))) {
      if (const auto it = located.positions.find(ptr); it != located.positions.end()) {
        pos = it->second;
        break;
      }
      if (ptr.empty()) break;
    }
    p.line = pos.line;
    keyed.emplace_back(pos.offset, std::move(p));
  }
  // A repeated key is placed at its own (second) occurrence; the locator's position for
  // that pointer is the first one's.
  for (const auto& dup : duplicates) {
    keyed.emplace_back(dup.position.offset, Problem{dup.pointer,
                                                    "duplicate key " + detail::quote(dup.key) +
                                                        " (JSON readers keep only one of them)",
                                                    dup.position.line});
  }
  std::stable_sort(keyed.begin(), keyed.end(),
                   [](const auto& x, const auto& y) { return x.first < y.first; });
  problems.clear();
  for (auto& [offset, p] : keyed) problems.push_back(std::move(p));
}

}  // namespace

namespace detail {

std::optional<nlohmann::json> parse_document(const std::string& text, Problems& problems) {
  if (auto p = check_text(text)) {
    problems.push_back(std::move(*p));
    return std::nullopt;
  }
  try {
    return nlohmann::json::parse(text);
  } catch (const nlohmann::json::parse_error& e) {
    // e.byte is the 1-based offset of the last character read.
    const std::size_t at = e.byte > 0 ? e.byte - 1 : 0;
    const std::size_t line_start = at == 0 ? 0 : text.rfind('\n', at - 1);
    const std::size_t column = line_start == std::string::npos || at == 0 ? at + 1 : at - line_start;
    problems.push_back(
        {"", "not valid JSON: " + parser_detail(e.what()) + " (column " + std::to_string(column) + ")", line_at(text, at)});
  } catch (const nlohmann::json::exception& e) {
    // Numbers too large for a double ("1e999") raise out_of_range, not parse_error.
    problems.push_back({"", "not valid JSON: " + parser_detail(e.what()), 0});
  }
  return std::nullopt;
}

void finish(const std::string& text, Problems& problems) {
  // Duplicate keys are looked for in every document (nlohmann drops them silently); the
  // positions only when there is something to place.
  const Located dups = locate(text, {});
  if (!problems.empty() || !dups.duplicates.empty()) place(text, problems, dups.duplicates);
}

}  // namespace detail

LoadResult load_topology_text(const std::string& text) {
  LoadResult result;
  Problems problems;
  const std::optional<nlohmann::json> doc = detail::parse_document(text, problems);
  if (!doc) {
    result.problems = std::move(problems);
    return result;
  }
  std::optional<detail::Draft> draft = detail::decode(*doc, problems);
  if (draft) detail::validate(*draft, problems);
  detail::finish(text, problems);
  if (!problems.empty()) {
    result.problems = std::move(problems);
    return result;
  }
  result.topology = detail::build(*draft);
  return result;
}

LoadResult load_topology_file(const std::string& path) {
  LoadResult result;
  auto fail = [&](const std::string& message) {
    result.problems.push_back({"", message, 0});
    return result;
  };
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    return fail("cannot open " + detail::quote(path) + ": " +
                std::error_code(errno, std::generic_category()).message());
  }
  struct FdCloser {
    int fd;
    ~FdCloser() { ::close(fd); }
  } closer{fd};
  struct stat st {};
  if (::fstat(fd, &st) != 0) {
    return fail("cannot read " + detail::quote(path) + ": " +
                std::error_code(errno, std::generic_category()).message());
  }
  if (S_ISDIR(st.st_mode))
    return fail(detail::quote(path) + " is a directory, not a topology file");
  // Refuse an oversized regular file before reading it; for pipes and the like the read
  // loop below stops one byte past the limit.
  if (S_ISREG(st.st_mode) && static_cast<std::uint64_t>(st.st_size) > max_topology_bytes) {
    return fail(detail::quote(path) + " is " + std::to_string(st.st_size) +
                " bytes, more than the limit of " + std::to_string(max_topology_bytes));
  }
  std::string text;
  char buffer[65536];
  while (text.size() <= max_topology_bytes) {
    const ssize_t n = ::read(fd, buffer, sizeof buffer);
    if (n < 0) {
      if (errno == EINTR) continue;
      return fail("cannot read " + detail::quote(path) + ": " +
                  std::error_code(errno, std::generic_category()).message());
    }
    if (n == 0) break;
    text.append(buffer, static_cast<std::size_t>(n));
  }
  return load_topology_text(text);
}

}  // namespace ndsip::topology
