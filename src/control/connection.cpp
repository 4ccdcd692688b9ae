#include "control/connection.hpp"

#include <sys/socket.h>

#include <boost/asio/write.hpp>
#include <iostream>

#include "common/json_depth.hpp"
#include "control/answer.hpp"
#include "control/peer_check.hpp"
#include "control/protocol.hpp"

namespace ndsip::control {

namespace asio = boost::asio;

Connection::Connection(Socket socket, std::shared_ptr<Shared> shared)
    : socket_(std::move(socket)), deadline_(socket_.get_executor()), linger_(socket_.get_executor()),
      shared_(std::move(shared)) {}

Connection::~Connection() {
  release(pending_.size());
  if (counted_) --shared_->connections;
}

void Connection::release(std::size_t bytes) { shared_->buffered -= std::min(bytes, shared_->buffered); }

void Connection::refuse(const std::string& why) { send(error_answer(why), true); }

void Connection::start() {
  ucred cred{};
  socklen_t len = sizeof cred;
  if (::getsockopt(socket_.native_handle(), SOL_SOCKET, SO_PEERCRED, &cred, &len) != 0) {
    send(error_answer("cannot identify the peer (SO_PEERCRED)"), true);
    return;
  }
  if (const std::string why = refusal_of(cred, shared_->group); !why.empty()) {
    std::cerr << "ndsipd: control socket: refused pid " << cred.pid << ": " << why << std::endl;
    Json a = error_answer(why);
    a[key::denied] = true;
    send(std::move(a), true);
    return;
  }
  ++shared_->connections;
  counted_ = true;
  arm_deadline();
  read_more();
}

void Connection::arm_deadline() {
  // A client has this long to send a whole request (a byte a second holds nothing for long).
  deadline_.expires_after(shared_->limits.request_timeout);
  deadline_.async_wait([weak = weak_from_this()](boost::system::error_code ec) {
    auto self = weak.lock();
    if (ec || !self) return;
    self->send(error_answer("no complete request within " +
                            std::to_string(self->shared_->limits.request_timeout.count() / 1000) + " s"),
               true);
  });
}

void Connection::read_more() {
  socket_.async_read_some(asio::buffer(chunk_), [self = shared_from_this()](boost::system::error_code ec, std::size_t n) {
    if (ec) return;  // the peer went away (or we closed)
    const Limits& limits = self->shared_->limits;
    if (self->shared_->buffered + n > limits.max_buffered_bytes) {
      self->send(error_answer("ndsipd is busy reading other large requests; try again"), true);
      return;
    }
    self->pending_.append(self->chunk_.data(), n);
    self->shared_->buffered += n;
    if (self->next_request()) return;
    if (self->pending_.size() > limits.max_request_bytes) {
      self->send(error_answer("request larger than " + std::to_string(limits.max_request_bytes) + " bytes"), true);
      return;
    }
    self->read_more();
  });
}

bool Connection::next_request() {
  // Searched from where the last look stopped: a 3 MB push arrives in 48 reads, and looking
  // at it all again after each would be quadratic.
  const std::size_t end = pending_.find('\n', scanned_);
  if (end == std::string::npos) {
    scanned_ = pending_.size();
    return false;
  }
  scanned_ = 0;
  if (end > shared_->limits.max_request_bytes) {
    send(error_answer("request larger than " + std::to_string(shared_->limits.max_request_bytes) + " bytes"), true);
    return true;
  }
  deadline_.cancel();  // the handler may take its time (a push is applied before it answers)
  std::string line = pending_.substr(0, end);
  pending_.erase(0, end + 1);
  release(end + 1);
  dispatch(line);
  return true;
}

void Connection::dispatch(const std::string& line) {
  if (common::json_too_deep_at(line, shared_->limits.max_depth)) {
    send(error_answer("malformed request: nested deeper than " + std::to_string(shared_->limits.max_depth) +
                      " levels"),
         false);
    return;
  }
  const auto request = Json::parse(line, nullptr, false);
  if (request.is_discarded() || !request.is_object()) {
    send(error_answer("malformed request: not a JSON object on one line"), false);
    return;
  }
  const auto version = request.find(key::protocol);
  if (version == request.end() || !version->is_number_integer() || version->get<long long>() != protocol_version) {
    send(error_answer("unsupported protocol version (this ndsipd speaks protocol " +
                      std::to_string(protocol_version) + ")"),
         false);
    return;
  }
  if (!request.contains(key::command) || !request[key::command].is_string()) {
    send(error_answer("malformed request: no \"command\""), false);
    return;
  }
  try {
    shared_->handler(request, [self = shared_from_this()](Json answer) { self->send(std::move(answer), false); });
  } catch (const std::exception& e) {
    send(error_answer(std::string("internal error: ") + e.what()), false);
  }
}

void Connection::send(Json answer, bool close_after) {
  std::shared_ptr<std::string> text;
  if (answer.is_binary()) {  // preserialized_answer(): its bytes, protocol member included
    const auto& bytes = answer.get_binary();
    text = std::make_shared<std::string>(bytes.begin(), bytes.end());
    *text += '\n';
  } else {
    answer[key::protocol] = protocol_version;
    text = std::make_shared<std::string>(answer.dump(-1, ' ', false, Json::error_handler_t::replace) + "\n");
  }
  asio::async_write(socket_, asio::buffer(*text),
                    [self = shared_from_this(), text, close_after](boost::system::error_code ec, std::size_t) {
                      if (ec) {
                        boost::system::error_code ignored;
                        self->socket_.close(ignored);
                        return;
                      }
                      if (close_after) return self->linger_then_close();
                      // Several requests per connection are fine, one at a time, in order.
                      if (self->next_request()) return;
                      self->arm_deadline();
                      self->read_more();
                    });
}

// Closing a unix socket with unread input resets the peer, which may then lose the answer just
// sent. So: end our side, discard what the peer still sends, close on its EOF or after two
// seconds at most.
void Connection::linger_then_close() {
  deadline_.cancel();
  // Its place is free now: what is left is waiting for the peer to read the last answer.
  if (counted_) --shared_->connections;
  counted_ = false;
  release(pending_.size());
  pending_.clear();
  scanned_ = 0;
  boost::system::error_code ignored;
  socket_.shutdown(Socket::shutdown_send, ignored);
  linger_.expires_after(std::chrono::seconds(2));
  linger_.async_wait([self = shared_from_this()](boost::system::error_code) {
    boost::system::error_code e;
    self->socket_.close(e);
  });
  discard();
}

void Connection::discard() {
  socket_.async_read_some(asio::buffer(chunk_), [self = shared_from_this()](boost::system::error_code ec, std::size_t) {
    if (ec) {
      self->linger_.cancel();
      return;
    }
    self->discard();
  });
}

}  // namespace ndsip::control
