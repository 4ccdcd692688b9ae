#include "daemon/log.hpp"

#include <iostream>

namespace ndsip::daemon {

void log(const std::string& message) { std::cerr << "ndsipd: " << message << std::endl; }

}  // namespace ndsip::daemon
