// `ndsipctl enrol` (a host's first certificate over CMPv2, TS 33.310 initial request), run as
// a child process against real CMP servers on loopback: OpenSSL's own mock (`openssl cmp
// -port`, a fixed answer, so the new key comes from --new-key) and the test CA
// (lab/cmp_test_ca.hpp, which issues from the request, so a generated key is certified).
// Checked: exit codes, what stdout and stderr say, and the files: written exactly where asked
// (or where ndsipd's settings file says), key mode 0600, passing the TS 33.310 checks; and
// for every refusal (the CA's, the transfer's, the response's protection, each TS 33.310 rule
// on the issued certificate) nothing written, or an existing certificate left byte for byte.
// The enrolment secret never appears in any output.
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <openssl/cmp.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iterator>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include "certs/checks.hpp"
#include "certs/test_pki.hpp"
#include "lab/cmp_mock_server.hpp"
#include "lab/loopback_port.hpp"
#include "lab/cmp_test_ca.hpp"
#include "lab/process.hpp"

using namespace ndsip;
using namespace std::chrono_literals;
using certs::testing::CertSpec;
using certs::testing::make_cert;
using certs::testing::make_key;
namespace fs = std::filesystem;

namespace {

const std::string kIdentity = "node-a.operator-a.example";
const std::string kReference = "node-a-ref";
// Distinctive, so that any appearance in an output is found (case 9).
const std::string kSecret = "Zebra7f3a91-enrolment-SECRET";
const std::string kWrongSecret = "Okapi55c0d2-wrong-SECRET";
const long kNewSerial = 0x5EC0DE;  // the certificate the mock returns: "serial 5EC0DE"
// What OpenSSL's mock logs for every request it gets.
const std::string kMockReceived = "Received request";

struct TempDir {
  std::string path;
  TempDir() {
    char tmpl[] = "/tmp/ndsip-cmp-enrol-XXXXXX";
    path = ::mkdtemp(tmpl);
  }
  ~TempDir() {
    if (!::getenv("NDSIP_KEEP_TEST_DIR")) fs::remove_all(path);
  }
};

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

void write_text(const std::string& path, const std::string& text, fs::perms mode) {
  {
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out << text;
  }
  fs::permissions(path, mode, fs::perm_options::replace);
}

unsigned mode_of(const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) return 0;
  return st.st_mode & 07777;
}

bool contains(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }

std::vector<std::string> listing(const std::string& dir) {
  std::vector<std::string> names;
  for (const auto& e : fs::directory_iterator(dir)) names.push_back(e.path().filename().string());
  std::sort(names.begin(), names.end());
  return names;
}

double seconds_since(std::chrono::steady_clock::time_point t) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t).count();
}

// A loopback port that nothing listens on.
int unused_port() { return lab::free_loopback_port(); }

CertSpec spec(const std::string& cn, const std::string& san, bool ca, long serial) {
  CertSpec s;
  s.cn = cn;
  s.san = san;
  s.ca = ca;
  s.serial = serial;
  return s;
}

// A self-signed CA certificate with a subjectKeyIdentifier: the test CA puts an
// authorityKeyIdentifier into what it issues, and OpenSSL cannot make one without it.
certs::Cert make_ca_cert(const std::string& cn, EVP_PKEY* key, long serial) {
  certs::Cert c = make_cert(spec(cn, "", true, serial), key, nullptr, nullptr);
  X509V3_CTX ctx;
  X509V3_set_ctx(&ctx, c.get(), c.get(), nullptr, nullptr, 0);
  X509_EXTENSION* e = X509V3_EXT_conf_nid(nullptr, &ctx, NID_subject_key_identifier, "hash");
  if (!e || X509_add_ext(c.get(), e, -1) != 1 || X509_sign(c.get(), key, EVP_sha256()) == 0) {
    X509_EXTENSION_free(e);
    throw std::runtime_error("CA certificate with a subjectKeyIdentifier");
  }
  X509_EXTENSION_free(e);
  return c;
}

