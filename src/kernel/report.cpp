#include "kernel/report.hpp"

namespace ndsip::kernel {

const char* to_string(Datapath datapath) { return datapath == Datapath::xfrm ? "xfrm" : "libipsec"; }

const char* to_string(EntryKind kind) {
  switch (kind) {
    case EntryKind::policy: return "policy";
    case EntryKind::state: return "state";
    case EntryKind::route: return "route";
    case EntryKind::device: return "device";
    case EntryKind::selector: return "selector";
  }
  return "?";
}

const char* to_string(Verdict verdict) {
  switch (verdict) {
    case Verdict::ok: return "ok";
    case Verdict::missing: return "missing";
    case Verdict::unknown: return "unknown";
  }
  return "?";
}

std::string ChildSaStatus::summary() const {
  if (verdict != Verdict::missing) return to_string(verdict);
  std::string out;
  for (const Entry& e : missing) {
    if (!out.empty()) out += "; ";
    out += e.what;
  }
  return out;
}

}  // namespace ndsip::kernel
