#include "metrics/listen_address.hpp"

#include <charconv>
#include <stdexcept>

namespace ndsip::metrics {

boost::asio::ip::tcp::endpoint parse_listen_address(const std::string& text, bool allow_port_zero) {
  const auto bad = [&](const std::string& why) {
    return std::invalid_argument("metrics-listen \"" + text + "\": " + why +
                                 " (ADDR:PORT with a numeric address, e.g. 127.0.0.1:9474 or [::1]:9474)");
  };
  const auto colon = text.rfind(':');
  if (colon == std::string::npos || colon == 0) throw bad("no port");
  std::string host = text.substr(0, colon);
  const std::string port_text = text.substr(colon + 1);
  if (host.front() == '[') {
    if (host.size() < 3 || host.back() != ']') throw bad("unbalanced brackets");
    host = host.substr(1, host.size() - 2);
    if (host.find(':') == std::string::npos) throw bad("brackets are for IPv6 addresses");
  } else if (host.find(':') != std::string::npos) {
    throw bad("an IPv6 address goes in brackets");
  }
  unsigned port = 0;
  const auto [end, ec] = std::from_chars(port_text.data(), port_text.data() + port_text.size(), port);
  if (port_text.empty() || ec != std::errc() || end != port_text.data() + port_text.size() || port > 65535 ||
      (port == 0 && !allow_port_zero)) {
    throw bad("the port is not a number from 1 to 65535");
  }
  boost::system::error_code error;
  const boost::asio::ip::address address = boost::asio::ip::make_address(host, error);
  if (error) throw bad("\"" + host + "\" is not an IP address");
  return {address, static_cast<unsigned short>(port)};
}

}  // namespace ndsip::metrics
