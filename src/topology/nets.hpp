// Addresses and prefixes ordered by the addresses they span, for the rules that compare
// traffic selectors by what they take in rather than by their text (rules 37 and 38,
// rules.hpp): "what lies inside this prefix" is one range of the order, and "which prefixes
// hold this one" one look-up per prefix length in use, so neither walks every node of a
// 10,000-node topology. Used by the full check (validate.cpp) and the incremental one
// (state.cpp), each with its own kind of holder. Internal to the topology part.
#pragma once

#include <array>
#include <compare>
#include <cstdint>
#include <map>
#include <utility>

#include "topology/address.hpp"

namespace ndsip::topology::detail {

template <class Holder>
class NetIndex {
 public:
  void add(const Prefix& p, Holder holder) {
    entries_.emplace(key(p), std::move(holder));
    ++lengths_[{p.address.v6, p.length}];
  }
  void remove(const Prefix& p, const Holder& holder) {
    auto [it, end] = entries_.equal_range(key(p));
    for (; it != end; ++it) {
      if (it->second == holder) {
        entries_.erase(it);
        if (auto l = lengths_.find({p.address.v6, p.length}); l != lengths_.end() && --l->second == 0) lengths_.erase(l);
        return;
      }
    }
  }

  // Calls f(length, holder) for every entry inside `p`, `p` itself included, in address order.
  template <class F>
  void inside(const Prefix& p, F&& f) const {
    // A prefix's network address with its length sorts first among the prefixes it holds;
    // everything up to its last address (with any length) follows. Shorter prefixes with the
    // same network address sort before it and hold it rather than lie inside it.
    Key last = key(p);
    for (int bit = p.length; bit < p.address.bits(); ++bit) {
      last.bytes[static_cast<std::size_t>(bit / 8)] |= static_cast<std::uint8_t>(0x80 >> (bit % 8));
    }
    last.length = 129;
    for (auto it = entries_.lower_bound(key(p)); it != entries_.end() && it->first < last; ++it) {
      f(it->first.length, it->second);
    }
  }

  // Calls f(length, holder) for every entry that holds `p`, `p` itself included.
  template <class F>
  void around(const Prefix& p, F&& f) const {
    for (const auto& [family_length, count] : lengths_) {
      if (family_length.first != p.address.v6 || family_length.second > p.length) continue;
      auto [it, end] = entries_.equal_range(key(truncated(p, family_length.second)));
      for (; it != end; ++it) f(it->first.length, it->second);
    }
  }

 private:
  struct Key {
    bool v6 = false;
    std::array<std::uint8_t, 16> bytes{};
    int length = 0;
    auto operator<=>(const Key&) const = default;
  };
  static Key key(const Prefix& p) { return Key{p.address.v6, p.address.bytes, p.length}; }

  std::multimap<Key, Holder> entries_;
  std::map<std::pair<bool, int>, std::size_t> lengths_;  // entries of each family and length
};

}  // namespace ndsip::topology::detail
