#include "reconcile/diff.hpp"

#include <algorithm>

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
    if (same) {
      ++d.unchanged;
    } else {
      d.load.push_back(c.name);
    }
  }
  for (const std::string& name : in_charon) {
    if (!wanted.count(name) && owned(node, name, applied)) d.unload.push_back(name);
  }
  return d;
}

ConnectionDiff diff_plans(const policy::ConnectionList& applied_plan, const policy::ConnectionList& desired) {
  ConnectionDiff d;
  std::size_t i = 0, j = 0;
  while (i < applied_plan.size() || j < desired.size()) {
    if (i < applied_plan.size() && j < desired.size()) {
      if (applied_plan.shared(i) == desired.shared(j)) {
        ++d.unchanged;
        ++i, ++j;
        continue;
      }
      const policy::ConnectionPlan& was = applied_plan[i];
      const policy::ConnectionPlan& want = desired[j];
      if (was.name == want.name) {
        if (was.digest == want.digest) {
          ++d.unchanged;
        } else {
          d.load.push_back(want.name);
        }
        ++i, ++j;
      } else if (was.name < want.name) {
        d.unload.push_back(was.name);
        ++i;
      } else {
        d.load.push_back(want.name);
        ++j;
      }
    } else if (i < applied_plan.size()) {
      d.unload.push_back(applied_plan[i++].name);
    } else {
      d.load.push_back(desired[j++].name);
    }
  }
  return d;
}

const policy::ConnectionPlan* find_connection(const policy::ConnectionList& sorted, const std::string& name) {
  const auto it = std::lower_bound(sorted.begin(), sorted.end(), name,
                                   [](const policy::ConnectionPlan& c, const std::string& n) { return c.name < n; });
  return it != sorted.end() && it->name == name ? &*it : nullptr;
}

}  // namespace ndsip::reconcile
