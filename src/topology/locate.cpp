#include "topology/locate.hpp"

#include <nlohmann/json.hpp>

#include "topology/report.hpp"

namespace ndsip::topology::detail {

namespace {

class Walker {
 public:
  Walker(std::string_view text, const std::unordered_set<std::string>& wanted, Located& out)
      : text_(text), wanted_(wanted), out_(out) {
    // nlohmann skips a UTF-8 byte order mark; so must we.
    if (text_.substr(0, 3) == "\xEF\xBB\xBF") i_ = 3;
  }

  void run() {
    space();
    value();
  }

 private:
  void space() {
    while (i_ < text_.size()) {
      const char c = text_[i_];
      if (c == '\n') {
        ++line_;
      } else if (c != ' ' && c != '\t' && c != '\r') {
        return;
      }
      ++i_;
    }
  }

  // Skips a string token; returns its text including the quotes.
  std::string_view string_token() {
    const std::size_t start = i_++;
    while (i_ < text_.size() && text_[i_] != '"') i_ += text_[i_] == '\\' ? 2 : 1;
    ++i_;  // closing quote
    return text_.substr(start, i_ - start);
  }

  static std::string decode_key(std::string_view token) {
    if (token.find('\\') == std::string_view::npos)
      return std::string(token.substr(1, token.size() - 2));
    // Escapes (\u00e9, surrogate pairs, ...) decode exactly as nlohmann decoded them.
    return nlohmann::json::parse(token).get<std::string>();
  }

  void record() {
    if (!wanted_.empty() && wanted_.count(ptr_)) out_.positions.emplace(ptr_, Position{i_, line_});
  }

  void value() {
    record();
    if (i_ >= text_.size()) return;
    switch (text_[i_]) {
      case '{': object(); break;
      case '[': array(); break;
      case '"': string_token(); break;
      default:
        while (i_ < text_.size() &&
               std::string_view(",]} \t\r\n").find(text_[i_]) == std::string_view::npos)
          ++i_;
    }
  }

  void object() {
    ++i_;
    space();
    std::unordered_set<std::string> seen;
    const std::size_t base = ptr_.size();
    // The guards on '"' and on progress only matter for text that is not valid JSON, which
    // callers never pass; they keep a misuse from looping forever.
    while (i_ < text_.size() && text_[i_] == '"') {
      const Position key_at{i_, line_};
      const std::string key = decode_key(string_token());
      ptr_ = pointer(ptr_, key);
      if (!seen.insert(key).second) out_.duplicates.push_back({ptr_, key, key_at});
      space();
      ++i_;  // ':'
      space();
      value();
      ptr_.resize(base);
      separator();
    }
    ++i_;
  }

  // After a member or element: white space and an optional ',' with white space after it.
  void separator() {
    space();
    if (i_ < text_.size() && text_[i_] == ',') {
      ++i_;
      space();
    }
  }

  void array() {
    ++i_;
    space();
    const std::size_t base = ptr_.size();
    for (std::size_t index = 0; i_ < text_.size() && text_[i_] != ']'; ++index) {
      const std::size_t before = i_;
      ptr_ = pointer(ptr_, index);
      value();
      if (i_ == before) break;
      ptr_.resize(base);
      separator();
    }
    ++i_;
  }

  std::string_view text_;
  const std::unordered_set<std::string>& wanted_;
  Located& out_;
  std::size_t i_ = 0;
  int line_ = 1;
  std::string ptr_;
};

}  // namespace

Located locate(std::string_view text, const std::unordered_set<std::string>& wanted) {
  Located out;
  Walker(text, wanted, out).run();
  return out;
}

}  // namespace ndsip::topology::detail
