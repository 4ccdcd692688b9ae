#include "metrics/http_listener.hpp"

#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <cerrno>
#include <cstring>
#include <optional>
#include <stdexcept>
#include <unistd.h>

#include "metrics/families.hpp"

namespace ndsip::metrics {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;

struct HttpListener::Shared {
  Render render;
  HttpLimits limits;
  std::size_t connections = 0;
  bool closed = false;
};

namespace {

class Connection : public std::enable_shared_from_this<Connection> {
 public:
  Connection(tcp::socket socket, std::shared_ptr<HttpListener::Shared> shared)
      : stream_(std::move(socket)), buffer_(shared->limits.max_header_bytes + 1024), shared_(std::move(shared)) {
    ++shared_->connections;
  }
  ~Connection() { --shared_->connections; }

  void read() {
    if (shared_->closed) return close();
    parser_.emplace();
    parser_->header_limit(static_cast<std::uint32_t>(shared_->limits.max_header_bytes));
    parser_->body_limit(0);
    // From now until the whole request is in: an idle keep-alive connection times out too.
    stream_.expires_after(shared_->limits.timeout);
    http::async_read(stream_, buffer_, *parser_, [self = shared_from_this()](beast::error_code ec, std::size_t) {
      self->got(ec);
    });
  }

 private:
  void got(beast::error_code ec) {
    if (shared_->closed) return close();
    if (ec == http::error::end_of_stream || ec == beast::error::timeout || ec == asio::error::operation_aborted ||
        ec == asio::error::connection_reset || ec == asio::error::eof) {
      return close();
    }
    if (ec) return answer(http::status::bad_request, "bad request: " + ec.message() + "\n", false, true);
    const auto& req = parser_->get();
    const std::string_view target(req.target().data(), req.target().size());
    const bool metrics = target == "/metrics" || target.substr(0, 9) == "/metrics?";
    if (!metrics) return answer(http::status::not_found, "not found: ndsipd serves /metrics\n", false, false);
    if (req.method() != http::verb::get && req.method() != http::verb::head) {
      return answer(http::status::method_not_allowed, "only GET and HEAD\n", false, false);
    }
    std::string body;
    try {
      body = shared_->render();
    } catch (const std::exception& e) {
      return answer(http::status::internal_server_error, std::string("metrics unavailable: ") + e.what() + "\n",
                    false, true);
    }
    answer(http::status::ok, std::move(body), req.method() == http::verb::head, false);
  }

  void answer(http::status status, std::string body, bool head, bool close_after) {
    // A request not read whole (a parse error) leaves the stream out of step: close after.
    const bool keep = !close_after && parser_ && parser_->is_done() && parser_->get().keep_alive();
    response_.emplace(status, 11);
    response_->set(http::field::content_type,
                   status == http::status::ok ? Families::content_type : "text/plain; charset=utf-8");
    if (status == http::status::method_not_allowed) response_->set(http::field::allow, "GET, HEAD");
    response_->keep_alive(keep);
    response_->body() = std::move(body);
    response_->prepare_payload();
    if (head) response_->body().clear();  // the length stays the GET's
    serializer_.emplace(*response_);
    stream_.expires_after(shared_->limits.timeout);
    auto done = [self = shared_from_this(), keep](beast::error_code ec, std::size_t) {
      if (ec || !keep) return self->close();
      self->read();
    };
    if (head) {
      http::async_write_header(stream_, *serializer_, std::move(done));
    } else {
      http::async_write(stream_, *serializer_, std::move(done));
    }
  }

  void close() {
    beast::error_code ignored;
    stream_.socket().shutdown(tcp::socket::shutdown_both, ignored);
    stream_.close();
  }

  beast::tcp_stream stream_;
  beast::flat_buffer buffer_;
  std::shared_ptr<HttpListener::Shared> shared_;
  std::optional<http::request_parser<http::empty_body>> parser_;
  std::optional<http::response<http::string_body>> response_;
  std::optional<http::response_serializer<http::string_body>> serializer_;
};

}  // namespace

struct HttpListener::Impl : std::enable_shared_from_this<Impl> {
  Impl(asio::io_context& io, std::shared_ptr<Shared> s) : acceptor(io), pause(io), shared(std::move(s)) {}

  void accept() {
    acceptor.async_accept([self = shared_from_this()](boost::system::error_code ec, tcp::socket socket) {
      if (ec) {
        if (ec == asio::error::operation_aborted || self->shared->closed) return;
        // Out of file descriptors (or another transient failure): wait, then accept again;
        // retrying at once would spin the loop. A plain write(2): no descriptor is needed.
        if (!self->pausing) {
          const std::string line =
              std::string("ndsipd: metrics listener: accept: ") + std::strerror(ec.value()) + "; pausing\n";
          [[maybe_unused]] const ssize_t n = ::write(STDERR_FILENO, line.data(), line.size());
        }
        self->pausing = true;
        self->pause.expires_after(std::chrono::milliseconds(100));
        self->pause.async_wait([self](boost::system::error_code e) {
          if (!e) self->accept();
        });
        return;
      }
      self->pausing = false;
      if (self->shared->connections >= self->shared->limits.max_connections) {
        boost::system::error_code ignored;
        socket.close(ignored);  // over the cap: closed unanswered, the client retries
      } else {
        std::make_shared<Connection>(std::move(socket), self->shared)->read();
      }
      self->accept();
    });
  }

  tcp::acceptor acceptor;
  asio::steady_timer pause;
  bool pausing = false;
  std::shared_ptr<Shared> shared;
};

HttpListener::HttpListener(asio::io_context& io, const tcp::endpoint& at, Render render, HttpLimits limits) {
  auto shared = std::make_shared<Shared>();
  shared->render = std::move(render);
  shared->limits = limits;
  impl_ = std::make_shared<Impl>(io, shared);
  boost::system::error_code ec;
  const auto fail = [&](const char* step) {
    std::string hint;
    if (ec == asio::error::address_family_not_supported) {
      hint = " (under systemd: RestrictAddressFamilies; install systemd/ndsipd-metrics.conf.example as a drop-in)";
    }
    return std::runtime_error("metrics-listen " + at.address().to_string() + " port " + std::to_string(at.port()) +
                              ": " + step + ": " + ec.message() + hint);
  };
  impl_->acceptor.open(at.protocol(), ec);
  if (ec) throw fail("socket");
  impl_->acceptor.set_option(asio::socket_base::reuse_address(true), ec);
  if (ec) throw fail("SO_REUSEADDR");
  impl_->acceptor.bind(at, ec);
  if (ec) throw fail("bind");
  impl_->acceptor.listen(asio::socket_base::max_listen_connections, ec);
  if (ec) throw fail("listen");
  impl_->accept();
}

HttpListener::~HttpListener() {
  impl_->shared->closed = true;
  boost::system::error_code ignored;
  impl_->acceptor.close(ignored);
  impl_->pause.cancel();
}

tcp::endpoint HttpListener::local_endpoint() const { return impl_->acceptor.local_endpoint(); }

}  // namespace ndsip::metrics