struct Ran {
  int code = -1;
  std::string out, err;
};

std::ostream& operator<<(std::ostream& os, const Ran& r) {
  return os << "exit " << r.code << "\n--- stdout ---\n" << r.out << "--- stderr ---\n" << r.err;
}

// The operator's CA with its CMP signer; the node's new key and the certificate the mock
// returns for it; a vendor CA with a device certificate; another CA with a signer of its own;
// and the flawed certificates for the refusals. Every ndsipctl run's output is kept for the
// check that the secret never shows (TearDown).
class CmpEnrol : public ::testing::Test {
 protected:
  void SetUp() override {
    ca_key_ = make_key("p256");
    ca_ = make_ca_cert("Operator A CA", ca_key_.get(), 1);
    write("ca.pem", ca_.get());
    write_key("ca.key", ca_key_.get());
    auto signer_key = make_key("p256");
    write("signer.pem", make_cert(spec("Operator A CMP signer", "", false, 2), signer_key.get(), ca_.get(),
                                  ca_key_.get()).get());
    write_key("signer.key", signer_key.get());

    new_key_ = make_key("p256");
    write_key("new.key", new_key_.get());
    issue("new.pem", spec(kIdentity, kIdentity, false, kNewSerial), new_key_.get());

    auto vendor_ca_key = make_key("p256");
    auto vendor_ca = make_cert(spec("Vendor Factory CA", "", true, 5), vendor_ca_key.get(), nullptr, nullptr);
    write("vendor-ca.pem", vendor_ca.get());
    auto device_key = make_key("p256");
    auto device = make_cert(spec("device SN-0042", "", false, 6), device_key.get(), vendor_ca.get(),
                            vendor_ca_key.get());
    write_text(path("device-chain.pem"), cmp_pem(device.get()) + cmp_pem(vendor_ca.get()), fs::perms(0644));
    write_key("device.key", device_key.get());

    other_ca_key_ = make_key("p256");
    other_ca_ = make_cert(spec("Someone Else CA", "", true, 7), other_ca_key_.get(), nullptr, nullptr);
    write("other-ca.pem", other_ca_.get());
    auto other_signer_key = make_key("p256");
    write("other-signer.pem", make_cert(spec("Someone Else CMP signer", "", false, 8), other_signer_key.get(),
                                        other_ca_.get(), other_ca_key_.get()).get());
    write_key("other-signer.key", other_signer_key.get());

    // The flaws, one each; everything else as new.pem.
    issue("for-other-identity.pem", spec(kIdentity, "node-b.operator-a.example", false, 0x0B), new_key_.get());
    auto other_key = make_key("p256");
    issue("for-other-key.pem", spec(kIdentity, kIdentity, false, 0x0C), other_key.get());
    CertSpec sha1 = spec(kIdentity, kIdentity, false, 0x0D);
    sha1.digest = EVP_sha1();
    issue("sha1.pem", sha1, new_key_.get());
    CertSpec expired = spec(kIdentity, kIdentity, false, 0x0E);
    expired.not_before = -86400 * 30;
    expired.not_after = -86400;
    issue("expired.pem", expired, new_key_.get());
    CertSpec future = spec(kIdentity, kIdentity, false, 0x0F);
    future.not_before = 86400;
    future.not_after = 86400 * 30;
    issue("not-yet-valid.pem", future, new_key_.get());
    write("other-ca-issued.pem", make_cert(spec(kIdentity, kIdentity, false, 0x10), new_key_.get(), other_ca_.get(),
                                           other_ca_key_.get()).get());

    // The certificate the host already has (case 7, and the refusals with --force).
    old_key_ = make_key("p256");
    write_key("old.key", old_key_.get());
    issue("old.pem", spec(kIdentity, kIdentity, false, 0x01D), old_key_.get());

    write_text(path("secret"), kSecret + "\n", fs::perms(0600));
    write_text(path("wrong-secret"), kWrongSecret + "\n", fs::perms(0600));
  }

