#include "topology/state.hpp"

#include <algorithm>
#include <nlohmann/json.hpp>
#include <set>
#include <stdexcept>
#include <unordered_map>

#include "topology/decode.hpp"
#include "topology/nets.hpp"
#include "topology/rules.hpp"
#include "topology/split.hpp"
#include "topology/stages.hpp"
#include "topology/validate.hpp"

namespace ndsip::topology {

using nlohmann::json;
using namespace detail;
using Kind = ObjectId::Kind;

namespace {

ObjectId use_id(const Pair& p) { return {Kind::service_use, p.first + ">" + p.second}; }
ObjectId interconnect_id(const Pair& p) { return {Kind::interconnect, p.first + "|" + p.second}; }
const ObjectId header_id{Kind::header, ""};

template <class Draft>
struct Entry {
  Draft draft;
  std::string content;
  std::uint64_t hash = 0;  // of the identity and content, for the digest
  // Decoding the content gave no problems: then it gives none at any position, and a check
  // of the unchanged object need not decode it again.
  bool clean = false;
};

// FNV-1a, then a finaliser (splitmix64) so that sums of hashes spread well. Identifies a
// document's content for operators; it is not a security digest.
std::uint64_t object_hash(const std::string& key, const std::string& content) {
  std::uint64_t h = 1469598103934665603ull;
  auto eat = [&](const std::string& s) {
    for (unsigned char c : s) h = (h ^ c) * 1099511628211ull;
    h = (h ^ 0xff) * 1099511628211ull;
  };
  eat(key);
  eat(content);
  h += 0x9e3779b97f4a7c15ull;
  h = (h ^ (h >> 30)) * 0xbf58476d1ce4e5b9ull;
  h = (h ^ (h >> 27)) * 0x94d049bb133111ebull;
  return h ^ (h >> 31);
}

// Which objects to check: touched, their dependents, and the ones that had problems.
struct CheckSet {
  std::set<std::string> domains, nodes;
  std::set<Pair> uses, interconnects;
};

}  // namespace

struct TopologyState::Impl {
  // The document in force, by identity, and the sum of its objects' hashes (order-free, so
  // kept up to date object by object).
  std::string header;
  std::uint64_t digest = 0;
  std::unordered_map<std::string, Entry<DraftDomain>> domains;
  std::unordered_map<std::string, Entry<DraftNode>> nodes;
  std::map<Pair, Entry<DraftUse>> uses;
  std::map<Pair, Entry<DraftInterconnect>> interconnects;
  Places where;
  // The document in force as the text it came as, cut, when it was cut from text: the next
  // text's elements that repeat it are not parsed again (split.hpp).
  std::optional<Known> known;

  // Who holds a unique value, who refers to whom: what a change makes worth checking again.
  std::unordered_map<std::string, std::vector<std::pair<std::string, std::size_t>>> address_holders, prefix_holders;
  // The same by the addresses they span: whose prefix takes in whose address or prefix.
  NetIndex<std::pair<std::string, std::size_t>> address_nets, prefix_nets;
  std::unordered_map<std::string, std::vector<std::string>> identity_holders;  // lowercase identity
  std::unordered_map<std::string, std::set<Pair>> uses_of, interconnects_of;   // node -> relations naming it
  std::unordered_map<std::string, std::set<std::string>> seg_listers;          // node -> domains listing it
  std::unordered_map<std::string, std::set<std::string>> members;              // domain -> nodes naming it

  // Objects with a problem at the last check: checked again every time (their messages can
  // name positions and hints that any change may move).
  CheckSet suspects;

