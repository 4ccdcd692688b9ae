// ndsip's CMPv2 client (cmp::exchange) against OpenSSL's own CMP mock server (`openssl cmp
// -port`), started by each test on loopback: a KUR protected by the current certificate, an
// IR with a shared secret (PBM) and one with a vendor certificate, polling, an error status,
// an error message, no server, a response signed by someone else, accept() refusing, a
// certificate for another key, the total timeout, and a server answering garbage. Every
// failure is checked for the step it names and a sentence that says what went wrong.
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <openssl/cmp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <random>
#include <thread>

#include "certs/test_pki.hpp"
#include "cmp/exchange.hpp"
#include "cmp/new_key.hpp"
#include "lab/cmp_mock_server.hpp"
#include "lab/loopback_port.hpp"

using namespace ndsip;
using namespace std::chrono_literals;
using certs::testing::CertSpec;
using certs::testing::make_cert;
using certs::testing::make_key;
namespace fs = std::filesystem;

namespace {

struct TempDir {
  std::string path;
  TempDir() {
    char tmpl[] = "/tmp/ndsip-cmp-XXXXXX";
    path = ::mkdtemp(tmpl);
  }
  ~TempDir() { fs::remove_all(path); }
};

std::string read_file(const std::string& path) {
  std::ifstream in(path);
  return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

double seconds_since(std::chrono::steady_clock::time_point t) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t).count();
}

bool contains(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }

// A loopback port that nothing listens on.
int unused_port() { return lab::free_loopback_port(); }

// The operator's CA and its CMP signer, the node's current credentials and its new key with
// the certificate the mock returns for it; a vendor CA with a device certificate; another CA
// with a signer of its own; and a certificate for a key that is not the new one.
class CmpExchange : public ::testing::Test {
 protected:
  void SetUp() override {
    ca_key_ = make_key("p256");
    ca_ = make_cert(spec("Operator A CA", "", true, 1), ca_key_.get(), nullptr, nullptr);
    write("ca.pem", ca_.get());
    signer_key_ = make_key("p256");
    write("signer.pem", make_cert(spec("Operator A CMP signer", "", false, 2), signer_key_.get(), ca_.get(),
                                  ca_key_.get()).get());
    write_key("signer.key", signer_key_.get());

    node_key_ = make_key("p256");
    node_cert_ = make_cert(spec("node-a", "node-a.operator-a.example", false, 3), node_key_.get(), ca_.get(),
                           ca_key_.get());
    new_key_ = cmp::generate_key("ec:P-256");
    // Serial 3 again, on purpose: OpenSSL 3.0's mock checks a KUR's oldCertId against the
    // issuer and serial of the certificate it returns ("wrong certid" otherwise).
    new_cert_ = make_cert(spec("node-a", "node-a.operator-a.example", false, 3), new_key_.get(), ca_.get(),
                          ca_key_.get());
    write("new.pem", new_cert_.get());

    vendor_ca_key_ = make_key("p256");
    vendor_ca_ = make_cert(spec("Vendor Factory CA", "", true, 5), vendor_ca_key_.get(), nullptr, nullptr);
    write("vendor-ca.pem", vendor_ca_.get());
    device_key_ = make_key("p256");
    device_cert_ = make_cert(spec("device SN-0042", "", false, 6), device_key_.get(), vendor_ca_.get(),
                             vendor_ca_key_.get());

    other_ca_key_ = make_key("p256");
    other_ca_ = make_cert(spec("Someone Else CA", "", true, 7), other_ca_key_.get(), nullptr, nullptr);
    other_signer_key_ = make_key("p256");
    write("other-signer.pem", make_cert(spec("Someone Else CMP signer", "", false, 8), other_signer_key_.get(),
                                        other_ca_.get(), other_ca_key_.get()).get());
    write_key("other-signer.key", other_signer_key_.get());
    write("other-signer-chain.pem", other_ca_.get());

    auto other_key = make_key("p256");
    write("for-other-key.pem", make_cert(spec("node-a", "node-a.operator-a.example", false, 3), other_key.get(),
                                         ca_.get(), ca_key_.get()).get());
  }

