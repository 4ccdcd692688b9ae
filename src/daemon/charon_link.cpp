#include "daemon/charon_link.hpp"

#include "daemon/log.hpp"
#include "vici/commands.hpp"

namespace ndsip::daemon {

CharonLink::CharonLink(boost::asio::io_context& io, std::string uri, std::chrono::milliseconds timeout,
                       unsigned sessions)
    : uri_(std::move(uri)), timeout_(timeout), io_(io), session_(io),
      extra_lanes_(sessions > 1 ? sessions - 1 : 0), retry_timer_(io) {
  session_.on_disconnect([this](const vici::Error& why) { lost(why.what()); });
}

CharonLink::~CharonLink() = default;

void CharonLink::start() {
  started_ = std::chrono::steady_clock::now();
  connect();
}

void CharonLink::on_waiting(std::chrono::seconds after, std::function<void(const std::string&)> handler) {
  waiting_after_ = after;
  on_waiting_ = std::move(handler);
}

void CharonLink::connect() {
  try {
    session_.connect(uri_);
  } catch (const vici::Error& e) {
    error_ = e.what();
    // The first failure of a streak is logged, and then one in 30, so a long outage is
    // visible in the journal without flooding it.
    if (backoff_.attempts() % 30 == 0) log(error_ + "; retrying");
    if (on_waiting_ && !waiting_told_ && std::chrono::steady_clock::now() - started_ > waiting_after_) {
      waiting_told_ = true;
      on_waiting_("waiting for charon at " + uri_);
    }
    retry_later();
    return;
  }
  vici::Request version = vici::request::version();
  Handler on_version = [this](std::optional<vici::Error> e, vici::Reply reply) {
    if (e) {
      // A disconnect is reported by the session's own path; anything else is logged here.
      if (e->kind() != vici::ErrorKind::disconnected) log(std::string("version: ") + e->what());
      return;
    }
    const auto v = vici::parse::version(reply);
    version_ = v.daemon + " " + v.version;
    up_ = true;
    error_.clear();
    backoff_.reset();
    waiting_told_ = true;
    log("connected to charon (" + version_ + ") at " + uri_);
    open_lanes();
    if (on_up_) on_up_();
  };
  on_version = observed(version, std::move(on_version));
  session_.request(std::move(version), timeout_, std::move(on_version));
}

CharonLink::Handler CharonLink::observed(const vici::Request& request, Handler done) {
  if (!on_command_) return done;
  std::string ike = request.command == "initiate" ? request.args.value_or("ike") : std::string();
  return [this, command = request.command, ike = std::move(ike), done = std::move(done)](std::optional<vici::Error> e,
                                                                                        vici::Reply reply) {
    if (on_command_) on_command_(command, ike, e ? vici::to_string(e->kind()) : "ok");
    done(std::move(e), std::move(reply));
  };
}

void CharonLink::open_lanes() {
  close_lanes();
  for (unsigned i = 0; i < extra_lanes_; ++i) {
    auto lane = std::make_unique<vici::Session>(io_);
    try {
      lane->connect(uri_);
    } catch (const vici::Error& e) {
      // Not fatal: the main session carries everything a missing lane would have.
      log(std::string("extra VICI session not opened: ") + e.what());
      break;
    }
    // A lane that drops fails its pending requests (the pass reports them and the next pass
    // sends them again); the main session's loss is what marks charon gone.
    lane->on_disconnect([](const vici::Error&) {});
    lanes_.push_back(std::move(lane));
  }
}

void CharonLink::close_lanes() {
  for (auto& lane : lanes_) {
    closed_lane_requests_ += lane->counters().requests;
    lane->close();
  }
  lanes_.clear();
  next_lane_ = 0;
}

unsigned long long CharonLink::requests_sent() const {
  unsigned long long n = session_.counters().requests + closed_lane_requests_;
  for (const auto& lane : lanes_) n += lane->counters().requests;
  return n;
}

void CharonLink::lost(const std::string& why) {
  close_lanes();
  up_ = false;
  error_ = why;
  log("charon unreachable: " + why + "; reconnecting");
  if (on_down_) on_down_(why);
  retry_later();
}

void CharonLink::retry_later() {
  retry_timer_.expires_after(backoff_.next());
  retry_timer_.async_wait([this](boost::system::error_code ec) {
    if (!ec) connect();
  });
}

void CharonLink::request(vici::Request request, Handler done) {
  done = observed(request, std::move(done));
  session_.request(std::move(request), timeout_, std::move(done));
}

void CharonLink::request_spread(vici::Request request, Handler done) {
  // Round robin over the main session (turn 0) and the lanes; a lane that dropped passes its
  // turn to the main session. No list built per request: a full apply sends 10,000.
  const std::size_t turn = next_lane_++ % (lanes_.size() + 1);
  vici::Session* s = turn > 0 && lanes_[turn - 1]->connected() ? lanes_[turn - 1].get() : &session_;
  done = observed(request, std::move(done));
  s->request(std::move(request), timeout_, std::move(done));
}

void CharonLink::send(vici::Request request, const std::string& what, std::function<void(const vici::Error&)> failed) {
  const std::string command = request.command;
  Handler done = [command, what, failed = std::move(failed)](std::optional<vici::Error> e, vici::Reply) {
    if (!e) return;
    if (e->kind() != vici::ErrorKind::disconnected) {
      log(command + (what.empty() ? "" : " " + what) + " failed: " + e->what());
    }
    if (failed) failed(*e);
  };
  done = observed(request, std::move(done));
  session_.request(std::move(request), timeout_, std::move(done));
}

void CharonLink::terminate(const std::string& connection, std::function<void()> then) {
  vici::TerminateArgs t;
  t.ike = connection;
  t.force = true;
  t.timeout_ms = -1;
  vici::Request request = vici::request::terminate(t);
  Handler done = [connection, then = std::move(then)](std::optional<vici::Error> e, vici::Reply) {
    // charon refuses a terminate that matches no SA: nothing was there to close.
    const bool nothing_there = e && e->kind() == vici::ErrorKind::command_failed &&
                               std::string(e->what()).find("no matching") != std::string::npos;
    if (e && !nothing_there && e->kind() != vici::ErrorKind::disconnected) {
      log("terminate " + connection + " failed: " + e->what());
    }
    if (then) then();
  };
  done = observed(request, std::move(done));
  session_.request(std::move(request), timeout_, std::move(done));
}

void CharonLink::subscribe(const std::string& event, vici::Session::EventHandler handler) {
  std::vector<vici::Session::EventHandler>& handlers = handlers_[event];
  handlers.push_back(std::move(handler));
  if (handlers.size() > 1) return;  // registered already: the dispatcher below calls each
  session_.subscribe(
      event,
      [this, event](const std::string& name, const vici::Message& m) {
        const std::vector<vici::Session::EventHandler>& all = handlers_[event];
        for (std::size_t i = 0; i < all.size(); ++i) {
          const vici::Session::EventHandler h = all[i];  // a copy: a handler may subscribe another
          h(name, m);
        }
      },
      timeout_, [event](std::optional<vici::Error> e) {
        if (e && e->kind() != vici::ErrorKind::disconnected) log("event registration " + event + ": " + e->what());
      });
}

nlohmann::json CharonLink::status() const {
  return {{"connected", up_}, {"version", version_}, {"error", up_ ? "" : error_}};
}

}  // namespace ndsip::daemon
