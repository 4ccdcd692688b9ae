#include "vici/uri.hpp"

#include <sys/un.h>

#include "vici/error.hpp"

namespace ndsip::vici {

std::string socket_path_of(std::string_view uri) {
  constexpr std::string_view scheme = "unix://";
  if (uri.substr(0, scheme.size()) != scheme) {
    throw Error(ErrorKind::usage, "VICI URI \"" + std::string(uri) +
                                      "\" is not unix:///path (only local sockets are supported)");
  }
  std::string path(uri.substr(scheme.size()));
  if (path.empty() || path.front() != '/') {
    throw Error(ErrorKind::usage,
                "VICI URI \"" + std::string(uri) + "\" needs an absolute path: unix:///path");
  }
  if (path.size() >= sizeof(sockaddr_un::sun_path)) {
    throw Error(ErrorKind::usage, "VICI socket path \"" + path + "\" is longer than " +
                                      std::to_string(sizeof(sockaddr_un::sun_path) - 1) +
                                      " bytes");
  }
  return path;
}

}  // namespace ndsip::vici
