// The link to charon: one VICI session, kept connected, and optionally a few more "lanes" for
// bulk loads (charon serves each VICI connection on its own worker thread). It owns whether charon is reachable,
// its version, the last connection error and the reconnect backoff; it registers the events
// the other parts subscribe to, and tells them when charon is back (connected, or restarted
// and empty) and when it is gone. Everything else talks to charon through it.
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/backoff.hpp"
#include "vici/session.hpp"

namespace ndsip::daemon {

class CharonLink {
 public:
  using Handler = vici::Session::ReplyHandler;

  // `sessions`: VICI connections in all (at least 1). The first carries everything; the others
  // only share the requests sent with request_spread.
  CharonLink(boost::asio::io_context& io, std::string uri, std::chrono::milliseconds timeout,
             unsigned sessions = 1);
  ~CharonLink();

  // Connects, and keeps reconnecting with backoff whenever the link is lost.
  void start();

  // Sends a request with the link's timeout. A refusal (success = no) arrives as an error.
  void request(vici::Request request, Handler done);
  // The same, on the next of the connected sessions in turn: for many independent requests
  // (a full apply's load-conns), which charon then works on in parallel. Order between two
  // such requests is not kept.
  void request_spread(vici::Request request, Handler done);
  // Sends a request whose answer nobody waits for: a failure is logged with the command's
  // name and `what` (never the arguments: they may hold a key), then passed to `failed`.
  void send(vici::Request request, const std::string& what,
            std::function<void(const vici::Error&)> failed = {});

  // Closes the IKE_SAs of `connection` (terminate, forced, not waiting for the peer); `then`
  // runs once charon has answered. A connection without SAs is not a failure; any other
  // refusal is logged.
  void terminate(const std::string& connection, std::function<void()> then = {});

  // Every `event` from charon, across reconnects. Several parts may subscribe to one event:
  // each handler gets it, in the order they subscribed.
  void subscribe(const std::string& event, vici::Session::EventHandler handler);

  // Every command's answer (the metrics): its name, the IKE_SA an initiate names ("" for
  // other commands) and "ok" or the error's kind (vici::to_string). Called before the
  // command's own handler.
  using CommandObserver =
      std::function<void(const std::string& command, const std::string& ike, const std::string& result)>;
  void on_command(CommandObserver observer) { on_command_ = std::move(observer); }

  // charon is reachable (first connect or after a loss); charon went away.
  void on_up(std::function<void()> handler) { on_up_ = std::move(handler); }
  void on_down(std::function<void(const std::string& why)> handler) { on_down_ = std::move(handler); }
  // While the first connection has not come for this long, `waiting` is called (ndsipd then
  // tells systemd it is ready and waiting, instead of failing its start).
  void on_waiting(std::chrono::seconds after, std::function<void(const std::string& why)> handler);

  bool up() const { return up_; }
  const std::string& version() const { return version_; }
  const std::string& error() const { return error_; }
  // Requests sent on every session since construction.
  unsigned long long requests_sent() const;
  nlohmann::json status() const;  // {"connected", "version", "error"}

 private:
  void connect();
  void lost(const std::string& why);
  void retry_later();
  void open_lanes();
  void close_lanes();
  Handler observed(const vici::Request& request, Handler done);

  std::string uri_;
  std::chrono::milliseconds timeout_;
  boost::asio::io_context& io_;
  vici::Session session_;
  unsigned extra_lanes_;
  std::vector<std::unique_ptr<vici::Session>> lanes_;  // connected extra sessions
  std::size_t next_lane_ = 0;
  unsigned long long closed_lane_requests_ = 0;
  bool up_ = false;
  std::string version_, error_;
  // A local socket: cheap to retry, and a restarted charon should be picked up within a second.
  common::Backoff backoff_{std::chrono::milliseconds(50), std::chrono::seconds(1)};
  boost::asio::steady_timer retry_timer_;
  std::function<void()> on_up_;
  std::function<void(const std::string&)> on_down_;
  std::chrono::steady_clock::time_point started_;
  std::chrono::seconds waiting_after_{0};
  std::function<void(const std::string&)> on_waiting_;
  bool waiting_told_ = false;
  std::map<std::string, std::vector<vici::Session::EventHandler>> handlers_;  // by event
  CommandObserver on_command_;
};

}  // namespace ndsip::daemon
