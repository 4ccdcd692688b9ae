// One VICI connection to charon, driven by a Boost.Asio io_context (the daemon's single
// event loop). VICI has no request ids, so requests are queued and sent one at a time;
// events are delivered to subscribers whenever they arrive, also while a request is in
// flight. Streamed commands (list-sas, list-conns, list-certs) register their event, send the
// command, collect the events in order, and unregister, as one request.
//
// Failure model, chosen so nothing is lost silently:
// - The socket closing (charon stopped or restarted) fails every pending request with
//   ErrorKind::disconnected and calls the disconnect handler once. The caller reconnects.
// - A request that is not answered in time fails with ErrorKind::timeout and closes the
//   connection: a late answer would otherwise be taken for the next request's.
// - Subscriptions outlive the connection: connect() registers them again, so a reconnect
//   cannot silently lose events.
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <boost/asio/io_context.hpp>

#include "vici/error.hpp"
#include "vici/message.hpp"

namespace ndsip::vici {

struct Request {
  std::string command;
  Message args;
  std::string stream_event;  // for streamed commands: the event carrying the results
};

struct Reply {
  Message response;
  std::vector<Message> streamed;  // the stream_event messages, in arrival order
};

class Session {
 public:
  using Duration = std::chrono::milliseconds;
  using ReplyHandler = std::function<void(std::optional<Error> error, Reply reply)>;
  using DoneHandler = std::function<void(std::optional<Error> error)>;
  using EventHandler = std::function<void(const std::string& event, const Message& message)>;
  using DisconnectHandler = std::function<void(const Error& why)>;

  explicit Session(boost::asio::io_context& io);
  ~Session();
  Session(const Session&) = delete;
  Session& operator=(const Session&) = delete;

  // Connects to a unix:// URI (synchronously: a local connect does not block) and queues the
  // registration of every subscription. Throws Error(usage) for a bad URI, Error(io) when
  // nothing listens there.
  void connect(const std::string& uri);
  bool connected() const;
  // Closes the connection; pending requests fail with `disconnected`. The disconnect handler
  // is not called for a close the caller asked for.
  void close();

  // Queues a request. `done` is called exactly once, from the io_context, never from inside
  // this call. The timeout runs from when the request is sent.
  void request(Request request, Duration timeout, ReplyHandler done);

  // Delivers every `event` to `handler` from now on, across reconnects. `done` reports the
  // registration on the current connection (if there is one).
  void subscribe(const std::string& event, EventHandler handler, Duration timeout,
                 DoneHandler done = {});
  void unsubscribe(const std::string& event, Duration timeout, DoneHandler done = {});

  void on_disconnect(DisconnectHandler handler);

  // Packets and events seen since construction, for status and tests.
  struct Counters {
    unsigned long long requests = 0, events = 0, disconnects = 0;
  };
  Counters counters() const;

  // Caps the bytes one streamed command may collect (limits::max_stream_bytes by default);
  // past it the request fails with Error(limit) and the connection closes.
  void limit_stream_bytes(std::size_t bytes);

 private:
  struct Impl;
  std::shared_ptr<Impl> impl_;
};

}  // namespace ndsip::vici