  static CertSpec spec(const std::string& cn, const std::string& san, bool ca, long serial) {
    CertSpec s;
    s.cn = cn;
    s.san = san;
    s.ca = ca;
    s.serial = serial;
    return s;
  }
  std::string path(const std::string& name) const { return dir_.path + "/" + name; }
  void write(const std::string& name, X509* cert) const { certs::testing::write_cert(path(name), cert); }
  void write_key(const std::string& name, EVP_PKEY* key) const { certs::testing::write_key(path(name), key); }

  // The mock as the operator's CA runs it: answers signed by its CMP signer, requests
  // verified against the CA, the new certificate returned with the CA as extraCerts.
  lab::MockCmpOptions ca_mock() const {
    lab::MockCmpOptions o;
    o.dir = dir_.path;
    o.srv_cert = path("signer.pem");
    o.srv_key = path("signer.key");
    o.srv_trusted = path("ca.pem");
    o.rsp_cert = path("new.pem");
    o.rsp_extracerts = path("ca.pem");
    return o;
  }

  // A KUR protected by the node's current certificate, trusting the operator's CA; accept()
  // counts its calls and says `refusal`.
  cmp::Request kur(const lab::MockCmpServer& server) {
    cmp::Request r;
    r.kind = cmp::Kind::kur;
    r.server_url = server.url();
    r.trusted_pem = cmp::certificate_pem(ca_.get());
    r.auth_cert_pem = cmp::certificate_pem(node_cert_.get());
    r.auth_key_pem = cmp::private_key_pem(node_key_.get());
    r.new_key = new_key_.get();
    r.message_timeout = 10s;
    r.total_timeout = 60s;
    r.accept = [this](X509* cert, const std::vector<X509*>& extra) {
      ++accept_calls_;
      accepted_extra_ = extra.size();
      EXPECT_NE(cert, nullptr);
      return refusal_;
    };
    return r;
  }

  static std::string describe(const cmp::Result& r, const lab::MockCmpServer* server = nullptr) {
    std::string s = "ok=" + std::to_string(r.ok) + " failed_at=" + r.failed_at + " pki_status=" + r.pki_status +
                    " error=" + r.error;
    if (server) s += "\n--- mock log ---\n" + server->log();
    return s;
  }

  TempDir dir_;
  certs::Key ca_key_, signer_key_, node_key_, new_key_, vendor_ca_key_, device_key_, other_ca_key_, other_signer_key_;
  certs::Cert ca_, node_cert_, new_cert_, vendor_ca_, device_cert_, other_ca_;
  std::atomic<int> accept_calls_{0};
  std::atomic<std::size_t> accepted_extra_{0};
  std::string refusal_;
};

// a. The current certificate and key protect a key update; the issued certificate comes back.
TEST_F(CmpExchange, KeyUpdateHappyPath) {
  lab::MockCmpServer server(ca_mock());
  const auto start = std::chrono::steady_clock::now();
  const cmp::Result r = cmp::exchange(kur(server));
  std::cout << "KUR took " << seconds_since(start) << " s\n";
  ASSERT_TRUE(r.ok) << describe(r, &server);
  EXPECT_EQ(r.cert_pem, read_file(path("new.pem")));
  EXPECT_EQ(r.failed_at, "");
  EXPECT_EQ(r.error, "");
  EXPECT_EQ(r.pki_status, "accepted");
  EXPECT_TRUE(r.fail_info.empty());
  EXPECT_EQ(accept_calls_, 1);
  EXPECT_GE(accepted_extra_, 1u) << "the CA came as extraCerts";
  const std::string ca_pem = cmp::certificate_pem(ca_.get());
  EXPECT_NE(std::find(r.chain_pem.begin(), r.chain_pem.end(), ca_pem), r.chain_pem.end());
}

