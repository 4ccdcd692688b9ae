// metrics-listen's value: "ADDR:PORT" with a numeric address ("127.0.0.1:9474",
// "[::1]:9474", "0.0.0.0:9474"); no host names, so what the unit's IPAddressAllow and the
// firewall see is what was configured.
#pragma once

#include <boost/asio/ip/tcp.hpp>
#include <string>

namespace ndsip::metrics {

// Throws std::invalid_argument naming what is wrong. Port 0 (any free one) is for tests.
boost::asio::ip::tcp::endpoint parse_listen_address(const std::string& text, bool allow_port_zero = false);

}  // namespace ndsip::metrics