  void TearDown() override {
    // 9. The secret is never printed, whatever happened.
    for (const Ran& r : runs_) {
      for (const std::string& s : {kSecret, kWrongSecret}) {
        EXPECT_FALSE(contains(r.out, s)) << "secret on stdout:\n" << r;
        EXPECT_FALSE(contains(r.err, s)) << "secret on stderr:\n" << r;
      }
    }
  }

  std::string path(const std::string& name) const { return dir_.path + "/" + name; }
  static std::string cmp_pem(X509* cert) {
    BIO* bio = BIO_new(BIO_s_mem());
    PEM_write_bio_X509(bio, cert);
    char* data = nullptr;
    const long n = BIO_get_mem_data(bio, &data);
    std::string s(data, static_cast<std::size_t>(n));
    BIO_free(bio);
    return s;
  }
  void write(const std::string& name, X509* cert) const { certs::testing::write_cert(path(name), cert); }
  void write_key(const std::string& name, EVP_PKEY* key) const {
    certs::testing::write_key(path(name), key);
    fs::permissions(path(name), fs::perms(0600), fs::perm_options::replace);
  }
  void issue(const std::string& name, const CertSpec& s, EVP_PKEY* key) const {
    write(name, make_cert(s, key, ca_.get(), ca_key_.get()).get());
  }

  // A fresh empty directory for one run's output files.
  std::string out_dir() {
    const std::string d = path("out-" + std::to_string(++outs_));
    fs::create_directory(d);
    return d;
  }

  // ndsipctl with `args`: stdout and stderr apart.
  Ran ctl(const std::vector<std::string>& args) {
    std::vector<std::string> argv{NDSIP_CTL};
    argv.insert(argv.end(), args.begin(), args.end());
    lab::proc::RunOptions o;
    o.timeout = 120s;
    o.stdout_file = path("stdout-" + std::to_string(++outs_));
    Ran r;
    r.code = lab::proc::run(argv, &r.err, o);
    r.out = read_file(o.stdout_file);
    runs_.push_back(r);
    return r;
  }

  // The common part of an enrolment command line.
  std::vector<std::string> enrol(const std::string& url, const std::string& cert, const std::string& key) const {
    return {"enrol", "--server", url, "--trusted", path("ca.pem"), "--identity", kIdentity, "--ca", path("ca.pem"),
            "--cert", cert, "--key", key, "--timeout", "30"};
  }
  std::vector<std::string> pbm(const std::string& secret_file = "") const {
    return {"--reference", kReference, "--secret-file", secret_file.empty() ? path("secret") : secret_file};
  }
  std::vector<std::string> vendor() const {
    return {"--vendor-cert", path("device-chain.pem"), "--vendor-key", path("device.key")};
  }
  std::vector<std::string> with_new_key() const { return {"--new-key", path("new.key")}; }

  // The mock as the operator's CA runs it for an IR with a reference and secret: answers
  // MAC'd with the secret, `rsp_cert` returned with the CA as extraCerts.
  lab::MockCmpOptions pbm_mock(const std::string& rsp_cert = "new.pem") const {
    lab::MockCmpOptions o;
    o.dir = dir_.path;
    o.srv_ref = kReference;
    o.srv_secret = kSecret;
    o.srv_trusted = path("ca.pem");
    o.rsp_cert = path(rsp_cert);
    o.rsp_extracerts = path("ca.pem");
    return o;
  }
  // For an IR signed with the vendor certificate: answers signed by the CA's CMP signer.
  lab::MockCmpOptions vendor_mock() const {
    lab::MockCmpOptions o;
    o.dir = dir_.path;
    o.srv_cert = path("signer.pem");
    o.srv_key = path("signer.key");
    o.srv_trusted = path("vendor-ca.pem");
    o.rsp_cert = path("new.pem");
    o.rsp_extracerts = path("ca.pem");
    return o;
  }

