// XFRM dump messages -> ndsip's model, through libnl-xfrm's parsers.
#pragma once

#include <optional>

#include "kernel/xfrm_model.hpp"

struct nlmsghdr;

namespace ndsip::kernel {

// An XFRM_MSG_NEWPOLICY message; nullopt when libnl cannot parse it.
std::optional<XfrmPolicy> read_policy(nlmsghdr* message);
// An XFRM_MSG_NEWSA message, read from its fixed part only: the attributes, which carry the
// SA's keys, are never handed to libnl (which would copy them and free them unwiped).
std::optional<XfrmState> read_state(const nlmsghdr* message);

}  // namespace ndsip::kernel