// b. An initial request protected with a reference and a shared secret (PBM).
TEST_F(CmpExchange, InitialRequestWithSharedSecret) {
  lab::MockCmpOptions o = ca_mock();
  o.srv_cert.clear();
  o.srv_key.clear();
  o.srv_ref = "node-a-ref";
  o.srv_secret = "one-time-enrolment-secret";
  lab::MockCmpServer server(o);
  cmp::Request r = kur(server);
  r.kind = cmp::Kind::ir;
  r.auth_cert_pem.clear();
  r.auth_key_pem.clear();
  r.reference = "node-a-ref";
  r.secret = "one-time-enrolment-secret";
  r.identity = "node-a.operator-a.example";
  const cmp::Result result = cmp::exchange(r);
  ASSERT_TRUE(result.ok) << describe(result, &server);
  EXPECT_EQ(result.cert_pem, read_file(path("new.pem")));
  EXPECT_EQ(accept_calls_, 1);

  // The wrong secret: the CA refuses our protection (its error message is MAC'd with its own).
  r.secret = "a-wrong-secret";
  const cmp::Result wrong = cmp::exchange(r);
  EXPECT_FALSE(wrong.ok);
  EXPECT_EQ(wrong.failed_at, "protection") << describe(wrong, &server);
  EXPECT_TRUE(contains(wrong.error, "not protected with our shared secret")) << wrong.error;
  EXPECT_FALSE(contains(wrong.error, "a-wrong-secret")) << "never the secret: " << wrong.error;
  EXPECT_FALSE(contains(wrong.error, "one-time-enrolment-secret")) << wrong.error;
  std::cout << "wrong secret: " << describe(wrong) << "\n";
}

// c. An initial request protected with a vendor certificate the CA trusts.
TEST_F(CmpExchange, InitialRequestWithVendorCertificate) {
  lab::MockCmpOptions o = ca_mock();
  o.srv_trusted = path("vendor-ca.pem");
  lab::MockCmpServer server(o);
  cmp::Request r = kur(server);
  r.kind = cmp::Kind::ir;
  r.auth_cert_pem = cmp::certificate_pem(device_cert_.get()) + cmp::certificate_pem(vendor_ca_.get());
  r.auth_key_pem = cmp::private_key_pem(device_key_.get());
  r.identity = "node-a.operator-a.example";
  const cmp::Result result = cmp::exchange(r);
  ASSERT_TRUE(result.ok) << describe(result, &server);
  EXPECT_EQ(result.cert_pem, read_file(path("new.pem")));
  EXPECT_EQ(accept_calls_, 1);
}

// d. The CA says "waiting" twice; the client polls and gets the certificate.
TEST_F(CmpExchange, PollsUntilIssued) {
  lab::MockCmpOptions o = ca_mock();
  o.poll_count = 2;
  o.check_after = 1;
  lab::MockCmpServer server(o);
  const auto start = std::chrono::steady_clock::now();
  const cmp::Result r = cmp::exchange(kur(server));
  const double took = seconds_since(start);
  ASSERT_TRUE(r.ok) << describe(r, &server);
  EXPECT_EQ(r.cert_pem, read_file(path("new.pem")));
  EXPECT_GE(took, 1.9);
  EXPECT_LT(took, 10.0);
  EXPECT_EQ(accept_calls_, 1);
}

// e. The CA refuses with PKIStatus rejection and failInfo badPOP.
TEST_F(CmpExchange, RejectionStatus) {
  lab::MockCmpOptions o = ca_mock();
  o.pkistatus = OSSL_CMP_PKISTATUS_rejection;
  o.failure = OSSL_CMP_PKIFAILUREINFO_badPOP;
  o.status_string = "proof of possession failed";
  lab::MockCmpServer server(o);
  const cmp::Result r = cmp::exchange(kur(server));
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(r.failed_at, "status") << describe(r, &server);
  EXPECT_EQ(r.pki_status, "rejection");
  EXPECT_NE(std::find(r.fail_info.begin(), r.fail_info.end(), "badPOP"), r.fail_info.end()) << describe(r);
  EXPECT_TRUE(contains(r.error, "the CA refused")) << r.error;
  EXPECT_TRUE(contains(r.error, "rejection")) << r.error;
  EXPECT_TRUE(contains(r.error, "badPOP")) << r.error;
  EXPECT_TRUE(contains(r.error, "proof of possession failed")) << r.error;
  EXPECT_TRUE(r.cert_pem.empty());
  EXPECT_EQ(accept_calls_, 0);
  std::cout << "rejection: " << describe(r) << "\n";
}

