// A scripted VICI peer on a unix socket, for fault injection charon cannot produce
// (garbage, truncated packets, answers out of order). Behaviour of charon itself is tested
// against real charon in tests/integration.
#pragma once

#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <filesystem>
#include <functional>
#include <stdexcept>
#include <string>
#include <thread>

#include "support/unix_listener.hpp"
#include "vici/frame.hpp"
#include "vici/packet.hpp"

namespace ndsip::test {

class FakeViciPeer {
 public:
  using Script = std::function<void(FakeViciPeer&)>;

  FakeViciPeer() = default;
  ~FakeViciPeer() { join(); }

  std::string uri() const { return listener_.uri(); }

  // Accepts one connection and runs the script on it in a thread.
  void serve(Script script) {
    join();
    thread_ = std::thread([this, script = std::move(script)] {
      conn_ = ::accept(listener_.fd(), nullptr, nullptr);
      if (conn_ < 0) return;
      try {
        script(*this);
      } catch (const std::exception&) {
        // The client closing mid-script is fine: the test asserts on the client side.
      }
      hang_up();
    });
  }

  void join() {
    if (thread_.joinable()) thread_.join();
  }

  vici::Packet read() {
    for (;;) {
      if (auto p = reader_.next()) return *p;
      std::uint8_t buf[4096];
      const ssize_t n = ::recv(conn_, buf, sizeof buf, 0);
      if (n <= 0) throw std::runtime_error("client closed");
      reader_.feed(std::span<const std::uint8_t>(buf, static_cast<std::size_t>(n)));
    }
  }

  void write_raw(const std::string& bytes) {
    ::send(conn_, bytes.data(), bytes.size(), MSG_NOSIGNAL);
  }

  void write(const vici::Packet& p) { write_raw(vici::encode_packet(p)); }

  void respond(vici::Message m = {}) { write({vici::PacketType::cmd_response, "", std::move(m)}); }
  void confirm() { write({vici::PacketType::event_confirm, "", {}}); }
  void event(const std::string& name, vici::Message m) {
    write({vici::PacketType::event, name, std::move(m)});
  }

  // Answers event registrations with EVENT_CONFIRM until a command arrives; returns it.
  vici::Packet next_command() {
    for (;;) {
      vici::Packet p = read();
      if (p.type == vici::PacketType::event_register ||
          p.type == vici::PacketType::event_unregister) {
        confirm();
        continue;
      }
      return p;
    }
  }

  void hang_up() {
    if (conn_ >= 0) {
      ::shutdown(conn_, SHUT_RDWR);
      ::close(conn_);
      conn_ = -1;
    }
    reader_ = vici::FrameReader();
  }

 private:
  UnixListener listener_{"vici.sock"};
  int conn_ = -1;
  vici::FrameReader reader_;
  std::thread thread_;
};

}  // namespace ndsip::test
