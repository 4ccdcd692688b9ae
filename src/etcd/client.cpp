#include "etcd/client.hpp"

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <optional>
#include <stdexcept>
#include <utility>

#include "etcd/credentials.hpp"

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

struct Client::Shared {
  Shared(net::io_context& loop, ClientSettings s) : io(loop), settings(std::move(s)) {}
  net::io_context& io;
  const ClientSettings settings;
  ssl::context tls{ssl::context::tls_client};
  std::size_t next_watch_endpoint = 0;
  // etcd's auth: the token requests carry ("" until authenticated, and after etcd rejected
  // it), and the calls waiting for the one authentication in flight.
  std::string token;
  bool authenticating = false;
  std::vector<std::function<void(const std::optional<Error>&)>> waiting;
};

namespace {

Error transport(const Endpoint& e, const std::string& what) {
  return Error(Error::Kind::transport, "etcd at " + e.text() + ": " + what);
}

struct Request {
  std::string path, body;
  std::string token;  // "" : no Authorization header
};

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
  Exchange(net::io_context& io, Endpoint endpoint, Request request, std::chrono::milliseconds timeout,
           std::size_t max_bytes, Handlers handlers, StreamArgs&&... stream_args)
      : stream_(std::forward<StreamArgs>(stream_args)...), resolver_(io), deadline_(io), endpoint_(std::move(endpoint)),
        timeout_(timeout), max_bytes_(max_bytes), handlers_(std::move(handlers)) {
    request_ = {http::verb::post, request.path, 11};
    request_.set(http::field::host, endpoint_.host);
    request_.set(http::field::content_type, "application/json");
    // etcd's gateway hands this header to the server as the "authorization" metadata its
    // auth reads the token from.
    if (!request.token.empty()) request_.set(http::field::authorization, request.token);
    request_.body() = std::move(request.body);
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
  static constexpr bool tls = !std::is_same_v<Stream, beast::tcp_stream>;
  bool streaming() const { return static_cast<bool>(handlers_.on_message); }
  beast::tcp_stream& lowest() { return beast::get_lowest_layer(stream_); }

  void connect(const tcp::resolver::results_type& results) {
    auto self = this->shared_from_this();
    lowest().async_connect(results, [self](boost::system::error_code ec, const tcp::endpoint&) {
      if (ec) return self->fail("cannot connect: " + ec.message());
      if constexpr (!tls) {
        self->write();
      } else {
        // The certificate must name the host we asked for: a name as a dNSName, an address as
        // an iPAddress (host_name_verification checks those with X509_check_ip_asc). SNI carries
        // names only (RFC 6066 forbids literal addresses in it).
        boost::system::error_code not_ip;
        net::ip::make_address(self->endpoint_.host, not_ip);
        if (not_ip && !SSL_set_tlsext_host_name(self->stream_.native_handle(), self->endpoint_.host.c_str())) {
          return self->fail("TLS: cannot set the server name");
        }
        self->stream_.set_verify_callback(ssl::host_name_verification(self->endpoint_.host));
        self->stream_.async_handshake(ssl::stream_base::client, [self](boost::system::error_code hec) {
          if (hec) return self->fail("TLS handshake: " + self->explain(hec));
          self->write();
        });
      }
    });
  }

  // ec's text, and for the two TLS failures whose OpenSSL text does not say what to do, what
  // it means: our check of etcd's certificate failed; or etcd refused us with an alert while
  // we presented no client certificate (an etcd with --client-cert-auth does that, in TLS 1.3
  // only after the handshake, on the first read).
  std::string explain(const boost::system::error_code& ec) {
    std::string text = ec.message();
    if constexpr (tls) {
      if (ec.category() != net::error::get_ssl_category()) return text;
      const int reason = ERR_GET_REASON(static_cast<unsigned long>(ec.value()));
      if (reason == SSL_R_CERTIFICATE_VERIFY_FAILED) {
        text += " (etcd's certificate is not signed by a CA of --etcd-cacert, or of the system's when that is not "
                "given, or does not name " + endpoint_.host + ")";
      } else if ((reason == SSL_R_SSLV3_ALERT_BAD_CERTIFICATE || reason == SSL_R_TLSV13_ALERT_CERTIFICATE_REQUIRED ||
                  reason == SSL_R_SSLV3_ALERT_HANDSHAKE_FAILURE) &&
                 SSL_get_certificate(stream_.native_handle()) == nullptr) {
        text += " (no client certificate was presented: give one with --etcd-cert and --etcd-key if etcd runs with "
                "--client-cert-auth)";
      }
    }
    return text;
  }

  void write() {
    auto self = this->shared_from_this();
    http::async_write(stream_, request_, [self](boost::system::error_code ec, std::size_t) {
      if (ec) return self->fail("cannot send: " + self->explain(ec));
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
      if (ec) return self->fail("cannot read the answer: " + self->explain(ec));
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
      if (ec) return self->fail("cannot read the answer: " + self->explain(ec));
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

using Handlers = Exchange<beast::tcp_stream>::Handlers;

std::shared_ptr<Client::Watch> start_exchange(Client::Shared& shared, const Endpoint& e, Request request,
                                              Handlers handlers) {
  const auto timeout = shared.settings.timeout;
  const auto max_bytes = shared.settings.max_answer_bytes;
  if (e.tls) {
    using Tls = beast::ssl_stream<beast::tcp_stream>;
    auto x = std::make_shared<Exchange<Tls>>(
        shared.io, e, std::move(request), timeout, max_bytes,
        Exchange<Tls>::Handlers{std::move(handlers.answer), std::move(handlers.on_message), std::move(handlers.on_end)},
        shared.io, shared.tls);
    x->start();
    return x;
  }
  auto x = std::make_shared<Exchange<beast::tcp_stream>>(shared.io, e, std::move(request), timeout, max_bytes,
                                                         std::move(handlers), shared.io);
  x->start();
  return x;
}

// One unary request: the endpoints in order; a transport failure moves to the next, an answer
// (even a refusal) ends it.
void post_once(const std::shared_ptr<Client::Shared>& shared, Request request, Client::Answer done) {
  struct Attempt : std::enable_shared_from_this<Attempt> {
    std::shared_ptr<Client::Shared> shared;
    Request request;
    Client::Answer done;
    std::size_t index = 0;
    std::string failures;
    void next() {
      auto self = shared_from_this();
      start_exchange(*shared, shared->settings.endpoints[index], request,
                     {[self](std::optional<Error> error, std::string answer) {
                        if (error && error->kind() == Error::Kind::transport &&
                            ++self->index < self->shared->settings.endpoints.size()) {
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
  attempt->shared = shared;
  attempt->request = std::move(request);
  attempt->done = std::move(done);
  attempt->next();
}

// The token to send: none without a user, the one in hand, or a new one after the one
// authentication in flight (started here if none is). `then` gets the error of a failed
// authentication instead.
void with_token(const std::shared_ptr<Client::Shared>& shared,
                std::function<void(const std::optional<Error>&, const std::string& token)> then) {
  if (shared->settings.user.empty() || !shared->token.empty()) return then(std::nullopt, shared->token);
  shared->waiting.push_back([shared, then = std::move(then)](const std::optional<Error>& e) { then(e, shared->token); });
  if (shared->authenticating) return;
  shared->authenticating = true;
  const std::string& user = shared->settings.user;
  post_once(shared, {"/v3/auth/authenticate", authenticate_request(user, shared->settings.password), ""},
            [shared](std::optional<Error> e, std::string body) {
              shared->authenticating = false;
              if (!e) {
                try {
                  shared->token = parse_authenticate(body);
                } catch (const Error& bad) {
                  e = bad;
                }
              }
              if (e) {
                // "authentication failed, invalid user ID or password" is etcd's refusal; say
                // whose (never with what password).
                e = Error(e->kind(), "authenticating to etcd as " + shared->settings.user + ": " + e->what(), e->code());
              }
              auto waiting = std::exchange(shared->waiting, {});
              for (auto& w : waiting) w(e);
            });
}

// A refusal that comes from auth the caller did not configure: say what to do about it.
Error explained(const ClientSettings& s, Error e) {
  if (e.kind() == Error::Kind::refused && s.user.empty() &&
      std::string_view(e.what()).find("user name is empty") != std::string_view::npos) {
    return Error(e.kind(), std::string(e.what()) + " (etcd has authentication enabled: give a user and password)",
                 e.code());
  }
  return e;
}

// One request that carries the token, the one code path of post and watch: sent with the
// token in hand (authenticating first when there is none); when etcd answers that the token
// is no longer valid, the token is forgotten, a new one fetched and the request sent once more.
struct Call : Client::Watch, std::enable_shared_from_this<Call> {
  std::shared_ptr<Client::Shared> shared;
  std::function<void(const std::shared_ptr<Call>& self)> send;  // one try, with `token`
  std::function<void(Error)> fail;                              // no token to be had
  std::string token;                                            // the one the try in flight carries
  std::weak_ptr<Client::Watch> exchange;                        // a watch's stream in flight
  bool retried = false, cancelled = false;

  void start() {
    with_token(shared, [self = shared_from_this()](const std::optional<Error>& e, const std::string& t) {
      if (self->cancelled) return;
      if (e) return self->fail(explained(self->shared->settings, *e));
      self->token = t;
      self->send(self);
    });
  }
  bool may_retry() const { return !retried && !cancelled && !shared->settings.user.empty(); }
  void retry() {
    retried = true;
    if (shared->token == token) shared->token.clear();  // not if another call already renewed it
    start();
  }
  void cancel() override {
    cancelled = true;
    if (auto x = exchange.lock()) x->cancel();
  }
};

// The first message of a watch whose token etcd no longer takes (created and cancelled at once).
bool watch_token_rejected(const std::string& message) {
  try {
    return token_rejected(parse_watch(message));
  } catch (const Error&) {
    return false;  // the caller's parse says what is wrong with it
  }
}

}  // namespace

Client::Client(net::io_context& io, ClientSettings settings)
    : shared_(std::make_shared<Shared>(io, std::move(settings))) {
  const ClientSettings& s = shared_->settings;
  if (s.endpoints.empty()) throw Error(Error::Kind::transport, "no etcd endpoint given");
  check_credentials(s.user, s.password);
  ssl::context& tls = shared_->tls;
  boost::system::error_code ec;
  tls.set_verify_mode(ssl::verify_peer, ec);
  if (s.ca_file.empty()) {
    tls.set_default_verify_paths(ec);
  } else {
    tls.load_verify_file(s.ca_file, ec);
    if (ec) throw Error(Error::Kind::transport, "etcd CA file " + s.ca_file + ": " + ec.message());
  }
  if (!s.cert_file.empty() || !s.key_file.empty()) {
    tls.use_certificate_chain_file(s.cert_file, ec);
    if (ec) throw Error(Error::Kind::transport, "etcd client certificate " + s.cert_file + ": " + ec.message());
    tls.use_private_key_file(s.key_file, ssl::context::pem, ec);
    if (ec) throw Error(Error::Kind::transport, "etcd client key " + s.key_file + ": " + ec.message());
  }
}

Client::~Client() = default;

const ClientSettings& Client::settings() const { return shared_->settings; }

void Client::post(const std::string& path, std::string body, Answer done) {
  auto call = std::make_shared<Call>();
  call->shared = shared_;
  call->fail = [done](Error e) { done(std::move(e), ""); };
  call->send = [path, body = std::move(body), done](const std::shared_ptr<Call>& c) {
    post_once(c->shared, {path, body, c->token}, [c, done](std::optional<Error> e, std::string answer) {
      if (e && token_rejected(*e) && c->may_retry()) return c->retry();
      if (e) e = explained(c->shared->settings, std::move(*e));
      done(std::move(e), std::move(answer));
    });
  };
  call->start();
}

std::shared_ptr<Client::Watch> Client::watch(std::string body, OnMessage on_message, OnEnd on_end) {
  const Endpoint e = shared_->settings.endpoints[shared_->next_watch_endpoint++ % shared_->settings.endpoints.size()];
  auto call = std::make_shared<Call>();
  call->shared = shared_;
  call->fail = [on_end](Error why) { on_end(why); };
  call->send = [e, body = std::move(body), on_message, on_end](const std::shared_ptr<Call>& c) {
    auto first = std::make_shared<bool>(true);
    c->exchange = start_exchange(
        *c->shared, e, {"/v3/watch", body, c->token},
        {{},
         [c, first, on_message](const std::string& m) {
           if (std::exchange(*first, false) && c->may_retry() && watch_token_rejected(m)) {
             if (auto x = c->exchange.lock()) x->cancel();  // this stream: the retry opens another
             return c->retry();
           }
           on_message(m);
         },
         [c, on_end](const Error& why) {
           if (token_rejected(why) && c->may_retry()) return c->retry();
           on_end(explained(c->shared->settings, why));
         }});
  };
  call->start();
  return call;
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
