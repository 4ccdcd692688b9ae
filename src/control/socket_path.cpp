#include "control/socket_path.hpp"

#include "common/private_dir.hpp"

#include <grp.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <stdexcept>

namespace ndsip::control {

void check_socket_directory(const std::string& socket_path) {
  std::string dir = std::filesystem::path(socket_path).parent_path().string();
  common::check_private_directory(dir.empty() ? "." : dir, "control socket directory");
}

void clear_stale_socket(const std::string& path) {
  struct stat st {};
  if (::lstat(path.c_str(), &st) != 0) {
    if (errno == ENOENT) return;
    throw std::runtime_error("control socket " + path + ": " + std::strerror(errno));
  }
  if (!S_ISSOCK(st.st_mode)) {
    throw std::runtime_error("control socket path " + path + " exists and is not a socket; refusing to remove it");
  }
  // Someone answering there is a running ndsipd: never take its socket away.
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  if (path.size() >= sizeof addr.sun_path) throw std::runtime_error("control socket path too long: " + path);
  std::memcpy(addr.sun_path, path.c_str(), path.size() + 1);
  const int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) throw std::runtime_error(std::string("socket: ") + std::strerror(errno));
  const bool answered = ::connect(fd, reinterpret_cast<const sockaddr*>(&addr), sizeof addr) == 0;
  ::close(fd);
  if (answered) {
    throw std::runtime_error("another ndsipd is serving on " + path + "; stop it first (one ndsipd per host)");
  }
  if (::unlink(path.c_str()) != 0 && errno != ENOENT) {
    throw std::runtime_error("cannot remove the stale control socket " + path + ": " + std::strerror(errno));
  }
}

std::optional<gid_t> control_group_id(const std::string& group) {
  if (group.empty()) return std::nullopt;
  const ::group* g = ::getgrnam(group.c_str());
  if (!g) throw std::runtime_error("control group \"" + group + "\" does not exist");
  return g->gr_gid;
}

}  // namespace ndsip::control
