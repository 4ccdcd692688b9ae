#include "certs/watcher.hpp"

#include <sys/inotify.h>
#include <unistd.h>

#include <array>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/steady_timer.hpp>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <map>
#include <set>
#include <stdexcept>

namespace ndsip::certs {
namespace fs = std::filesystem;

struct Watcher::Impl : std::enable_shared_from_this<Impl> {
  Impl(boost::asio::io_context& io, std::chrono::milliseconds s, std::function<void()> c)
      : stream(io), timer(io), settle(s), changed(std::move(c)) {}

  void read() {
    auto self = shared_from_this();
    stream.async_read_some(boost::asio::buffer(buffer), [self](boost::system::error_code ec, std::size_t n) {
      if (ec) return;  // closed
      bool relevant = false;
      for (std::size_t off = 0; off + sizeof(inotify_event) <= n;) {
        const auto* e = reinterpret_cast<const inotify_event*>(self->buffer.data() + off);
        const auto dir = self->dirs.find(e->wd);
        if (dir != self->dirs.end()) {
          const std::string name = e->len ? std::string(e->name) : "";
          // A watched directory counts whole; otherwise only the files we were asked about.
          relevant |= dir->second.whole || dir->second.names.count(name) > 0;
        }
        off += sizeof(inotify_event) + e->len;
      }
      if (relevant) self->arm();
      self->read();
    });
  }

  void arm() {
    timer.expires_after(settle);
    auto self = shared_from_this();
    timer.async_wait([self](boost::system::error_code ec) {
      if (!ec) self->changed();
    });
  }

  struct Dir {
    bool whole = false;
    std::set<std::string> names;
  };
  boost::asio::posix::stream_descriptor stream;
  boost::asio::steady_timer timer;
  std::chrono::milliseconds settle;
  std::function<void()> changed;
  std::map<int, Dir> dirs;  // by watch descriptor
  alignas(inotify_event) std::array<char, 16384> buffer{};
};

Watcher::Watcher(boost::asio::io_context& io, const std::vector<std::string>& paths, std::chrono::milliseconds settle,
                 std::function<void()> changed)
    : impl_(std::make_shared<Impl>(io, settle, std::move(changed))) {
  const int fd = ::inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
  if (fd < 0) throw std::runtime_error(std::string("inotify: ") + std::strerror(errno));
  impl_->stream.assign(fd);
  std::map<std::string, int> by_dir;
  for (const std::string& p : paths) {
    if (p.empty()) continue;
    std::error_code ec;
    const bool is_dir = fs::is_directory(p, ec);
    const std::string dir = is_dir ? p : fs::path(p).parent_path().string();
    int wd;
    if (auto it = by_dir.find(dir); it != by_dir.end()) {
      wd = it->second;
    } else {
      wd = ::inotify_add_watch(fd, (dir.empty() ? "." : dir).c_str(),
                               IN_CLOSE_WRITE | IN_MOVED_TO | IN_CREATE | IN_DELETE | IN_MOVED_FROM | IN_ATTRIB);
      if (wd < 0) throw std::runtime_error("inotify watch " + dir + ": " + std::strerror(errno));
      by_dir.emplace(dir, wd);
    }
    Impl::Dir& d = impl_->dirs[wd];
    if (is_dir) {
      d.whole = true;
    } else {
      d.names.insert(fs::path(p).filename().string());
    }
  }
  impl_->read();
}

Watcher::~Watcher() {
  boost::system::error_code ignored;
  impl_->timer.cancel();
  impl_->stream.close(ignored);
}

}  // namespace ndsip::certs
