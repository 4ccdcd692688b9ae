// Watches credential files with inotify on their directories, on the daemon's Asio loop.
// Watching directories (not files) catches tools that replace a file by renaming a new one
// over it (certbot, cfssl, `mv`), which a watch on the old inode would miss. Changes are
// coalesced: the callback runs once things have been quiet for `settle`.
#pragma once

#include <boost/asio/io_context.hpp>
#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace ndsip::certs {

class Watcher {
 public:
  // `paths`: files (their directories are watched, events filtered to these names) and
  // directories (every entry counts). Throws std::runtime_error when inotify cannot start.
  Watcher(boost::asio::io_context& io, const std::vector<std::string>& paths, std::chrono::milliseconds settle,
          std::function<void()> changed);
  ~Watcher();
  Watcher(const Watcher&) = delete;
  Watcher& operator=(const Watcher&) = delete;

 private:
  struct Impl;
  std::shared_ptr<Impl> impl_;
};

}  // namespace ndsip::certs
