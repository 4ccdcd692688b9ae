#include "vici/session.hpp"

#include <array>
#include <deque>
#include <map>

#include <boost/asio/local/stream_protocol.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/write.hpp>

#include "vici/commands.hpp"
#include "vici/frame.hpp"
#include "vici/limits.hpp"
#include "vici/packet.hpp"
#include "vici/uri.hpp"

namespace ndsip::vici {

namespace asio = boost::asio;
using local_socket = asio::local::stream_protocol::socket;

namespace {

// One request on the wire: the packets to send one after another, each answered by exactly
// one packet from charon.
struct Op {
  std::vector<std::pair<PacketType, std::string>> steps;  // type and encoded packet
  std::size_t next = 0;
  std::string what;          // "command 'list-sas'", for error messages
  std::string command;       // "list-sas"; empty for event (un)registrations
  std::string stream_event;  // collected into reply.streamed while registered
  bool streaming = false;
  std::size_t stream_bytes = 0;  // wire bytes of the stream so far
  std::optional<Error> error;
  Reply reply;
  Session::Duration timeout{};
  Session::ReplyHandler done;
};

Error protocol_error(const std::string& what) {
  return Error(ErrorKind::malformed, "VICI protocol error: " + what + "; connection closed");
}

}  // namespace

struct Session::Impl : std::enable_shared_from_this<Impl> {
  explicit Impl(asio::io_context& context) : io(context), socket(context), timer(context) {}

  asio::io_context& io;
  local_socket socket;
  asio::steady_timer timer;
  FrameReader reader;
  std::array<std::uint8_t, 64 * 1024> read_buffer{};
  std::deque<std::string> out;
  bool writing = false;
  std::deque<Op> ops;
  bool in_flight = false;
  std::map<std::string, EventHandler, std::less<>> subscriptions;
  DisconnectHandler disconnect_handler;
  bool is_connected = false;
  bool destroyed = false;
  unsigned long generation = 0;  // bumps on every connect and close; stale completions check it
  unsigned long sent_ops = 0;    // numbers the op in flight, so a stale timer cannot fire on the next
  Counters counters;
  std::size_t stream_limit = limits::max_stream_bytes;

  void connect(const std::string& uri) {
    const std::string path = socket_path_of(uri);
    close_connection(Error(ErrorKind::disconnected, "reconnecting"), false);
    local_socket fresh(io);
    boost::system::error_code ec;
    fresh.connect(asio::local::stream_protocol::endpoint(path), ec);
    if (ec) {
      throw Error(ErrorKind::io, "cannot connect to charon's VICI socket " + path + ": " +
                                     ec.message());
    }
    socket = std::move(fresh);
    reader = FrameReader();
    is_connected = true;
    ++generation;
    start_read();
    for (const auto& [event, handler] : subscriptions) {
      queue(make_register_op(event, std::chrono::seconds(5), {}));
    }
    pump();
  }

  Op make_register_op(const std::string& event, Duration timeout, DoneHandler done) {
    Op op;
    op.what = "registration for event '" + event + "'";
    op.steps.emplace_back(PacketType::event_register,
                          encode_packet({PacketType::event_register, event, {}}));
    op.timeout = timeout;
    op.done = [self = weak_from_this(), event, done](std::optional<Error> error, Reply) {
      auto impl = self.lock();
      // An event charon does not know will never be delivered: drop the subscription so the
      // caller sees the failure once, not a silent hole.
      if (impl && error && error->kind() == ErrorKind::unknown_event) {
        impl->subscriptions.erase(event);
      }
      if (done) done(std::move(error));
    };
    return op;
  }

  void queue(Op op) {
    ops.push_back(std::move(op));
    pump();
  }

  void complete(Op op) {
    if (!op.done) return;
    // Always from the io_context, so a handler may call back into the session freely.
    asio::post(io, [self = shared_from_this(), done = std::move(op.done),
                    error = std::move(op.error), reply = std::move(op.reply)]() mutable {
      if (!self->destroyed) done(std::move(error), std::move(reply));
    });
  }

  void pump() {
    if (!is_connected || in_flight || ops.empty()) return;
    in_flight = true;
    Op& op = ops.front();
    counters.requests++;
    ++sent_ops;
    timer.expires_after(op.timeout);
    timer.async_wait([self = shared_from_this(), gen = generation,
                      seq = sent_ops](boost::system::error_code ec) {
      // A timer that expired just as its op completed is already queued and cannot be
      // cancelled: the sequence number tells it apart from the next op's.
      if (ec || gen != self->generation || !self->in_flight || seq != self->sent_ops) return;
      const Op& late = self->ops.front();
      self->close_connection(
          Error(ErrorKind::timeout, "charon did not answer the " + late.what + " within " +
                                        std::to_string(late.timeout.count()) +
                                        " ms; connection closed"),
          true);
    });
    send(op.steps[op.next].second);
  }

