#include "control/peer_check.hpp"

#include <grp.h>
#include <pwd.h>
#include <unistd.h>

#include <algorithm>
#include <vector>

namespace ndsip::control {

namespace {

bool member_of(uid_t uid, gid_t primary, gid_t group) {
  if (primary == group) return true;
  const passwd* pw = ::getpwuid(uid);
  if (!pw) return false;
  // getgrouplist says how many groups there are when the buffer is too small: ask again
  // with that many (a user may be in far more than a fixed guess).
  int n = 32;
  std::vector<gid_t> groups;
  for (int tries = 0; tries < 4; ++tries) {
    groups.resize(static_cast<std::size_t>(n));
    int got = n;
    if (::getgrouplist(pw->pw_name, primary, groups.data(), &got) >= 0) {
      groups.resize(static_cast<std::size_t>(got));
      return std::find(groups.begin(), groups.end(), group) != groups.end();
    }
    n = std::max(got, n * 2);
  }
  return false;
}

}  // namespace

std::string refusal_of(const ucred& peer, std::optional<gid_t> group) {
  if (peer.uid == 0 || peer.uid == ::geteuid()) return {};
  if (group && member_of(peer.uid, peer.gid, *group)) return {};
  return "permission denied: uid " + std::to_string(peer.uid) + " is not root" +
         (group ? " and not in the control group" : "");
}

}  // namespace ndsip::control
