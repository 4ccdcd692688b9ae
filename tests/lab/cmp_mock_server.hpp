// OpenSSL's own CMP mock server (`openssl cmp -port ...`) for tests of ndsip's CMP client: a
// real CMPv2 peer (RFC 4210 over HTTP) that returns a fixed certificate and can be told to
// poll, refuse, send an error or protect its answers with a certificate of anyone's. Started
// on a free loopback port; stopped by its PID (SIGTERM, then SIGKILL), never by name.
#pragma once

#include <sys/types.h>

#include <string>
#include <vector>

namespace ndsip::lab {

struct MockCmpOptions {
  std::string dir;  // must exist: the server's log goes to dir/cmp-mock-<port>.log
  // Files (PEM). srv_cert + srv_key protect the answers (or srv_ref + srv_secret: PBM);
  // srv_trusted verifies the requests' signatures; rsp_cert is what every request gets.
  std::string srv_cert, srv_key, srv_trusted, srv_untrusted, rsp_cert, rsp_extracerts, rsp_capubs;
  std::string srv_ref, srv_secret;  // the secret as text (test values only: it is in argv)
  int poll_count = 0;     // pollRep answers before the certificate
  int check_after = -1;   // the pollRep's checkAfter in seconds (-1: OpenSSL's default, 1)
  int pkistatus = -1;     // the PKIStatus of the answer (-1: accepted)
  int failure = -1;       // one PKIFailureInfo bit (-1: none)
  std::string status_string;
  bool send_error = false;          // answer every request with an error message
  bool accept_unprotected = false;  // take requests without (valid) protection
  bool grant_implicit_confirm = false;
  std::vector<std::string> extra_args;  // more `openssl cmp` options
  // Non-empty: run inside this lab namespace (`ip netns exec`), on its loopback; the caller
  // has brought lo up there.
  std::string netns;
  // Non-zero: listen on this port (a server restarted with other options keeps the URL a
  // daemon was started with); 0: a free one.
  int port = 0;
};

class MockCmpServer {
 public:
  // Starts the server and returns once its port accepts connections (throws with the log
  // after 15 s, or when it exits).
  explicit MockCmpServer(MockCmpOptions options);
  ~MockCmpServer();
  MockCmpServer(const MockCmpServer&) = delete;
  MockCmpServer& operator=(const MockCmpServer&) = delete;

  int port() const { return port_; }
  std::string url() const;  // "http://127.0.0.1:PORT/pkix/" (the mock answers any path)
  void stop();              // SIGTERM, then SIGKILL after 5 s; reaped
  bool running() const { return pid_ > 0; }
  std::string log() const;  // what the server wrote so far (for failure messages)
  const std::string& log_file() const { return log_; }

 private:
  MockCmpOptions opt_;
  int port_ = 0;
  pid_t pid_ = -1;
  std::string log_;

  std::vector<std::string> argv() const;
  bool start_once();  // false: the port was taken before the server bound it
};

}  // namespace ndsip::lab