  // Expects the certificate mock returned (new.pem) and the key from --new-key at the paths.
  void expect_enrolled(const std::string& cert, const std::string& key) {
    EXPECT_EQ(read_file(cert), read_file(path("new.pem")));
    EXPECT_EQ(read_file(key), read_file(path("new.key")));
    EXPECT_EQ(mode_of(key), 0600u);
    const certs::CheckResult c =
        certs::check_credentials(certs::CredentialPaths{cert, key, path("ca.pem"), ""}, kIdentity, std::time(nullptr));
    for (const auto& p : c.problems) ADD_FAILURE() << p.to_string();
  }

  TempDir dir_;
  certs::Key ca_key_, new_key_, other_ca_key_, old_key_;
  certs::Cert ca_, other_ca_;
  int outs_ = 0;
  std::vector<Ran> runs_;
};

std::vector<std::string> operator+(std::vector<std::string> a, const std::vector<std::string>& b) {
  a.insert(a.end(), b.begin(), b.end());
  return a;
}

// 1. Reference and secret (PBM), the new key from a file: the certificate and key are
// written, the key 0600, and they pass ndsipd's own checks.
TEST_F(CmpEnrol, SharedSecretWritesCertificateAndKey) {
  lab::MockCmpServer server(pbm_mock());
  const std::string out = out_dir(), cert = out + "/node-a.pem", key = out + "/node-a.key";
  const auto start = std::chrono::steady_clock::now();
  const Ran r = ctl(enrol(server.url(), cert, key) + pbm() + with_new_key());
  std::cout << "enrol took " << seconds_since(start) << " s\n" << r << "\n";
  ASSERT_EQ(r.code, 0) << r << "\n--- mock log ---\n" << server.log();
  expect_enrolled(cert, key);
  EXPECT_EQ(mode_of(cert), 0644u);
  EXPECT_TRUE(contains(r.out, "enrolled " + kIdentity + ": serial 5EC0DE, valid until ")) << r;
  EXPECT_TRUE(contains(r.out, "key ec:P-256")) << r;
  EXPECT_TRUE(contains(r.out, "certificate " + cert + "\n")) << r;
  EXPECT_TRUE(contains(r.out, "key         " + key + " (mode 0600)")) << r;
  EXPECT_EQ(r.err, "");
  EXPECT_EQ(listing(out), (std::vector<std::string>{"node-a.key", "node-a.pem"}));
}

// 2. The paths from ndsipd's settings file, among settings enrol does not know (some with
// names that end like the ones it reads).
TEST_F(CmpEnrol, PathsFromNdsipdSettingsFile) {
  lab::MockCmpServer server(pbm_mock());
  const std::string out = out_dir(), cert = out + "/x509/gms-a.pem", key = out + "/private/gms-a.pem";
  fs::create_directory(out + "/x509");
  fs::create_directory(out + "/private");
  const std::string conf = path("ndsipd.conf");
  write_text(conf,
             "# ndsipd's settings\n"
             "node = gms-a\n"
             "vici = unix:///var/run/charon.vici\n"
             "cert = " + cert + "\n"
             "key = " + key + "\n"
             "ca = " + path("ca.pem") + "\n"
             "#crl-dir = /etc/swanctl/x509crl\n"
             "poll-interval = 10s\n"
             "black-hole-after = 30s\n"
             "etcd-cert = " + out + "/etcd-client.pem\n"
             "etcd-key = " + out + "/etcd-client.key\n"
             "cmp-server = http://ca.operator-a.example/pkix/\n",
             fs::perms(0644));
  const Ran r = ctl(std::vector<std::string>{"enrol", "--server", server.url(), "--trusted", path("ca.pem"),
                                            "--identity", kIdentity, "--config", conf, "--timeout", "30"} +
                    pbm() + with_new_key());
  ASSERT_EQ(r.code, 0) << r << "\n--- mock log ---\n" << server.log();
  expect_enrolled(cert, key);
  EXPECT_TRUE(contains(r.out, "certificate " + cert + "\n")) << r;
  EXPECT_TRUE(contains(r.out, "key         " + key + " (mode 0600)")) << r;
  // Exactly there, nowhere else.
  EXPECT_EQ(listing(out), (std::vector<std::string>{"private", "x509"}));
  EXPECT_EQ(listing(out + "/x509"), (std::vector<std::string>{"gms-a.pem"}));
  EXPECT_EQ(listing(out + "/private"), (std::vector<std::string>{"gms-a.pem"}));
}

