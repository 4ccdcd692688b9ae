#include "certs/files.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <sstream>

#include "common/read_file.hpp"

namespace ndsip::certs {
namespace fs = std::filesystem;

namespace {

std::string octal(mode_t mode) {
  std::ostringstream o;
  o << std::oct << (mode & 07777);
  return o.str();
}

// The key, from one descriptor: what is checked (type, owner, mode) is what is read.
std::optional<std::string> read_key(const std::string& path, std::vector<CertProblem>* problems) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
  if (fd < 0) {
    problems->push_back({path, errno == ELOOP ? "key-permissions" : "unreadable",
                         errno == ELOOP ? "is a symbolic link; name the key file itself"
                                        : std::string("cannot be read: ") + std::strerror(errno)});
    return std::nullopt;
  }
  struct stat st {};
  std::optional<std::string> text;
  if (::fstat(fd, &st) != 0) {
    problems->push_back({path, "unreadable", std::string("cannot be read: ") + std::strerror(errno)});
  } else if (!S_ISREG(st.st_mode)) {
    problems->push_back({path, "unreadable", "is not a regular file"});
  } else if (st.st_uid != ::geteuid()) {
    problems->push_back({path, "key-permissions", "private key is owned by uid " + std::to_string(st.st_uid) +
                                                      ", not by ndsipd's user (uid " +
                                                      std::to_string(::geteuid()) + "); chown it"});
  } else if ((st.st_mode & 077) != 0) {
    problems->push_back({path, "key-permissions", "private key is accessible by group or others (mode " +
                                                      octal(st.st_mode) + "); chmod 600 it"});
  } else {
    std::string all;
    char buf[8192];
    for (;;) {
      const ssize_t n = ::read(fd, buf, sizeof buf);
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) {
        problems->push_back({path, "unreadable", std::string("cannot be read: ") + std::strerror(errno)});
        break;
      }
      if (n == 0) {
        text = std::move(all);
        break;
      }
      all.append(buf, static_cast<std::size_t>(n));
    }
    // The buffer held key material: do not leave it on the stack.
    ::explicit_bzero(buf, sizeof buf);
  }
  ::close(fd);
  return text;
}

std::optional<std::string> read_one(const std::string& path, std::vector<CertProblem>* problems) {
  common::ReadResult r = common::read_file_or_error(path);
  if (!r.text) problems->push_back({path, "unreadable", r.error});
  return std::move(r.text);
}

}  // namespace

CredentialFiles read_credential_files(const CredentialPaths& paths) {
  CredentialFiles f;
  f.paths = paths;
  if (!paths.ca_bundle.empty()) f.ca_bundle = read_one(paths.ca_bundle, &f.problems);
  if (!paths.cert.empty()) f.cert = read_one(paths.cert, &f.problems);
  if (!paths.key.empty()) f.key = read_key(paths.key, &f.problems);
  if (!paths.crl_dir.empty()) {
    std::error_code ec;
    std::vector<fs::path> files;
    for (const auto& e : fs::directory_iterator(paths.crl_dir, ec)) {
      if (e.is_regular_file()) files.push_back(e.path());
    }
    if (ec) f.problems.push_back({paths.crl_dir, "unreadable", ec.message()});
    std::sort(files.begin(), files.end());
    for (const fs::path& p : files) {
      if (auto text = read_one(p.string(), &f.problems)) f.crls.emplace_back(p.string(), std::move(*text));
    }
  }
  return f;
}

}  // namespace ndsip::certs
