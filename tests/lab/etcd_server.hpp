// A real etcd (Debian's etcd-server) for tests: one member on loopback, ports picked free,
// data in a directory of the test's, optionally TLS with client certificates (its own CA,
// made with strongSwan's pki like the lab's). Started by the test; stopped by PID (SIGTERM,
// then SIGKILL), never by name.
#pragma once

#include <sys/types.h>

#include <string>
#include <vector>

#include "lab/pki.hpp"

namespace ndsip::lab {

class EtcdServer {
 public:
  // `dir` must exist and be empty; tls: https with --client-cert-auth. On loopback of this
  // process's namespace, or, with `netns`, inside that lab namespace listening on `address`
  // (a lab host's outer address, reachable by the other hosts). With TLS the server's
  // certificate names what clients dial: "localhost", or `address` as an iPAddress SAN.
  EtcdServer(std::string dir, bool tls);
  EtcdServer(std::string dir, std::string netns, std::string address, bool tls = false);
  ~EtcdServer();
  EtcdServer(const EtcdServer&) = delete;
  EtcdServer& operator=(const EtcdServer&) = delete;

  void start();  // returns once the client port accepts connections (throws after 20 s)
  void stop();   // SIGTERM, then SIGKILL after 5 s; the data directory stays
  void kill();   // SIGKILL at once (a crash)
  bool running() const { return pid_ > 0; }
  // More etcd flags for the next start() (the fleet bench raises --max-txn-ops for a
  // first publish of 10,000 objects in one transaction).
  std::vector<std::string> extra_args;

  // "http://127.0.0.1:PORT", "https://localhost:PORT", or "http(s)://ADDRESS:2379" in a namespace
  std::string endpoint() const;
  const pki::Credential& ca() const { return ca_; }
  const pki::Credential& client() const { return client_; }  // signed by ca(), for the client
  const std::string& log_file() const { return log_; }

 private:
  std::string dir_, log_;
  bool tls_;
  std::string netns_, address_ = "127.0.0.1";
  int client_port_ = 0, peer_port_ = 0;
  pid_t pid_ = -1;
  pki::Credential ca_, server_, client_;

  void make_credentials(const std::string& server_name);
};

}  // namespace ndsip::lab
