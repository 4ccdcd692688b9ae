// ndsipd's log: one line per event on stderr (the journal under systemd). Lines name
// commands, connections and files, never key material.
#pragma once

#include <string>

namespace ndsip::daemon {

void log(const std::string& message);

}  // namespace ndsip::daemon
