#include "topology/split.hpp"

#include <algorithm>
#include <cstring>
#include <set>
#include <string_view>
#include <unordered_set>


namespace ndsip::topology::detail {

namespace {

using json = nlohmann::json;

const json* member(const json& obj, const char* key) {
  const auto it = obj.find(key);
  return it == obj.end() ? nullptr : &*it;
}

const std::string* string_member(const json& obj, const char* key) {
  const json* v = member(obj, key);
  return v && v->is_string() ? v->get_ptr<const std::string*>() : nullptr;
}

bool version_one(const json& doc) {
  const json* version = member(doc, "version");
  return version && (version->is_number_integer() || version->is_number_unsigned()) && *version == 1;
}

// The identity of an element, or nullopt when it has none (then the document is one for the
// full check).
struct NameOf {
  std::optional<std::string> operator()(const json& e) const {
    const std::string* name = e.is_object() ? string_member(e, "name") : nullptr;
    return name ? std::optional(*name) : std::nullopt;
  }
};
struct UseOf {
  std::optional<Pair> operator()(const json& u) const {
    const std::string* val = u.is_object() ? string_member(u, "val_server") : nullptr;
    const std::string* seal = u.is_object() ? string_member(u, "seal_server") : nullptr;
    return val && seal ? std::optional(Pair(*val, *seal)) : std::nullopt;
  }
};
struct InterconnectOf {
  std::optional<Pair> operator()(const json& ic) const {
    const json* between = ic.is_object() ? member(ic, "between") : nullptr;
    if (!between || !between->is_array() || between->size() != 2 || !(*between)[0].is_string() ||
        !(*between)[1].is_string() || (*between)[0] == (*between)[1]) {
      return std::nullopt;
    }
    const std::string& a = (*between)[0].get_ref<const std::string&>();
    const std::string& b = (*between)[1].get_ref<const std::string&>();
    return a < b ? Pair(a, b) : Pair(b, a);
  }
};

template <class Key>
using Seen = std::conditional_t<std::is_same_v<Key, Pair>, std::set<Pair>, std::unordered_set<std::string>>;

// --- from the parsed document ---------------------------------------------------------------

template <class Key, class KeyOf>
bool elements_of(const json& list, KeyOf key_of, std::vector<Element<Key>>& out) {
  Seen<Key> seen;
  out.reserve(list.size());
  for (std::size_t i = 0; i < list.size(); ++i) {
    std::optional<Key> key = key_of(list[i]);
    if (!key || !seen.insert(*key).second) return false;
    out.push_back({std::move(*key), i, &list[i], list[i].dump()});
  }
  return true;
}

// --- from text --------------------------------------------------------------------------------

// Which elements of the text repeat one in force, list by list. While the text is cut, each
// element is compared with the next one in force (an unchanged run) and the one after (one
// taken out): a comparison of bytes, which skips scanning them. The others are looked up by
// their bytes among the unmatched ones in force once the text is cut (an insertion, a
// reordering). Each element in force is matched at most once.
class Matcher {
 public:
  Matcher(const std::string& text, const Known* in_force) : text_(text), in_force_(in_force) {
    for (int l = 0; l < 4; ++l) used_[l].assign(in_force ? in_force->split.slices[l].size() : 0, false);
  }

  std::size_t at_cursor(int l, std::string_view rest) {
    if (in_force_) {
      const std::vector<Slice>& old = in_force_->split.slices[l];
      for (std::size_t j = cursor_[l]; j < old.size() && j <= cursor_[l] + 1; ++j) {
        if (old[j].size <= rest.size() && std::memcmp(rest.data(), in_force_->text.data() + old[j].offset, old[j].size) == 0) {
          match_[l].push_back(j);
          used_[l][j] = true;
          cursor_[l] = j + 1;
          return old[j].size;
        }
      }
    }
    match_[l].push_back(not_reused);
    return 0;
  }

  void by_bytes(int l, const std::vector<Slice>& slices) {
    if (!in_force_ || std::find(match_[l].begin(), match_[l].end(), not_reused) == match_[l].end()) return;
    const std::vector<Slice>& old = in_force_->split.slices[l];
    // No two elements in force have the same bytes (their identities differ).
    std::unordered_map<std::string_view, std::size_t> unused;
    for (std::size_t j = 0; j < old.size(); ++j) {
      if (!used_[l][j]) unused.emplace(old[j].of(in_force_->text), j);
    }
    for (std::size_t i = 0; i < slices.size() && !unused.empty(); ++i) {
      if (match_[l][i] != not_reused) continue;
      if (const auto it = unused.find(slices[i].of(text_)); it != unused.end()) {
        match_[l][i] = it->second;
        used_[l][it->second] = true;
        unused.erase(it);
      }
    }
  }