  void send(const std::string& bytes) {
    out.push_back(bytes);
    if (!writing) write_next();
  }

  void write_next() {
    writing = true;
    asio::async_write(socket, asio::buffer(out.front()),
                      [self = shared_from_this(), gen = generation](boost::system::error_code ec,
                                                                   std::size_t) {
                        if (gen != self->generation) return;
                        if (ec) {
                          self->close_connection(
                              Error(ErrorKind::disconnected,
                                    "writing to charon's VICI socket failed: " + ec.message()),
                              true);
                          return;
                        }
                        self->out.pop_front();
                        self->writing = false;
                        if (!self->out.empty()) self->write_next();
                      });
  }

  void start_read() {
    socket.async_read_some(
        asio::buffer(read_buffer),
        [self = shared_from_this(), gen = generation](boost::system::error_code ec, std::size_t n) {
          self->on_read(ec, n, gen);
        });
  }

  void on_read(boost::system::error_code ec, std::size_t n, unsigned long gen) {
    if (gen != generation) return;
    if (ec) {
      std::string why = ec == asio::error::eof
                            ? "charon closed the VICI connection (stopped or restarted)"
                            : "reading charon's VICI socket failed: " + ec.message();
      if (reader.pending() > 0) why += ", in the middle of a packet";
      close_connection(Error(ErrorKind::disconnected, why), true);
      return;
    }
    try {
      reader.feed(std::span<const std::uint8_t>(read_buffer.data(), n));
      while (gen == generation) {
        const std::size_t before = reader.pending();
        std::optional<Packet> packet = reader.next();
        if (!packet) break;
        on_packet(std::move(*packet), before - reader.pending());
      }
    } catch (const Error& e) {
      close_connection(Error(e.kind(), std::string("bad packet from charon: ") + e.what() +
                                           "; connection closed"),
                       true);
      return;
    }
    if (gen == generation) start_read();
  }

  void on_packet(Packet packet, std::size_t wire_bytes) {
    if (packet.type == PacketType::event) {
      counters.events++;
      if (in_flight && ops.front().streaming && packet.name == ops.front().stream_event) {
        Op& op = ops.front();
        op.stream_bytes += wire_bytes;
        if (op.stream_bytes > stream_limit) {
          close_connection(Error(ErrorKind::limit, "charon streamed more than " + std::to_string(stream_limit) +
                                                       " bytes for the " + op.what + "; connection closed"),
                           true);
          return;
        }
        op.reply.streamed.push_back(std::move(packet.message));
        return;
      }
      auto it = subscriptions.find(packet.name);
      if (it != subscriptions.end()) {
        EventHandler handler = it->second;  // a copy: the handler may unsubscribe itself
        handler(packet.name, packet.message);
      }
      return;
    }
    if (!in_flight) {
      close_connection(protocol_error(std::string("charon sent ") + to_string(packet.type) +
                                      " with no request outstanding"),
                       true);
      return;
    }
    Op& op = ops.front();
    const PacketType sent = op.steps[op.next].first;
    const bool is_command = sent == PacketType::cmd_request;
    if (is_command && packet.type == PacketType::cmd_response) {
      op.reply.response = std::move(packet.message);
      // A refusal is an error of the request, for every command (as govici does): no caller
      // can forget to look at `success` and take a refused load-conn for a loaded one.
      if (auto refused = refusal(op.command, op.reply.response)) op.error = std::move(refused);
    } else if (is_command && packet.type == PacketType::cmd_unknown) {
      op.error = Error(ErrorKind::unknown_command, "charon does not know the " + op.what);
    } else if (!is_command && packet.type == PacketType::event_confirm) {
      if (sent == PacketType::event_register && !op.stream_event.empty()) op.streaming = true;
      if (sent == PacketType::event_unregister) op.streaming = false;
    } else if (!is_command && packet.type == PacketType::event_unknown) {
      if (!op.error) {
        op.error = Error(ErrorKind::unknown_event,
                         "charon does not know the event of the " + op.what);
      }
    } else {
      close_connection(protocol_error(std::string("charon answered ") + to_string(sent) +
                                      " with " + to_string(packet.type)),
                       true);
      return;
    }
    ++op.next;
    // After a failure only an unregistration still needs sending (to undo a registration).
    const bool more = op.next < op.steps.size() &&
                      (!op.error || op.steps[op.next].first == PacketType::event_unregister);
    if (more) {
      send(op.steps[op.next].second);
      return;
    }
    timer.cancel();
    Op finished = std::move(op);
    ops.pop_front();
    in_flight = false;
    complete(std::move(finished));
    pump();
  }

