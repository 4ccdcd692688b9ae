// The metrics endpoint over a real loopback socket: GET and HEAD /metrics, 404 elsewhere, 405
// for other methods, keep-alive; and against bad clients: garbage, oversized headers, bodies,
// idle and slow clients, more connections than the cap. After each the listener still serves.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <boost/asio/executor_work_guard.hpp>
#include <random>
#include <thread>

#include "metrics/families.hpp"
#include "metrics/http_listener.hpp"
#include "metrics/listen_address.hpp"

using namespace ndsip;
using namespace std::chrono_literals;

namespace {

// A blocking client socket with a receive timeout.
class Client {
 public:
  explicit Client(unsigned short port) {
    fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (::connect(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) throw std::runtime_error("connect");
  }
  ~Client() { ::close(fd_); }
  bool send(const std::string& bytes) {
    return ::send(fd_, bytes.data(), bytes.size(), MSG_NOSIGNAL) == static_cast<ssize_t>(bytes.size());
  }
  // Everything until the peer closes or `quiet` passes without a byte.
  std::string receive(std::chrono::milliseconds quiet = 2s) {
    std::string out;
    for (;;) {
      pollfd p{fd_, POLLIN, 0};
      if (::poll(&p, 1, static_cast<int>(quiet.count())) <= 0) return out;
      char buf[65536];
      const ssize_t n = ::recv(fd_, buf, sizeof buf, 0);
      if (n <= 0) {
        closed_ = true;
        return out;
      }
      out.append(buf, static_cast<std::size_t>(n));
    }
  }
  // One whole answer: headers and Content-Length bytes of body (HEAD: none).
  std::string answer(bool head = false) {
    std::string out;
    for (;;) {
      const auto end = out.find("\r\n\r\n");
      if (end != std::string::npos) {
        std::size_t length = 0;
        const auto cl = out.find("Content-Length: ");
        if (cl != std::string::npos && cl < end) length = std::stoul(out.substr(cl + 16));
        if (head || out.size() >= end + 4 + length) return out;
      }
      pollfd p{fd_, POLLIN, 0};
      if (::poll(&p, 1, 5000) <= 0) return out;
      char buf[65536];
      const ssize_t n = ::recv(fd_, buf, sizeof buf, 0);
      if (n <= 0) return out;
      out.append(buf, static_cast<std::size_t>(n));
    }
  }
  bool closed() const { return closed_; }

 private:
  int fd_ = -1;
  bool closed_ = false;
};

struct Rig {
  boost::asio::io_context io;
  boost::asio::executor_work_guard<boost::asio::io_context::executor_type> work{io.get_executor()};
  std::string body = "# HELP ndsip_test A test.\n# TYPE ndsip_test gauge\nndsip_test 1\n";
  std::atomic<int> renders{0};
  bool throw_once = false;
  std::unique_ptr<metrics::HttpListener> listener;
  std::thread loop;

  explicit Rig(metrics::HttpLimits limits = {}) {
    listener = std::make_unique<metrics::HttpListener>(io, metrics::parse_listen_address("127.0.0.1:0", true),
                                                       [this] {
                                                         ++renders;
                                                         if (std::exchange(throw_once, false)) {
                                                           throw std::runtime_error("broken source");
                                                         }
                                                         return body;
                                                       },
                                                       limits);
    loop = std::thread([this] { io.run(); });
  }
  ~Rig() {
    work.reset();
    io.stop();
    loop.join();
  }
  unsigned short port() const { return listener->local_endpoint().port(); }

