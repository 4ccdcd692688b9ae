#include "control/client.hpp"

#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "control/protocol.hpp"

namespace ndsip::control {

ControlText control_request_text(const std::string& path, nlohmann::json request,
                                 std::chrono::milliseconds timeout) {
  ControlText result;
  request[key::protocol] = protocol_version;
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  if (path.size() >= sizeof addr.sun_path) {
    result.error = "control socket path too long: " + path;
    return result;
  }
  std::memcpy(addr.sun_path, path.c_str(), path.size() + 1);
  const int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    result.error = std::string("socket: ") + std::strerror(errno);
    return result;
  }
  if (::connect(fd, reinterpret_cast<const sockaddr*>(&addr), sizeof addr) != 0) {
    result.error = "cannot reach ndsipd at " + path + ": " + std::strerror(errno);
    ::close(fd);
    return result;
  }
  const std::string line = request.dump() + "\n";
  std::size_t sent = 0;
  while (sent < line.size()) {
    const ssize_t n = ::send(fd, line.data() + sent, line.size() - sent, MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      result.error = std::string("sending to ndsipd: ") + std::strerror(errno);
      ::close(fd);
      return result;
    }
    sent += static_cast<std::size_t>(n);
  }
  // Room for a 10,000-tunnel status (3.7 MB) from the start: growing by doubling would copy
  // it into fresh memory four times over, and fresh pages cost a fault each (dearly in a VM).
  // Reserved, not touched: only the pages the answer fills are ever faulted in.
  std::string in;
  in.reserve(8u << 20);
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  char buf[65536];
  // Only the bytes just read are searched for the newline: a 3.5 MB answer arrives in 55 reads.
  std::size_t end = std::string::npos;
  while (end == std::string::npos) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    pollfd p{fd, POLLIN, 0};
    if (left.count() <= 0 || ::poll(&p, 1, static_cast<int>(left.count())) == 0) {
      result.error = "ndsipd did not answer within " + std::to_string(timeout.count() / 1000) + " s";
      ::close(fd);
      return result;
    }
    const ssize_t n = ::recv(fd, buf, sizeof buf, 0);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      result.error = n == 0 ? "ndsipd closed the connection without an answer"
                            : std::string("reading from ndsipd: ") + std::strerror(errno);
      ::close(fd);
      return result;
    }
    const std::size_t from = in.size();
    in.append(buf, static_cast<std::size_t>(n));
    end = in.find('\n', from);
  }
  ::close(fd);
  in.resize(end);
  result.line = std::move(in);
  return result;
}

ControlResult control_request(const std::string& path, nlohmann::json request,
                              std::chrono::milliseconds timeout) {
  ControlResult result;
  ControlText text = control_request_text(path, std::move(request), timeout);
  if (!text.line) {
    result.error = std::move(text.error);
    return result;
  }
  auto doc = nlohmann::json::parse(*text.line, nullptr, false);
  if (doc.is_discarded() || !doc.is_object()) {
    result.error = "ndsipd sent something that is not a JSON object";
    return result;
  }
  result.response = std::move(doc);
  return result;
}

}  // namespace ndsip::control
