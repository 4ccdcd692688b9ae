// Errors raised by the VICI codec and session. One exception type with a kind, so a caller
// can tell "charon said no" from "charon went away" without parsing text.
#pragma once

#include <stdexcept>
#include <string>

namespace ndsip::vici {

enum class ErrorKind {
  malformed,        // bytes that are not a valid VICI packet or message
  limit,            // a name, value, nesting depth or packet over the protocol's limits
  unknown_command,  // charon answered CMD_UNKNOWN
  unknown_event,    // charon answered EVENT_UNKNOWN
  command_failed,   // charon answered success = no; what() carries charon's errmsg
  timeout,          // no answer in time; the session closes (no request ids to resync on)
  disconnected,     // the socket closed: charon stopped or restarted
  io,               // connect or socket error
  usage,            // the caller misused the API (bad URI, not connected, ...)
};

const char* to_string(ErrorKind kind);

class Error : public std::runtime_error {
 public:
  Error(ErrorKind kind, const std::string& message)
      : std::runtime_error(message), kind_(kind) {}
  ErrorKind kind() const { return kind_; }

 private:
  ErrorKind kind_;
};

}  // namespace ndsip::vici