  // The open proposal: what to restore on abort.
  struct Undo {
    std::string header;
    std::vector<std::pair<std::string, std::optional<Entry<DraftDomain>>>> domains;
    std::vector<std::pair<std::string, std::optional<Entry<DraftNode>>>> nodes;
    std::vector<std::pair<Pair, std::optional<Entry<DraftUse>>>> uses;
    std::vector<std::pair<Pair, std::optional<Entry<DraftInterconnect>>>> interconnects;
    // The positions: all of them, set once the document's replaced them; or, for a text
    // matched against the document in force, those it changed, each with its value before.
    std::optional<Places> where;
    template <class Key>
    using Moves = std::vector<std::pair<Key, std::optional<std::size_t>>>;
    Moves<std::string> moved_domains, moved_nodes;
    Moves<Pair> moved_uses, moved_interconnects;
    std::optional<std::optional<Known>> known;  // set once the document's cut replaced it
    CheckSet suspects;
  };
  std::optional<Undo> undo;

  // --- indexes -------------------------------------------------------------------------
  template <class Holders, class Value>
  static void hold(Holders& holders, const std::string& key, const Value& who, bool add) {
    auto& list = holders[key];
    if (add) {
      list.push_back(who);
    } else {
      list.erase(std::find(list.begin(), list.end(), who));
      if (list.empty()) holders.erase(key);
    }
  }
  template <class Index, class Value>
  static void link(Index& index, const std::string& key, const Value& who, bool add) {
    if (add) {
      index[key].insert(who);
    } else if (auto it = index.find(key); it != index.end()) {
      it->second.erase(who);
      if (it->second.empty()) index.erase(it);
    }
  }

  static void net(NetIndex<std::pair<std::string, std::size_t>>& nets, const std::string& text,
                  const std::pair<std::string, std::size_t>& who, bool add) {
    const auto span = span_of(text);
    if (!span) return;
    if (add) {
      nets.add(*span, who);
    } else {
      nets.remove(*span, who);
    }
  }
  void index(const std::string& name, const DraftNode& n, bool add) {
    for (std::size_t k = 0; k < n.addresses.size(); ++k) {
      if (!n.addresses[k]) continue;
      hold(address_holders, *n.addresses[k], std::pair(name, k), add);
      net(address_nets, *n.addresses[k], std::pair(name, k), add);
    }
    for (std::size_t k = 0; k < n.protects.size(); ++k) {
      if (!n.protects[k]) continue;
      hold(prefix_holders, *n.protects[k], std::pair(name, k), add);
      net(prefix_nets, *n.protects[k], std::pair(name, k), add);
    }
    if (n.identity) hold(identity_holders, lower(*n.identity), name, add);
    if (n.domain) link(members, *n.domain, name, add);
  }
  void index(const std::string& name, const DraftDomain& d, bool add) {
    for (const auto& seg : d.segs) {
      if (seg) link(seg_listers, *seg, name, add);
    }
  }
  void index(const Pair& key, const DraftUse&, bool add) {
    link(uses_of, key.first, key, add);
    link(uses_of, key.second, key, add);
  }
  void index(const Pair& key, const DraftInterconnect&, bool add) {
    link(interconnects_of, key.first, key, add);
    link(interconnects_of, key.second, key, add);
  }