// f. The CA answers with an error message.
TEST_F(CmpExchange, ErrorMessage) {
  lab::MockCmpOptions o = ca_mock();
  o.send_error = true;
  lab::MockCmpServer server(o);
  const cmp::Result r = cmp::exchange(kur(server));
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(r.failed_at, "status") << describe(r, &server);
  EXPECT_TRUE(contains(r.error, "the CA refused")) << r.error;
  EXPECT_TRUE(r.cert_pem.empty());
  std::cout << "error message: " << describe(r) << "\n";
}

// g. Nothing listens: a transfer failure, at once (not after the message timeout).
TEST_F(CmpExchange, Unreachable) {
  lab::MockCmpServer server(ca_mock());  // only for its URL's shape; then gone
  cmp::Request req = kur(server);
  req.server_url = "http://127.0.0.1:" + std::to_string(unused_port()) + "/pkix/";
  req.message_timeout = 20s;
  const auto start = std::chrono::steady_clock::now();
  const cmp::Result r = cmp::exchange(req);
  const double took = seconds_since(start);
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(r.failed_at, "transfer") << describe(r);
  EXPECT_TRUE(contains(r.error, "cannot reach the CMP server " + req.server_url)) << r.error;
  EXPECT_LT(took, 5.0);
  EXPECT_EQ(r.pki_status, "");
  std::cout << "unreachable (" << took << " s): " << describe(r) << "\n";
}

// h. The response is signed by a certificate of another CA: refused, whatever it carries.
TEST_F(CmpExchange, ResponseFromAnUntrustedSigner) {
  lab::MockCmpOptions o = ca_mock();
  o.srv_cert = path("other-signer.pem");
  o.srv_key = path("other-signer.key");
  o.rsp_extracerts = path("other-signer-chain.pem");
  lab::MockCmpServer server(o);
  const cmp::Result r = cmp::exchange(kur(server));
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(r.failed_at, "protection") << describe(r, &server);
  EXPECT_TRUE(contains(r.error, "not protected by a trusted certificate")) << r.error;
  EXPECT_TRUE(r.cert_pem.empty());
  EXPECT_EQ(accept_calls_, 0);
  std::cout << "untrusted signer: " << describe(r) << "\n";
}

// i. accept() refuses the issued certificate: the CA gets a rejecting certConf.
TEST_F(CmpExchange, AcceptRefuses) {
  refusal_ = "certificate for another identity";
  lab::MockCmpServer server(ca_mock());
  const cmp::Result r = cmp::exchange(kur(server));
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(r.failed_at, "accept") << describe(r, &server);
  EXPECT_EQ(r.error, "certificate refused: certificate for another identity");
  EXPECT_TRUE(r.cert_pem.empty());
  EXPECT_EQ(accept_calls_, 1);
  std::cout << "accept refuses: " << describe(r) << "\n--- mock log ---\n" << server.log() << "\n";
}

// j. The CA returns a certificate for another key: OpenSSL itself refuses it (incorrectData),
// before accept() is asked.
TEST_F(CmpExchange, CertificateForAnotherKey) {
  lab::MockCmpOptions o = ca_mock();
  o.rsp_cert = path("for-other-key.pem");
  lab::MockCmpServer server(o);
  const cmp::Result r = cmp::exchange(kur(server));
  EXPECT_FALSE(r.ok);
  EXPECT_TRUE(r.cert_pem.empty());
  EXPECT_EQ(r.failed_at, "accept") << describe(r, &server);
  EXPECT_TRUE(contains(r.error, "certificate refused: ")) << r.error;
  EXPECT_TRUE(contains(r.error, "does not match")) << r.error;
  EXPECT_EQ(accept_calls_, 0);
  std::cout << "another key: " << describe(r) << "\n";
}

// k. The CA keeps saying "waiting" longer than the total timeout.
TEST_F(CmpExchange, TotalTimeout) {
  lab::MockCmpOptions o = ca_mock();
  o.poll_count = 10;
  o.check_after = 5;
  lab::MockCmpServer server(o);
  cmp::Request req = kur(server);
  req.total_timeout = 3s;
  const auto start = std::chrono::steady_clock::now();
  const cmp::Result r = cmp::exchange(req);
  const double took = seconds_since(start);
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(r.failed_at, "timeout") << describe(r, &server);
  EXPECT_TRUE(contains(r.error, "within the total timeout of 3 s")) << r.error;
  EXPECT_LT(took, 5.5);
  EXPECT_EQ(accept_calls_, 0);
  std::cout << "total timeout (" << took << " s): " << describe(r) << "\n";
}

