// A publish as etcd sees it: the objects etcd holds under the layout's prefix, the objects of
// the topology being published, and the one transaction that turns the first into the second,
// guarded by the publish key's revision so that of two publishes made from the same reading
// one commits and the other changes nothing. Pure: ndsipctl publish and rollback, and their
// tests, build on it.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "etcd/codec.hpp"
#include "etcd/layout.hpp"

namespace ndsip::etcd {

using Objects = std::map<std::string, std::string>;  // object identity -> its JSON

struct PublishRecord {
  std::string digest, name, by, at;  // topology digest and name; who published, when (UTC)
  std::size_t objects = 0;
  std::int64_t previous = 0;  // etcd revision of the publish before this one (0: none)
  std::string to_json() const;
  // nullopt when `text` is not a publish record.
  static std::optional<PublishRecord> from_json(const std::string& text);
};

// What etcd holds: read from a range over objects_prefix() and one of publish_key().
struct Held {
  Objects objects;
  std::vector<std::string> foreign;       // keys under objects_prefix() that are no object's
  std::optional<KeyValue> publish;        // the publish key, if any publish happened
  std::optional<PublishRecord> record;    // its content, if it parses
  std::int64_t revision = 0;              // the store's revision when read
};
Held held_from(const RangeResult& objects, const RangeResult& publish, const Layout& layout);

struct Publication {
  std::vector<std::string> added, changed, removed;  // object identities, sorted
  std::vector<Op> ops;                               // puts and deletes, without the publish key
  bool empty() const { return ops.empty(); }
};
// `wanted` over `held`: every object to put or delete, foreign keys deleted too.
Publication publication(const Objects& wanted, const Held& held, const Layout& layout);

// The transaction: the publication's ops and the new publish record, if the publish key is
// still as `held` read it (absent, or at the same mod revision).
std::string publish_txn(const Publication& p, const Held& held, const PublishRecord& record, const Layout& layout);

}  // namespace ndsip::etcd