  // --- what to check ---------------------------------------------------------------------
  void dependents(const std::string& name, const DraftNode& n, CheckSet& out) const {
    out.nodes.insert(name);
    auto add_all = [](const auto& index, const std::string& key, auto& into) {
      if (auto it = index.find(key); it != index.end()) into.insert(it->second.begin(), it->second.end());
    };
    add_all(seg_listers, name, out.domains);
    add_all(uses_of, name, out.uses);
    add_all(interconnects_of, name, out.interconnects);
    // Whoever shares a unique value: which of them is "first" can change, and with it whether
    // their relations' address families are known (rule 39 leaves a repeated value to rule 25
    // or 29).
    auto holders = [&](const auto& index, const std::string& key) {
      if (auto it = index.find(key); it != index.end()) {
        for (const auto& h : it->second) {
          out.nodes.insert(h.first);
          add_all(uses_of, h.first, out.uses);
          add_all(interconnects_of, h.first, out.interconnects);
        }
      }
    };
    for (const auto& a : n.addresses) {
      if (a) holders(address_holders, *a);
    }
    for (const auto& p : n.protects) {
      if (p) holders(prefix_holders, *p);
    }
    // Whoever's prefix takes in an address or prefix of this node (rules 37 and 38): its
    // problem comes or goes with this node's address, prefix, domain or role.
    auto wider = [&](const std::optional<std::string>& text) {
      if (!text) return;
      if (const auto span = span_of(*text)) {
        prefix_nets.around(*span, [&](int, const std::pair<std::string, std::size_t>& h) { out.nodes.insert(h.first); });
      }
    };
    for (const auto& a : n.addresses) wider(a);
    for (const auto& p : n.protects) wider(p);
    if (n.identity) {
      if (auto it = identity_holders.find(lower(*n.identity)); it != identity_holders.end()) {
        out.nodes.insert(it->second.begin(), it->second.end());
      }
    }
  }
  void dependents(const std::string& name, const DraftDomain&, CheckSet& out) const {
    out.domains.insert(name);
    if (auto it = members.find(name); it != members.end()) out.nodes.insert(it->second.begin(), it->second.end());
  }
  void dependents(const Pair& key, const DraftUse&, CheckSet& out) const { out.uses.insert(key); }
  void dependents(const Pair& key, const DraftInterconnect&, CheckSet& out) const { out.interconnects.insert(key); }

  // --- the view the rules read --------------------------------------------------------------
  bool nodes_complete() const { return true; }
  bool domains_complete() const { return true; }
  const DraftNode* node(const std::string& name) const {
    const auto it = nodes.find(name);
    return it == nodes.end() ? nullptr : &it->second.draft;
  }
  const DraftDomain* domain(const std::string& name) const {
    const auto it = domains.find(name);
    return it == domains.end() ? nullptr : &it->second.draft;
  }
  std::size_t node_position(const std::string& name) const { return where.nodes.at(name); }
  std::size_t domain_position(const std::string& name) const { return where.domains.at(name); }
  template <class Map>
  static std::vector<std::string> in_order(const Map& positions) {
    std::vector<std::pair<std::size_t, std::string>> v;
    for (const auto& [name, pos] : positions) v.emplace_back(pos, name);
    std::sort(v.begin(), v.end());
    std::vector<std::string> out;
    for (auto& [pos, name] : v) out.push_back(std::move(name));
    return out;
  }
  std::vector<std::string> node_names() const { return in_order(where.nodes); }
  std::vector<std::string> domain_names() const { return in_order(where.domains); }
  bool listed_seg(const std::string& name) const {
    const DraftNode* n = node(name);
    const DraftDomain* d = n && n->domain ? domain(*n->domain) : nullptr;
    return d && std::find(d->segs.begin(), d->segs.end(), std::optional<std::string>(name)) != d->segs.end();
  }
  detail::Where first_of(const std::vector<std::pair<std::string, std::size_t>>& holders) const {
    detail::Where first{SIZE_MAX, SIZE_MAX};
    for (const auto& [name, item] : holders) first = std::min(first, detail::Where{where.nodes.at(name), item});
    return first;
  }
  detail::Where first_address(const std::string& a) const { return first_of(address_holders.at(a)); }
  template <class F>
  void addresses_inside(const Prefix& p, F&& f) const {
    address_nets.inside(p, [&](int, const std::pair<std::string, std::size_t>& h) {
      f(detail::Where{where.nodes.at(h.first), h.second}, nodes.at(h.first).draft);
    });
  }
  template <class F>
  void prefixes_inside(const Prefix& p, F&& f) const {
    prefix_nets.inside(p, [&](int length, const std::pair<std::string, std::size_t>& h) {
      f(length, detail::Where{where.nodes.at(h.first), h.second}, nodes.at(h.first).draft);
    });
  }
  detail::Where first_prefix(const std::string& p) const { return first_of(prefix_holders.at(p)); }
  std::size_t first_identity(const std::string& id) const {
    std::size_t first = SIZE_MAX;
    for (const std::string& name : identity_holders.at(id)) first = std::min(first, where.nodes.at(name));
    return first;
  }
  std::size_t first_use(const std::string& val, const std::string& seal) const { return where.uses.at({val, seal}); }
  std::size_t first_interconnect(const std::string& a, const std::string& b) const {
    return where.interconnects.at({a, b});
  }

