#include "lab/cmp_mock_server.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <csignal>
#include <fstream>
#include <iterator>
#include <stdexcept>
#include <thread>

#include "lab/netns_thread.hpp"
#include "lab/loopback_port.hpp"
#include "lab/process.hpp"

namespace ndsip::lab {

MockCmpServer::MockCmpServer(MockCmpOptions options) : opt_(std::move(options)) {
  // A port taken between free_loopback_port() and the server's bind makes it exit at once: another.
  for (int attempt = 0; attempt < 5; ++attempt) {
    if (start_once()) return;
  }
  throw std::runtime_error("openssl cmp mock server: no free port after 5 attempts; see " + log_);
}

MockCmpServer::~MockCmpServer() {
  try {
    stop();
  } catch (...) {
  }
}

std::string MockCmpServer::url() const { return "http://127.0.0.1:" + std::to_string(port_) + "/pkix/"; }

std::vector<std::string> MockCmpServer::argv() const {
  std::vector<std::string> a{proc::find_program("openssl"), "cmp", "-config", "", "-port", std::to_string(port_)};
  auto file = [&](const char* flag, const std::string& path) {
    if (!path.empty()) a.insert(a.end(), {flag, path});
  };
  file("-srv_cert", opt_.srv_cert);
  file("-srv_key", opt_.srv_key);
  file("-srv_trusted", opt_.srv_trusted);
  file("-srv_untrusted", opt_.srv_untrusted);
  file("-rsp_cert", opt_.rsp_cert);
  file("-rsp_extracerts", opt_.rsp_extracerts);
  file("-rsp_capubs", opt_.rsp_capubs);
  if (!opt_.srv_ref.empty()) a.insert(a.end(), {"-srv_ref", opt_.srv_ref});
  if (!opt_.srv_secret.empty()) a.insert(a.end(), {"-srv_secret", "pass:" + opt_.srv_secret});
  if (opt_.poll_count > 0) a.insert(a.end(), {"-poll_count", std::to_string(opt_.poll_count)});
  if (opt_.check_after >= 0) a.insert(a.end(), {"-check_after", std::to_string(opt_.check_after)});
  if (opt_.pkistatus >= 0) a.insert(a.end(), {"-pkistatus", std::to_string(opt_.pkistatus)});
  if (opt_.failure >= 0) a.insert(a.end(), {"-failure", std::to_string(opt_.failure)});
  if (!opt_.status_string.empty()) a.insert(a.end(), {"-statusstring", opt_.status_string});
  if (opt_.send_error) a.emplace_back("-send_error");
  if (opt_.accept_unprotected) a.emplace_back("-accept_unprotected");
  if (opt_.grant_implicit_confirm) a.emplace_back("-grant_implicitconf");
  a.insert(a.end(), opt_.extra_args.begin(), opt_.extra_args.end());
  if (!opt_.netns.empty()) a.insert(a.begin(), {proc::find_program("ip"), "netns", "exec", opt_.netns});
  return a;
}

bool MockCmpServer::start_once() {
  // The port is free in the namespace the server runs in: there, when it is a lab namespace.
  port_ = opt_.port                ? opt_.port
          : opt_.netns.empty() ? free_loopback_port()
                               : in_netns(opt_.netns, [] { return free_loopback_port(); }).get();
  log_ = opt_.dir + "/cmp-mock-" + std::to_string(port_) + ".log";
  proc::SpawnOptions o;
  o.output_file = log_;
  pid_ = proc::spawn(argv(), o);
  auto ready = [&] {
    if (opt_.netns.empty()) return loopback_accepts(port_);
    return in_netns(opt_.netns, [p = port_] { return loopback_accepts(p); }).get();
  };
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(15);
  while (!ready()) {
    if (auto status = proc::wait_for(pid_, std::chrono::milliseconds(0))) {
      pid_ = -1;
      const std::string text = log();
      // "Address already in use" (BIO's "bind" errors): someone took the port; anything else
      // is a bad option and retrying cannot help.
      if (text.find("in use") != std::string::npos || text.find("bind") != std::string::npos) return false;
      throw std::runtime_error("openssl cmp mock server exited at start (" + proc::describe_status(*status) +
                               "): " + text);
    }
    if (std::chrono::steady_clock::now() > deadline) {
      stop();
      throw std::runtime_error("openssl cmp mock server did not listen within 15 s: " + log());
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return true;
}

void MockCmpServer::stop() {
  if (pid_ <= 0) return;
  ::kill(pid_, SIGTERM);
  if (!proc::wait_for(pid_, std::chrono::seconds(5))) {
    ::kill(pid_, SIGKILL);
    proc::wait_for(pid_, std::chrono::seconds(5));
  }
  pid_ = -1;
}

std::string MockCmpServer::log() const {
  std::ifstream in(log_);
  return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

}  // namespace ndsip::lab
