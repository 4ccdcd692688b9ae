// A function run in a thread that has joined a lab namespace: setns changes the calling
// thread only, so the rest of the test (or bench) never leaves its own namespace.
#pragma once

#include <fcntl.h>
#include <sched.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <future>
#include <stdexcept>
#include <string>

namespace ndsip::lab {

// Runs fn() in a new thread that has joined the network namespace `ns` (setns changes only
// the calling thread; it ends with fn, the rest of the test never leaves its namespace).
// Returns fn's result through the future; a failure to join throws from get().
template <typename F>
auto in_netns(const std::string& ns, F fn) -> std::future<decltype(fn())> {
  return std::async(std::launch::async, [ns, fn = std::move(fn)]() {
    const std::string path = "/run/netns/" + ns;
    const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) throw std::runtime_error("open " + path + ": " + std::strerror(errno));
    const int rc = ::setns(fd, CLONE_NEWNET);
    const int err = errno;
    ::close(fd);
    if (rc != 0) throw std::runtime_error("setns " + path + ": " + std::strerror(err));
    return fn();
  });
}

}  // namespace ndsip::lab
