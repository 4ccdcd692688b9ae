#include "etcd/layout.hpp"

#include <stdexcept>

namespace ndsip::etcd {

Layout::Layout(std::string prefix) : prefix_(std::move(prefix)) {
  if (prefix_.size() < 2 || prefix_.front() != '/' || prefix_.back() != '/') {
    throw std::invalid_argument("etcd prefix \"" + prefix_ + "\" must start and end with '/' (e.g. /ndsip/v1/)");
  }
}

std::string Layout::object_key(const std::string& object) const {
  if (object == "topology") return objects_prefix() + "header";
  std::string path = object;
  const auto space = path.find(' ');
  if (space != std::string::npos) path[space] = '/';
  return objects_prefix() + path;
}

std::optional<std::string> Layout::object_of(const std::string& key) const {
  const std::string base = objects_prefix();
  if (key.rfind(base, 0) != 0) return std::nullopt;
  std::string rest = key.substr(base.size());
  if (rest == "header") return "topology";
  const auto slash = rest.find('/');
  if (slash == std::string::npos || slash == 0 || slash + 1 == rest.size()) return std::nullopt;
  const std::string kind = rest.substr(0, slash);
  if (kind != "domain" && kind != "node" && kind != "service-use" && kind != "interconnect") return std::nullopt;
  rest[slash] = ' ';
  return rest;
}

}  // namespace ndsip::etcd
