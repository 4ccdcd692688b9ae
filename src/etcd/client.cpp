#include "etcd/client.hpp"

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <optional>
#include <stdexcept>

namespace ndsip::etcd {

namespace beast = boost::beast;
namespace http = beast::http;
namespace net = boost::asio;
namespace ssl = net::ssl;
using tcp = net::ip::tcp;

std::string Endpoint::text() const { return std::string(tls ? "https://" : "http://") + host + ":" + port; }

std::vector<Endpoint> parse_endpoints(std::string_view list) {
  std::vector<Endpoint> out;
  std::size_t start = 0;
  while (start <= list.size()) {
    const std::size_t comma = std::min(list.find(',', start), list.size());
    const std::string_view item = list.substr(start, comma - start);
    Endpoint e;
    std::string_view rest;
    if (item.rfind("http://", 0) == 0) {
      rest = item.substr(7);
    } else if (item.rfind("https://", 0) == 0) {
      e.tls = true;
      rest = item.substr(8);
    }
    if (!rest.empty() && rest.back() == '/') rest.remove_suffix(1);
    const std::size_t colon = rest.rfind(':');
    const bool port_ok = colon != std::string_view::npos && colon + 1 < rest.size() && rest.size() - colon - 1 <= 5 &&
                         rest.substr(colon + 1).find_first_not_of("0123456789") == std::string_view::npos;
    if (rest.empty() || !port_ok || colon == 0 || rest.find_first_of("/?#@ ") != std::string_view::npos) {
      throw std::invalid_argument("etcd endpoint \"" + std::string(item) +
                                  "\" is not http://HOST:PORT or https://HOST:PORT");
    }
    e.host = std::string(rest.substr(0, colon));
    if (e.host.size() > 2 && e.host.front() == '[' && e.host.back() == ']') e.host = e.host.substr(1, e.host.size() - 2);
    e.port = std::string(rest.substr(colon + 1));
    out.push_back(std::move(e));
    start = comma + 1;
  }
  return out;
}

struct Client::Tls {
  ssl::context context{ssl::context::tls_client};
};

namespace {

Error transport(const Endpoint& e, const std::string& what) {
  return Error(Error::Kind::transport, "etcd at " + e.text() + ": " + what);
}

// One POST on one connection: resolve, connect, (TLS handshake), write, read. Unary: the whole
// answer, then `answer`. Streaming (a watch): the header within the deadline, then each line
// of the body to `on_message` for as long as the stream lasts.
template <class Stream>
class Exchange : public Client::Watch, public std::enable_shared_from_this<Exchange<Stream>> {
 public:
  struct Handlers {
    Client::Answer answer;  // unary
    Client::OnMessage on_message;
    Client::OnEnd on_end;  // streaming
  };

  template <class... StreamArgs>
  Exchange(net::io_context& io, Endpoint endpoint, std::string path, std::string body,
           std::chrono::milliseconds timeout, std::size_t max_bytes, Handlers handlers, StreamArgs&&... stream_args)
      : stream_(std::forward<StreamArgs>(stream_args)...), resolver_(io), deadline_(io), endpoint_(std::move(endpoint)),
        timeout_(timeout), max_bytes_(max_bytes), handlers_(std::move(handlers)) {
    request_ = {http::verb::post, path, 11};
    request_.set(http::field::host, endpoint_.host);
    request_.set(http::field::content_type, "application/json");
    request_.body() = std::move(body);
    request_.prepare_payload();
  }

  void start() {
    auto self = this->shared_from_this();
    deadline_.expires_after(timeout_);
    deadline_.async_wait([self](boost::system::error_code ec) {
      if (!ec) self->fail("no answer within " + std::to_string(self->timeout_.count()) + " ms");
    });
    resolver_.async_resolve(endpoint_.host, endpoint_.port,
                            [self](boost::system::error_code ec, tcp::resolver::results_type results) {
                              if (ec) return self->fail("cannot resolve: " + ec.message());
                              self->connect(results);
                            });
  }

  void cancel() override {
    cancelled_ = true;
    close();
  }

 private:
  bool streaming() const { return static_cast<bool>(handlers_.on_message); }
  beast::tcp_stream& lowest() { return beast::get_lowest_layer(stream_); }

