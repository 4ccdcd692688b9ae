#include "vici/error.hpp"

namespace ndsip::vici {

const char* to_string(ErrorKind kind) {
  switch (kind) {
    case ErrorKind::malformed: return "malformed";
    case ErrorKind::limit: return "limit";
    case ErrorKind::unknown_command: return "unknown-command";
    case ErrorKind::unknown_event: return "unknown-event";
    case ErrorKind::command_failed: return "command-failed";
    case ErrorKind::timeout: return "timeout";
    case ErrorKind::disconnected: return "disconnected";
    case ErrorKind::io: return "io";
    case ErrorKind::usage: return "usage";
  }
  return "unknown";
}

}  // namespace ndsip::vici
