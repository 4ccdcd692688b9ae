#include "common/private_dir.hpp"

#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <sstream>
#include <stdexcept>

namespace ndsip::common {

void check_private_directory(const std::string& dir, const std::string& what) {
  struct stat st {};
  // lstat: the directory itself must not be a link someone could repoint.
  if (::lstat(dir.c_str(), &st) != 0) throw std::runtime_error(what + " " + dir + ": " + std::strerror(errno));
  if (!S_ISDIR(st.st_mode)) throw std::runtime_error(what + " " + dir + " is not a directory");
  if (st.st_uid != 0 && st.st_uid != ::geteuid()) {
    throw std::runtime_error(what + " " + dir + " belongs to uid " + std::to_string(st.st_uid) +
                             ", not to root or ndsipd's user");
  }
  // Sticky world-writable directories (/tmp) still let others plant names; refused too.
  if ((st.st_mode & (S_IWGRP | S_IWOTH)) != 0) {
    std::ostringstream mode;
    mode << std::oct << (st.st_mode & 07777);
    throw std::runtime_error(what + " " + dir + " is writable by group or others (mode " + mode.str() +
                             "); use a directory only root can write, or chmod go-w it");
  }
}

}  // namespace ndsip::common