  void connect(const tcp::resolver::results_type& results) {
    auto self = this->shared_from_this();
    lowest().async_connect(results, [self](boost::system::error_code ec, const tcp::endpoint&) {
      if (ec) return self->fail("cannot connect: " + ec.message());
      if constexpr (std::is_same_v<Stream, beast::tcp_stream>) {
        self->write();
      } else {
        // SNI, and the certificate must name the host we asked for.
        if (!SSL_set_tlsext_host_name(self->stream_.native_handle(), self->endpoint_.host.c_str())) {
          return self->fail("TLS: cannot set the server name");
        }
        self->stream_.set_verify_callback(ssl::host_name_verification(self->endpoint_.host));
        self->stream_.async_handshake(ssl::stream_base::client, [self](boost::system::error_code hec) {
          if (hec) return self->fail("TLS handshake: " + hec.message());
          self->write();
        });
      }
    });
  }

  void write() {
    auto self = this->shared_from_this();
    http::async_write(stream_, request_, [self](boost::system::error_code ec, std::size_t) {
      if (ec) return self->fail("cannot send: " + ec.message());
      self->read_header();
    });
  }

  void read_header() {
    auto self = this->shared_from_this();
    parser_.emplace();
    parser_->header_limit(64 * 1024);
    if (streaming()) {
      parser_->body_limit(boost::none);  // a watch lasts; each message is bounded instead
    } else {
      parser_->body_limit(static_cast<std::uint64_t>(max_bytes_));
    }
    http::async_read_header(stream_, buffer_, *parser_, [self](boost::system::error_code ec, std::size_t) {
      if (ec) return self->fail("cannot read the answer: " + ec.message());
      if (self->streaming() && self->parser_->get().result() == http::status::ok) {
        self->deadline_.cancel();  // the stream is open: it lasts as long as it lasts
        self->read_stream();
      } else {
        self->read_body();
      }
    });
  }

  void read_body() {
    auto self = this->shared_from_this();
    http::async_read(stream_, buffer_, *parser_, [self](boost::system::error_code ec, std::size_t) {
      if (ec) return self->fail("cannot read the answer: " + ec.message());
      const unsigned status = self->parser_->get().result_int();
      std::string body = std::move(self->parser_->get().body());
      if (status != 200) {
        if (auto refused = error_in(body)) return self->finish(std::move(*refused), "");
        return self->fail("HTTP " + std::to_string(status));
      }
      if (self->streaming()) return self->fail("the watch ended at once");
      self->finish(std::nullopt, std::move(body));
    });
  }

  void read_stream() {
    auto self = this->shared_from_this();
    http::async_read_some(stream_, buffer_, *parser_, [self](boost::system::error_code ec, std::size_t) {
      if (self->cancelled_) return;
      std::string& body = self->parser_->get().body();
      std::size_t from = 0;
      for (std::size_t nl; (nl = body.find('\n', from)) != std::string::npos; from = nl + 1) {
        if (nl > from) self->handlers_.on_message(body.substr(from, nl - from));
        if (self->cancelled_) return;
      }
      body.erase(0, from);
      if (body.size() > self->max_bytes_) return self->fail("a watch message exceeds " + std::to_string(self->max_bytes_) + " bytes");
      if (ec) return self->fail("the watch stream ended: " + ec.message());
      if (self->parser_->is_done()) return self->fail("the watch stream ended");
      self->read_stream();
    });
  }

  void fail(const std::string& what) { finish(transport(endpoint_, what), ""); }

  void finish(std::optional<Error> error, std::string body) {
    if (done_ || cancelled_) return;
    done_ = true;
    close();
    if (streaming()) {
      handlers_.on_end(error ? *error : transport(endpoint_, "the watch stream ended"));
    } else {
      handlers_.answer(std::move(error), std::move(body));
    }
  }

  void close() {
    deadline_.cancel();
    resolver_.cancel();
    boost::system::error_code ignored;
    lowest().socket().shutdown(tcp::socket::shutdown_both, ignored);
    lowest().socket().close(ignored);
  }

