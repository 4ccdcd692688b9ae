#include "kernel/check.hpp"

#include "kernel/route_match.hpp"
#include "kernel/xfrm_match.hpp"

namespace ndsip::kernel {

const char* to_string(DatapathSetting setting) {
  switch (setting) {
    case DatapathSetting::automatic: return "auto";
    case DatapathSetting::xfrm: return "xfrm";
    case DatapathSetting::libipsec: return "libipsec";
  }
  return "?";
}

Datapath choose_datapath(DatapathSetting setting, bool tun_device_present) {
  switch (setting) {
    case DatapathSetting::xfrm: return Datapath::xfrm;
    case DatapathSetting::libipsec: return Datapath::libipsec;
    case DatapathSetting::automatic: break;
  }
  return tun_device_present ? Datapath::libipsec : Datapath::xfrm;
}

Report check(const std::vector<ChildSaView>& children, Datapath datapath, const XfrmSnapshot& xfrm,
             const RouteSnapshot& routes, const std::string& error, bool current) {
  Report report;
  report.datapath = datapath;
  report.error = error;
  report.current = current;
  std::vector<std::vector<Entry>> missing;
  if (error.empty()) {
    if (datapath == Datapath::xfrm) {
      XfrmMatch m = match_xfrm(children, xfrm);
      missing = std::move(m.missing);
      report.stale = std::move(m.stale);
    } else {
      RouteMatch m = match_routes(children, routes);
      missing = std::move(m.missing);
      report.stale = std::move(m.stale);
    }
  }
  for (std::size_t i = 0; i < children.size(); ++i) {
    ChildSaStatus s;
    s.name = children[i].name;
    s.uniqueid = children[i].uniqueid;
    s.datapath = datapath;
    if (!error.empty()) {
      s.verdict = Verdict::unknown;
    } else {
      s.missing = std::move(missing[i]);
      s.verdict = s.missing.empty() ? Verdict::ok : Verdict::missing;
    }
    report.children.push_back(std::move(s));
  }
  return report;
}

}  // namespace ndsip::kernel
