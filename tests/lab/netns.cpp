#include "lab/netns.hpp"

#include <fcntl.h>
#include <sched.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <sstream>
#include <stdexcept>
#include <thread>

#include "lab/process.hpp"

namespace ndsip::lab::netns {

namespace {
std::string path_of(const std::string& name) { return std::string(kRunDir) + "/" + name; }
}  // namespace

bool exists(const std::string& name) { return inode(name) != 0; }

std::uint64_t inode(const std::string& name) {
  struct stat st {};
  if (::stat(path_of(name).c_str(), &st) != 0) return 0;
  return static_cast<std::uint64_t>(st.st_ino);
}

void add(const std::string& name) { proc::run_checked({"ip", "netns", "add", name}); }

void del(const std::string& name) { proc::run_checked({"ip", "netns", "del", name}); }

std::string ip(const std::string& ns, const std::vector<std::string>& args) {
  std::vector<std::string> argv{"ip", "-n", ns};
  argv.insert(argv.end(), args.begin(), args.end());
  return proc::run_checked(argv);
}

void write_sysctl(const std::string& ns, const std::string& key, const std::string& value) {
  std::string error;
  // setns() changes the namespace of the calling thread only; this thread ends
  // right after, the rest of the process never leaves its namespace.
  std::thread worker([&] {
    const std::string ns_path = path_of(ns);
    int nsfd = ::open(ns_path.c_str(), O_RDONLY | O_CLOEXEC);
    if (nsfd < 0) {
      error = "open " + ns_path + ": " + std::strerror(errno);
      return;
    }
    int rc = ::setns(nsfd, CLONE_NEWNET);
    int err = errno;
    ::close(nsfd);
    if (rc != 0) {
      error = "setns " + ns_path + ": " + std::strerror(err);
      return;
    }
    const std::string path = "/proc/sys/" + key;
    int fd = ::open(path.c_str(), O_WRONLY | O_CLOEXEC);
    if (fd < 0) {
      error = "open " + path + ": " + std::strerror(errno);
      return;
    }
    ssize_t n = ::write(fd, value.data(), value.size());
    err = errno;
    ::close(fd);
    if (n != static_cast<ssize_t>(value.size()))
      error = "write '" + value + "' to " + path + ": " + std::strerror(n < 0 ? err : EIO);
  });
  worker.join();
  if (!error.empty()) throw std::runtime_error("sysctl in netns " + ns + ": " + error);
}

std::vector<pid_t> pids(const std::string& name) {
  std::istringstream in(proc::run_checked({"ip", "netns", "pids", name}));
  std::vector<pid_t> out;
  long pid;
  while (in >> pid) out.push_back(static_cast<pid_t>(pid));
  return out;
}

std::vector<std::string> list() {
  std::vector<std::string> out;
  std::error_code ec;
  for (const auto& e : std::filesystem::directory_iterator(kRunDir, ec))
    out.push_back(e.path().filename().string());
  return out;
}

}  // namespace ndsip::lab::netns