// 3. Authenticated with a vendor certificate (from a vendor CA the operator's CA trusts).
TEST_F(CmpEnrol, VendorCertificate) {
  lab::MockCmpServer server(vendor_mock());
  const std::string out = out_dir(), cert = out + "/node-a.pem", key = out + "/node-a.key";
  const Ran r = ctl(enrol(server.url(), cert, key) + vendor() + with_new_key());
  ASSERT_EQ(r.code, 0) << r << "\n--- mock log ---\n" << server.log();
  expect_enrolled(cert, key);
  EXPECT_TRUE(contains(r.out, "serial 5EC0DE")) << r;
}

// 4. A key generated by ndsipctl, certified by a CA that issues from the request: the key
// type asked for (and the default), the certificate's public key is the key file's.
class CmpEnrolGeneratedKey : public CmpEnrol {
 protected:
  // Enrols with `key_type` ("" for the default); returns the run, the files in *cert, *key.
  Ran enrol_generated(const std::string& key_type, std::string* cert, std::string* key) {
    lab::CmpTestCa::Options o;
    o.ca_cert_pem_file = path("ca.pem");
    o.ca_key_pem_file = path("ca.key");
    o.signer_cert_file = path("signer.pem");
    o.signer_key_file = path("signer.key");
    o.trusted_file = path("ca.pem");
    o.reference = kReference;
    o.secret = kSecret;
    ca_server_ = std::make_unique<lab::CmpTestCa>(o);
    const std::string out = out_dir();
    *cert = out + "/node-a.pem";
    *key = out + "/node-a.key";
    std::vector<std::string> args = enrol(ca_server_->url(), *cert, *key) + pbm();
    if (!key_type.empty()) args = args + std::vector<std::string>{"--key-type", key_type};
    const auto start = std::chrono::steady_clock::now();
    Ran r = ctl(args);
    std::cout << "enrol (" << (key_type.empty() ? "default" : key_type) << ") took " << seconds_since(start)
              << " s\n";
    return r;
  }

  void expect_certified(const std::string& cert, const std::string& key, const std::string& described) {
    auto certs_in_file = certs::parse_certificates(read_file(cert));
    ASSERT_EQ(certs_in_file.size(), 1u);
    X509* c = certs_in_file.front().get();
    const certs::Key k = certs::parse_private_key(read_file(key));
    ASSERT_TRUE(k);
    EXPECT_EQ(EVP_PKEY_eq(X509_get0_pubkey(c), k.get()), 1) << "the certificate is for another key";
    const certs::CertificateInfo info = certs::describe(c);
    EXPECT_EQ(info.key, described);
    EXPECT_EQ(info.dns_names, std::vector<std::string>{kIdentity});
    EXPECT_EQ(mode_of(key), 0600u);
    ASSERT_EQ(ca_server_->issued().size(), 1u);
    EXPECT_EQ(ca_server_->issued().front(), read_file(cert));
    const certs::CheckResult checked =
        certs::check_credentials(certs::CredentialPaths{cert, key, path("ca.pem"), ""}, kIdentity, std::time(nullptr));
    for (const auto& p : checked.problems) ADD_FAILURE() << p.to_string();
    // Not a key someone else had: neither the mock's nor the old one.
    EXPECT_NE(read_file(key), read_file(path("new.key")));
  }

  std::unique_ptr<lab::CmpTestCa> ca_server_;
};

