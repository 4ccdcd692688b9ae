// Runs an io_context until a condition holds or a deadline passes: the daemon parts are
// asynchronous, and their tests drive the one loop they run on.
#pragma once

#include <boost/asio/io_context.hpp>
#include <chrono>
#include <functional>

namespace ndsip::test {

inline bool run_until(boost::asio::io_context& io, const std::function<bool()>& done,
                      std::chrono::milliseconds timeout = std::chrono::seconds(5)) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (!done()) {
    if (std::chrono::steady_clock::now() >= deadline) return false;
    io.restart();
    io.run_for(std::chrono::milliseconds(10));
  }
  return true;
}

}  // namespace ndsip::test
