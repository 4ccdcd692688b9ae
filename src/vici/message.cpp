#include "vici/message.hpp"

#include <charconv>

namespace ndsip::vici {

Section& Section::set(std::string name, std::string value) {
  Entry& e = entries_.emplace_back();
  e.kind = Kind::value;
  e.name = std::move(name);
  e.value = std::move(value);
  return *this;
}

Section& Section::set_list(std::string name, std::vector<std::string> items) {
  Entry& e = entries_.emplace_back();
  e.kind = Kind::list;
  e.name = std::move(name);
  e.items = std::move(items);
  return *this;
}

Section& Section::set_section(std::string name, Section child) {
  add_section(std::move(name)) = std::move(child);
  return *this;
}

Section& Section::add_section(std::string name) {
  Entry& e = entries_.emplace_back();
  e.kind = Kind::section;
  e.name = std::move(name);
  return e.section;
}

const Section::Entry* Section::find(std::string_view name, Kind kind) const {
  for (const Entry& e : entries_) {
    if (e.kind == kind && e.name == name) return &e;
  }
  return nullptr;
}

const std::string* Section::find_value(std::string_view name) const {
  const Entry* e = find(name, Kind::value);
  return e ? &e->value : nullptr;
}

const std::vector<std::string>* Section::find_list(std::string_view name) const {
  const Entry* e = find(name, Kind::list);
  return e ? &e->items : nullptr;
}

const Section* Section::find_section(std::string_view name) const {
  const Entry* e = find(name, Kind::section);
  return e ? &e->section : nullptr;
}

std::string Section::value_or(std::string_view name, std::string_view fallback) const {
  const std::string* v = find_value(name);
  return v ? *v : std::string(fallback);
}

std::optional<unsigned long long> Section::number(std::string_view name) const {
  const std::string* v = find_value(name);
  if (!v || v->empty()) return std::nullopt;
  unsigned long long out = 0;
  auto [end, ec] = std::from_chars(v->data(), v->data() + v->size(), out);
  if (ec != std::errc() || end != v->data() + v->size()) return std::nullopt;
  return out;
}

bool Section::flag(std::string_view name) const {
  const std::string* v = find_value(name);
  return v && *v == "yes";
}

bool Section::operator==(const Section& other) const { return entries_ == other.entries_; }

namespace {

bool printable(const std::string& s) {
  for (unsigned char c : s) {
    if (c < 0x20 || c > 0x7e) return false;
  }
  return true;
}

// Credentials travel in keys named "data" (load-cert, load-key) or "secret" (load-shared);
// they are never rendered, whatever they look like.
bool sensitive(const std::string& name) { return name == "data" || name == "secret"; }

std::string show(const std::string& name, const std::string& value) {
  if (!sensitive(name) && printable(value) && value.size() <= 128) return value;
  std::string out = "<";  // built stepwise: GCC 12 warns falsely on "<" + std::to_string(...)
  out += std::to_string(value.size());
  out += " bytes>";
  return out;
}

}  // namespace

std::string describe(const Section& message, int indent) {
  std::string out;
  const std::string pad(static_cast<size_t>(indent) * 2, ' ');
  for (const Section::Entry& e : message.entries()) {
    switch (e.kind) {
      case Section::Kind::value:
        out += pad + e.name + " = " + show(e.name, e.value) + "\n";
        break;
      case Section::Kind::list:
        out += pad + e.name + " = [";
        for (size_t i = 0; i < e.items.size(); ++i) {
          out += (i ? ", " : "") + show(e.name, e.items[i]);
        }
        out += "]\n";
        break;
      case Section::Kind::section:
        out += pad + e.name + " {\n" + describe(e.section, indent + 1) + pad + "}\n";
        break;
    }
  }
  return out;
}

}  // namespace ndsip::vici
