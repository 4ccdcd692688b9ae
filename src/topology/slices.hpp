// Where the parts of a topology text lie, found without parsing it: each top-level member's
// value and each element of the four lists. The incremental check (state.cpp) uses it to
// recognise the elements of a pushed document that repeat, byte for byte, those of the
// document in force, and to parse only the others.
//
// Only the plain shape of a topology is cut: an object, each key once and without escapes,
// whose lists are arrays of objects, nested at most max_json_depth deep, with nothing before
// or after it but white space. Anything else gives nullopt and is left to the full parse,
// which words the problem. What lies inside a value is not validated here; the caller parses
// every value it does not already know (or knows to be valid from the document in force).
// Internal to the topology part.
#pragma once

#include <cstddef>
#include <functional>
#include <optional>
#include <string_view>
#include <vector>

namespace ndsip::topology::detail {

// The four lists of a topology, in document-model order: the index used below.
inline constexpr const char* list_keys[] = {"domains", "nodes", "service_uses", "interconnects"};

struct Slice {
  std::size_t offset = 0;
  std::size_t size = 0;
  std::string_view of(std::string_view text) const { return text.substr(offset, size); }
};

struct Cut {
  struct Member {
    std::string_view key;  // between the quotes (there are no escapes), valid UTF-8
    Slice value;
  };
  std::vector<Member> header;                 // the members other than the lists, in order
  std::optional<std::vector<Slice>> lists[4];  // by list_keys index, when the key is present
};

// Asked at each element of list `list` (its '{' starts `rest`): the size of a value the
// caller already knows to be there (it compared the bytes), or 0 to have it scanned.
using KnownSize = std::function<std::size_t(int list, std::string_view rest)>;

std::optional<Cut> cut(std::string_view text, const KnownSize& known);

}  // namespace ndsip::topology::detail
