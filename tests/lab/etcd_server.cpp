#include "lab/etcd_server.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <csignal>
#include <fstream>
#include <iterator>
#include <stdexcept>
#include <thread>

#include "lab/loopback_port.hpp"
#include "lab/process.hpp"

namespace ndsip::lab {

EtcdServer::EtcdServer(std::string dir, bool tls) : dir_(std::move(dir)), log_(dir_ + "/etcd.log"), tls_(tls) {
  client_port_ = free_loopback_port();
  peer_port_ = free_loopback_port();
  if (tls_) make_credentials("localhost");
}

EtcdServer::EtcdServer(std::string dir, std::string netns, std::string address, bool tls)
    : dir_(std::move(dir)), log_(dir_ + "/etcd.log"), tls_(tls), netns_(std::move(netns)), address_(std::move(address)) {
  // A namespace of its own: the standard ports are free there.
  client_port_ = 2379;
  peer_port_ = 2380;
  // Clients dial the address itself, so the certificate must carry it (an iPAddress SAN:
  // OpenSSL's host check compares an IP only with those, never with a CN or dNSName).
  if (tls_) make_credentials(address_);
}

void EtcdServer::make_credentials(const std::string& server_name) {
  ca_ = pki::make_ca(dir_, "ndsip test etcd CA");
  pki::IssueOptions server;
  server.san = server_name;
  server_ = pki::issue(ca_, "etcd", dir_ + "/server.key.pem", dir_ + "/server.cert.pem", server);
  client_ = pki::issue(ca_, "ndsip-client", dir_ + "/client.key.pem", dir_ + "/client.cert.pem");
}

EtcdServer::~EtcdServer() {
  try {
    stop();
  } catch (...) {
  }
}

std::string EtcdServer::endpoint() const {
  const std::string host = tls_ && netns_.empty() ? "localhost" : address_;
  return (tls_ ? "https://" : "http://") + host + ":" + std::to_string(client_port_);
}

void EtcdServer::start() {
  if (pid_ > 0) return;
  const std::string scheme = tls_ ? "https://" : "http://";
  const std::string client_url = scheme + address_ + ":" + std::to_string(client_port_);
  const std::string peer_url = "http://127.0.0.1:" + std::to_string(peer_port_);
  std::vector<std::string> argv{proc::find_program("etcd"), "--name", "ndsip-test", "--data-dir", dir_ + "/data",
                                "--listen-client-urls", client_url, "--advertise-client-urls", client_url,
                                "--listen-peer-urls", peer_url, "--initial-advertise-peer-urls", peer_url,
                                "--initial-cluster", "ndsip-test=" + peer_url};
  if (!netns_.empty()) argv.insert(argv.begin(), {"ip", "netns", "exec", netns_});
  if (tls_) {
    argv.insert(argv.end(), {"--cert-file", server_.cert, "--key-file", server_.key, "--client-cert-auth",
                             "--trusted-ca-file", ca_.cert});
  }
  argv.insert(argv.end(), extra_args.begin(), extra_args.end());
  std::streamoff from = 0;  // the log is appended across restarts: only this start's lines
  if (std::ifstream old(log_, std::ios::ate); old) from = old.tellg();
  proc::SpawnOptions o;
  o.output_file = log_;
  pid_ = proc::spawn(argv, o);
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  // On loopback here the port answers; in a lab namespace it is out of our reach, and etcd's
  // log says when it serves.
  auto ready = [&] {
    if (netns_.empty()) return loopback_accepts(client_port_);
    std::ifstream in(log_);
    in.seekg(from);
    const std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    return text.find("ready to serve client requests") != std::string::npos;
  };
  while (!ready()) {
    if (proc::wait_for(pid_, std::chrono::milliseconds(0))) {
      pid_ = -1;
      throw std::runtime_error("etcd exited at start; see " + log_);
    }
    if (std::chrono::steady_clock::now() > deadline) throw std::runtime_error("etcd did not start in 20 s; see " + log_);
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
}

void EtcdServer::stop() {
  if (pid_ <= 0) return;
  ::kill(pid_, SIGTERM);
  if (!proc::wait_for(pid_, std::chrono::seconds(5))) {
    ::kill(pid_, SIGKILL);
    proc::wait_for(pid_, std::chrono::seconds(5));
  }
  pid_ = -1;
}

void EtcdServer::kill() {
  if (pid_ <= 0) return;
  ::kill(pid_, SIGKILL);
  proc::wait_for(pid_, std::chrono::seconds(5));
  pid_ = -1;
}

}  // namespace ndsip::lab
