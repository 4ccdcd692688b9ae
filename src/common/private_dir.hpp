// Where ndsipd keeps what others must not touch (its state, its control socket), the
// directory must belong to root or ndsipd's user and be writable by nobody else: anyone else
// could plant links or swap names there. One rule for both places.
#pragma once

#include <string>

namespace ndsip::common {

// Throws std::runtime_error naming `what` ("state directory", ...), the path and the fix.
void check_private_directory(const std::string& dir, const std::string& what);

}  // namespace ndsip::common
