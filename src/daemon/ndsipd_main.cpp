// ndsipd: a thin program over the daemon library: parse the settings, run one event loop,
// stop on SIGTERM/SIGINT (leaving charon's SAs up, so a restart churns nothing), reload on
// SIGHUP. An exception that escapes a handler is a defect: it is logged and ndsipd exits
// non-zero, so systemd restarts it from the stored state (charon keeps every SA meanwhile).
#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <csignal>
#include <iostream>

#include "daemon/config.hpp"
#include "daemon/daemon.hpp"

int main(int argc, char** argv) {
  using namespace ndsip::daemon;
  const ParseOutcome parsed = parse_config(std::vector<std::string>(argv + 1, argv + argc));
  if (!parsed.config) {
    (parsed.exit_code == 0 ? std::cout : std::cerr) << parsed.output;
    return parsed.exit_code;
  }
  const Config& config = *parsed.config;
  if (config.check_only) {
    const auto problems = check_config(config);
    for (const auto& p : problems) std::cout << p << "\n";
    std::cout << (problems.empty() ? "configuration OK\n" : "configuration has problems\n");
    return problems.empty() ? 0 : 1;
  }
  std::signal(SIGPIPE, SIG_IGN);  // a client hanging up must not kill the daemon
  boost::asio::io_context io;
  std::unique_ptr<Daemon> daemon;
  try {
    daemon = std::make_unique<Daemon>(io, config);
    daemon->start();
  } catch (const std::exception& e) {
    std::cerr << "ndsipd: cannot start: " << e.what() << "\n";
    return 1;
  }
  boost::asio::signal_set stop(io, SIGTERM, SIGINT);
  stop.async_wait([&](boost::system::error_code, int signal) {
    std::cerr << "ndsipd: signal " << signal << ", stopping (tunnels stay up in charon)\n";
    io.stop();
  });
  boost::asio::signal_set hup(io, SIGHUP);
  std::function<void()> wait_hup = [&] {
    hup.async_wait([&](boost::system::error_code ec, int) {
      if (ec) return;
      daemon->reload([](const Json& r) {
        std::cerr << "ndsipd: reload: " << (r.value("ok", false) ? "done" : r.value("error", "failed")) << "\n";
      });
      wait_hup();
    });
  };
  wait_hup();
  try {
    io.run();
  } catch (const std::exception& e) {
    std::cerr << "ndsipd: internal error, exiting for a restart (charon keeps its SAs): " << e.what() << "\n";
    return 70;  // EX_SOFTWARE
  }
  return 0;
}
