#include "etcd/publication.hpp"

#include <algorithm>
#include <nlohmann/json.hpp>

namespace ndsip::etcd {

using json = nlohmann::json;

std::string PublishRecord::to_json() const {
  return json{{"digest", digest}, {"name", name},       {"by", by},
              {"at", at},         {"objects", objects}, {"previous_revision", previous}}
      .dump();
}

std::optional<PublishRecord> PublishRecord::from_json(const std::string& text) {
  const json j = json::parse(text, nullptr, false);
  if (!j.is_object()) return std::nullopt;
  PublishRecord r;
  try {
    r.digest = j.at("digest").get<std::string>();
    r.name = j.value("name", "");
    r.by = j.value("by", "");
    r.at = j.value("at", "");
    r.objects = j.value("objects", std::size_t{0});
    r.previous = j.value("previous_revision", std::int64_t{0});
  } catch (const json::exception&) {
    return std::nullopt;
  }
  return r;
}

Held held_from(const RangeResult& objects, const RangeResult& publish, const Layout& layout) {
  Held h;
  h.revision = std::max(objects.header.revision, publish.header.revision);
  for (const KeyValue& kv : objects.kvs) {
    if (auto id = layout.object_of(kv.key)) {
      h.objects[*id] = kv.value;
    } else {
      h.foreign.push_back(kv.key);
    }
  }
  for (const KeyValue& kv : publish.kvs) {
    if (kv.key != layout.publish_key()) continue;
    h.publish = kv;
    h.record = PublishRecord::from_json(kv.value);
  }
  return h;
}

Publication publication(const Objects& wanted, const Held& held, const Layout& layout) {
  Publication p;
  for (const auto& [id, text] : wanted) {
    const auto it = held.objects.find(id);
    if (it != held.objects.end() && it->second == text) continue;
    (it == held.objects.end() ? p.added : p.changed).push_back(id);
    p.ops.push_back({Op::Kind::put, layout.object_key(id), text, 0, ""});
  }
  for (const auto& [id, text] : held.objects) {
    if (wanted.count(id)) continue;
    p.removed.push_back(id);
    p.ops.push_back({Op::Kind::erase, layout.object_key(id), "", 0, ""});
  }
  for (const std::string& key : held.foreign) {
    p.removed.push_back(key);
    p.ops.push_back({Op::Kind::erase, key, "", 0, ""});
  }
  return p;
}

std::string publish_txn(const Publication& p, const Held& held, const PublishRecord& record, const Layout& layout) {
  // Unchanged since read: absent (created at revision 0) or at the same mod revision.
  const Compare guard = held.publish ? Compare{layout.publish_key(), Compare::Target::mod_revision, held.publish->mod_revision}
                                     : Compare{layout.publish_key(), Compare::Target::create_revision, 0};
  std::vector<Op> ops = p.ops;
  ops.push_back({Op::Kind::put, layout.publish_key(), record.to_json(), 0, ""});
  return txn_request({guard}, ops);
}

}  // namespace ndsip::etcd
