#include "vici/client.hpp"

#include <thread>

#include "common/backoff.hpp"

namespace ndsip::vici {

Client::Client(Duration timeout) : session_(io_), timeout_(timeout) {
  session_.on_disconnect([this](const Error& why) { lost_ = why; });
}

void Client::connect(const std::string& uri) {
  lost_.reset();
  session_.connect(uri);
}

bool Client::connect_with_retry(const std::string& uri, Duration give_up) {
  const auto deadline = std::chrono::steady_clock::now() + give_up;
  // The same backoff as everywhere else (jittered), so tools started together against one
  // charon do not retry in step.
  common::Backoff backoff(Duration(50), Duration(1000));
  for (;;) {
    try {
      connect(uri);
      return true;
    } catch (const Error& e) {
      if (e.kind() == ErrorKind::usage) throw;
    }
    const Duration wait = backoff.next();
    if (std::chrono::steady_clock::now() + wait > deadline) return false;
    std::this_thread::sleep_for(wait);
  }
}

Reply Client::call(const Request& request) { return call(request, timeout_); }

Reply Client::call(const Request& request, Duration timeout) {
  std::optional<Error> error;
  std::optional<Reply> reply;
  bool done = false;
  session_.request(request, timeout, [&](std::optional<Error> e, Reply r) {
    error = std::move(e);
    reply = std::move(r);
    done = true;
  });
  io_.restart();
  // The session's own timer ends the wait; this loop only needs to run until the handler.
  while (!done && io_.run_one() > 0) {
  }
  if (!done) throw Error(ErrorKind::usage, "the event loop stopped before " + request.command +
                                               " completed");
  if (error) throw *error;
  return std::move(*reply);
}

void Client::subscribe(const std::string& event, Session::EventHandler handler) {
  std::optional<Error> error;
  bool done = false;
  session_.subscribe(event, std::move(handler), timeout_, [&](std::optional<Error> e) {
    error = std::move(e);
    done = true;
  });
  io_.restart();
  while (!done && io_.run_one() > 0) {
  }
  if (error) throw *error;
}

void Client::unsubscribe(const std::string& event) {
  bool done = false;
  std::optional<Error> error;
  session_.unsubscribe(event, timeout_, [&](std::optional<Error> e) {
    error = std::move(e);
    done = true;
  });
  io_.restart();
  while (!done && io_.run_one() > 0) {
  }
  if (error) throw *error;
}

void Client::run_for(Duration duration) {
  io_.restart();
  io_.run_for(duration);
}

bool Client::run_until(const std::function<bool()>& done, Duration timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (!done()) {
    const auto now = std::chrono::steady_clock::now();
    if (now >= deadline) return false;
    io_.restart();
    // run_one_for returns after one handler or at the deadline, whichever comes first; an
    // idle loop (no socket) would return at once, so sleep in small steps then.
    if (io_.run_one_for(std::min<std::chrono::steady_clock::duration>(deadline - now,
                                                                       Duration(50))) == 0) {
      std::this_thread::sleep_for(Duration(1));
    }
  }
  return true;
}

VersionInfo Client::version() { return parse::version(call(request::version())); }
Stats Client::stats() { return parse::stats(call(request::stats())); }

void Client::load_conn(const std::string& name, Section connection) {
  call(request::load_conn(name, std::move(connection)));
}
void Client::unload_conn(const std::string& name) { call(request::unload_conn(name)); }
std::vector<std::string> Client::get_conns() { return parse::get_conns(call(request::get_conns())); }
std::vector<Section> Client::list_conns(const std::string& ike) {
  return parse::list_conns(call(request::list_conns(ike)));
}

void Client::initiate(const InitiateArgs& args) {
  // charon's own timeout (0 = wait for the outcome) must fit inside ours.
  Duration wait = timeout_;
  if (args.timeout_ms > 0) wait = std::max(wait, Duration(args.timeout_ms + 1000));
  call(request::initiate(args), wait);  // a refusal is thrown by the session
}

void Client::terminate(const TerminateArgs& args) {
  Duration wait = timeout_;
  if (args.timeout_ms > 0) wait = std::max(wait, Duration(args.timeout_ms + 1000));
  call(request::terminate(args), wait);
}

void Client::rekey(const RekeyArgs& args) { call(request::rekey(args)); }

std::vector<IkeSa> Client::list_sas(const ListSasArgs& args) {
  return parse::list_sas(call(request::list_sas(args)));
}

void Client::load_cert(CertType type, CertFlag flag, std::string data) {
  call(request::load_cert(type, flag, std::move(data)));
}

std::string Client::load_key(KeyType type, std::string data) {
  return parse::load_key(call(request::load_key(type, std::move(data))));
}

void Client::unload_key(const std::string& id) { call(request::unload_key(id)); }
std::vector<std::string> Client::get_keys() { return parse::get_keys(call(request::get_keys())); }

void Client::load_authority(const std::string& name, Section authority) {
  call(request::load_authority(name, std::move(authority)));
}
void Client::unload_authority(const std::string& name) {
  call(request::unload_authority(name));
}
std::vector<std::string> Client::get_authorities() {
  return parse::get_authorities(call(request::get_authorities()));
}
void Client::clear_creds() { call(request::clear_creds()); }

std::vector<CertInfo> Client::list_certs(const ListCertsArgs& args) {
  return parse::list_certs(call(request::list_certs(args)));
}

}  // namespace ndsip::vici
