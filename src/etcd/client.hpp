// The transport to etcd's JSON gateway: HTTP/1.1 POSTs over TCP or TLS (client certificates)
// with Boost.Beast, on the caller's Asio event loop (ndsipd's one loop: no threads). Unary
// calls try the endpoints in turn; a watch is one long POST whose chunked answer carries one
// JSON message per line, delivered as each line completes. Every call has a timeout (a watch:
// until its answer starts); answers are bounded in size. What the bytes mean is the codec's job
// (codec.hpp); this file moves them.
//
// With a user and password (etcd's --auth) the client authenticates once and every request,
// watches included, carries the token in its Authorization header; when etcd says the token
// is no longer valid (it expired, or auth was re-enabled), the client authenticates again and
// sends the request once more. Neither the password nor the token is ever part of an error.
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <boost/asio/io_context.hpp>

#include "etcd/codec.hpp"

namespace ndsip::etcd {

struct Endpoint {
  bool tls = false;
  std::string host, port;
  std::string text() const;  // "https://host:port"
};

// "http://127.0.0.1:2379,https://etcd-1:2379": a comma-separated list. Throws
// std::invalid_argument naming the entry that is not http(s)://host:port.
std::vector<Endpoint> parse_endpoints(std::string_view list);

struct ClientSettings {
  std::vector<Endpoint> endpoints;
  // TLS (for https endpoints): the CA bundle that signed etcd's certificate, and ndsip's
  // client certificate and key (etcd's --client-cert-auth). Empty ca_file: the system's.
  std::string ca_file, cert_file, key_file;
  // etcd's user and password (etcd's auth); empty user: none (etcd without auth). Both or
  // neither (etcd/credentials.hpp); the password is a secret: never log it.
  std::string user, password;
  std::chrono::milliseconds timeout{std::chrono::seconds(5)};
  std::size_t max_answer_bytes = 64u << 20;  // one unary answer, or one watch message
};

class Client {
 public:
  // Throws Error(transport) when the TLS files cannot be used, std::invalid_argument for a
  // user without a password (or the reverse).
  Client(boost::asio::io_context& io, ClientSettings settings);
  ~Client();
  Client(const Client&) = delete;
  Client& operator=(const Client&) = delete;

  // POSTs `body` to `path` ("/v3/kv/range"). `done` gets the answer's body (HTTP 200), or an
  // Error: refused (etcd's error answer, and a failed authentication: "authenticating to etcd
  // as USER: ..."), transport (no endpoint answered in time: each one's failure is named).
  // Called exactly once, from the loop, never from inside this call.
  using Answer = std::function<void(std::optional<Error> error, std::string body)>;
  void post(const std::string& path, std::string body, Answer done);

  // A long POST to /v3/watch with `body`; each complete line of the answer goes to
  // `on_message`; when the stream ends for any reason other than cancel(), `on_end` gets why
  // (once). The endpoint is the next one in turn, so a caller that watches again after an
  // end moves across the cluster.
  class Watch {
   public:
    virtual ~Watch() = default;
    virtual void cancel() = 0;  // closes the stream; on_end is not called
  };
  using OnMessage = std::function<void(const std::string& message)>;
  using OnEnd = std::function<void(const Error& why)>;
  std::shared_ptr<Watch> watch(std::string body, OnMessage on_message, OnEnd on_end);

  const ClientSettings& settings() const;

  // What calls in flight share (the loop, the settings, TLS, the token): theirs as long as
  // any runs, so destroying the Client under a call is safe.
  struct Shared;

 private:
  std::shared_ptr<Shared> shared_;
};

// For ndsipctl and tests: the same calls, blocking, on an io_context of its own. Throws Error.
class BlockingClient {
 public:
  explicit BlockingClient(ClientSettings settings);
  ~BlockingClient();
  std::string post(const std::string& path, const std::string& body);
  RangeResult range(std::string_view key, std::string_view range_end, std::int64_t revision = 0);
  TxnResult txn(const std::vector<Compare>& compares, const std::vector<Op>& success,
                const std::vector<Op>& failure = {});

 private:
  std::unique_ptr<boost::asio::io_context> io_;
  std::unique_ptr<Client> client_;
};

}  // namespace ndsip::etcd