TEST_F(CmpEnrolGeneratedKey, EcP384AsAsked) {
  std::string cert, key;
  const Ran r = enrol_generated("ec:P-384", &cert, &key);
  ASSERT_EQ(r.code, 0) << r;
  expect_certified(cert, key, "ECDSA P-384");
  EXPECT_TRUE(contains(r.out, "key ec:P-384")) << r;
}

TEST_F(CmpEnrolGeneratedKey, DefaultIsEcP256) {
  std::string cert, key;
  const Ran r = enrol_generated("", &cert, &key);
  ASSERT_EQ(r.code, 0) << r;
  expect_certified(cert, key, "ECDSA P-256");
  EXPECT_TRUE(contains(r.out, "key ec:P-256")) << r;
}

// 5. The CA says "waiting" twice (checkAfter 1 s): ndsipctl polls and gets the certificate.
TEST_F(CmpEnrol, PollsUntilIssued) {
  lab::MockCmpOptions o = pbm_mock();
  o.poll_count = 2;
  o.check_after = 1;
  lab::MockCmpServer server(o);
  const std::string out = out_dir(), cert = out + "/node-a.pem", key = out + "/node-a.key";
  const auto start = std::chrono::steady_clock::now();
  const Ran r = ctl(enrol(server.url(), cert, key) + pbm() + with_new_key());
  const double took = seconds_since(start);
  std::cout << "enrol with polling took " << took << " s\n";
  ASSERT_EQ(r.code, 0) << r << "\n--- mock log ---\n" << server.log();
  expect_enrolled(cert, key);
  EXPECT_GE(took, 1.9) << "two pollReps with checkAfter 1 s";
}

// 6. Refusals: exit 1, the reason on stderr, "nothing was written", and no file at the
// paths; with a certificate already there and --force, the old files as they were.
struct Refusal {
  std::string name;
  std::vector<std::string> expect_in_stderr;
};
// What ctest shows for the parameter (not gtest's dump of the bytes).
std::ostream& operator<<(std::ostream& os, const Refusal& r) { return os << r.name; }

class CmpEnrolRefused : public CmpEnrol, public ::testing::WithParamInterface<Refusal> {
 protected:
  // The server for this refusal and the command line's authentication; the URL in *url.
  std::unique_ptr<lab::MockCmpServer> server_for(const std::string& name, std::vector<std::string>* auth) {
    *auth = pbm();
    lab::MockCmpOptions o = pbm_mock();
    if (name == "WrongSecret") {
      *auth = pbm(path("wrong-secret"));
    } else if (name == "CaRejects") {
      o.pkistatus = OSSL_CMP_PKISTATUS_rejection;
      o.failure = OSSL_CMP_PKIFAILUREINFO_badPOP;
      o.status_string = "proof of possession failed";
    } else if (name == "CaSendsError") {
      o.send_error = true;
    } else if (name == "Unreachable") {
      return nullptr;
    } else if (name == "UntrustedSigner") {
      *auth = vendor();
      o = vendor_mock();
      o.srv_cert = path("other-signer.pem");
      o.srv_key = path("other-signer.key");
      o.rsp_extracerts = path("other-ca.pem");
    } else if (name == "OtherIdentity") {
      o.rsp_cert = path("for-other-identity.pem");
    } else if (name == "OtherKey") {
      o.rsp_cert = path("for-other-key.pem");
    } else if (name == "Sha1") {
      o.rsp_cert = path("sha1.pem");
    } else if (name == "Expired") {
      o.rsp_cert = path("expired.pem");
    } else if (name == "NotYetValid") {
      o.rsp_cert = path("not-yet-valid.pem");
    } else if (name == "OtherCa") {
      o.rsp_cert = path("other-ca-issued.pem");
    } else {
      ADD_FAILURE() << "unknown refusal " << name;
    }
    return std::make_unique<lab::MockCmpServer>(o);
  }

