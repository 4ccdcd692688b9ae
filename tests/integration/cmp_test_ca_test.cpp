// The CMPv2 test CA (lab/cmp_test_ca.hpp) against a client that is not ours: OpenSSL's
// `openssl cmp`. An ir with a shared secret certifies a fresh key with the subject and SAN
// asked for; a kur signed with that certificate certifies another key with the same identity;
// a request signed by a certificate from another CA, or MACed with the wrong secret, is refused.
// Also: a kur asking for no SAN keeps the old one; non-CMP HTTP gets an HTTP error; with
// `netns` the CA listens inside that namespace (root only).
#include <gtest/gtest.h>

#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "lab/cmp_test_ca.hpp"
#include "lab/netns.hpp"
#include "lab/pki.hpp"
#include "lab/process.hpp"

using namespace ndsip;
namespace fs = std::filesystem;

namespace {

std::string read_file(const std::string& path) {
  std::ifstream in(path);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

std::string openssl(const std::vector<std::string>& args) {
  std::vector<std::string> argv{"openssl"};
  argv.insert(argv.end(), args.begin(), args.end());
  return lab::proc::run_checked(argv);
}

class CmpTestCaTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/ndsip-cmp-test-ca.XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    ca_ = lab::pki::make_ca(dir_ + "/ca", "CMP Test CA");
    // The CA certificate lacks keyUsage digitalSignature, which OpenSSL's client wants of
    // what signs the answers: a signer of its own, as a CA's RA would be.
    signer_ = lab::pki::issue(ca_, "cmp-signer.lab.test", dir_ + "/signer.key.pem", dir_ + "/signer.cert.pem");
    lab::CmpTestCa::Options o;
    o.ca_cert_pem_file = ca_.cert;
    o.ca_key_pem_file = ca_.key;
    o.signer_cert_file = signer_.cert;
    o.signer_key_file = signer_.key;
    o.trusted_file = ca_.cert;  // a kur is signed with a certificate this CA issued
    o.reference = "node-ref";
    o.secret = "enrolment-secret";
    server_ = std::make_unique<lab::CmpTestCa>(o);
  }
  void TearDown() override {
    server_.reset();
    if (!dir_.empty() && !::getenv("NDSIP_KEEP_TEST_DIR")) fs::remove_all(dir_);
  }

  // Runs `openssl cmp` against the server with the common options plus `args`; returns its
  // exit status, its output in *out.
  int cmp(const std::vector<std::string>& args, std::string* out) {
    std::vector<std::string> argv{"openssl", "cmp", "-server", server_->url(), "-msg_timeout", "20",
                                  "-total_timeout", "30"};
    argv.insert(argv.end(), args.begin(), args.end());
    return lab::proc::run(argv, out);
  }

  std::string new_key(const std::string& name) {
    const std::string path = dir_ + "/" + name;
    lab::pki::generate_key(path);
    return path;
  }

  // ir with PBM (-ref/-secret) for `key`: the issued certificate's path.
  std::string enrol(const std::string& key, const std::string& cert) {
    std::string out;
    EXPECT_EQ(cmp({"-cmd", "ir", "-ref", "node-ref", "-secret", "pass:enrolment-secret", "-srvcert", signer_.cert,
                   "-newkey", key, "-subject", "/CN=node.lab.test", "-sans", "node.lab.test", "-certout", cert},
                  &out),
              0)
        << out;
    return cert;
  }

  static std::string public_key_of_key(const std::string& key) { return openssl({"pkey", "-in", key, "-pubout"}); }
  static std::string public_key_of_cert(const std::string& cert) {
    return openssl({"x509", "-in", cert, "-noout", "-pubkey"});
  }
  static std::string subject(const std::string& cert) {
    return openssl({"x509", "-in", cert, "-noout", "-subject", "-nameopt", "RFC2253"});
  }
  static std::string san(const std::string& cert) {
    return openssl({"x509", "-in", cert, "-noout", "-ext", "subjectAltName"});
  }
  static std::string serial(const std::string& cert) { return openssl({"x509", "-in", cert, "-noout", "-serial"}); }
  bool chains_to_ca(const std::string& cert) {
    return lab::proc::run({"openssl", "verify", "-CAfile", ca_.cert, cert}) == 0;
  }

  std::string dir_;
  lab::pki::Credential ca_, signer_;
  std::unique_ptr<lab::CmpTestCa> server_;
};

