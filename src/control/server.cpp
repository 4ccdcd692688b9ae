#include "control/server.hpp"

#include <grp.h>
#include <pwd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <boost/asio/local/stream_protocol.hpp>
#include <boost/asio/read_until.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/streambuf.hpp>
#include <boost/asio/write.hpp>
#include <array>
#include <cerrno>
#include <cstring>
#include <iostream>
#include <stdexcept>
#include <vector>

#include "control/answer.hpp"
#include "control/protocol.hpp"

namespace ndsip::control {

namespace asio = boost::asio;
using stream = asio::local::stream_protocol;

namespace {

// Whether the peer may use the control socket.
bool allowed(const ucred& cred, std::optional<gid_t> group, std::string* why) {
  if (cred.uid == 0 || cred.uid == ::geteuid()) return true;
  if (group) {
    if (cred.gid == *group) return true;
    if (const passwd* pw = ::getpwuid(cred.uid)) {
      int n = 64;
      std::vector<gid_t> groups(static_cast<std::size_t>(n));
      if (::getgrouplist(pw->pw_name, cred.gid, groups.data(), &n) >= 0) {
        groups.resize(static_cast<std::size_t>(n));
        for (gid_t g : groups) {
          if (g == *group) return true;
        }
      }
    }
  }
  *why = "permission denied: uid " + std::to_string(cred.uid) + " is not root" +
         (group ? " and not in the control group" : "");
  return false;
}

struct Connection : std::enable_shared_from_this<Connection> {
  Connection(stream::socket s, Handler& h)
      : socket(std::move(s)), linger(socket.get_executor()), buffer(max_request_bytes + 1), handler(h) {}

  void start(std::optional<gid_t> group) {
    ucred cred{};
    socklen_t len = sizeof cred;
    std::string why;
    if (::getsockopt(socket.native_handle(), SOL_SOCKET, SO_PEERCRED, &cred, &len) != 0) {
      send(error_answer("cannot identify the peer (SO_PEERCRED)"), true);
      return;
    }
    if (!allowed(cred, group, &why)) {
      std::cerr << "ndsipd: control socket: refused pid " << cred.pid << ": " << why << "\n";
      send(error_answer(why), true);
      return;
    }
    read();
  }

  void read() {
    auto self = shared_from_this();
    asio::async_read_until(socket, buffer, '\n', [self](boost::system::error_code ec, std::size_t n) {
      if (ec == asio::error::not_found) {
        self->send(error_answer("request larger than " +
                                 std::to_string(max_request_bytes) + " bytes"),
                   true);
        return;
      }
      if (ec) return;  // peer went away
      std::string line(asio::buffers_begin(self->buffer.data()),
                       asio::buffers_begin(self->buffer.data()) + static_cast<std::ptrdiff_t>(n));
      self->buffer.consume(n);
      self->dispatch(line);
    });
  }

  void dispatch(const std::string& line) {
    const auto request = nlohmann::json::parse(line, nullptr, false);
    if (request.is_discarded() || !request.is_object()) {
      send(error_answer("malformed request: not a JSON object on one line"), false);
      return;
    }
    const auto version = request.find(key::protocol);
    if (version == request.end() || !version->is_number_integer() ||
        version->get<long long>() != protocol_version) {
      send(error_answer("unsupported protocol version (this ndsipd speaks protocol " +
                        std::to_string(protocol_version) + ")"),
           false);
      return;
    }
    if (!request.contains(key::command) || !request[key::command].is_string()) {
      send(error_answer("malformed request: no \"command\""), false);
      return;
    }
    auto self = shared_from_this();
    try {
      handler(request, [self](nlohmann::json response) {
        response[key::protocol] = protocol_version;
        self->send(std::move(response), false);
      });
    } catch (const std::exception& e) {
      send(error_answer(std::string("internal error: ") + e.what()), false);
    }
  }

  void send(nlohmann::json response, bool close_after) {
    auto self = shared_from_this();
    auto text = std::make_shared<std::string>(
        response.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) + "\n");
    asio::async_write(socket, asio::buffer(*text),
                      [self, text, close_after](boost::system::error_code ec, std::size_t) {
                        if (ec) {
                          boost::system::error_code ignored;
                          self->socket.close(ignored);
                          return;
                        }
                        if (close_after) {
                          self->linger_then_close();
                          return;
                        }
                        self->read();  // several requests per connection are fine
                      });
  }

  // Closing a unix socket with unread input resets the peer, which may then lose the answer
  // just sent. So: end our side, discard what the peer still sends, close on its EOF or after
  // two seconds at most.
  void linger_then_close() {
    boost::system::error_code ignored;
    socket.shutdown(stream::socket::shutdown_send, ignored);
    auto self = shared_from_this();
    linger.expires_after(std::chrono::seconds(2));
    linger.async_wait([self](boost::system::error_code) {
      boost::system::error_code e;
      self->socket.close(e);
    });
    discard();
  }

  void discard() {
    auto self = shared_from_this();
    socket.async_read_some(asio::buffer(sink), [self](boost::system::error_code ec, std::size_t) {
      if (ec) {
        self->linger.cancel();
        return;
      }
      self->discard();
    });
  }

  stream::socket socket;
  asio::steady_timer linger;
  std::array<char, 4096> sink{};
  asio::streambuf buffer;
  Handler& handler;
};

}  // namespace

struct Server::Impl : std::enable_shared_from_this<Impl> {
  Impl(asio::io_context& io, Handler h) : acceptor(io), handler(std::move(h)) {}

  void accept() {
    auto self = shared_from_this();
    acceptor.async_accept([self](boost::system::error_code ec, stream::socket s) {
      if (ec == asio::error::operation_aborted) return;
      if (!ec) std::make_shared<Connection>(std::move(s), self->handler)->start(self->group);
      self->accept();
    });
  }

  stream::acceptor acceptor;
  Handler handler;
  std::optional<gid_t> group;
};

Server::Server(asio::io_context& io, const std::string& path, const std::string& group,
                             Handler handler)
    : impl_(std::make_shared<Impl>(io, std::move(handler))) {
  if (!group.empty()) {
    const ::group* g = ::getgrnam(group.c_str());
    if (!g) throw std::runtime_error("control group \"" + group + "\" does not exist");
    impl_->group = g->gr_gid;
  }
  ::unlink(path.c_str());  // a stale socket of an earlier run
  // Created with no permissions for others from the start; chmod below sets 0660.
  const mode_t old = ::umask(0117);
  boost::system::error_code ec;
  impl_->acceptor.open(stream(), ec);
  if (!ec) impl_->acceptor.bind(stream::endpoint(path), ec);
  ::umask(old);
  if (!ec) impl_->acceptor.listen(asio::socket_base::max_listen_connections, ec);
  if (ec) throw std::runtime_error("control socket " + path + ": " + ec.message());
  if (::chmod(path.c_str(), 0660) != 0 ||
      (impl_->group && ::chown(path.c_str(), 0, *impl_->group) != 0 && ::geteuid() == 0)) {
    throw std::runtime_error("control socket " + path + ": " + std::strerror(errno));
  }
  impl_->accept();
}

Server::~Server() {
  boost::system::error_code ignored;
  impl_->acceptor.close(ignored);
}

}  // namespace ndsip::control