  // One attempt; `existing`: the old certificate and key are at the paths, and --force given.
  void attempt(bool existing) {
    const Refusal& p = GetParam();
    SCOPED_TRACE(existing ? "with an existing certificate and --force" : "into an empty directory");
    std::vector<std::string> auth;
    const auto server = server_for(p.name, &auth);
    const std::string url =
        server ? server->url() : "http://127.0.0.1:" + std::to_string(unused_port()) + "/pkix/";
    const std::string out = out_dir(), cert = out + "/node-a.pem", key = out + "/node-a.key";
    if (existing) {
      fs::copy_file(path("old.pem"), cert);
      fs::permissions(cert, fs::perms(0640), fs::perm_options::replace);  // not what enrol writes (0644)
      fs::copy_file(path("old.key"), key);
      fs::permissions(key, fs::perms(0600), fs::perm_options::replace);
    }
    std::vector<std::string> args = enrol(url, cert, key) + auth + with_new_key();
    if (existing) args.push_back("--force");
    const auto start = std::chrono::steady_clock::now();
    const Ran r = ctl(args);
    const double took = seconds_since(start);
    std::cout << p.name << (existing ? " (--force)" : "") << " took " << took << " s; stderr:\n" << r.err;
    EXPECT_EQ(r.code, 1) << r << (server ? "\n--- mock log ---\n" + server->log() : "");
    for (const std::string& s : p.expect_in_stderr) EXPECT_TRUE(contains(r.err, s)) << "want \"" << s << "\"\n" << r;
    EXPECT_TRUE(contains(r.err, "nothing was written")) << r;
    EXPECT_EQ(r.out, "");
    if (existing) {
      EXPECT_EQ(read_file(cert), read_file(path("old.pem")));
      EXPECT_EQ(read_file(key), read_file(path("old.key")));
      EXPECT_EQ(mode_of(cert), 0640u);
      EXPECT_EQ(mode_of(key), 0600u);
      EXPECT_EQ(listing(out), (std::vector<std::string>{"node-a.key", "node-a.pem"}));
    } else {
      EXPECT_FALSE(fs::exists(cert));
      EXPECT_FALSE(fs::exists(key));
      EXPECT_TRUE(listing(out).empty()) << "left behind: " << listing(out).front();
    }
  }
};

TEST_P(CmpEnrolRefused, NothingWritten) { attempt(false); }
TEST_P(CmpEnrolRefused, ExistingLeftAlone) { attempt(true); }

INSTANTIATE_TEST_SUITE_P(
    Refusals, CmpEnrolRefused,
    ::testing::Values(
        Refusal{"WrongSecret", {"not protected with our shared secret"}},
        Refusal{"CaRejects", {"the CA refused", "rejection", "badPOP", "proof of possession failed"}},
        Refusal{"CaSendsError", {"the CA refused"}},
        Refusal{"Unreachable", {"cannot reach the CMP server http://127.0.0.1:"}},
        Refusal{"UntrustedSigner", {"not protected by a trusted certificate"}},
        Refusal{"OtherIdentity", {"certificate refused", "[san]", "node-a.operator-a.example"}},
        Refusal{"OtherKey", {"certificate refused", "does not match"}},
        Refusal{"Sha1", {"certificate refused", "[signature]"}},
        Refusal{"Expired", {"certificate refused", "[expired]"}},
        Refusal{"NotYetValid", {"certificate refused", "[not-yet-valid]"}},
        Refusal{"OtherCa", {"certificate refused", "[chain]"}}),
    [](const auto& p) { return p.param.name; });

