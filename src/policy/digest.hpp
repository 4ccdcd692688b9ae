// A short, stable digest of a planned connection's content, so reconcile can tell a changed
// connection from an unchanged one without comparing field by field, and operators can see
// at a glance whether two hosts agree.
#pragma once

#include <string>
#include <string_view>

namespace ndsip::policy {

struct ConnectionPlan;

// 16 hex digits of SHA-256 over a canonical serialisation of everything charon would be
// given (addresses, identities, proposals, times, children); `why` and names of templates
// are not part of it.
std::string connection_digest(const ConnectionPlan& connection);

// 16 hex digits of SHA-256 over any bytes (e.g. a topology file, shown by status).
std::string short_digest(std::string_view bytes);

}  // namespace ndsip::policy
