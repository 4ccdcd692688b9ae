// A stand-in for charon's VICI socket that answers every command by a rule, for the daemon
// parts' root-free unit tests and for faults charon cannot produce (a garbled unique id).
// How charon itself behaves is tested against real charon in tests/integration.
//
// It serves one connection at a time on a thread: event registrations are confirmed, a
// streamed command's events are sent before its response (as charon does), and every command
// is recorded so a test can assert what the daemon sent.
#pragma once

#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <filesystem>
#include <functional>
#include <map>
#include <mutex>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "support/unix_listener.hpp"
#include "vici/frame.hpp"
#include "vici/packet.hpp"

namespace ndsip::test {

class ScriptedCharon {
 public:
  struct Answer {
    vici::Message response;
    std::vector<vici::Message> streamed;  // sent as the command's stream event first
  };
  using Rule = std::function<Answer(const vici::Message& args)>;

  ScriptedCharon() {
    // Sensible defaults: charon with nothing loaded.
    on("version", [](const vici::Message&) {
      Answer a;
      a.response.set("daemon", "charon").set("version", "5.9.8-scripted");
      return a;
    });
    on("get-conns", [](const vici::Message&) {
      Answer a;
      a.response.set_list("conns", {});
      return a;
    });
    on("list-sas", [](const vici::Message&) { return Answer{}; });
    on("list-certs", [](const vici::Message&) { return Answer{}; });
    thread_ = std::thread([this] { serve(); });
  }

  ~ScriptedCharon() {
    stopping_ = true;
    ::shutdown(listener_.fd(), SHUT_RDWR);
    hang_up();
    thread_.join();
  }

  std::string uri() const { return listener_.uri(); }

  // The rule for `command`; commands without one get {success: yes}.
  void on(const std::string& command, Rule rule) {
    std::lock_guard lock(mutex_);
    rules_[command] = std::move(rule);
  }

  struct Seen {
    std::string command;
    vici::Message args;
  };
  std::vector<Seen> seen() const {
    std::lock_guard lock(mutex_);
    return seen_;
  }
  std::size_t count(const std::string& command) const {
    std::size_t n = 0;
    for (const Seen& s : seen()) n += s.command == command;
    return n;
  }

  // Closes the current connection (charon restarting); the next one is served again.
  void hang_up() {
    const int fd = conn_.exchange(-1);
    if (fd >= 0) ::shutdown(fd, SHUT_RDWR);
  }

  // Sends an event to the connected client (from the test's thread).
  void event(const std::string& name, const vici::Message& m) {
    std::lock_guard lock(write_mutex_);
    write(conn_.load(), {vici::PacketType::event, name, m});
  }

 private:
  void serve() {
    while (!stopping_) {
      const int fd = ::accept(listener_.fd(), nullptr, nullptr);
      if (fd < 0) return;
      conn_ = fd;
      vici::FrameReader reader;
      std::string streaming;  // the stream event registered for the next command
      try {
        for (;;) {
          std::optional<vici::Packet> p = reader.next();
          if (!p) {
            std::uint8_t buf[65536];
            const ssize_t n = ::recv(fd, buf, sizeof buf, 0);
            if (n <= 0) break;
            reader.feed(std::span<const std::uint8_t>(buf, static_cast<std::size_t>(n)));
            continue;
          }
          std::lock_guard lock(write_mutex_);
          if (p->type == vici::PacketType::event_register) {
            if (p->name.rfind("list-", 0) == 0) streaming = p->name;
            write(fd, {vici::PacketType::event_confirm, "", {}});
          } else if (p->type == vici::PacketType::event_unregister) {
            write(fd, {vici::PacketType::event_confirm, "", {}});
          } else if (p->type == vici::PacketType::cmd_request) {
            Answer a = answer(p->name, p->message);
            for (const vici::Message& m : a.streamed) write(fd, {vici::PacketType::event, streaming, m});
            write(fd, {vici::PacketType::cmd_response, "", a.response});
            streaming.clear();
          }
        }
      } catch (const std::exception&) {
        // The client sent garbage or went away: drop the connection, serve the next.
      }
      int expected = fd;
      conn_.compare_exchange_strong(expected, -1);
      ::close(fd);
    }
  }

  Answer answer(const std::string& command, const vici::Message& args) {
    Rule rule;
    {
      std::lock_guard lock(mutex_);
      seen_.push_back({command, args});
      if (auto it = rules_.find(command); it != rules_.end()) rule = it->second;
    }
    if (rule) return rule(args);
    Answer a;
    a.response.set("success", "yes");
    return a;
  }

  static void write(int fd, const vici::Packet& p) {
    if (fd < 0) return;
    const std::string bytes = vici::encode_packet(p);
    ::send(fd, bytes.data(), bytes.size(), MSG_NOSIGNAL);
  }

  UnixListener listener_{"charon.vici"};
  std::atomic<int> conn_{-1};
  std::atomic<bool> stopping_{false};
  mutable std::mutex mutex_;
  std::mutex write_mutex_;
  std::map<std::string, Rule> rules_;
  std::vector<Seen> seen_;
  std::thread thread_;
};

}  // namespace ndsip::test
