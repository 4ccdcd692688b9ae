#include "lab/tcp_transfer.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <openssl/evp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <stdexcept>

namespace ndsip::lab {

using namespace std::chrono_literals;

std::string sha256_hex(const std::string& data) {
  std::array<unsigned char, EVP_MAX_MD_SIZE> md{};
  unsigned int len = 0;
  if (EVP_Digest(data.data(), data.size(), md.data(), &len, EVP_sha256(), nullptr) != 1)
    throw std::runtime_error("EVP_Digest failed");
  std::string hex;
  static const char* digits = "0123456789abcdef";
  for (unsigned i = 0; i < len; ++i) {
    hex += digits[md[i] >> 4];
    hex += digits[md[i] & 0xf];
  }
  return hex;
}

namespace {

sockaddr_in ipv4(const std::string& addr, std::uint16_t port) {
  sockaddr_in sa{};
  sa.sin_family = AF_INET;
  sa.sin_port = htons(port);
  if (::inet_pton(AF_INET, addr.c_str(), &sa.sin_addr) != 1) throw std::runtime_error("bad address " + addr);
  return sa;
}

// A socket fd closed on every way out.
struct Fd {
  int fd = -1;
  explicit Fd(int f) : fd(f) {
    if (fd < 0) throw std::runtime_error(std::string("socket: ") + std::strerror(errno));
  }
  ~Fd() {
    if (fd >= 0) ::close(fd);
  }
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
};

void wait_fd(int fd, short events, std::chrono::steady_clock::time_point deadline, const char* what) {
  for (;;) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    if (left <= 0ms) throw std::runtime_error(std::string("timed out: ") + what);
    pollfd p{fd, events, 0};
    const int n = ::poll(&p, 1, static_cast<int>(left.count()));
    if (n > 0) return;
    if (n < 0 && errno != EINTR) throw std::runtime_error(std::string("poll: ") + std::strerror(errno));
  }
}

}  // namespace

// The listener's half of the TCP transfer: bound to the server's inner address (so only a
// packet that reached gms-b itself is answered), one connection, everything read until EOF.
std::string receive_all(const std::string& addr, std::uint16_t port, std::promise<void>& listening) {
  Fd s(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  const int one = 1;
  ::setsockopt(s.fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  const sockaddr_in sa = ipv4(addr, port);
  if (::bind(s.fd, reinterpret_cast<const sockaddr*>(&sa), sizeof sa) != 0 || ::listen(s.fd, 1) != 0)
    throw std::runtime_error("bind/listen " + addr + ": " + std::strerror(errno));
  listening.set_value();
  const auto deadline = std::chrono::steady_clock::now() + 20s;
  wait_fd(s.fd, POLLIN, deadline, "accept");
  Fd c(::accept4(s.fd, nullptr, nullptr, SOCK_CLOEXEC));
  std::string got;
  char buf[65536];
  for (;;) {
    wait_fd(c.fd, POLLIN, deadline, "receive");
    const ssize_t n = ::recv(c.fd, buf, sizeof buf, 0);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) throw std::runtime_error(std::string("recv: ") + std::strerror(errno));
    if (n == 0) break;
    got.append(buf, static_cast<std::size_t>(n));
  }
  return got;
}

// The sender's half: from the VAL server's inner address (the pair's selector), all of `data`,
// then a half-close, then wait for the listener to close (everything was read).
void send_all(const std::string& from, const std::string& to, std::uint16_t port, const std::string& data) {
  Fd s(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
  const sockaddr_in src = ipv4(from, 0), dst = ipv4(to, port);
  if (::bind(s.fd, reinterpret_cast<const sockaddr*>(&src), sizeof src) != 0)
    throw std::runtime_error("bind " + from + ": " + std::strerror(errno));
  const auto deadline = std::chrono::steady_clock::now() + 20s;
  if (::connect(s.fd, reinterpret_cast<const sockaddr*>(&dst), sizeof dst) != 0 && errno != EINPROGRESS)
    throw std::runtime_error("connect " + to + ": " + std::strerror(errno));
  wait_fd(s.fd, POLLOUT, deadline, "connect");
  int err = 0;
  socklen_t len = sizeof err;
  ::getsockopt(s.fd, SOL_SOCKET, SO_ERROR, &err, &len);
  if (err != 0) throw std::runtime_error("connect " + to + ": " + std::strerror(err));
  std::size_t sent = 0;
  while (sent < data.size()) {
    wait_fd(s.fd, POLLOUT, deadline, "send");
    const ssize_t n = ::send(s.fd, data.data() + sent, data.size() - sent, MSG_NOSIGNAL);
    if (n < 0 && (errno == EAGAIN || errno == EINTR)) continue;
    if (n < 0) throw std::runtime_error(std::string("send: ") + std::strerror(errno));
    sent += static_cast<std::size_t>(n);
  }
  ::shutdown(s.fd, SHUT_WR);
  char buf[256];
  for (;;) {
    wait_fd(s.fd, POLLIN, deadline, "the listener's close");
    const ssize_t n = ::recv(s.fd, buf, sizeof buf, 0);
    if (n < 0 && (errno == EAGAIN || errno == EINTR)) continue;
    if (n <= 0) return;
  }
}

}  // namespace ndsip::lab