  void close_connection(const Error& why, bool notify) {
    if (!is_connected) return;
    is_connected = false;
    ++generation;
    boost::system::error_code ignored;
    socket.close(ignored);
    timer.cancel();
    out.clear();
    writing = false;
    reader = FrameReader();
    // The owner hears that the connection is gone before any request hears it failed, so a
    // request handler can already see the session as lost.
    if (notify) {
      counters.disconnects++;
      if (disconnect_handler) {
        asio::post(io, [self = shared_from_this(), why]() {
          if (!self->destroyed && self->disconnect_handler) self->disconnect_handler(why);
        });
      }
    }
    bool first = true;
    while (!ops.empty()) {
      Op op = std::move(ops.front());
      ops.pop_front();
      if (first && in_flight) {
        op.error = why;
      } else {
        op.error = Error(ErrorKind::disconnected,
                         "the VICI connection closed before the " + op.what + " was sent (" +
                             why.what() + ")");
      }
      first = false;
      complete(std::move(op));
    }
    in_flight = false;
  }
};

Session::Session(asio::io_context& io) : impl_(std::make_shared<Impl>(io)) {}

Session::~Session() {
  impl_->destroyed = true;  // completions already posted must not call into a dead owner
  impl_->close_connection(Error(ErrorKind::disconnected, "session destroyed"), false);
}

void Session::connect(const std::string& uri) { impl_->connect(uri); }

bool Session::connected() const { return impl_->is_connected; }

void Session::close() {
  impl_->close_connection(Error(ErrorKind::disconnected, "closed by ndsip"), false);
}

void Session::request(Request request, Duration timeout, ReplyHandler done) {
  Op op;
  op.what = "command '" + request.command + "'";
  op.command = request.command;
  op.timeout = timeout;
  op.done = std::move(done);
  op.stream_event = request.stream_event;
  try {
    if (!request.stream_event.empty()) {
      op.steps.emplace_back(PacketType::event_register,
                            encode_packet({PacketType::event_register, request.stream_event, {}}));
    }
    op.steps.emplace_back(
        PacketType::cmd_request,
        encode_packet({PacketType::cmd_request, request.command, std::move(request.args)}));
    if (!request.stream_event.empty()) {
      op.steps.emplace_back(
          PacketType::event_unregister,
          encode_packet({PacketType::event_unregister, request.stream_event, {}}));
    }
  } catch (const Error& e) {
    op.error = e;  // a request over the limits never reaches the wire
    impl_->complete(std::move(op));
    return;
  }
  if (!impl_->is_connected) {
    op.error = Error(ErrorKind::disconnected, "not connected to charon");
    impl_->complete(std::move(op));
    return;
  }
  impl_->queue(std::move(op));
}

void Session::subscribe(const std::string& event, EventHandler handler, Duration timeout,
                        DoneHandler done) {
  impl_->subscriptions[event] = std::move(handler);
  if (!impl_->is_connected) {
    // Recorded; connect() registers it.
    if (done) asio::post(impl_->io, [done]() { done(std::nullopt); });
    return;
  }
  impl_->queue(impl_->make_register_op(event, timeout, std::move(done)));
}

void Session::unsubscribe(const std::string& event, Duration timeout, DoneHandler done) {
  impl_->subscriptions.erase(event);
  if (!impl_->is_connected) {
    if (done) asio::post(impl_->io, [done]() { done(std::nullopt); });
    return;
  }
  Op op;
  op.what = "unregistration of event '" + event + "'";
  op.steps.emplace_back(PacketType::event_unregister,
                        encode_packet({PacketType::event_unregister, event, {}}));
  op.timeout = timeout;
  if (done) {
    op.done = [done](std::optional<Error> error, Reply) { done(std::move(error)); };
  }
  impl_->queue(std::move(op));
}

void Session::on_disconnect(DisconnectHandler handler) {
  impl_->disconnect_handler = std::move(handler);
}

Session::Counters Session::counters() const { return impl_->counters; }

void Session::limit_stream_bytes(std::size_t bytes) { impl_->stream_limit = bytes; }

}  // namespace ndsip::vici