TEST_F(CmpTestCaTest, IrWithSharedSecretCertifiesTheNewKey) {
  const std::string key = new_key("node.key.pem");
  const std::string cert = enrol(key, dir_ + "/node.cert.pem");
  ASSERT_TRUE(fs::exists(cert));

  EXPECT_EQ(public_key_of_cert(cert), public_key_of_key(key));
  EXPECT_EQ(subject(cert), "subject=CN=node.lab.test\n");
  EXPECT_NE(san(cert).find("DNS:node.lab.test"), std::string::npos) << san(cert);
  EXPECT_TRUE(chains_to_ca(cert));
  const std::string ext = openssl({"x509", "-in", cert, "-noout", "-ext", "basicConstraints,keyUsage"});
  EXPECT_NE(ext.find("CA:FALSE"), std::string::npos) << ext;
  EXPECT_NE(ext.find("Digital Signature"), std::string::npos) << ext;

  ASSERT_EQ(server_->issued().size(), 1u);
  EXPECT_EQ(server_->issued().front(), read_file(cert));
  EXPECT_EQ(server_->requests(), 2u);  // ir, certConf
  EXPECT_NE(server_->url().find("http://127.0.0.1:"), std::string::npos);
}

TEST_F(CmpTestCaTest, KurRenewsForANewKeyWithTheSameIdentity) {
  const std::string old_key = new_key("node.key.pem");
  const std::string old_cert = enrol(old_key, dir_ + "/node.cert.pem");
  const std::string key = new_key("renewed.key.pem"), cert = dir_ + "/renewed.cert.pem";

  std::string out;
  ASSERT_EQ(cmp({"-cmd", "kur", "-cert", old_cert, "-key", old_key, "-trusted", ca_.cert, "-newkey", key,
                 "-certout", cert},
                &out),
            0)
      << out;
  EXPECT_EQ(public_key_of_cert(cert), public_key_of_key(key));
  EXPECT_NE(public_key_of_cert(cert), public_key_of_cert(old_cert));
  EXPECT_EQ(subject(cert), subject(old_cert));
  EXPECT_EQ(san(cert), san(old_cert));
  EXPECT_NE(serial(cert), serial(old_cert));
  EXPECT_TRUE(chains_to_ca(cert));
  EXPECT_EQ(server_->issued().size(), 2u);
  EXPECT_EQ(server_->requests(), 4u);
}

// A kur whose template asks for no subjectAltName (-san_nodefault) keeps the old certificate's,
// taken from the request's protecting certificate.
TEST_F(CmpTestCaTest, KurWithoutSanKeepsTheOldOne) {
  const std::string old_key = new_key("node.key.pem");
  const std::string old_cert = enrol(old_key, dir_ + "/node.cert.pem");
  const std::string key = new_key("renewed.key.pem"), cert = dir_ + "/renewed.cert.pem";

  std::string out;
  ASSERT_EQ(cmp({"-cmd", "kur", "-cert", old_cert, "-key", old_key, "-trusted", ca_.cert, "-newkey", key,
                 "-san_nodefault", "-certout", cert},
                &out),
            0)
      << out;
  EXPECT_EQ(public_key_of_cert(cert), public_key_of_key(key));
  EXPECT_NE(san(cert).find("DNS:node.lab.test"), std::string::npos) << san(cert);
}

TEST_F(CmpTestCaTest, RequestSignedByAnotherCaIsRefused) {
  const auto rogue_ca = lab::pki::make_ca(dir_ + "/rogue", "Rogue CA");
  const auto rogue = lab::pki::issue(rogue_ca, "node.lab.test", dir_ + "/rogue.key.pem", dir_ + "/rogue.cert.pem");
  for (const std::string cmd : {"kur", "ir"}) {
    std::string out;
    EXPECT_NE(cmp({"-cmd", cmd, "-cert", rogue.cert, "-key", rogue.key, "-trusted", ca_.cert, "-newkey",
                   new_key(cmd + ".key.pem"), "-subject", "/CN=node.lab.test", "-certout", dir_ + "/" + cmd + ".pem"},
                  &out),
              0)
        << cmd << ": " << out;
    EXPECT_NE(out.find("rejection"), std::string::npos) << cmd << ": " << out;  // the server's answer
    EXPECT_FALSE(fs::exists(dir_ + "/" + cmd + ".pem")) << cmd;
  }
  EXPECT_TRUE(server_->issued().empty());
  EXPECT_EQ(server_->requests(), 2u);  // both answered (with an error message)
}