  const std::vector<std::size_t>& matches(int l) const { return match_[l]; }
  const std::vector<bool>& used(int l) const { return used_[l]; }

 private:
  const std::string& text_;
  const Known* in_force_;
  std::size_t cursor_[4] = {0, 0, 0, 0};
  std::vector<std::size_t> match_[4];  // text element -> element in force, or not_reused
  std::vector<bool> used_[4];          // element in force -> matched
};

// Members of every object in a value, as parsed: nlohmann keeps one of a repeated key.
std::size_t members(const json& value) {
  std::size_t n = value.is_object() ? value.size() : 0;
  if (value.is_structured()) {
    for (const json& v : value) n += members(v);
  }
  return n;
}

// Members as written: in valid JSON a colon outside strings separates a key from its value.
std::size_t colons(std::string_view bytes) {
  std::size_t n = 0;
  for (std::size_t i = 0; i < bytes.size(); ++i) {
    if (bytes[i] == ':') {
      ++n;
    } else if (bytes[i] == '"') {
      for (++i; i < bytes.size() && bytes[i] != '"'; ++i) i += bytes[i] == '\\';
    }
  }
  return n;
}

// A value of the text, parsed on its own: what the full parse would make of it, and false
// where the full parse would report something (syntax, a number out of range, a repeated key:
// fewer members parsed than written).
bool parse_slice(std::string_view bytes, json& out) {
  try {
    out = json::parse(bytes.begin(), bytes.end());
  } catch (const json::exception&) {
    return false;
  }
  return members(out) == colons(bytes);
}

// One list's elements: the ones matched taken from `in_force`, the others parsed, on their
// own or as elements of `whole` (the list in the whole text parsed, when it was).
template <class Key, class KeyOf>
bool elements_from_text(const std::string& text, int l, const Matcher& matcher, const json* whole,
                        const std::vector<Element<Key>>* in_force, const PositionOf<Key>& places, KeyOf key_of,
                        Split& s, std::vector<Element<Key>>& out, std::vector<Key>& unmatched) {
  const std::vector<Slice>& slices = s.slices[static_cast<std::size_t>(l)];
  const std::vector<std::size_t>& match = matcher.matches(l);
  out.reserve(slices.size());
  std::vector<std::size_t> fresh;
  for (std::size_t i = 0; i < slices.size(); ++i) {
    if (match[i] != not_reused) {
      out.push_back({(*in_force)[match[i]].key, i, nullptr, {}, match[i]});
      continue;
    }
    const json* value = whole ? &(*whole)[i] : nullptr;
    if (!value) {
      json parsed;
      if (!parse_slice(slices[i].of(text), parsed)) return false;
      value = &s.parsed.emplace_back(std::move(parsed));
    }
    std::optional<Key> key = key_of(*value);
    if (!key) return false;
    out.push_back({std::move(*key), i, value, value->dump()});
    fresh.push_back(i);
  }
  // Each identity once. The reused ones are distinct (each was in force, matched once); a
  // parsed one must repeat neither another parsed one nor a reused one, which can only be
  // the element in force with that identity.
  Seen<Key> seen;
  for (const std::size_t i : fresh) {
    const Key& key = out[i].key;
    if (!seen.insert(key).second) return false;
    if (const auto it = places.find(key); in_force && it != places.end()) {
      // The places are the document in force's, which `in_force` was cut from; should they
      // ever disagree, nothing is reused.
      if (it->second >= in_force->size() || (*in_force)[it->second].key != key) return false;
      if (matcher.used(l)[it->second]) return false;
    }
  }
  for (std::size_t j = 0; in_force && j < in_force->size(); ++j) {
    if (!matcher.used(l)[j]) unmatched.push_back((*in_force)[j].key);
  }
  return true;
}

}  // namespace

void Split::trim() {
  parsed.clear();
  whole.reset();
  skeleton = nullptr;
  auto drop = [](auto& elements) {
    for (auto& e : elements) {
      e.value = nullptr;
      std::string().swap(e.content);
    }
  };
  drop(domains);
  drop(nodes);
  drop(uses);
  drop(interconnects);
  unmatched_domains.clear();
  unmatched_nodes.clear();
  unmatched_uses.clear();
  unmatched_interconnects.clear();
}

std::optional<Split> split(const json& doc) {
  if (!doc.is_object() || !version_one(doc)) return std::nullopt;
  Split s;
  s.document = &doc;
  json header = json::object();
  for (const auto& [key, value] : doc.items()) {
    if (std::find(std::begin(list_keys), std::end(list_keys), key) == std::end(list_keys)) header[key] = value;
  }
  s.header = header.dump();
  for (const char* key : list_keys) {
    const json* list = member(doc, key);
    const bool required = key == list_keys[0] || key == list_keys[1];
    if (list ? !list->is_array() : required) return std::nullopt;
  }
  static const json no_list = json::array();
  auto list = [&](const char* key) -> const json& {
    const json* l = member(doc, key);
    return l ? *l : no_list;
  };
  if (!elements_of(list("domains"), NameOf(), s.domains) || !elements_of(list("nodes"), NameOf(), s.nodes) ||
      !elements_of(list("service_uses"), UseOf(), s.uses) ||
      !elements_of(list("interconnects"), InterconnectOf(), s.interconnects)) {
    return std::nullopt;
  }
  return s;
}

std::optional<Split> split_text(const std::string& text, const Known* in_force, const Places& places) {
  Matcher matcher(text, in_force);
  std::optional<Cut> cut =
      detail::cut(text, [&](int l, std::string_view rest) { return matcher.at_cursor(l, rest); });
  if (!cut || !cut->lists[0] || !cut->lists[1]) return std::nullopt;

  Split s;
  json header = json::object();
  for (const Cut::Member& m : cut->header) {
    json value;
    if (!parse_slice(m.value.of(text), value)) return std::nullopt;
    header[std::string(m.key)] = std::move(value);
  }
  if (!version_one(header)) return std::nullopt;
  s.header = header.dump();
  s.skeleton = std::move(header);
  std::size_t elements = 0;
  for (int l = 0; l < 4; ++l) {
    if (!cut->lists[l]) continue;
    const std::vector<Slice>& slices = s.slices[static_cast<std::size_t>(l)] = std::move(*cut->lists[l]);
    s.skeleton[list_keys[l]] = slices.empty() ? json::array() : json::array({nullptr});
    matcher.by_bytes(l, slices);
    elements += slices.size();
    s.elements_parsed += static_cast<std::size_t>(std::count(matcher.matches(l).begin(), matcher.matches(l).end(), not_reused));
  }
  // When most elements are to be parsed (nothing in force, a respaced text), the text is
  // parsed in one go: cheaper than as many small parses. The cut has checked its depth.
  const json* whole[4] = {};
  if (s.elements_parsed * 2 > elements) {
    if (!parse_slice(text, s.whole.emplace())) return std::nullopt;
    for (int l = 0; l < 4; ++l) {
      if (!cut->lists[l]) continue;
      whole[l] = &s.whole->at(list_keys[l]);
      if (!whole[l]->is_array() || whole[l]->size() != s.slices[static_cast<std::size_t>(l)].size()) return std::nullopt;
    }
  }
  const Split* before = in_force ? &in_force->split : nullptr;
  if (!elements_from_text(text, 0, matcher, whole[0], before ? &before->domains : nullptr, places.domains, NameOf(), s,
                          s.domains, s.unmatched_domains) ||
      !elements_from_text(text, 1, matcher, whole[1], before ? &before->nodes : nullptr, places.nodes, NameOf(), s,
                          s.nodes, s.unmatched_nodes) ||
      !elements_from_text(text, 2, matcher, whole[2], before ? &before->uses : nullptr, places.uses, UseOf(), s, s.uses,
                          s.unmatched_uses) ||
      !elements_from_text(text, 3, matcher, whole[3], before ? &before->interconnects : nullptr, places.interconnects,
                          InterconnectOf(), s, s.interconnects, s.unmatched_interconnects)) {
    return std::nullopt;
  }
  s.matched = in_force != nullptr;
  return s;
}

}  // namespace ndsip::topology::detail