  Stream stream_;
  tcp::resolver resolver_;
  net::steady_timer deadline_;
  Endpoint endpoint_;
  std::chrono::milliseconds timeout_;
  std::size_t max_bytes_;
  Handlers handlers_;
  http::request<http::string_body> request_;
  beast::flat_buffer buffer_;
  std::optional<http::response_parser<http::string_body>> parser_;
  bool done_ = false, cancelled_ = false;
};

}  // namespace

Client::Client(net::io_context& io, ClientSettings settings)
    : io_(io), settings_(std::move(settings)), tls_(std::make_unique<Tls>()) {
  if (settings_.endpoints.empty()) throw Error(Error::Kind::transport, "no etcd endpoint given");
  boost::system::error_code ec;
  tls_->context.set_verify_mode(ssl::verify_peer, ec);
  if (settings_.ca_file.empty()) {
    tls_->context.set_default_verify_paths(ec);
  } else {
    tls_->context.load_verify_file(settings_.ca_file, ec);
    if (ec) throw Error(Error::Kind::transport, "etcd CA file " + settings_.ca_file + ": " + ec.message());
  }
  if (!settings_.cert_file.empty() || !settings_.key_file.empty()) {
    tls_->context.use_certificate_chain_file(settings_.cert_file, ec);
    if (ec) throw Error(Error::Kind::transport, "etcd client certificate " + settings_.cert_file + ": " + ec.message());
    tls_->context.use_private_key_file(settings_.key_file, ssl::context::pem, ec);
    if (ec) throw Error(Error::Kind::transport, "etcd client key " + settings_.key_file + ": " + ec.message());
  }
}

Client::~Client() = default;

namespace {

std::shared_ptr<Client::Watch> start_exchange(net::io_context& io, ssl::context& tls, const Endpoint& e,
                                              const std::string& path, std::string body,
                                              std::chrono::milliseconds timeout, std::size_t max_bytes,
                                              typename Exchange<beast::tcp_stream>::Handlers handlers) {
  if (e.tls) {
    using Tls = beast::ssl_stream<beast::tcp_stream>;
    auto x = std::make_shared<Exchange<Tls>>(io, e, path, std::move(body), timeout, max_bytes,
                                             typename Exchange<Tls>::Handlers{std::move(handlers.answer),
                                                                              std::move(handlers.on_message),
                                                                              std::move(handlers.on_end)},
                                             io, tls);
    x->start();
    return x;
  }
  auto x = std::make_shared<Exchange<beast::tcp_stream>>(io, e, path, std::move(body), timeout, max_bytes,
                                                         std::move(handlers), io);
  x->start();
  return x;
}

}  // namespace

void Client::post(const std::string& path, std::string body, Answer done) {
  // Endpoints in order; a transport failure moves to the next, an answer (even a refusal) ends it.
  struct Attempt : std::enable_shared_from_this<Attempt> {
    Client* client;
    std::string path, body;
    Answer done;
    std::size_t index = 0;
    std::string failures;
    void next() {
      auto self = shared_from_this();
      const Endpoint& e = client->settings_.endpoints[index];
      start_exchange(client->io_, client->tls_->context, e, path, body, client->settings_.timeout,
                     client->settings_.max_answer_bytes,
                     {[self](std::optional<Error> error, std::string answer) {
                        if (error && error->kind() == Error::Kind::transport &&
                            ++self->index < self->client->settings_.endpoints.size()) {
                          self->failures += std::string(error->what()) + "; ";
                          return self->next();
                        }
                        if (error && error->kind() == Error::Kind::transport && !self->failures.empty()) {
                          error = Error(Error::Kind::transport, self->failures + error->what());
                        }
                        self->done(std::move(error), std::move(answer));
                      },
                      {},
                      {}});
    }
  };
  auto attempt = std::make_shared<Attempt>();
  attempt->client = this;
  attempt->path = path;
  attempt->body = std::move(body);
  attempt->done = std::move(done);
  attempt->next();
}

std::shared_ptr<Client::Watch> Client::watch(std::string body, OnMessage on_message, OnEnd on_end) {
  const Endpoint& e = settings_.endpoints[next_watch_endpoint_++ % settings_.endpoints.size()];
  return start_exchange(io_, tls_->context, e, "/v3/watch", std::move(body), settings_.timeout,
                        settings_.max_answer_bytes, {{}, std::move(on_message), std::move(on_end)});
}

BlockingClient::BlockingClient(ClientSettings settings)
    : io_(std::make_unique<net::io_context>()), client_(std::make_unique<Client>(*io_, std::move(settings))) {}

BlockingClient::~BlockingClient() = default;

std::string BlockingClient::post(const std::string& path, const std::string& body) {
  std::optional<Error> error;
  std::string answer;
  client_->post(path, body, [&](std::optional<Error> e, std::string b) {
    error = std::move(e);
    answer = std::move(b);
  });
  io_->restart();
  io_->run();
  if (error) throw *error;
  return answer;
}

RangeResult BlockingClient::range(std::string_view key, std::string_view range_end, std::int64_t revision) {
  return parse_range(post("/v3/kv/range", range_request(key, range_end, revision)));
}

TxnResult BlockingClient::txn(const std::vector<Compare>& compares, const std::vector<Op>& success,
                              const std::vector<Op>& failure) {
  return parse_txn(post("/v3/kv/txn", txn_request(compares, success, failure)));
}

}  // namespace ndsip::etcd
