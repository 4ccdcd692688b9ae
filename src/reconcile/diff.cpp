#include "reconcile/diff.hpp"

namespace ndsip::reconcile {
namespace {

bool owned(const std::string& node, const std::string& name, const Applied& applied) {
  if (applied.count(name)) return true;
  for (const char* zone : {"za_", "zb_"}) {
    const std::string prefix = zone + node + "_";
    if (name.rfind(prefix, 0) == 0) return true;
  }
  return false;
}

}  // namespace

ConnectionDiff diff_connections(const std::string& node,
                                const policy::ConnectionList& desired,
                                const Applied& applied, const std::set<std::string>& in_charon) {
  ConnectionDiff d;
  std::set<std::string> wanted;
  for (const policy::ConnectionPlan& c : desired) {
    wanted.insert(c.name);
    auto it = applied.find(c.name);
    const bool same = in_charon.count(c.name) && it != applied.end() && it->second == c.digest;
    (same ? d.unchanged : d.load).push_back(c.name);
  }
  for (const std::string& name : in_charon) {
    if (!wanted.count(name) && owned(node, name, applied)) d.unload.push_back(name);
  }
  return d;
}

}  // namespace ndsip::reconcile