  std::string get(const std::string& target = "/metrics") {
    Client c(port());
    c.send("GET " + target + " HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
    return c.receive();
  }
  // Still serving: a well-formed scrape gets the body.
  bool serving() {
    const std::string a = get();
    return a.rfind("HTTP/1.1 200 OK\r\n", 0) == 0 && a.find(body) != std::string::npos;
  }
};

std::string status_line(const std::string& answer) { return answer.substr(0, answer.find("\r\n")); }

}  // namespace

TEST(MetricsHttp, GetMetricsAnswersTheTextFormat) {
  Rig rig;
  const std::string a = rig.get();
  EXPECT_EQ(status_line(a), "HTTP/1.1 200 OK");
  EXPECT_NE(a.find("Content-Type: text/plain; version=0.0.4; charset=utf-8\r\n"), std::string::npos) << a;
  EXPECT_NE(a.find("Content-Length: " + std::to_string(rig.body.size()) + "\r\n"), std::string::npos) << a;
  EXPECT_EQ(a.substr(a.find("\r\n\r\n") + 4), rig.body);
  EXPECT_EQ(status_line(rig.get("/metrics?name[]=ndsip_test")), "HTTP/1.1 200 OK");
}

TEST(MetricsHttp, HeadAnswersTheHeadersAlone) {
  Rig rig;
  Client c(rig.port());
  c.send("HEAD /metrics HTTP/1.1\r\nHost: x\r\n\r\n");
  const std::string a = c.answer(true);
  EXPECT_EQ(status_line(a), "HTTP/1.1 200 OK");
  EXPECT_NE(a.find("Content-Length: " + std::to_string(rig.body.size())), std::string::npos) << a;
  EXPECT_EQ(a.substr(a.find("\r\n\r\n") + 4), "");
  // The connection stays usable: no body bytes were sent to confuse the next answer.
  c.send("GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n");
  const std::string b = c.answer();
  EXPECT_EQ(status_line(b), "HTTP/1.1 200 OK") << b;
}

TEST(MetricsHttp, OtherPathsAreNotFoundAndOtherMethodsNotAllowed) {
  Rig rig;
  for (const char* target : {"/", "/metricsx", "/metrics/", "/Metrics", "/favicon.ico", "*", "http://x/metrics"}) {
    EXPECT_EQ(status_line(rig.get(target)), "HTTP/1.1 404 Not Found") << target;
  }
  for (const char* method : {"POST", "PUT", "DELETE", "OPTIONS", "PATCH"}) {
    Client c(rig.port());
    c.send(std::string(method) + " /metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
    const std::string a = c.receive();
    EXPECT_EQ(status_line(a), "HTTP/1.1 405 Method Not Allowed") << method;
    EXPECT_NE(a.find("Allow: GET, HEAD\r\n"), std::string::npos) << a;
  }
  EXPECT_EQ(rig.renders, 0);  // nothing rendered for any of them
  EXPECT_TRUE(rig.serving());
}

TEST(MetricsHttp, KeepAliveServesScrapesOnOneConnection) {
  Rig rig;
  Client c(rig.port());
  for (int i = 0; i < 3; ++i) {
    ASSERT_TRUE(c.send("GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n"));
    const std::string a = c.answer();
    EXPECT_EQ(status_line(a), "HTTP/1.1 200 OK") << i;
    EXPECT_EQ(a.substr(a.find("\r\n\r\n") + 4), rig.body);
  }
  // Two requests in one write (pipelined): two answers, in order.
  c.send("GET /nope HTTP/1.1\r\nHost: x\r\n\r\nGET /metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
  const std::string both = c.receive();
  EXPECT_EQ(status_line(both), "HTTP/1.1 404 Not Found");
  EXPECT_NE(both.find("HTTP/1.1 200 OK"), std::string::npos) << both;
  EXPECT_EQ(rig.renders, 4);
}

TEST(MetricsHttp, GarbageGetsBadRequestAndTheListenerKeepsServing) {
  Rig rig;
  const std::vector<std::string> garbage{
      "\r\n\r\n",
      "hello\r\n\r\n",
      "GET\r\n\r\n",
      "GET /metrics\r\n\r\n",
      "GET /metrics HTTP/1.1\r\nno colon here\r\n\r\n",
      "GET /metrics HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello",
      "GET /metrics HTTP/1.1\r\nHost: x\r\nContent-Length: -1\r\n\r\n",
      "GET /metrics HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n",
      std::string("GET /me\0trics HTTP/1.1\r\n\r\n", 26),
      "\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03",  // a TLS ClientHello's start
  };
  for (const std::string& g : garbage) {
    Client c(rig.port());
    c.send(g);
    const std::string a = c.receive(1s);
    if (!a.empty()) EXPECT_EQ(status_line(a), "HTTP/1.1 400 Bad Request") << g;
    ASSERT_TRUE(rig.serving()) << "after " << g;
  }
  // Random bytes, many times.
  std::mt19937 rng(15);
  for (int i = 0; i < 200; ++i) {
    std::string bytes(1 + rng() % 3000, '\0');
    for (char& ch : bytes) ch = static_cast<char>(rng());
    if (i % 2) bytes = "GET /metrics HTTP/1.1\r\n" + bytes;
    Client c(rig.port());
    c.send(bytes);
    c.receive(50ms);
  }
  EXPECT_TRUE(rig.serving());
}

TEST(MetricsHttp, OversizedRequestsAreRefusedBeforeBeingBuffered) {
  Rig rig;
  {
    Client c(rig.port());
    c.send("GET /metrics HTTP/1.1\r\nHost: x\r\nX-Big: " + std::string(64 * 1024, 'a') + "\r\n\r\n");
    const std::string a = c.receive(2s);
    if (!a.empty()) EXPECT_EQ(status_line(a), "HTTP/1.1 400 Bad Request");
  }
  {
    // A request line alone past the limit, and never ending.
    Client c(rig.port());
    c.send("GET /" + std::string(1 << 20, 'm'));
    c.receive(2s);
    EXPECT_TRUE(c.closed());
  }
  EXPECT_EQ(rig.renders, 0);
  EXPECT_TRUE(rig.serving());
}

TEST(MetricsHttp, IdleAndSlowClientsAreTimedOut) {
  metrics::HttpLimits limits;
  limits.timeout = 300ms;
  Rig rig(limits);
  Client idle(rig.port());
  Client slow(rig.port());
  const auto start = std::chrono::steady_clock::now();
  // A byte at a time, each well within the limit, the request never complete in it.
  for (const char ch : std::string("GET /metrics HTTP/1.1\r\nHo")) {
    slow.send(std::string(1, ch));
    std::this_thread::sleep_for(20ms);
  }
  idle.receive(3s);
  slow.receive(3s);
  EXPECT_TRUE(idle.closed());
  EXPECT_TRUE(slow.closed());
  EXPECT_LT(std::chrono::steady_clock::now() - start, 2s);
  // A keep-alive connection left idle after a scrape is closed too.
  Client kept(rig.port());
  kept.send("GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n");
  EXPECT_EQ(status_line(kept.answer()), "HTTP/1.1 200 OK");
  kept.receive(3s);
  EXPECT_TRUE(kept.closed());
  EXPECT_TRUE(rig.serving());
}

TEST(MetricsHttp, ConnectionsOverTheCapAreClosed) {
  metrics::HttpLimits limits;
  limits.max_connections = 2;
  limits.timeout = 1s;
  Rig rig(limits);
  Client a(rig.port()), b(rig.port());
  std::this_thread::sleep_for(100ms);  // both accepted
  Client over(rig.port());
  over.receive(500ms);
  EXPECT_TRUE(over.closed());
  // The two held ones time out; then scrapes are served again.
  a.receive(3s);
  b.receive(3s);
  EXPECT_TRUE(rig.serving());
}

TEST(MetricsHttp, ABrokenSourceAnswersServerErrorAndTheNextScrapeWorks) {
  Rig rig;
  rig.throw_once = true;
  const std::string a = rig.get();
  EXPECT_EQ(status_line(a), "HTTP/1.1 500 Internal Server Error");
  EXPECT_NE(a.find("broken source"), std::string::npos);
  EXPECT_TRUE(rig.serving());
}

TEST(MetricsHttp, AnAddressThatCannotBeHadIsAnErrorNamingIt) {
  boost::asio::io_context io;
  metrics::HttpListener first(io, metrics::parse_listen_address("127.0.0.1:0", true), [] { return ""; });
  const auto taken = first.local_endpoint();
  try {
    metrics::HttpListener second(io, taken, [] { return ""; });
    FAIL() << "bound a port in use";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("metrics-listen 127.0.0.1 port " + std::to_string(taken.port()) + ": bind"),
              std::string::npos)
        << e.what();
  }
  // An address not on this host.
  EXPECT_THROW(metrics::HttpListener(io, metrics::parse_listen_address("192.0.2.254:9474"), [] { return ""; }),
               std::runtime_error);
}
