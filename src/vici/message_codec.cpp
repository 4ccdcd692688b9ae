#include "vici/message_codec.hpp"

#include <vector>

#include "vici/error.hpp"
#include "vici/limits.hpp"

namespace ndsip::vici {
namespace {

void put_name(const std::string& name, std::string& out) {
  if (name.empty()) throw Error(ErrorKind::limit, "VICI element name is empty");
  if (name.size() > limits::max_name) {
    throw Error(ErrorKind::limit, "VICI name \"" + name.substr(0, 32) + "...\" is " +
                                      std::to_string(name.size()) + " bytes (limit 255)");
  }
  out.push_back(static_cast<char>(name.size()));
  out += name;
}

void put_value(const std::string& name, const std::string& value, std::string& out) {
  if (value.size() > limits::max_value) {
    throw Error(ErrorKind::limit, "VICI value of \"" + name + "\" is " +
                                      std::to_string(value.size()) + " bytes (limit 65535)");
  }
  out.push_back(static_cast<char>((value.size() >> 8) & 0xff));
  out.push_back(static_cast<char>(value.size() & 0xff));
  out += value;
}

void put_element(Element e, std::string& out) { out.push_back(static_cast<char>(e)); }

void encode_section(const Section& section, std::size_t depth, std::string& out) {
  if (depth > limits::max_depth) {
    throw Error(ErrorKind::limit, "VICI message nests deeper than " +
                                      std::to_string(limits::max_depth) + " sections");
  }
  for (const Section::Entry& e : section.entries()) {
    switch (e.kind) {
      case Section::Kind::value:
        put_element(Element::key_value, out);
        put_name(e.name, out);
        put_value(e.name, e.value, out);
        break;
      case Section::Kind::list:
        put_element(Element::list_start, out);
        put_name(e.name, out);
        for (const std::string& item : e.items) {
          put_element(Element::list_item, out);
          put_value(e.name, item, out);
        }
        put_element(Element::list_end, out);
        break;
      case Section::Kind::section:
        put_element(Element::section_start, out);
        put_name(e.name, out);
        encode_section(e.section, depth + 1, out);
        put_element(Element::section_end, out);
        break;
    }
  }
}

// A bounds-checked cursor: every read states what it was reading so errors say where the
// bytes ran out.
class Reader {
 public:
  explicit Reader(std::span<const std::uint8_t> bytes) : bytes_(bytes) {}
  bool done() const { return pos_ == bytes_.size(); }
  std::size_t offset() const { return pos_; }

  std::uint8_t byte(const char* what) {
    need(1, what);
    return bytes_[pos_++];
  }
  std::string take(std::size_t n, const char* what) {
    need(n, what);
    std::string s(reinterpret_cast<const char*>(bytes_.data() + pos_), n);
    pos_ += n;
    return s;
  }
  std::string name(const char* what) {
    std::size_t len = byte(what);
    if (len == 0) fail(std::string(what) + " is empty");
    return take(len, what);
  }
  std::string value(const char* what) {
    std::size_t hi = byte(what);
    std::size_t lo = byte(what);
    return take((hi << 8) | lo, what);
  }
  [[noreturn]] void fail(const std::string& why) const {
    throw Error(ErrorKind::malformed,
                "malformed VICI message at byte " + std::to_string(pos_) + ": " + why);
  }

 private:
  void need(std::size_t n, const char* what) const {
    if (bytes_.size() - pos_ < n) {
      fail(std::string("truncated ") + what + " (needs " + std::to_string(n) + " bytes, " +
           std::to_string(bytes_.size() - pos_) + " left)");
    }
  }
  std::span<const std::uint8_t> bytes_;
  std::size_t pos_ = 0;
};

}  // namespace

void encode_message(const Message& message, std::string& out) {
  encode_section(message, 0, out);
}

std::string encode_message(const Message& message) {
  std::string out;
  encode_message(message, out);
  return out;
}

Message decode_message(std::span<const std::uint8_t> bytes) {
  Reader in(bytes);
  Message root;
  // Iterative, with the open sections on an explicit stack: a pointer into a parent's entry
  // list stays valid because only the innermost open section is ever appended to.
  std::vector<Section*> open{&root};
  while (!in.done()) {
    const std::uint8_t type = in.byte("element type");
    Section& current = *open.back();
    switch (static_cast<Element>(type)) {
      case Element::section_start: {
        if (open.size() > limits::max_depth) {
          throw Error(ErrorKind::limit, "VICI message nests deeper than " +
                                            std::to_string(limits::max_depth) + " sections");
        }
        std::string name = in.name("section name");
        open.push_back(&current.add_section(std::move(name)));
        break;
      }
      case Element::section_end:
        if (open.size() == 1) in.fail("section end without a section start");
        open.pop_back();
        break;
      case Element::key_value: {
        std::string name = in.name("key name");
        current.set(std::move(name), in.value("value"));
        break;
      }
      case Element::list_start: {
        std::string name = in.name("list name");
        std::vector<std::string> items;
        for (;;) {
          const std::uint8_t t = in.byte("list element");
          if (t == static_cast<std::uint8_t>(Element::list_end)) break;
          if (t != static_cast<std::uint8_t>(Element::list_item)) {
            in.fail("list \"" + name + "\" holds element type " + std::to_string(t) +
                    " (lists hold only items)");
          }
          items.push_back(in.value("list item"));
        }
        current.set_list(std::move(name), std::move(items));
        break;
      }
      case Element::list_item:
        in.fail("list item outside a list");
      case Element::list_end:
        in.fail("list end without a list start");
      default:
        in.fail("unknown element type " + std::to_string(type));
    }
  }
  if (open.size() != 1) {
    in.fail(std::to_string(open.size() - 1) + " section(s) not closed");
  }
  return root;
}

}  // namespace ndsip::vici
