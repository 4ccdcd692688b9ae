#include "kernel/mirror.hpp"

#include "kernel/netlink_socket.hpp"

namespace ndsip::kernel {
namespace {

constexpr int kDatagramsPerTurn = 64;

}  // namespace

Mirror::Mirror(boost::asio::io_context& io, Spec spec)
    : io_(io), spec_(std::move(spec)), dumper_(io, spec_.dumps), settle_(io) {
  if (!open_events()) {
    schedule(spec_.retry);
    return;
  }
  // The one blocking read, at start-up. A dump the kernel marks interrupted (the table changed
  // under it) is read again at once, a few times, before the loop takes over.
  Outcome outcome;
  for (int attempt = 0; attempt < 3; ++attempt) {
    spec_.begin();
    outcome = dumper_.run_now(spec_.requests(), spec_.collect, spec_.timeout);
    if (outcome.status != Outcome::Status::interrupted) break;
  }
  switch (outcome.status) {
    case Outcome::Status::complete:
      spec_.commit();
      ++generation_;
      break;
    case Outcome::Status::interrupted:
      schedule(spec_.settle);
      break;
    case Outcome::Status::failed:
      error_ = outcome.error;
      schedule(spec_.retry);
      break;
  }
  read_events();
}

Mirror::~Mirror() = default;

bool Mirror::open_events() {
  try {
    events_ = std::make_unique<NetlinkChannel>(io_, spec_.events);
    events_error_.clear();
    return true;
  } catch (const std::exception& e) {
    events_error_ = error_ = e.what();
    return false;
  }
}

void Mirror::refresh() { schedule(spec_.settle); }

void Mirror::read_events() {
  events_->when_readable([this](const boost::system::error_code& ec) {
    if (ec) {
      error_ = events_error_ = spec_.events.what + ": " + ec.message();
      events_.reset();
      schedule(spec_.retry);
      return;
    }
    drain();
  });
}

void Mirror::drain() {
  bool changed = false;
  for (int turn = 0; turn < kDatagramsPerTurn; ++turn) {
    const Datagram d = events_->socket().receive();
    if (d.status == Datagram::Status::again) break;
    if (d.status == Datagram::Status::overrun) {
      changed = true;  // notifications were lost: only a dump can say what they said
      continue;
    }
    if (d.status == Datagram::Status::failed) {
      error_ = events_error_ = spec_.events.what + ": " + errno_text(d.error);
      events_.reset();
      schedule(spec_.retry);
      return;
    }
    for_each_message(d.bytes, [&](nlmsghdr* h) { changed = changed || spec_.concerns(h); });
  }
  if (changed) schedule(spec_.settle);
  read_events();
}

void Mirror::schedule(std::chrono::milliseconds after) {
  queued_ = true;
  if (armed_ || dumper_.busy()) return;  // the timer, or dumped(), starts it
  armed_ = true;
  settle_.expires_after(after);
  std::weak_ptr<int> life = life_;
  settle_.async_wait([this, life](const boost::system::error_code& ec) {
    if (life.expired() || ec) return;
    armed_ = false;
    if (!events_) {
      // Without notifications the copy cannot stay current: get them back first.
      if (!open_events()) {
        schedule(spec_.retry);
        return;
      }
      read_events();
    }
    if (queued_ && !dumper_.busy()) start_dump();
  });
}

void Mirror::start_dump() {
  queued_ = false;
  spec_.begin();
  dumper_.run(spec_.requests(), spec_.collect, [this](Outcome outcome) { dumped(std::move(outcome)); }, spec_.timeout);
}

void Mirror::dumped(Outcome outcome) {
  bool committed = false;
  switch (outcome.status) {
    case Outcome::Status::complete:
      spec_.commit();
      ++generation_;
      committed = true;
      error_ = events_error_;
      break;
    case Outcome::Status::interrupted:
      queued_ = true;
      break;
    case Outcome::Status::failed:
      error_ = outcome.error;
      queued_ = false;
      schedule(spec_.retry);
      break;
  }
  if (queued_) schedule(spec_.settle);
  if (committed && on_change_) on_change_();  // last: it may destroy this Mirror
}

}  // namespace ndsip::kernel
