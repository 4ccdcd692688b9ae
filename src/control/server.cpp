#include "control/server.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <boost/asio/local/stream_protocol.hpp>
#include <boost/asio/steady_timer.hpp>
#include <cerrno>
#include <cstring>
#include <stdexcept>

#include "control/socket_path.hpp"

namespace ndsip::control {

namespace asio = boost::asio;
using stream = asio::local::stream_protocol;

struct Server::Impl : std::enable_shared_from_this<Impl> {
  Impl(asio::io_context& io, std::shared_ptr<Shared> s) : acceptor(io), pause(io), shared(std::move(s)) {}

  void accept() {
    acceptor.async_accept([self = shared_from_this()](boost::system::error_code ec, stream::socket socket) {
      if (ec) {
        // With no descriptor left, do as little as possible: the error's number and strerror,
        // a plain write(2), no virtual calls (even the sanitizers' runtime cannot check those
        // then: it needs a descriptor to do so).
        const int err = ec.value();
        if (err == ECANCELED) return;  // closed: the server is going away
        // Out of file descriptors (or another transient failure): wait, then accept again.
        // Retrying at once would spin the loop and starve every other part of ndsipd.
        if (!self->pausing) {
          const std::string line = std::string("ndsipd: control socket: accept: ") + std::strerror(err) + "; pausing\n";
          [[maybe_unused]] const ssize_t n = ::write(STDERR_FILENO, line.data(), line.size());
        }
        self->pausing = true;
        self->pause.expires_after(std::chrono::milliseconds(100));
        self->pause.async_wait([self](boost::system::error_code e) {
          if (e.value() == 0) self->accept();
        });
        return;
      }
      self->pausing = false;
      auto c = std::make_shared<Connection>(std::move(socket), self->shared);
      if (self->shared->connections >= self->shared->limits.max_connections) {
        c->refuse("too many connections to ndsipd (" + std::to_string(self->shared->limits.max_connections) +
                  "); try again");
      } else {
        c->start();
      }
      self->accept();
    });
  }

  stream::acceptor acceptor;
  asio::steady_timer pause;
  bool pausing = false;
  std::shared_ptr<Shared> shared;
  std::string path;
  dev_t dev = 0;
  ino_t ino = 0;
};

Server::Server(asio::io_context& io, const std::string& path, const std::string& group, Handler handler,
               Limits limits) {
  auto shared = std::make_shared<Shared>();
  shared->handler = std::move(handler);
  shared->limits = limits;
  shared->group = control_group_id(group);
  impl_ = std::make_shared<Impl>(io, shared);
  check_socket_directory(path);
  clear_stale_socket(path);
  // Created 0660 by the umask, so it is never open to others, not even for a moment: no
  // chmod by path afterwards.
  const mode_t old = ::umask(0117);
  boost::system::error_code ec;
  impl_->acceptor.open(stream(), ec);
  if (!ec) impl_->acceptor.bind(stream::endpoint(path), ec);
  ::umask(old);
  if (!ec) impl_->acceptor.listen(asio::socket_base::max_listen_connections, ec);
  if (ec) throw std::runtime_error("control socket " + path + ": " + ec.message());
  struct stat st {};
  if (::lstat(path.c_str(), &st) == 0) {
    impl_->dev = st.st_dev;
    impl_->ino = st.st_ino;
  }
  impl_->path = path;
  // The group: without following a link (the directory is ours alone, checked above).
  if (shared->group && ::fchownat(AT_FDCWD, path.c_str(), static_cast<uid_t>(-1), *shared->group,
                                  AT_SYMLINK_NOFOLLOW) != 0) {
    throw std::runtime_error("control socket " + path + ": cannot give it to group " + group + ": " +
                             std::strerror(errno));
  }
  impl_->accept();
}

Server::~Server() {
  boost::system::error_code ignored;
  impl_->acceptor.close(ignored);
  impl_->pause.cancel();
  // Remove the path only while it is still this socket (a newer ndsipd may own it by now).
  struct stat st {};
  if (!impl_->path.empty() && ::lstat(impl_->path.c_str(), &st) == 0 && S_ISSOCK(st.st_mode) &&
      st.st_dev == impl_->dev && st.st_ino == impl_->ino) {
    ::unlink(impl_->path.c_str());
  }
}

}  // namespace ndsip::control
