#include "common/atomic_file.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <stdexcept>

namespace ndsip::common {

namespace {

std::runtime_error sys_error(const std::string& what, const std::string& path) {
  return std::runtime_error(what + " " + path + ": " + std::strerror(errno));
}

void fsync_dir(const std::filesystem::path& dir) {
  const int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) throw sys_error("cannot open directory", dir.string());
  ::fsync(fd);
  ::close(fd);
}

}  // namespace

StagedFile::StagedFile(std::string path, const std::string& data, unsigned mode, bool durable)
    : path_(std::move(path)), tmp_(path_ + ".tmp"), durable_(durable) {
  if (::unlink(tmp_.c_str()) != 0 && errno != ENOENT) throw sys_error("cannot remove", tmp_);
  const int fd = ::open(tmp_.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode);
  if (fd < 0) throw sys_error("cannot create", tmp_);
  // open() applied the umask; a key must end up exactly 0600, a state file exactly `mode`.
  auto fail = [&](const char* what) {
    const auto e = sys_error(what, tmp_);
    ::close(fd);
    ::unlink(tmp_.c_str());
    throw e;
  };
  if (::fchmod(fd, mode) != 0) fail("cannot chmod");
  std::size_t done = 0;
  while (done < data.size()) {
    const ssize_t n = ::write(fd, data.data() + done, data.size() - done);
    if (n < 0) {
      if (errno == EINTR) continue;
      fail("cannot write");
    }
    done += static_cast<std::size_t>(n);
  }
  if (durable_ && ::fsync(fd) != 0) fail("cannot fsync");
  ::close(fd);
}

StagedFile::~StagedFile() {
  if (!committed_) ::unlink(tmp_.c_str());
}

void StagedFile::commit() {
  if (::rename(tmp_.c_str(), path_.c_str()) != 0) throw sys_error("cannot rename to", path_);
  committed_ = true;
  if (durable_) fsync_dir(std::filesystem::path(path_).parent_path());
}

void write_file_atomically(const std::string& path, const std::string& data, unsigned mode, bool durable) {
  StagedFile(path, data, mode, durable).commit();
}

}  // namespace ndsip::common
