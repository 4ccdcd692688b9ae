#include "topology/slices.hpp"

#include <cstring>

#include "topology/load.hpp"
#include "topology/text.hpp"

namespace ndsip::topology::detail {

namespace {

// One pass over the text, iterative (a value is skipped by counting brackets, never by
// recursion). Every function returns false at the first thing outside the plain shape.
class Scanner {
 public:
  Scanner(std::string_view text, const KnownSize& known) : t_(text), known_(known) {}

  std::optional<Cut> run() {
    // The size limit is the full path's to report (text.cpp); so is an empty text, which
    // fails at the brace below.
    if (t_.size() > max_topology_bytes) return std::nullopt;
    Cut cut;
    space();
    if (!take('{')) return std::nullopt;
    space();
    if (!take('}')) {
      do {
        space();
        std::string_view key;
        if (!key_token(key)) return std::nullopt;
        const int list = list_index(key);
        // A repeated key is a problem the full path words (and nlohmann would keep only one).
        if (list >= 0 ? cut.lists[list].has_value() : repeated(cut.header, key)) return std::nullopt;
        space();
        if (!take(':')) return std::nullopt;
        space();
        if (list >= 0) {
          if (!elements(list, cut.lists[list].emplace())) return std::nullopt;
        } else {
          const std::size_t start = i_;
          if (!value(2)) return std::nullopt;  // the top-level object is level 1
          cut.header.push_back({key, {start, i_ - start}});
        }
        space();
      } while (take(','));
      if (!take('}')) return std::nullopt;
    }
    space();
    if (i_ != t_.size()) return std::nullopt;
    return cut;
  }

 private:
  static int list_index(std::string_view key) {
    for (int l = 0; l < 4; ++l) {
      if (key == list_keys[l]) return l;
    }
    return -1;
  }

  static bool repeated(const std::vector<Cut::Member>& header, std::string_view key) {
    for (const auto& m : header) {
      if (m.key == key) return true;
    }
    return false;
  }

  char peek() const { return i_ < t_.size() ? t_[i_] : '\0'; }
  bool take(char c) {
    if (i_ >= t_.size() || t_[i_] != c) return false;
    ++i_;
    return true;
  }
  void space() {
    while (i_ < t_.size() && (t_[i_] == ' ' || t_[i_] == '\t' || t_[i_] == '\r' || t_[i_] == '\n')) ++i_;
  }

  // A key, compared by its raw bytes: so no escapes (two spellings of one key would pass as
  // different) and no control characters; its UTF-8 is checked here as no parser sees it.
  bool key_token(std::string_view& key) {
    if (!take('"')) return false;
    const std::size_t start = i_;
    for (; i_ < t_.size(); ++i_) {
      const auto c = static_cast<unsigned char>(t_[i_]);
      if (c == '"') {
        key = t_.substr(start, i_ - start);
        ++i_;
        return !invalid_utf8_at(key).has_value();
      }
      if (c == '\\' || c < 0x20) return false;
    }
    return false;
  }

  // A list: '[' then objects separated by commas, then ']'. Level 2 in the document.
  bool elements(int list, std::vector<Slice>& out) {
    if (!take('[')) return false;
    space();
    if (take(']')) return true;
    do {
      space();
      if (peek() != '{') return false;
      const std::size_t start = i_;
      const std::size_t known = known_(list, t_.substr(i_));
      if (known > 0 && known <= t_.size() - i_) {
        i_ += known;
      } else if (!value(3)) {
        return false;
      }
      out.push_back({start, i_ - start});
      space();
    } while (take(','));
    return take(']');
  }

  // Skips one value whose first bracket, if any, opens nesting level `level`. Scalars run to
  // the next delimiter; the parser that reads the slice decides whether they are valid.
  bool value(int level) {
    const std::size_t start = i_;
    switch (peek()) {
      case '{':
      case '[': return brackets(level);
      case '"': return string();
      default:
        // A number, true, false or null. Not anything else: parsed on its own, a slice
        // starting with a byte order mark would pass (nlohmann skips one at the start).
        if (std::strchr("-0123456789tfn", peek()) == nullptr || peek() == '\0') return false;
        while (i_ < t_.size() && std::strchr(",]} \t\r\n", t_[i_]) == nullptr) ++i_;
        // strchr also matches the terminating NUL: a NUL byte stops the scalar, and then
        // fails as the separator it is not.
        return i_ > start;
    }
  }

  // Brackets are counted, not matched by kind: for valid JSON the count finds the end, and
  // a slice that is not valid JSON fails when it is parsed. The depth is checked before any
  // parser sees the slice (nlohmann recurses).
  bool brackets(int level) {
    int depth = 0;
    while (i_ < t_.size()) {
      switch (t_[i_]) {
        case '"':
          if (!string()) return false;
          continue;
        case '{':
        case '[':
          if (level + depth > max_json_depth) return false;
          ++depth;
          break;
        case '}':
        case ']':
          if (--depth == 0) {
            ++i_;
            return true;
          }
          break;
        default: break;
      }
      ++i_;
    }
    return false;
  }

  bool string() {
    ++i_;  // the opening quote
    while (i_ < t_.size()) {
      if (t_[i_] == '\\') {
        i_ += 2;
      } else if (t_[i_++] == '"') {
        return true;
      }
    }
    return false;
  }

  std::string_view t_;
  const KnownSize& known_;
  std::size_t i_ = 0;
};

}  // namespace

std::optional<Cut> cut(std::string_view text, const KnownSize& known) { return Scanner(text, known).run(); }

}  // namespace ndsip::topology::detail
