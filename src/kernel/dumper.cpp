#include "kernel/dumper.hpp"

#include <poll.h>

#include <cerrno>
#include <optional>

#include "kernel/answer.hpp"

namespace ndsip::kernel {
namespace {

// Datagrams read in one turn of the loop before letting other handlers run (a dump of
// thousands of policies is read over several turns).
constexpr int kDatagramsPerTurn = 64;

std::string name(const Request& r, const SocketOptions& o) { return r.what.empty() ? o.what : r.what; }

}  // namespace

struct Dumper::Run {
  std::vector<Request> requests;
  Collect collect;
  std::function<void(Outcome)> done;
  std::size_t index = 0;
  std::optional<Answer> answer;
  bool interrupted = false;
};

Dumper::Dumper(boost::asio::io_context& io, SocketOptions options)
    : io_(io), options_(std::move(options)), deadline_(io) {}

Dumper::~Dumper() = default;

NetlinkChannel& Dumper::channel() {
  if (!channel_) channel_ = std::make_unique<NetlinkChannel>(io_, options_);
  return *channel_;
}

Outcome Dumper::run_now(const std::vector<Request>& requests, const Collect& collect,
                        std::chrono::milliseconds timeout) {
  if (busy_) return {Outcome::Status::failed, options_.what + ": a dump is already running"};
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  bool interrupted = false;
  try {
    NetlinkSocket& s = channel().socket();
    for (std::size_t i = 0; i < requests.size(); ++i) {
      const Request& r = requests[i];
      Answer answer(s.port(), s.send(r), r.dump, r.nothing_on);
      while (!answer.complete()) {
        const Datagram d = s.receive();
        if (d.status == Datagram::Status::failed) throw Error(name(r, options_) + ": " + errno_text(d.error));
        if (d.status == Datagram::Status::data) {
          answer.feed(d.bytes, [&](nlmsghdr* h) { collect(i, h); });
          s.release_datagram();
        } else if (d.status == Datagram::Status::again) {
          const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
          if (left.count() <= 0) throw Error(name(r, options_) + ": no answer from the kernel");
          pollfd p{s.fd(), POLLIN, 0};
          if (::poll(&p, 1, static_cast<int>(left.count()) + 1) < 0 && errno != EINTR) {
            throw Error(name(r, options_) + ": " + errno_text(errno));
          }
        }
        // overrun: a socket without groups loses no dump part (the kernel waits for room).
      }
      if (answer.error()) throw Error(name(r, options_) + ": " + errno_text(answer.error()));
      interrupted |= answer.interrupted();
    }
  } catch (const std::exception& e) {
    channel_.reset();
    return {Outcome::Status::failed, e.what()};
  }
  return {interrupted ? Outcome::Status::interrupted : Outcome::Status::complete, {}};
}

void Dumper::run(std::vector<Request> requests, Collect collect, std::function<void(Outcome)> done,
                 std::chrono::milliseconds timeout) {
  if (busy_) {
    // A caller error; said through `done` like any failure, but not from inside this call.
    std::weak_ptr<int> life = life_;
    boost::asio::post(io_, [life, done = std::move(done), what = options_.what] {
      if (!life.expired()) done({Outcome::Status::failed, what + ": a dump is already running"});
    });
    return;
  }
  run_ = std::make_unique<Run>();
  run_->requests = std::move(requests);
  run_->collect = std::move(collect);
  run_->done = std::move(done);
  busy_ = true;
  deadline_.expires_after(timeout);
  std::weak_ptr<int> life = life_;
  deadline_.async_wait([this, life](const boost::system::error_code& ec) {
    if (life.expired() || ec || !busy_) return;
    finish({Outcome::Status::failed, options_.what + ": no answer from the kernel"});
  });
  send_next();
}

void Dumper::send_next() {
  Run& r = *run_;
  if (r.index == r.requests.size()) {
    finish({r.interrupted ? Outcome::Status::interrupted : Outcome::Status::complete, {}});
    return;
  }
  try {
    NetlinkSocket& s = channel().socket();
    const Request& q = r.requests[r.index];
    r.answer.emplace(s.port(), s.send(q), q.dump, q.nothing_on);
  } catch (const std::exception& e) {
    finish({Outcome::Status::failed, e.what()});
    return;
  }
  read();
}

void Dumper::read() {
  Run& r = *run_;
  NetlinkSocket& s = channel_->socket();
  const std::string what = name(r.requests[r.index], options_);
  for (int turn = 0; turn < kDatagramsPerTurn; ++turn) {
    const Datagram d = s.receive();
    if (d.status == Datagram::Status::again) break;
    if (d.status == Datagram::Status::failed) {
      finish({Outcome::Status::failed, what + ": " + errno_text(d.error)});
      return;
    }
    if (d.status == Datagram::Status::overrun) continue;
    r.answer->feed(d.bytes, [&](nlmsghdr* h) { r.collect(r.index, h); });
    s.release_datagram();
    if (r.answer->complete()) {
      if (r.answer->error()) {
        finish({Outcome::Status::failed, what + ": " + errno_text(r.answer->error())});
        return;
      }
      r.interrupted |= r.answer->interrupted();
      ++r.index;
      send_next();
      return;
    }
  }
  channel_->when_readable([this, what](const boost::system::error_code& ec) {
    if (ec) {
      finish({Outcome::Status::failed, what + ": " + ec.message()});
      return;
    }
    read();
  });
}

void Dumper::finish(Outcome outcome) {
  std::unique_ptr<Run> run = std::move(run_);
  busy_ = false;
  deadline_.cancel();
  // The kernel may still be dumping into a socket given up on: never read it again.
  if (outcome.status == Outcome::Status::failed) channel_.reset();
  if (run && run->done) run->done(std::move(outcome));  // last: it may destroy this Dumper
}

}  // namespace ndsip::kernel
