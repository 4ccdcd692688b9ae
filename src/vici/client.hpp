// A blocking VICI client for tools, tests and the demo: it owns an io_context and a Session
// and runs the loop until each call completes. Events are delivered to subscribers while a
// call runs and during run_for()/run_until(). The daemon uses Session directly, on its own
// loop, with the same request builders and parsers.
#pragma once

#include <chrono>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include <boost/asio/io_context.hpp>

#include "vici/commands.hpp"
#include "vici/session.hpp"

namespace ndsip::vici {

class Client {
 public:
  using Duration = std::chrono::milliseconds;

  explicit Client(Duration timeout = std::chrono::seconds(10));

  void connect(const std::string& uri);
  // Tries to connect until it works or `give_up` has passed (jittered backoff, 50 ms doubling
  // to 1 s). Returns whether it connected.
  bool connect_with_retry(const std::string& uri, Duration give_up);
  bool connected() const { return session_.connected(); }
  void close() { session_.close(); }
  // Why the connection was lost, if it was (cleared by connect).
  const std::optional<Error>& lost() const { return lost_; }

  // Sends a request and waits for its reply. Throws Error (timeouts and disconnects too).
  Reply call(const Request& request);
  Reply call(const Request& request, Duration timeout);

  void subscribe(const std::string& event, Session::EventHandler handler);
  void unsubscribe(const std::string& event);

  // Drive the loop without a request, so events and disconnects arrive.
  void run_for(Duration duration);
  // Runs until `done()` is true (checked after every handler) or `timeout` passes.
  bool run_until(const std::function<bool()>& done, Duration timeout);

  // Typed commands; each throws Error(command_failed) with charon's errmsg on success = no.
  VersionInfo version();
  Stats stats();
  void load_conn(const std::string& name, Section connection);
  void unload_conn(const std::string& name);
  std::vector<std::string> get_conns();
  std::vector<Section> list_conns(const std::string& ike = {});
  void initiate(const InitiateArgs& args);
  void terminate(const TerminateArgs& args);
  void rekey(const RekeyArgs& args);
  std::vector<IkeSa> list_sas(const ListSasArgs& args = {});
  void load_cert(CertType type, CertFlag flag, std::string data);
  std::string load_key(KeyType type, std::string data);
  void unload_key(const std::string& id);
  std::vector<std::string> get_keys();
  void load_authority(const std::string& name, Section authority);
  void unload_authority(const std::string& name);
  std::vector<std::string> get_authorities();
  void clear_creds();
  std::vector<CertInfo> list_certs(const ListCertsArgs& args = {});

  Session& session() { return session_; }
  boost::asio::io_context& io() { return io_; }

 private:
  boost::asio::io_context io_;
  Session session_;
  Duration timeout_;
  std::optional<Error> lost_;
};

}  // namespace ndsip::vici
