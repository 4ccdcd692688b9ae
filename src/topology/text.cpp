#include "topology/text.hpp"

#include "common/json_depth.hpp"

#include <algorithm>
#include <cstdint>
#include <string>

namespace ndsip::topology::detail {

int line_at(std::string_view text, std::size_t offset) {
  offset = std::min(offset, text.size());
  return 1 + static_cast<int>(std::count(text.begin(),
                                         text.begin() + static_cast<std::ptrdiff_t>(offset), '\n'));
}

std::optional<std::size_t> invalid_utf8_at(std::string_view text) {
  const auto* p = reinterpret_cast<const std::uint8_t*>(text.data());
  const std::size_t n = text.size();
  std::size_t i = 0;
  while (i < n) {
    const std::uint8_t c = p[i];
    if (c < 0x80) {
      ++i;
      continue;
    }
    std::size_t len = 0;
    std::uint8_t lo = 0x80, hi = 0xbf;  // allowed range of the second byte
    if (c >= 0xc2 && c <= 0xdf) {
      len = 2;
    } else if (c >= 0xe0 && c <= 0xef) {
      len = 3;
      if (c == 0xe0) lo = 0xa0;  // overlong
      if (c == 0xed) hi = 0x9f;  // UTF-16 surrogates
    } else if (c >= 0xf0 && c <= 0xf4) {
      len = 4;
      if (c == 0xf0) lo = 0x90;  // overlong
      if (c == 0xf4) hi = 0x8f;  // above U+10FFFF
    } else {
      return i;  // continuation byte without a lead, 0xc0/0xc1 (overlong), 0xf5..0xff
    }
    if (i + len > n) return i;
    if (p[i + 1] < lo || p[i + 1] > hi) return i;
    for (std::size_t k = 2; k < len; ++k) {
      if ((p[i + k] & 0xc0) != 0x80) return i;
    }
    i += len;
  }
  return std::nullopt;
}

std::optional<std::size_t> too_deep_at(std::string_view text, int max_depth) {
  return common::json_too_deep_at(text, max_depth);
}

namespace {

Problem at(std::string_view text, std::size_t offset, std::string message) {
  return Problem{"", std::move(message), line_at(text, offset)};
}

}  // namespace

std::optional<Problem> check_text(std::string_view text) {
  if (text.size() > max_topology_bytes) {
    return Problem{"",
                   "the topology is " + std::to_string(text.size()) +
                       " bytes, more than the limit of " + std::to_string(max_topology_bytes),
                   0};
  }
  if (text.find_first_not_of(" \t\r\n") == std::string_view::npos) {
    return Problem{"", text.empty() ? "the file is empty" : "the file holds only white space", 0};
  }
  if (const auto nul = text.find('\0'); nul != std::string_view::npos) {
    return at(text, nul,
              "binary data (a NUL byte at offset " + std::to_string(nul) + "), not a JSON text");
  }
  if (const auto bad = invalid_utf8_at(text)) {
    char hex[8];
    static constexpr char digits[] = "0123456789abcdef";
    const auto byte = static_cast<std::uint8_t>(text[*bad]);
    hex[0] = '0';
    hex[1] = 'x';
    hex[2] = digits[byte >> 4];
    hex[3] = digits[byte & 15];
    hex[4] = '\0';
    return at(
        text, *bad,
        std::string("not UTF-8 text: invalid byte ") + hex + " at offset " + std::to_string(*bad));
  }
  if (const auto deep = too_deep_at(text, max_json_depth)) {
    return at(text, *deep,
              "nesting deeper than " + std::to_string(max_json_depth) +
                  " levels (a valid topology needs 4)");
  }
  return std::nullopt;
}

}  // namespace ndsip::topology::detail
