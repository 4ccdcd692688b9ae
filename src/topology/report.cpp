#include "topology/report.hpp"

#include <algorithm>
#include <cctype>

namespace ndsip::topology::detail {

std::string pointer(const std::string& base, std::string_view key) {
  std::string out = base;
  out += '/';
  for (char c : key) {
    if (c == '~') {
      out += "~0";
    } else if (c == '/') {
      out += "~1";
    } else {
      out += c;
    }
  }
  return out;
}

std::string pointer(const std::string& base, std::size_t index) {
  return base + "/" + std::to_string(index);
}

std::string quote(std::string_view text) {
  constexpr std::size_t max_chars = 64;
  std::size_t cut = text.size();
  std::size_t chars = 0;
  for (std::size_t i = 0; i < text.size(); ++i) {
    // Count code points by their lead bytes, so the cut never splits a UTF-8 sequence.
    if ((static_cast<unsigned char>(text[i]) & 0xc0) != 0x80 && chars++ == max_chars) {
      cut = i;
      break;
    }
  }
  // dump() escapes quotes and control characters; "replace" keeps it from throwing should
  // a value ever hold invalid UTF-8 (the loader rejects such files before this point).
  std::string out = nlohmann::json(std::string(text.substr(0, cut)))
                        .dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  if (cut < text.size()) out.insert(out.size() - 1, "...");
  return out;
}

std::string describe(const nlohmann::json& value) {
  switch (value.type()) {
    case nlohmann::json::value_t::object: return "an object";
    case nlohmann::json::value_t::array: return "an array";
    case nlohmann::json::value_t::string:
      return "the string " + quote(value.get_ref<const std::string&>());
    case nlohmann::json::value_t::boolean: return value.get<bool>() ? "true" : "false";
    case nlohmann::json::value_t::null: return "null";
    case nlohmann::json::value_t::number_integer:
    case nlohmann::json::value_t::number_unsigned:
    case nlohmann::json::value_t::number_float: return "the number " + value.dump();
    default: return "a value of an unexpected type";
  }
}

std::size_t edit_distance(std::string_view a, std::string_view b, std::size_t limit) {
  const std::size_t gap = a.size() > b.size() ? a.size() - b.size() : b.size() - a.size();
  if (gap > limit) return limit + 1;
  // Two rows of the classic table; strings here are keys and names, so short.
  std::vector<std::size_t> prev(b.size() + 1), cur(b.size() + 1);
  for (std::size_t j = 0; j <= b.size(); ++j) prev[j] = j;
  for (std::size_t i = 1; i <= a.size(); ++i) {
    cur[0] = i;
    std::size_t row_min = cur[0];
    for (std::size_t j = 1; j <= b.size(); ++j) {
      const std::size_t subst = prev[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1);
      cur[j] = std::min({prev[j] + 1, cur[j - 1] + 1, subst});
      row_min = std::min(row_min, cur[j]);
    }
    if (row_min > limit) return limit + 1;
    std::swap(prev, cur);
  }
  return prev[b.size()];
}

std::optional<std::string> closest(std::string_view text, std::span<const std::string> candidates) {
  if (text.empty() || text.size() > 64) return std::nullopt;
  std::string lower(text);
  std::transform(lower.begin(), lower.end(), lower.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  std::optional<std::string> best;
  std::size_t best_distance = 0;
  for (const std::string& candidate : candidates) {
    if (candidate == text) continue;
    // Up to 2 edits, and fewer than a third of the candidate, so "ca" does not become "name".
    const std::size_t limit = std::min<std::size_t>(2, candidate.size() / 3);
    std::size_t d = lower == candidate ? 0 : edit_distance(text, candidate, limit);
    if (d <= limit && (!best || d < best_distance)) {
      best = candidate;
      best_distance = d;
    }
  }
  return best;
}

std::string hint(std::string_view text, std::span<const std::string> candidates) {
  const auto c = closest(text, candidates);
  return c ? " (did you mean " + quote(*c) + "?)" : "";
}

}  // namespace ndsip::topology::detail