// 7. A certificate already at the path: not replaced without --force (and the CA not asked);
// with --force and a good answer, replaced.
TEST_F(CmpEnrol, ExistingCertificateNeedsForce) {
  lab::MockCmpServer server(pbm_mock());
  const std::string out = out_dir(), cert = out + "/node-a.pem", key = out + "/node-a.key";
  fs::copy_file(path("old.pem"), cert);
  fs::permissions(cert, fs::perms(0640), fs::perm_options::replace);
  fs::copy_file(path("old.key"), key);
  fs::permissions(key, fs::perms(0600), fs::perm_options::replace);

  const Ran refused = ctl(enrol(server.url(), cert, key) + pbm() + with_new_key());
  EXPECT_EQ(refused.code, 1) << refused;
  EXPECT_TRUE(contains(refused.err, cert + " already holds a certificate")) << refused;
  EXPECT_TRUE(contains(refused.err, "--force")) << refused;
  EXPECT_EQ(refused.out, "");
  EXPECT_EQ(read_file(cert), read_file(path("old.pem")));
  EXPECT_EQ(read_file(key), read_file(path("old.key")));
  EXPECT_EQ(mode_of(cert), 0640u);
  EXPECT_EQ(mode_of(key), 0600u);
  EXPECT_FALSE(contains(server.log(), kMockReceived)) << "the CA was asked:\n" << server.log();

  const Ran forced = ctl(enrol(server.url(), cert, key) + pbm() + with_new_key() + std::vector<std::string>{"--force"});
  ASSERT_EQ(forced.code, 0) << forced << "\n--- mock log ---\n" << server.log();
  expect_enrolled(cert, key);
  EXPECT_TRUE(contains(forced.out, "serial 5EC0DE")) << forced;
  EXPECT_TRUE(contains(server.log(), kMockReceived)) << server.log();
  EXPECT_EQ(listing(out), (std::vector<std::string>{"node-a.key", "node-a.pem"}));
}

// 8. Usage errors and help.
TEST_F(CmpEnrol, UsageErrors) {
  lab::MockCmpServer server(pbm_mock());  // a good CA: had any of these gone ahead, it would have enrolled
  const std::string out = out_dir(), cert = out + "/node-a.pem", key = out + "/node-a.key";
  std::vector<std::string> no_server = enrol(server.url(), cert, key) + pbm() + with_new_key();
  no_server.erase(no_server.begin() + 1, no_server.begin() + 3);  // "--server URL"
  const Ran missing = ctl(no_server);
  EXPECT_EQ(missing.code, 64) << missing;
  EXPECT_TRUE(contains(missing.err, "--server URL is required")) << missing;

  const Ran both = ctl(enrol(server.url(), cert, key) + pbm() + vendor() + with_new_key());
  EXPECT_EQ(both.code, 64) << both;
  EXPECT_TRUE(contains(both.err, "either --reference and --secret-file, or --vendor-cert and --vendor-key")) << both;

  write_text(path("group-secret"), kSecret + "\n", fs::perms(0640));
  const Ran group = ctl(enrol(server.url(), cert, key) + pbm(path("group-secret")) + with_new_key());
  EXPECT_EQ(group.code, 1) << group;
  EXPECT_TRUE(contains(group.err, path("group-secret"))) << group;
  EXPECT_TRUE(contains(group.err, "chmod 600")) << group;
  EXPECT_TRUE(listing(out).empty());
  for (const Ran* r : {&missing, &both, &group}) EXPECT_EQ(r->out, "") << *r;

  const Ran help = ctl({"enrol", "--help"});
  EXPECT_EQ(help.code, 0) << help;
  EXPECT_TRUE(contains(help.out, "CMPv2")) << help;
  EXPECT_TRUE(contains(help.out, "--secret-file")) << help;
  const Ran renew = ctl({"renew", "--help"});
  EXPECT_EQ(renew.code, 0) << renew;
  EXPECT_TRUE(contains(renew.out, "CMPv2")) << renew;
  EXPECT_FALSE(contains(server.log(), kMockReceived)) << "the CA was asked:\n" << server.log();

  // The last command line with the secret file made owner-only: it enrols.
  fs::permissions(path("group-secret"), fs::perms(0600), fs::perm_options::replace);
  const Ran fixed = ctl(enrol(server.url(), cert, key) + pbm(path("group-secret")) + with_new_key());
  EXPECT_EQ(fixed.code, 0) << fixed << "\n--- mock log ---\n" << server.log();
  expect_enrolled(cert, key);
  EXPECT_TRUE(contains(server.log(), kMockReceived)) << server.log();
}

}  // namespace
