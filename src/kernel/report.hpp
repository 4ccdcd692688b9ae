// What the kernel check says: per CHILD_SA, ok / missing (what) / unknown, which datapath
// was checked, and the kernel entries no CHILD_SA accounts for. The `what` strings are the
// operator's words for status; `kind` is for machines.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace ndsip::kernel {

// Where charon's ESP runs: the kernel's XFRM (kernel-netlink: policies and states), or
// userspace through a TUN device (kernel-libipsec: routes into the device, table 220).
enum class Datapath { xfrm, libipsec };
const char* to_string(Datapath datapath);

enum class EntryKind {
  policy,    // an XFRM policy
  state,     // an XFRM state (SA)
  route,     // a route in charon's routing table
  device,    // the TUN device
  selector,  // a traffic selector charon reported that ndsip could not read
};
const char* to_string(EntryKind kind);

// One thing the kernel lacks for a CHILD_SA, or one it holds that no CHILD_SA owns.
struct Entry {
  EntryKind kind;
  std::string what;  // "out policy 198.51.100.10/32 -> 198.51.100.11/32 reqid 1"
  bool operator==(const Entry&) const = default;
};

enum class Verdict {
  ok,       // everything the CHILD_SA needs is in the kernel
  missing,  // something is not (see `missing`)
  unknown,  // the kernel could not be read (see Report::error)
};
const char* to_string(Verdict verdict);

struct ChildSaStatus {
  std::string name;  // echoed from the ChildSaView
  std::uint64_t uniqueid = 0;
  Datapath datapath = Datapath::xfrm;
  Verdict verdict = Verdict::unknown;
  std::vector<Entry> missing;
  // "ok", "unknown", or the missing entries joined with "; " (status's kernel column).
  std::string summary() const;
};

struct Report {
  Datapath datapath = Datapath::xfrm;
  std::vector<ChildSaStatus> children;  // in the order of the views given
  std::vector<Entry> stale;             // kernel entries no CHILD_SA accounts for
  std::string error;                    // non-empty: the kernel could not be read
  // False while a change the kernel announced has not been read back yet (a dump is queued
  // or running): a gap seen then may be gone a moment later.
  bool current = true;
};

}  // namespace ndsip::kernel
