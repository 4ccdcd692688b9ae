// Where ndsip keeps a fleet's topology in etcd, under one prefix (default /ndsip/v1/):
//   <prefix>topology/header             the top-level fields (name, version, ...)
//   <prefix>topology/<kind>/<identity>  one key per object: domain/core, node/val-1,
//                                       service-use/val-1>gms, interconnect/a|b; its JSON
//   <prefix>publish                     the last publish: digest, name, who, when, and the
//                                       etcd revision of the publish before it (rollback)
//   <prefix>status/<node>               each ndsipd's status, under its lease
// One publish is one transaction, so a watcher sees each publish as one revision.
#pragma once

#include <optional>
#include <string>

namespace ndsip::etcd {

class Layout {
 public:
  // Throws std::invalid_argument unless `prefix` starts and ends with '/'.
  explicit Layout(std::string prefix = "/ndsip/v1/");

  const std::string& prefix() const { return prefix_; }
  std::string objects_prefix() const { return prefix_ + "topology/"; }
  std::string publish_key() const { return prefix_ + "publish"; }
  std::string status_prefix() const { return prefix_ + "status/"; }
  std::string status_key(const std::string& node) const { return status_prefix() + node; }

  // A topology object's identity (topology::ObjectId: "topology", "node val-1", ...) and its
  // key; object_of returns nullopt for a key that is not an object's.
  std::string object_key(const std::string& object) const;
  std::optional<std::string> object_of(const std::string& key) const;

 private:
  std::string prefix_;
};

}  // namespace ndsip::etcd
