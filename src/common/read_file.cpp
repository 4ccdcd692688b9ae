// open(2)/read(2) rather than ifstream: errno survives to the message, O_CLOEXEC keeps the
// descriptor out of spawned children (charon, ndsipctl), and reading until EOF instead of
// trusting st_size also works for /proc files, which report a size of 0.
#include "common/read_file.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <utility>

namespace ndsip::common {
namespace {

ReadResult failure(const std::string& path, int err) {
  return {std::nullopt, "cannot read " + path + ": " + std::strerror(err)};
}

}  // namespace

ReadResult read_file_or_error(const std::string& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return failure(path, errno);
  struct Closer {
    int fd;
    ~Closer() { ::close(fd); }
  } closer{fd};
  // read(2) on a directory fails with EISDIR anyway; checking first makes it certain (some
  // file systems let read() of a directory return 0, which would look like an empty file).
  struct stat st {};
  if (::fstat(fd, &st) != 0) return failure(path, errno);
  if (S_ISDIR(st.st_mode)) return failure(path, EISDIR);
  std::string text;
  if (S_ISREG(st.st_mode) && st.st_size > 0) text.reserve(static_cast<std::size_t>(st.st_size));
  char buffer[65536];
  for (;;) {
    const ssize_t n = ::read(fd, buffer, sizeof buffer);
    if (n < 0) {
      if (errno == EINTR) continue;
      return failure(path, errno);
    }
    if (n == 0) break;
    text.append(buffer, static_cast<std::size_t>(n));
  }
  return {std::move(text), {}};
}

std::optional<std::string> read_file(const std::string& path) {
  return read_file_or_error(path).text;
}

}  // namespace ndsip::common
