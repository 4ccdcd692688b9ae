// The metrics endpoint: a minimal HTTP/1.1 server (Boost.Beast) on ndsipd's own io_context,
// answering GET (and HEAD) /metrics with what `render` returns, 404 for any other path, 405
// for other methods on it, 400 for anything that is not a well-formed, bodiless request.
// Bounded against its clients like the control socket: a cap on connections, a size limit
// on a request's header, a time limit to send a request (idle keep-alive connections
// included) and to take the answer, and a pause (not a spin) when out of file descriptors.
// No threads: prometheus-cpp's pull library (civetweb) would bring its own, and the render
// reads the daemon's state, which only the loop may touch.
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <chrono>
#include <functional>
#include <memory>
#include <string>

namespace ndsip::metrics {

struct HttpLimits {
  std::size_t max_connections = 16;       // at once; more are closed at once
  std::size_t max_header_bytes = 8192;    // request line and headers
  std::chrono::milliseconds timeout{std::chrono::seconds(10)};  // to send a request; to read the answer
};

class HttpListener {
 public:
  using Render = std::function<std::string()>;

  // Binds and listens on `at`; throws std::runtime_error naming the address when it cannot
  // (in use, not on this host, the address family forbidden by the unit: see
  // systemd/ndsipd-metrics.conf.example).
  HttpListener(boost::asio::io_context& io, const boost::asio::ip::tcp::endpoint& at, Render render,
               HttpLimits limits = {});
  ~HttpListener();  // stops accepting; connections end at their next step
  HttpListener(const HttpListener&) = delete;
  HttpListener& operator=(const HttpListener&) = delete;

  boost::asio::ip::tcp::endpoint local_endpoint() const;  // the port, when 0 was asked

  struct Shared;

 private:
  struct Impl;
  std::shared_ptr<Impl> impl_;
};

}  // namespace ndsip::metrics