// l. Not a CMP server: HTTP 200 with random bytes, a connection closed without an answer, and
// one that never answers. No crash, no hang beyond the message timeout.
class FakeServer {
 public:
  enum class Mode { garbage, close, silent };
  explicit FakeServer(Mode mode) : mode_(mode) {
    fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof a;
    if (::bind(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 || ::listen(fd_, 4) != 0 ||
        ::getsockname(fd_, reinterpret_cast<sockaddr*>(&a), &len) != 0) {
      throw std::runtime_error("fake server: cannot listen");
    }
    port_ = ntohs(a.sin_port);
    thread_ = std::thread([this] { serve(); });
  }
  ~FakeServer() {
    stop_ = true;
    ::shutdown(fd_, SHUT_RDWR);
    thread_.join();
    ::close(fd_);
  }
  std::string url() const { return "http://127.0.0.1:" + std::to_string(port_) + "/pkix/"; }

 private:
  void serve() {
    while (!stop_) {
      const int c = ::accept4(fd_, nullptr, nullptr, SOCK_CLOEXEC);
      if (c < 0) return;
      char buf[4096];
      if (mode_ != Mode::close) (void)::recv(c, buf, sizeof buf, 0);
      if (mode_ == Mode::garbage) {
        std::mt19937 rng(42);
        std::string body(512, '\0');
        for (auto& ch : body) ch = static_cast<char>(rng());
        const std::string reply = "HTTP/1.0 200 OK\r\nContent-Type: application/pkixcmp\r\nContent-Length: " +
                                  std::to_string(body.size()) + "\r\n\r\n" + body;
        (void)::send(c, reply.data(), reply.size(), MSG_NOSIGNAL);
      } else if (mode_ == Mode::silent) {
        while (!stop_ && ::recv(c, buf, sizeof buf, 0) > 0) {
        }
      }
      ::close(c);
    }
  }
  Mode mode_;
  int fd_ = -1, port_ = 0;
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

TEST_F(CmpExchange, GarbageFromTheServer) {
  lab::MockCmpServer server(ca_mock());  // only for the request's shape
  for (auto mode : {FakeServer::Mode::garbage, FakeServer::Mode::close, FakeServer::Mode::silent}) {
    FakeServer fake(mode);
    cmp::Request req = kur(server);
    req.server_url = fake.url();
    req.message_timeout = 2s;
    req.total_timeout = 10s;
    const auto start = std::chrono::steady_clock::now();
    const cmp::Result r = cmp::exchange(req);
    const double took = seconds_since(start);
    EXPECT_FALSE(r.ok);
    EXPECT_FALSE(r.error.empty());
    EXPECT_TRUE(r.cert_pem.empty());
    EXPECT_TRUE(r.failed_at == "transfer" || r.failed_at == "other") << describe(r);
    EXPECT_LT(took, 5.0);
    std::cout << "fake server mode " << static_cast<int>(mode) << " (" << took << " s): " << describe(r) << "\n";
  }
}

// Exchanges at once on worker threads, as ndsipd runs renewals: each its own context, log and
// error queue. One mock each: the mock keeps one transaction at a time.
TEST_F(CmpExchange, ConcurrentExchanges) {
  std::vector<std::unique_ptr<lab::MockCmpServer>> servers;
  for (int i = 0; i < 4; ++i) servers.push_back(std::make_unique<lab::MockCmpServer>(ca_mock()));
  std::vector<cmp::Request> requests;
  for (auto& s : servers) requests.push_back(kur(*s));
  std::vector<cmp::Result> results(servers.size());
  std::vector<std::thread> threads;
  for (std::size_t i = 0; i < servers.size(); ++i) {
    threads.emplace_back([&, i] { results[i] = cmp::exchange(requests[i]); });
  }
  for (auto& t : threads) t.join();
  for (std::size_t i = 0; i < servers.size(); ++i) {
    EXPECT_TRUE(results[i].ok) << describe(results[i], servers[i].get());
    EXPECT_EQ(results[i].cert_pem, read_file(path("new.pem")));
  }
  EXPECT_EQ(accept_calls_, 4);
}

}  // namespace
