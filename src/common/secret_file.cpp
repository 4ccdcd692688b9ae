#include "common/secret_file.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <sstream>

namespace ndsip::common {

namespace {

std::string octal(mode_t mode) {
  std::ostringstream o;
  o << std::oct << (mode & 07777);
  return o.str();
}

SecretRead refused(SecretRead::Problem problem, std::string error) {
  SecretRead r;
  r.problem = problem;
  r.error = std::move(error);
  return r;
}

}  // namespace

SecretRead read_secret_file(const std::string& path) {
  // O_NONBLOCK: a FIFO planted at the path must not hang us before fstat refuses it.
  const int fd = ::open(path.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
  if (fd < 0) {
    if (errno == ELOOP) return refused(SecretRead::Problem::permissions, "is a symbolic link; name the file itself");
    return refused(SecretRead::Problem::unreadable, std::string("cannot be read: ") + std::strerror(errno));
  }
  struct stat st {};
  SecretRead r;
  if (::fstat(fd, &st) != 0) {
    r = refused(SecretRead::Problem::unreadable, std::string("cannot be read: ") + std::strerror(errno));
  } else if (!S_ISREG(st.st_mode)) {
    r = refused(SecretRead::Problem::unreadable, "is not a regular file");
  } else if (st.st_uid != ::geteuid()) {
    r = refused(SecretRead::Problem::permissions, "is owned by uid " + std::to_string(st.st_uid) +
                                                      ", not by this process's user (uid " +
                                                      std::to_string(::geteuid()) + "); chown it");
  } else if ((st.st_mode & 077) != 0) {
    r = refused(SecretRead::Problem::permissions,
                "is accessible by group or others (mode " + octal(st.st_mode) + "); chmod 600 it");
  } else {
    std::string all;
    char buf[8192];
    for (;;) {
      const ssize_t n = ::read(fd, buf, sizeof buf);
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) {
        r = refused(SecretRead::Problem::unreadable, std::string("cannot be read: ") + std::strerror(errno));
        break;
      }
      if (n == 0) {
        r.text = std::move(all);
        break;
      }
      all.append(buf, static_cast<std::size_t>(n));
    }
    // The buffer held the secret: do not leave it on the stack.
    ::explicit_bzero(buf, sizeof buf);
  }
  ::close(fd);
  return r;
}

}  // namespace ndsip::common
