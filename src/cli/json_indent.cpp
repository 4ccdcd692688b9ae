#include "cli/json_indent.hpp"

#include <ostream>
#include <sstream>

namespace ndsip::cli {

namespace {

// Collects output and hands it to the stream a buffer at a time.
class Sink {
 public:
  explicit Sink(std::ostream& out) : out_(out) { buf_.reserve(capacity); }
  ~Sink() { flush(); }
  Sink(const Sink&) = delete;
  Sink& operator=(const Sink&) = delete;

  void put(char c) {
    buf_ += c;
    if (buf_.size() >= capacity) flush();
  }
  void put(std::string_view s) {
    buf_ += s;
    if (buf_.size() >= capacity) flush();
  }
  void indent(std::size_t n) {
    buf_ += '\n';
    buf_.append(n, ' ');
    if (buf_.size() >= capacity) flush();
  }

 private:
  static constexpr std::size_t capacity = 64 * 1024;
  void flush() {
    out_.write(buf_.data(), static_cast<std::streamsize>(buf_.size()));
    buf_.clear();
  }
  std::ostream& out_;
  std::string buf_;
};

bool space(char c) { return c == ' ' || c == '\n' || c == '\r' || c == '\t'; }

bool structural(char c) {
  return c == '{' || c == '}' || c == '[' || c == ']' || c == ',' || c == ':' || c == '"' || space(c);
}

}  // namespace

void write_indented_json(std::string_view in, std::ostream& out) {
  constexpr std::size_t step = 2;
  Sink sink(out);
  std::size_t depth = 0;
  const std::size_t n = in.size();
  for (std::size_t i = 0; i < n; ++i) {
    const char c = in[i];
    switch (c) {
      case '"': {
        // A string, copied whole up to its closing quote: the first quote after it that an odd
        // run of backslashes does not escape.
        std::size_t j = i;
        for (;;) {
          j = in.find('"', j + 1);
          if (j == std::string_view::npos) {
            j = n - 1;
            break;
          }
          std::size_t backslashes = 0;
          while (in[j - 1 - backslashes] == '\\') ++backslashes;
          if (backslashes % 2 == 0) break;
        }
        sink.put(in.substr(i, j - i + 1));
        i = j;
        break;
      }
      case '{':
      case '[': {
        // Empty: "{}" and "[]" on one line, as dump(2) prints them.
        std::size_t j = i + 1;
        while (j < n && space(in[j])) ++j;
        if (j < n && in[j] == (c == '{' ? '}' : ']')) {
          sink.put(c);
          sink.put(in[j]);
          i = j;
          break;
        }
        sink.put(c);
        sink.indent(++depth * step);
        break;
      }
      case '}':
      case ']':
        if (depth > 0) --depth;
        sink.indent(depth * step);
        sink.put(c);
        break;
      case ',':
        sink.put(',');
        sink.indent(depth * step);
        break;
      case ':':
        sink.put(": ");
        break;
      default: {
        if (space(c)) break;  // between tokens: dropped
        // A number, true, false or null: up to the next structural character, in one piece.
        std::size_t j = i + 1;
        while (j < n && !structural(in[j])) ++j;
        sink.put(in.substr(i, j - i));
        i = j - 1;
      }
    }
  }
}

std::string indent_json(std::string_view compact) {
  std::ostringstream out;
  write_indented_json(compact, out);
  return out.str();
}

}  // namespace ndsip::cli
