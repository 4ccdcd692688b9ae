// A topology document cut into its objects by identity (state.hpp says which documents can
// be), in one of two ways: from the parsed document, or from its text, where an element that
// repeats byte for byte an element of the document in force is taken as that object,
// unchanged, and is neither parsed nor dumped. For a pushed 10,000-node document with one
// peer changed, that leaves one element to parse instead of 3 MB. Internal to the topology
// part.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <type_traits>
#include <unordered_map>
#include <utility>
#include <vector>

#include "topology/slices.hpp"

namespace ndsip::topology::detail {

using Pair = std::pair<std::string, std::string>;

// Where each object of a document is in its list, by identity.
template <class Key>
using PositionOf = std::conditional_t<std::is_same_v<Key, Pair>, std::map<Pair, std::size_t>,
                                      std::unordered_map<std::string, std::size_t>>;
struct Places {
  PositionOf<std::string> domains, nodes;
  PositionOf<Pair> uses, interconnects;
};

inline constexpr std::size_t not_reused = SIZE_MAX;

// One element of a list: its identity, where it is, and its canonical content.
template <class Key>
struct Element {
  Key key;
  std::size_t position = 0;
  const nlohmann::json* value = nullptr;  // null when reused
  std::string content;                    // empty when reused
  // From text: the position of the element in force whose bytes it repeats, which makes it
  // that object, unchanged.
  std::size_t reused_from = not_reused;
  bool reused() const { return reused_from != not_reused; }
};

struct Split {
  std::string header;  // canonical JSON of the members other than the lists
  std::vector<Element<std::string>> domains, nodes;
  std::vector<Element<Pair>> uses, interconnects;

  // From the parsed document: that document. From text: nothing, and instead ...
  const nlohmann::json* document = nullptr;
  // ... the header members and each list present, holding one null when it is not empty:
  // all that decode_document_level reads of a document (the lists' shape, not their
  // elements), so it says the same of both.
  nlohmann::json skeleton;
  std::array<std::vector<Slice>, 4> slices;  // each element's bytes, by list_keys index
  std::size_t elements_parsed = 0;           // the elements not reused; their values point ...
  std::deque<nlohmann::json> parsed;         // ... here, each parsed on its own, or ...
  std::optional<nlohmann::json> whole;       // ... into the whole text parsed, when most were
  // From text matched against a document in force: the identities in force whose elements
  // the text does not repeat (removed, or changed and parsed). With the elements' reused_from
  // that is all that moved, so positions can be updated rather than made afresh.
  bool matched = false;
  std::vector<std::string> unmatched_domains, unmatched_nodes;
  std::vector<Pair> unmatched_uses, unmatched_interconnects;

  bool from_text() const { return document == nullptr; }
  const nlohmann::json& level() const { return document ? *document : skeleton; }
  // Drops what only the check of this document needs: the parsed values and contents. What
  // is left (identities and slices) is what the next text is matched against.
  void trim();
};

// The document in force as the text it came as, cut: what the next text is matched against.
struct Known {
  std::string text;
  Split split;
};

std::optional<Split> split(const nlohmann::json& document);

// The split of `text`, matched against `in_force` (null when nothing was cut before), whose
// objects are at `places`. nullopt unless the text is a plain, valid topology (slices.hpp)
// with every identity once and no key repeated anywhere: the parsed path decides then. What
// it returns is what split() would make of the parsed text, but for the elements it reuses.
std::optional<Split> split_text(const std::string& text, const Known* in_force, const Places& places);

}  // namespace ndsip::topology::detail