TEST_F(CmpTestCaTest, WrongSecretOrReferenceIsRefused) {
  for (const auto& [ref, secret] : {std::pair{"node-ref", "pass:wrong"}, {"other-ref", "pass:enrolment-secret"}}) {
    std::string out;
    EXPECT_NE(cmp({"-cmd", "ir", "-ref", ref, "-secret", secret, "-srvcert", signer_.cert, "-newkey",
                   new_key("node.key.pem"), "-subject", "/CN=node.lab.test", "-certout", dir_ + "/node.cert.pem"},
                  &out),
              0)
        << ref << ": " << out;
  }
  // The refusal of a wrong MAC is MACed with the right secret, which that client cannot check;
  // so the evidence is here: both handled, nothing issued.
  EXPECT_TRUE(server_->issued().empty());
  EXPECT_EQ(server_->requests(), 2u);
}

// The hand-written HTTP side: what is not a POST of a CMP message gets an HTTP error.
TEST_F(CmpTestCaTest, NonCmpHttpIsAnsweredWithAnError) {
  auto status = [&](const std::vector<std::string>& args) {
    std::vector<std::string> argv{"curl", "-s", "-o", "/dev/null", "-w", "%{http_code}", "--max-time", "10"};
    argv.insert(argv.end(), args.begin(), args.end());
    argv.push_back(server_->url());
    return lab::proc::run_checked(argv);
  };
  EXPECT_EQ(status({}), "405");  // GET
  EXPECT_EQ(status({"-H", "Content-Type: text/plain", "--data-binary", "x"}), "415");
  EXPECT_EQ(status({"-H", "Content-Type: application/pkixcmp", "--data-binary", "not DER"}), "400");
  EXPECT_EQ(status({"-H", "Content-Type: application/pkixcmp", "--data-binary", std::string(70000, 'x')}), "413");
  EXPECT_EQ(server_->requests(), 0u);
  // Still serving CMP after all that.
  enrol(new_key("node.key.pem"), dir_ + "/node.cert.pem");
  EXPECT_EQ(server_->issued().size(), 1u);
}

// With `netns` the server listens inside that namespace only (root: it makes one).
TEST_F(CmpTestCaTest, ListensInsideANamedNamespace) {
  if (::geteuid() != 0) GTEST_SKIP() << "needs root to create a network namespace";
  const std::string ns = "ndsip-cmp-" + std::to_string(::getpid());
  lab::netns::add(ns);
  struct Del {
    std::string ns;
    ~Del() { lab::netns::del(ns); }
  } del{ns};
  lab::netns::ip(ns, {"link", "set", "lo", "up"});
  lab::CmpTestCa::Options o;
  o.ca_cert_pem_file = ca_.cert;
  o.ca_key_pem_file = ca_.key;
  o.signer_cert_file = signer_.cert;
  o.signer_key_file = signer_.key;
  o.reference = "node-ref";
  o.secret = "enrolment-secret";
  o.netns = ns;
  lab::CmpTestCa inside(o);

  const std::string key = new_key("node.key.pem"), cert = dir_ + "/node.cert.pem";
  std::string out;
  const std::vector<std::string> ir{"openssl", "cmp", "-server", inside.url(), "-msg_timeout", "20", "-cmd", "ir",
                                    "-ref", "node-ref", "-secret", "pass:enrolment-secret", "-srvcert", signer_.cert,
                                    "-newkey", key, "-subject", "/CN=node.lab.test", "-certout", cert};
  std::vector<std::string> in_ns{"ip", "netns", "exec", ns};
  in_ns.insert(in_ns.end(), ir.begin(), ir.end());
  ASSERT_EQ(lab::proc::run(in_ns, &out), 0) << out;
  EXPECT_EQ(public_key_of_cert(cert), public_key_of_key(key));
  EXPECT_EQ(inside.issued().size(), 1u);
  // Not in this process's namespace (unless the port happens to be taken here too).
  // OpenSSL's client retries a refused connect until -msg_timeout: keep that short.
  std::vector<std::string> outside = ir;
  outside[5] = "3";  // after "-msg_timeout"
  EXPECT_NE(lab::proc::run(outside, &out), 0) << out;
  EXPECT_NE(out.find("connect"), std::string::npos) << out;  // refused, not some other failure
}

}  // namespace
