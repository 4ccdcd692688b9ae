// The VICI message model: an ordered tree of sections holding key/values, lists and
// sub-sections. Order is kept (charon's answers are ordered and list-sas relies on it) and
// values are byte strings (VICI values may be binary, e.g. DER certificates).
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace ndsip::vici {

class Section {
 public:
  struct Entry;
  enum class Kind { value, list, section };

  // Builders append in order and return *this so messages read like their wire form.
  Section& set(std::string name, std::string value);
  Section& set_list(std::string name, std::vector<std::string> items);
  Section& set_section(std::string name, Section child);
  // Appends an empty sub-section and returns it for filling in place. The reference stays
  // valid until the next entry is appended to *this.
  Section& add_section(std::string name);

  const std::vector<Entry>& entries() const { return entries_; }
  std::vector<Entry>& entries() { return entries_; }
  bool empty() const { return entries_.empty(); }

  // Look-ups return the first entry of that name and kind, or nothing.
  const std::string* find_value(std::string_view name) const;
  const std::vector<std::string>* find_list(std::string_view name) const;
  const Section* find_section(std::string_view name) const;
  std::string value_or(std::string_view name, std::string_view fallback = {}) const;
  std::optional<unsigned long long> number(std::string_view name) const;
  bool flag(std::string_view name) const;  // "yes" -> true, anything else -> false

  bool operator==(const Section& other) const;

 private:
  const Entry* find(std::string_view name, Kind kind) const;
  std::vector<Entry> entries_;
};

struct Section::Entry {
  Kind kind = Kind::value;
  std::string name;
  std::string value;               // kind == value
  std::vector<std::string> items;  // kind == list
  Section section;                 // kind == section

  bool operator==(const Entry& other) const = default;
};

using Message = Section;

// A readable, multi-line rendering for logs and test failures. Binary values are shown as
// their length, and "data"/"secret" values are always hidden, so private keys passed to
// load-key never reach a log.
std::string describe(const Section& message, int indent = 0);

}  // namespace ndsip::vici