  // The check of a split document against the objects in force; see propose().
  Proposal check(const std::string& text, const Split& parts);

  // --- applying a split document ----------------------------------------------------------
  // The positions of one list made the split's afresh (the old ones are in the undo);
  // returns the identities in force that it no longer has.
  template <class Key, class Map>
  static std::vector<Key> place(const Map& map, const std::vector<Element<Key>>& elements,
                                PositionOf<Key>& positions) {
    positions.clear();
    for (const Element<Key>& e : elements) positions.emplace(e.key, e.position);
    std::vector<Key> gone;
    for (const auto& [key, entry] : map) {
      if (!positions.count(key)) gone.push_back(key);
    }
    return gone;
  }
  // The same for a text matched against the document in force (split.hpp), by changing only
  // what moved: an element repeated at its own position keeps it. Each value before goes to
  // `moved`. At 10,000 nodes this is most of what a one-peer change costs otherwise.
  template <class Key>
  static std::vector<Key> move(const std::vector<Element<Key>>& elements, const std::vector<Key>& unmatched,
                               PositionOf<Key>& positions, Undo::Moves<Key>& moved) {
    auto set = [&](const Key& key, std::optional<std::size_t> now) {
      const auto it = positions.find(key);
      moved.emplace_back(key, it == positions.end() ? std::nullopt : std::optional(it->second));
      if (it == positions.end()) {
        if (now) positions.emplace(key, *now);
      } else if (now) {
        it->second = *now;
      } else {
        positions.erase(it);
      }
    };
    for (const Element<Key>& e : elements) {
      if (e.reused_from != e.position) set(e.key, e.position);
    }
    // An identity in force that the text does not repeat is gone, unless a parsed element
    // has it (then its position is now that element's).
    std::vector<Key> gone;
    for (const Key& key : unmatched) {
      const auto it = positions.find(key);
      if (it != positions.end() && it->second < elements.size() && elements[it->second].key == key) continue;
      gone.push_back(key);
    }
    std::sort(gone.begin(), gone.end());
    for (const Key& key : gone) set(key, std::nullopt);
    return gone;
  }
  template <class Key>
  static void unmove(PositionOf<Key>& positions, Undo::Moves<Key>& moved) {
    for (auto it = moved.rbegin(); it != moved.rend(); ++it) {
      if (it->second) {
        positions.insert_or_assign(it->first, *it->second);
      } else {
        positions.erase(it->first);
      }
    }
  }

  // Replaces the objects of one list with the split's, recording the old ones in `undo` and
  // the touched identities in `delta`; `touched` gets them and their dependents before and
  // after. `unmatched` is the split's when it was matched (see move()). An added or changed
  // object is decoded here, once, at its position in `list`; its own problems go to
  // `decoded`, for the check.
  template <class Key, class Draft, class Map, class Ids>
  void replace(Map& map, const std::vector<Element<Key>>& elements, const std::vector<Key>* unmatched,
               PositionOf<Key>& positions, Undo::Moves<Key>& moved,
               std::vector<std::pair<Key, std::optional<Entry<Draft>>>>& undo_list, Ids id_of, const char* list,
               Delta& delta, CheckSet& touched, std::map<Key, Problems>& decoded) {
    const std::vector<Key> gone = unmatched ? move(elements, *unmatched, positions, moved) : place(map, elements, positions);
    auto put = [&](const Key& key, std::optional<Entry<Draft>> now) {
      auto it = map.find(key);
      std::optional<Entry<Draft>> before;
      if (it != map.end()) {
        dependents(key, it->second.draft, touched);
        index(key, it->second.draft, false);
        digest -= it->second.hash;
        before = std::move(it->second);
        map.erase(it);
      }
      if (now) {
        index(key, now->draft, true);
        digest += now->hash;
        auto& placed = map.emplace(key, std::move(*now)).first->second;
        dependents(key, placed.draft, touched);
      }
      undo_list.emplace_back(key, std::move(before));
    };
    for (const Key& key : gone) {
      delta.removed.push_back(id_of(key));
      put(key, std::nullopt);
    }
    for (const Element<Key>& e : elements) {
      if (e.reused()) continue;  // the object in force, byte for byte
      auto it = map.find(e.key);
      if (it != map.end() && it->second.content == e.content) continue;
      (it == map.end() ? delta.added : delta.changed).push_back(id_of(e.key));
      Problems own;
      Draft draft = decode_one<Draft>(*e.value, pointer(std::string("/") + list, e.position), own);
      const bool clean = own.empty();
      decoded[e.key] = std::move(own);
      put(e.key, Entry<Draft>{std::move(draft), e.content, object_hash(id_of(e.key).to_string(), e.content), clean});
    }
  }

