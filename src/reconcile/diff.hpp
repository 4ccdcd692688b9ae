// What must change in charon: the desired connections against what charon holds and what
// ndsipd last loaded. Pure, so the "touch only what changed" rule is unit-tested.
#pragma once

#include <map>
#include <set>
#include <string>
#include <vector>

#include "policy/plan.hpp"

namespace ndsip::reconcile {

// Connection name -> digest of the content ndsipd loaded into this charon.
using Applied = std::map<std::string, std::string>;

struct ConnectionDiff {
  std::vector<std::string> load;       // new, changed, or missing from charon (e.g. after a restart)
  std::vector<std::string> unload;     // ndsipd's own connections that are no longer desired
  std::size_t unchanged = 0;           // in charon with the same digest: never re-sent
  bool empty() const { return load.empty() && unload.empty(); }
};

// `in_charon`: names get-conns returned. A connection is ndsipd's own when `applied` has it
// or its name has ndsipd's pattern for this node ("za_<node>_" / "zb_<node>_"), so
// connections loaded by others (swanctl, another tool) are left alone.
ConnectionDiff diff_connections(const std::string& node,
                                const policy::ConnectionList& desired,
                                const Applied& applied, const std::set<std::string>& in_charon);

// The same diff when charon is trusted to hold exactly `applied_plan`, the plan the last pass
// applied in full and without errors (so `applied` equals its names and digests). Both lists
// are sorted by name. A walk in step by name, in which a connection the two plans share (the
// planner hands out the same object for every connection it did not plan again) is unchanged
// without a look at its name or digest: a one-peer change at 10,000 connections costs pointer
// comparisons, not sets of 10,000 names.
ConnectionDiff diff_plans(const policy::ConnectionList& applied_plan, const policy::ConnectionList& desired);

// The connection called `name` in a list sorted by name, or null.
const policy::ConnectionPlan* find_connection(const policy::ConnectionList& sorted, const std::string& name);

}  // namespace ndsip::reconcile