  template <class Draft>
  static Draft decode_one(const json& value, const std::string& ptr, Problems& problems) {
    if constexpr (std::is_same_v<Draft, DraftDomain>) return decode_domain(value, ptr, problems);
    if constexpr (std::is_same_v<Draft, DraftNode>) return decode_node(value, ptr, problems);
    if constexpr (std::is_same_v<Draft, DraftUse>) return decode_use(value, ptr, problems);
    if constexpr (std::is_same_v<Draft, DraftInterconnect>) return decode_interconnect(value, ptr, problems);
  }

  template <class Key, class Draft, class Map>
  void restore(Map& map, std::vector<std::pair<Key, std::optional<Entry<Draft>>>>& undo_list) {
    for (auto it = undo_list.rbegin(); it != undo_list.rend(); ++it) {
      auto& [key, before] = *it;
      if (auto now = map.find(key); now != map.end()) {
        index(key, now->second.draft, false);
        digest -= now->second.hash;
        map.erase(now);
      }
      if (before) {
        index(key, before->draft, true);
        digest += before->hash;
        map.emplace(key, std::move(*before));
      }
    }
  }
};

TopologyState::TopologyState() : impl_(std::make_unique<Impl>()) {}
TopologyState::~TopologyState() = default;

bool TopologyState::proposing() const { return impl_->undo.has_value(); }
bool TopologyState::empty() const { return impl_->nodes.empty() && impl_->header.empty(); }

Proposal TopologyState::propose(const std::string& text) {
  if (proposing()) throw std::logic_error("TopologyState: a proposal is already open");
  Impl& s = *impl_;
  s.undo.emplace();
  s.undo->header = s.header;
  s.undo->suspects = s.suspects;
  // Cut from the text, the elements it repeats from the document in force taken as they are;
  // anything unusual (a repeated key, bad syntax, an element without identity) goes the
  // parsed way, which words it.
  std::optional<Split> parts = split_text(text, s.known ? &*s.known : nullptr, s.where);
  std::optional<json> doc;
  if (!parts) {
    Problems ignored;  // the full check below reports them
    doc = parse_document(text, ignored);
    if (doc) parts = split(*doc);
  }
  if (!parts) {
    // Not cut into objects by identity: checked in full; it has problems (see state.hpp).
    Proposal p;
    p.checked_in_full = true;
    p.problems = load_topology_text(text).problems;
    if (p.problems.empty()) {
      s.undo.reset();
      throw std::logic_error("TopologyState: a document without identities passed the full check");
    }
    return p;
  }
  Proposal p = s.check(text, *parts);
  p.elements_parsed = parts->from_text() ? parts->elements_parsed
                                         : parts->domains.size() + parts->nodes.size() + parts->uses.size() +
                                               parts->interconnects.size();
  // What the next text is matched against: this one, if it was cut from text.
  s.undo->known = std::move(s.known);
  s.known.reset();
  if (parts->from_text()) {
    parts->trim();
    s.known = Known{text, std::move(*parts)};
  }
  return p;
}

Proposal TopologyState::Impl::check(const std::string& text, const Split& parts) {
  Impl& s = *this;
  Proposal p;
  Problems problems;
  p.checked_in_full = s.nodes.empty() && s.domains.empty();

  Impl::Undo& saved = *s.undo;
  if (!parts.matched) {
    saved.where = std::move(s.where);
    s.where = {};
  }
  if (parts.header != s.header) {
    (s.header.empty() ? p.delta.added : p.delta.changed).push_back(header_id);
    if (!s.header.empty()) s.digest -= object_hash(header_id.to_string(), s.header);
    s.header = parts.header;
    s.digest += object_hash(header_id.to_string(), s.header);
  }
  CheckSet check = s.suspects;
  std::map<std::string, Problems> decoded_domains, decoded_nodes;
  std::map<Pair, Problems> decoded_uses, decoded_interconnects;
  auto unmatched = [&](const auto& list) { return parts.matched ? &list : nullptr; };
  s.replace(s.domains, parts.domains, unmatched(parts.unmatched_domains), s.where.domains, saved.moved_domains,
            saved.domains, [](const std::string& n) { return ObjectId{Kind::domain, n}; }, list_keys[0], p.delta, check,
            decoded_domains);
  s.replace(s.nodes, parts.nodes, unmatched(parts.unmatched_nodes), s.where.nodes, saved.moved_nodes, saved.nodes,
            [](const std::string& n) { return ObjectId{Kind::node, n}; }, list_keys[1], p.delta, check, decoded_nodes);
  s.replace(s.uses, parts.uses, unmatched(parts.unmatched_uses), s.where.uses, saved.moved_uses, saved.uses, use_id,
            list_keys[2], p.delta, check, decoded_uses);
  s.replace(s.interconnects, parts.interconnects, unmatched(parts.unmatched_interconnects), s.where.interconnects,
            saved.moved_interconnects, saved.interconnects, interconnect_id, list_keys[3], p.delta, check,
            decoded_interconnects);
  // Suspects' co-holders of unique values: after a reordering the "first" may be the other.
  for (const std::string& name : s.suspects.nodes) {
    if (auto it = s.nodes.find(name); it != s.nodes.end()) s.dependents(name, it->second.draft, check);
  }
  for (auto* list : {&p.delta.added, &p.delta.changed, &p.delta.removed}) std::sort(list->begin(), list->end());

  // The document level, then each object to check: its own problems at its position (those
  // of an added or changed object were found as it was decoded above; an unchanged object
  // is decoded again only if it had any), then the rules.
  decode_document_level(parts.level(), problems);
  s.suspects = {};
  Rules<Impl> rules(s, problems);
  auto check_list = [&](const auto& keys, const auto& map, const auto& elements, const auto& positions, int l,
                        auto rule, auto& suspect, const auto& decoded) {
    for (const auto& key : keys) {
      const auto entry = map.find(key);
      if (entry == map.end()) continue;  // removed
      const std::size_t before = problems.size();
      const auto& e = elements[positions.at(key)];
      using Draft = std::decay_t<decltype(entry->second.draft)>;
      if (const auto d = decoded.find(key); d != decoded.end()) {
        problems.insert(problems.end(), d->second.begin(), d->second.end());
      } else if (!entry->second.clean) {
        // A reused element was not parsed: its bytes are in the text.
        json reparsed;
        if (!e.value) reparsed = json::parse(parts.slices[static_cast<std::size_t>(l)][e.position].of(text));
        Impl::decode_one<Draft>(e.value ? *e.value : reparsed, pointer(std::string("/") + list_keys[l], e.position),
                                problems);
      }
      rule(e.position, entry->second.draft);
      if (problems.size() != before) suspect.insert(key);
      ++p.objects_checked;
    }
  };
  check_list(check.domains, s.domains, parts.domains, s.where.domains, 0, [&](std::size_t i, const DraftDomain& d) { rules.domain(i, d); },
             s.suspects.domains, decoded_domains);
  check_list(check.nodes, s.nodes, parts.nodes, s.where.nodes, 1, [&](std::size_t i, const DraftNode& n) { rules.node(i, n); },
             s.suspects.nodes, decoded_nodes);
  check_list(check.uses, s.uses, parts.uses, s.where.uses, 2, [&](std::size_t i, const DraftUse& u) { rules.use(i, u); },
             s.suspects.uses, decoded_uses);
  check_list(check.interconnects, s.interconnects, parts.interconnects, s.where.interconnects, 3,
             [&](std::size_t i, const DraftInterconnect& ic) { rules.interconnect(i, ic); }, s.suspects.interconnects,
             decoded_interconnects);
  // A text is cut only when no key repeats in it (split.hpp): then finish() has no repeated
  // key to find, and is needed only to place problems.
  if (!parts.from_text() || !problems.empty()) finish(text, problems);
  p.problems = std::move(problems);
  if (!p.problems.empty()) return p;

  // What the journal and the planner get.
  auto record = [&](const ObjectId& id, const std::string* content) {
    if (content) {
      p.put.emplace(id.to_string(), *content);
    } else {
      p.erase.push_back(id.to_string());
    }
  };
  if (parts.header != saved.header) record(header_id, &s.header);
  // Each touched object: its content for the journal, its model before and after for the planner.
  auto changes = [&](const auto& undo_list, const auto& map, auto id_of, auto build, auto& now_list, auto& old_list) {
    for (const auto& [key, before] : undo_list) {
      const auto now = map.find(key);
      const ObjectId id = id_of(key);
      record(id, now == map.end() ? nullptr : &now->second.content);
      if (now != map.end()) now_list.push_back(build(now->second.draft));
      // An object that had problems of its own was no model (a draft with problems may
      // lack what a model needs): nothing to give, and no planner made of it.
      if (before && before->clean) old_list.push_back(build(before->draft));
      if (now == map.end()) p.model.removed.push_back(id);
    }
  };
  changes(saved.domains, s.domains, [](const std::string& n) { return ObjectId{Kind::domain, n}; }, build_domain,
          p.model.domains, p.model.old_domains);
  changes(saved.nodes, s.nodes, [](const std::string& n) { return ObjectId{Kind::node, n}; }, build_node, p.model.nodes,
          p.model.old_nodes);
  changes(saved.uses, s.uses, use_id, build_use, p.model.uses, p.model.old_uses);
  changes(saved.interconnects, s.interconnects, interconnect_id, build_interconnect, p.model.interconnects,
          p.model.old_interconnects);
  return p;
}

void TopologyState::commit() {
  if (!proposing()) throw std::logic_error("TopologyState: no proposal to commit");
  impl_->undo.reset();
}

void TopologyState::abort() {
  if (!proposing()) throw std::logic_error("TopologyState: no proposal to abort");
  Impl& s = *impl_;
  Impl::Undo& undo = *s.undo;
  s.restore(s.interconnects, undo.interconnects);
  s.restore(s.uses, undo.uses);
  s.restore(s.nodes, undo.nodes);
  s.restore(s.domains, undo.domains);
  if (s.header != undo.header) {
    s.digest -= object_hash(header_id.to_string(), s.header);
    if (!undo.header.empty()) s.digest += object_hash(header_id.to_string(), undo.header);
  }
  s.header = std::move(undo.header);
  if (undo.where) s.where = std::move(*undo.where);
  Impl::unmove(s.where.domains, undo.moved_domains);
  Impl::unmove(s.where.nodes, undo.moved_nodes);
  Impl::unmove(s.where.uses, undo.moved_uses);
  Impl::unmove(s.where.interconnects, undo.moved_interconnects);
  if (undo.known) s.known = std::move(*undo.known);
  s.suspects = std::move(undo.suspects);
  s.undo.reset();
}

Topology TopologyState::topology() const {
  const Impl& s = *impl_;
  Topology t;
  t.version = 1;
  if (const auto header = json::parse(s.header.empty() ? "{}" : s.header); header.contains("name") && header["name"].is_string()) {
    t.name = header["name"].get<std::string>();
  }
  auto ordered = [](const auto& positions) {
    using Key = typename std::decay_t<decltype(positions)>::key_type;
    std::vector<std::pair<std::size_t, Key>> v;
    for (const auto& [key, pos] : positions) v.emplace_back(pos, key);
    std::sort(v.begin(), v.end());
    return v;
  };
  for (const auto& [pos, key] : ordered(s.where.domains)) t.domains.push_back(build_domain(s.domains.at(key).draft));
  for (const auto& [pos, key] : ordered(s.where.nodes)) t.nodes.push_back(build_node(s.nodes.at(key).draft));
  for (const auto& [pos, key] : ordered(s.where.uses)) t.service_uses.push_back(build_use(s.uses.at(key).draft));
  for (const auto& [pos, key] : ordered(s.where.interconnects)) {
    t.interconnects.push_back(build_interconnect(s.interconnects.at(key).draft));
  }
  return t;
}

std::string TopologyState::name() const {
  const auto header = json::parse(impl_->header.empty() ? "{}" : impl_->header);
  return header.contains("name") && header["name"].is_string() ? header["name"].get<std::string>() : std::string();
}

std::size_t TopologyState::node_count() const { return impl_->nodes.size(); }

std::string TopologyState::digest() const {
  static const char hex[] = "0123456789abcdef";
  std::string out(16, '0');
  for (int i = 0; i < 16; ++i) out[static_cast<std::size_t>(i)] = hex[(impl_->digest >> (60 - 4 * i)) & 0xf];
  return out;
}

ObjectTexts TopologyState::objects() const {
  const Impl& s = *impl_;
  ObjectTexts out;
  if (!s.header.empty()) out.emplace(header_id.to_string(), s.header);
  for (const auto& [k, e] : s.domains) out.emplace(ObjectId{Kind::domain, k}.to_string(), e.content);
  for (const auto& [k, e] : s.nodes) out.emplace(ObjectId{Kind::node, k}.to_string(), e.content);
  for (const auto& [k, e] : s.uses) out.emplace(use_id(k).to_string(), e.content);
  for (const auto& [k, e] : s.interconnects) out.emplace(interconnect_id(k).to_string(), e.content);
  return out;
}

std::string assemble(const ObjectTexts& objects) {
  // Keys name their kind ("node x", "domain y", ...; the header is "topology"); contents are
  // canonical JSON, pasted as they are (no parse and dump of the whole).
  std::string header = "{}";
  std::vector<const std::string*> lists[4];
  for (const auto& [key, content] : objects) {
    if (key == header_id.to_string()) {
      header = content;
    } else if (key.rfind("domain ", 0) == 0) {
      lists[0].push_back(&content);
    } else if (key.rfind("node ", 0) == 0) {
      lists[1].push_back(&content);
    } else if (key.rfind("service-use ", 0) == 0) {
      lists[2].push_back(&content);
    } else if (key.rfind("interconnect ", 0) == 0) {
      lists[3].push_back(&content);
    } else {
      throw std::invalid_argument("not a topology object key: \"" + key + "\"");
    }
  }
  std::string out = header.substr(0, header.size() - 1);  // without its closing brace
  bool first = header.size() <= 2;
  for (int l = 0; l < 4; ++l) {
    out += first ? "\n" : ",\n";
    first = false;
    out += std::string("\"") + list_keys[l] + "\": [";
    for (std::size_t i = 0; i < lists[l].size(); ++i) out += (i ? ",\n  " : "\n  ") + *lists[l][i];
    out += "\n]";
  }
  return out + "\n}\n";
}

}  // namespace ndsip::topology
