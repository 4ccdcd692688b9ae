// Certificate renewal over CMPv2 by ndsipd, with real charon daemons and real CMP servers in
// the lab: OpenSSL's `openssl cmp` mock server (a fixed certificate, polling, refusals,
// errors) and the test CA that issues from the request. A renewal rolls the tunnels over
// while traffic flows; no bad answer replaces the working credentials or drops a tunnel.
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <filesystem>
#include <future>
#include <iostream>
#include <thread>

#include "certs/x509.hpp"
#include "common/read_file.hpp"
#include "lab/cmp_mock_server.hpp"
#include "lab/cmp_test_ca.hpp"
#include "lab/pki.hpp"
#include "lab/process.hpp"
#include "ndsipd_fixture.hpp"

using namespace ndsip;
using ndsip::testing::Ndsipd;
using namespace std::chrono_literals;
using nlohmann::json;
namespace fs = std::filesystem;

namespace {

// Where gms's ndsipd finds its CA, in gms's namespace (its loopback): fixed, so a mock
// server restarted with other options is still where ndsipd was told.
constexpr int kCmpPort = 8829;
const std::string kCmpUrl = "http://127.0.0.1:" + std::to_string(kCmpPort) + "/pkix/";

std::string utc(std::time_t t) { return certs::format_time(t).substr(0, 19); }

std::string file(const std::string& path) { return common::read_file(path).value_or("<unreadable>"); }

// Whether two PEM files hold the same private key (whatever their PEM flavour).
bool same_key(const std::string& a, const std::string& b) {
  const certs::Key x = certs::parse_private_key(file(a)), y = certs::parse_private_key(file(b));
  return x && y && EVP_PKEY_eq(x.get(), y.get()) == 1;
}

class CmpRenewal : public Ndsipd {
 protected:
  lab::pki::Credential ca() const { return {lab_->ca_key_pem(), lab_->ca_cert_pem()}; }

  // gms and val1 with the lab's PKI, gms's ndsipd renewing at kCmpUrl; a CMP signer issued by
  // the lab CA (OpenSSL's client wants digitalSignature, which the lab CA lacks). `before`
  // runs once the PKI exists, before anything starts.
  void bring_up(std::vector<std::string> gms_flags, const std::function<void(lab::Host&)>& before = {}) {
    lab::Host& gms = add("gms");
    lab::Host& val1 = add("val1");
    lab_->make_pki();
    signer_ = lab::pki::issue(ca(), "cmp.lab.ndsip.test", lab_->workdir() + "/cmp-signer.key.pem",
                              lab_->workdir() + "/cmp-signer.cert.pem");
    if (before) before(gms);
    gms_flags.insert(gms_flags.begin(), {"--cmp-server", kCmpUrl, "--cmp-trusted", lab_->ca_cert_pem()});
    start(gms, gms_flags);
    start(val1);
    push_all(topology(false), "topology.json");
    ASSERT_TRUE(all_up(gms)) << why(gms);
  }

  lab::MockCmpOptions mock_options(const lab::Host& gms, const std::string& rsp_cert) {
    lab::MockCmpOptions o;
    o.dir = lab_->workdir();
    o.srv_cert = signer_.cert;
    o.srv_key = signer_.key;
    o.srv_trusted = lab_->ca_cert_pem();
    o.rsp_cert = rsp_cert;
    o.netns = gms.netns;
    o.port = kCmpPort;
    return o;
  }

  // The serial of gms's certificate in use: OpenSSL's mock answers a KUR only with a
  // certificate of the same issuer and serial (it takes it for the one being updated).
  std::string serial_of(const std::string& cert_path) {
    return certs::describe(certs::parse_certificates(file(cert_path)).front().get()).serial;
  }


  lab::pki::Credential signer_;
  std::unique_ptr<lab::CmpTestCa> test_ca_;
};

}  // namespace

TEST_F(CmpRenewal, RenewsWhileTrafficFlowsLosingAtMostOnePingAndTheLoopKeepsServing) {
  std::string next_key, next_cert;
  ASSERT_NO_FATAL_FAILURE(bring_up({"--cmp-new-key", lab_->workdir() + "/next.key.pem"}, [&](lab::Host& gms) {
    // The renewal the CA will hand out: the pre-staged key, a longer life, the old serial.
    next_key = lab_->workdir() + "/next.key.pem";
    next_cert = lab_->workdir() + "/next.cert.pem";
    lab::pki::IssueOptions o;
    o.serial = serial_of(gms.cert_pem);
    o.not_after = utc(std::time(nullptr) + 400 * 86400);
    lab::pki::issue(ca(), gms.fqdn, next_key, next_cert, o);
  }));
  lab::Host& gms = lab_->host("gms");
  lab::Host& val1 = lab_->host("val1");
  // The CA answers "waiting", then makes the client poll twice, 2 s apart.
  lab::MockCmpOptions o = mock_options(gms, next_cert);
  o.poll_count = 2;
  o.check_after = 2;
  lab::MockCmpServer mock(o);
  const json before = *tunnel(status(gms), "val1");
  const std::string old_not_after = certs(gms)["own"]["not_after"];

  int replies = -1;
  std::thread traffic([&] { replies = lab_->ping_replies(val1, gms.inner_addr, 60); });  // 12 s
  std::this_thread::sleep_for(1s);
  const auto asked = std::chrono::steady_clock::now();
  auto renewed = std::async(std::launch::async, [&] {
    std::string out;
    const int rc = ctl(gms, {"renew"}, &out);
    return std::make_pair(rc, out);
  });
  // While the CA keeps ndsipd waiting, ndsipd answers everything else at once.
  std::this_thread::sleep_for(1s);
  const auto t0 = std::chrono::steady_clock::now();
  const json during = status(gms);
  EXPECT_LT(std::chrono::steady_clock::now() - t0, 1s) << "status was slow during the exchange";
  EXPECT_EQ(during["credentials"]["renewal"]["in_progress"], true) << during["credentials"].dump(2);
  const auto [rc, out] = renewed.get();
  const auto answered = std::chrono::steady_clock::now();
  EXPECT_EQ(rc, 0) << out << lab_->ndsipd_log_tail(gms) << mock.log();
  EXPECT_GE(answered - asked, 2s) << "the CA's polling was not followed";
  // KUR ("waiting"), two pollReqs (the second answered with the certificate), certConf.
  std::size_t requests = 0;
  for (std::size_t at = 0; (at = mock.log().find("Received request", at)) != std::string::npos; ++at) ++requests;
  EXPECT_EQ(requests, 4u) << mock.log();
  EXPECT_NE(out.find("renewed: serial"), std::string::npos) << out;
  // The files: the CA's certificate, the pre-staged key, owner-only.
  EXPECT_EQ(file(gms.cert_pem), file(next_cert));
  EXPECT_TRUE(same_key(gms.key_pem, next_key));
  struct stat st {};
  ASSERT_EQ(::stat(gms.key_pem.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  // ndsipd adopted them and re-authenticated the IKE_SA with the new certificate.
  const bool reauthed = wait(gms, [&](const json& s) {
    const json* t = tunnel(s, "val1");
    return t && (*t)["state"] == "up" && (*t)["ike_uniqueid"] != before["ike_uniqueid"] &&
           s["credentials"].value("not_after", "") != old_not_after;
  }, 20s);
  traffic.join();
  EXPECT_TRUE(reauthed) << why(gms);
  EXPECT_GE(replies, 59) << "more than one ping lost during the renewal";
  // The figures docs and notes quote.
  std::cout << "[ figures  ] renew answered after " << std::chrono::duration<double>(answered - asked).count()
            << " s; " << replies << "/60 pings answered across the renewal\n";
  const json c = certs(gms);
  EXPECT_EQ(c["own"]["state"], "ok") << c.dump(2);
  EXPECT_EQ(c["own"]["renewal"]["last_attempt"]["result"], "renewed") << c.dump(2);
  EXPECT_EQ(c["own"]["renewal"]["last_attempt"]["trigger"], "asked by ndsipctl") << c.dump(2);
  // The next renewal is planned for the new certificate: in the future.
  EXPECT_TRUE(c["own"]["renewal"].contains("next")) << c.dump(2);
  EXPECT_GT(c["own"]["renewal"].value("next", ""), certs::format_time(std::time(nullptr))) << c.dump(2);
  const std::string log = lab_->ndsipd_log_tail(gms, 60);
  EXPECT_NE(log.find("certificate renewal: CA issued serial"), std::string::npos) << log;
  EXPECT_EQ(log.find("PRIVATE KEY"), std::string::npos) << "a key in the log";
}

TEST_F(CmpRenewal, NoBadAnswerReplacesTheWorkingCredentialsOrDropsTheTunnel) {
  std::string next_key;
  ASSERT_NO_FATAL_FAILURE(bring_up({"--cmp-new-key", lab_->workdir() + "/next.key.pem", "--cmp-timeout", "6s",
                                    "--cmp-retry-first", "10m", "--cmp-retry-max", "1h"},
                                   [&](lab::Host&) {
                                     next_key = lab_->workdir() + "/next.key.pem";
                                     lab::pki::generate_key(next_key);
                                   }));
  lab::Host& gms = lab_->host("gms");
  const std::string serial = serial_of(gms.cert_pem);
  const std::string cert_before = file(gms.cert_pem), key_before = file(gms.key_pem);
  const json tunnel_before = *tunnel(status(gms), "val1");
  const std::time_t now = std::time(nullptr);

  // A certificate as the CA might answer, for the pre-staged key unless `other_key`.
  int n = 0;
  auto answer = [&](lab::pki::IssueOptions o, const std::string& fqdn, bool other_key = false,
                    const lab::pki::Credential* issuer = nullptr) {
    const std::string base = lab_->workdir() + "/answer" + std::to_string(++n);
    std::string key = base + ".key.pem";
    if (!other_key) {
      fs::copy_file(next_key, key);
      o.reuse_key = true;
    }
    o.serial = serial;
    lab::pki::issue(issuer ? *issuer : ca(), fqdn, key, base + ".cert.pem", o);
    return base + ".cert.pem";
  };
  const std::string good = answer({}, gms.fqdn);
  // Another CA under the lab CA's very name: only the signature tells them apart.
  const lab::pki::Credential other_ca = lab::pki::make_ca(lab_->workdir() + "/other-ca", "ndsip lab CA");
  const lab::pki::Credential stranger = lab::pki::issue(other_ca, "cmp.lab.ndsip.test",
                                                        lab_->workdir() + "/stranger.key.pem",
                                                        lab_->workdir() + "/stranger.cert.pem");
  lab::pki::IssueOptions sha1, expired, early;
  sha1.digest = "sha1";
  expired.not_before = utc(now - 10 * 86400);
  expired.not_after = utc(now - 86400);
  early.not_before = utc(now + 86400);
  early.not_after = utc(now + 400 * 86400);

  struct Case {
    std::string name;
    std::function<lab::MockCmpOptions()> mock;  // nullptr: no server at all
    std::string failed_at, says;
  };
  auto with = [&](std::function<void(lab::MockCmpOptions&)> change) {
    return [&, change] {
      lab::MockCmpOptions o = mock_options(gms, good);
      change(o);
      return o;
    };
  };
  const std::vector<Case> cases = {
      {"CA unreachable", nullptr, "transfer", "cannot reach the CMP server"},
      {"error PKIStatus", with([](auto& o) { o.pkistatus = 2; o.failure = 9; }), "status", "badPOP"},
      {"error message", with([](auto& o) { o.send_error = true; }), "status", "rejection"},
      {"another identity", with([&](auto& o) { o.rsp_cert = answer({}, "someone-else.lab.ndsip.test"); }), "check",
       "[san]"},
      {"another key", with([&](auto& o) { o.rsp_cert = answer({}, gms.fqdn, true); }), "accept", "does not match"},
      {"SHA-1 signature", with([&](auto& o) { o.rsp_cert = answer(sha1, gms.fqdn); }), "check", "[signature]"},
      {"expired", with([&](auto& o) { o.rsp_cert = answer(expired, gms.fqdn); }), "check", "[expired]"},
      {"not yet valid", with([&](auto& o) { o.rsp_cert = answer(early, gms.fqdn); }), "check", "[not-yet-valid]"},
      {"another CA", with([&](auto& o) { o.rsp_cert = answer({}, gms.fqdn, false, &other_ca); }), "check", "[chain]"},
      {"not protected by the trusted CA", with([&](auto& o) { o.srv_cert = stranger.cert; o.srv_key = stranger.key; }),
       "protection", "not protected by a trusted certificate"},
      {"the CA keeps polling", with([](auto& o) { o.poll_count = 100; o.check_after = 2; }), "timeout",
       "total timeout"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    std::unique_ptr<lab::MockCmpServer> mock;
    if (c.mock) mock = std::make_unique<lab::MockCmpServer>(c.mock());
    std::string out;
    const int rc = ctl(gms, {"renew", "--json"}, &out);
    const json a = json::parse(out.substr(std::min(out.find('{'), out.size())), nullptr, false);
    EXPECT_EQ(rc, 1) << out;
    EXPECT_EQ(a.value("ok", true), false) << out;
    EXPECT_EQ(a.value("failed_at", ""), c.failed_at) << out << (mock ? mock->log() : "");
    EXPECT_NE(out.find(c.says), std::string::npos) << out;
    // The journal says it too, in the same words.
    const std::string log = lab_->ndsipd_log_tail(gms, 10);
    EXPECT_NE(log.find("certificate renewal failed, credentials unchanged: "), std::string::npos) << log;
    EXPECT_NE(log.find(c.says), std::string::npos) << log;
    // Nothing of it reached the files, the status says so, and the tunnel never moved.
    EXPECT_EQ(file(gms.cert_pem), cert_before);
    EXPECT_EQ(file(gms.key_pem), key_before);
    const json s = status(gms);
    EXPECT_EQ(s["credentials"]["renewal"]["last_attempt"]["result"], "failed") << s["credentials"].dump(2);
    EXPECT_EQ(s["credentials"]["state"], "ok") << s["credentials"].dump(2);
    const json* t = tunnel(s, "val1");
    ASSERT_TRUE(t);
    EXPECT_EQ((*t)["state"], "up");
    EXPECT_EQ((*t)["ike_uniqueid"], tunnel_before["ike_uniqueid"]);
  }
  // The certificate in use is young: the next attempt is its renewal point, not a retry.
  const json r = certs(gms)["own"]["renewal"];
  EXPECT_EQ(r["failures_in_a_row"], static_cast<int>(cases.size())) << r.dump(2);
  EXPECT_EQ(r.value("next_trigger", ""), "scheduled") << r.dump(2);
  EXPECT_EQ(lab_->ndsipd_log_tail(gms, 200).find("PRIVATE KEY"), std::string::npos);
  EXPECT_GE(lab_->ping_replies(lab_->host("val1"), gms.inner_addr, 3), 3);
  // And a good answer after all of them is taken.
  lab::MockCmpServer mock(mock_options(gms, good));
  std::string out;
  EXPECT_EQ(ctl(gms, {"renew"}, &out), 0) << out << mock.log();
  EXPECT_EQ(file(gms.cert_pem), file(good));
}

TEST_F(CmpRenewal, RenewsOnScheduleRetryingWhileTheCaIsAwayWithAKeyItGenerates) {
  lab::CmpTestCa::Options t;
  ASSERT_NO_FATAL_FAILURE(bring_up({"--cmp-renew-at", "70%", "--cmp-retry-first", "2s", "--cmp-retry-max", "4s",
                                    "--metrics-listen", "127.0.0.1:9474"},
                                   [&](lab::Host& gms) {
    // gms's certificate is at 75 % of its life: due for renewal the moment a topology names it.
    const std::time_t now = std::time(nullptr);
    lab::pki::IssueOptions o;
    o.reuse_key = true;
    o.not_before = utc(now - 30 * 86400);
    o.not_after = utc(now + 10 * 86400);
    lab::pki::issue(ca(), gms.fqdn, gms.key_pem, gms.cert_pem, o);
    t.ca_cert_pem_file = lab_->ca_cert_pem();
    t.ca_key_pem_file = lab_->ca_key_pem();
    t.signer_cert_file = signer_.cert;
    t.signer_key_file = signer_.key;
    t.trusted_file = lab_->ca_cert_pem();
    t.lifetime = 90 * 86400;
    t.netns = gms.netns;
    t.port = kCmpPort;
  }));
  lab::Host& gms = lab_->host("gms");
  const std::string key_before = file(gms.key_pem);
  // Nobody asks: the schedule does, and finds no CA; it retries, jittered and doubling.
  ASSERT_TRUE(wait(gms, [](const json& s) {
    return s["credentials"]["renewal"].value("failures_in_a_row", 0) >= 2 &&
           s["credentials"]["renewal"].value("next_trigger", "") == "retry";
  }, 30s)) << status(gms)["credentials"].dump(2) << lab_->ndsipd_log_tail(gms);
  EXPECT_EQ(status(gms)["credentials"]["renewal"]["last_attempt"]["failed_at"], "transfer");
  // The metrics say so too (a scrape from gms's namespace, as Prometheus on the host would).
  auto scrape = [&] {
    std::string text;
    lab::proc::run({"ip", "netns", "exec", gms.netns, "curl", "-sf", "--max-time", "5", "http://127.0.0.1:9474/metrics"},
                   &text);
    return text;
  };
  const std::string failing = scrape();
  EXPECT_NE(failing.find("\nndsip_certificate_renewal_failures "), std::string::npos) << failing;
  EXPECT_EQ(failing.find("\nndsip_certificate_renewal_failures 0"), std::string::npos) << failing;
  test_ca_ = std::make_unique<lab::CmpTestCa>(t);
  const bool renewed = wait(gms, [&](const json& s) {
    return s["credentials"].value("days_left", 0) > 80 && s["credentials"]["state"] == "ok";
  }, 30s);
  ASSERT_TRUE(renewed) << status(gms)["credentials"].dump(2) << lab_->ndsipd_log_tail(gms);
  ASSERT_EQ(test_ca_->issued().size(), 1u);
  EXPECT_EQ(file(gms.cert_pem), test_ca_->issued().front());
  // A new key of today's type, generated by ndsipd, owner-only.
  EXPECT_NE(file(gms.key_pem), key_before);
  const json c = certs(gms);
  EXPECT_EQ(c["own"]["key"], "ECDSA P-256") << c.dump(2);
  EXPECT_EQ(c["own"]["renewal"]["last_attempt"]["trigger"], "retry") << c.dump(2);
  EXPECT_EQ(c["own"]["renewal"]["failures_in_a_row"], 0) << c.dump(2);
  EXPECT_EQ(c["own"]["renewal"]["last_attempt"]["key"], "ec:P-256") << c.dump(2);
  struct stat st {};
  ASSERT_EQ(::stat(gms.key_pem.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  EXPECT_TRUE(wait(gms, [](const json& s) {
    const json* t = tunnel(s, "val1");
    return t && (*t)["state"] == "up";
  }, 20s)) << why(gms);
  EXPECT_GE(lab_->ping_replies(lab_->host("val1"), gms.inner_addr, 3), 3);
  // Only once: the next is planned at 70 % of the new certificate's life.
  std::this_thread::sleep_for(3s);
  EXPECT_EQ(test_ca_->issued().size(), 1u);
  const std::string renewed_text = scrape();
  EXPECT_NE(renewed_text.find("\nndsip_certificate_renewal_failures 0"), std::string::npos) << renewed_text;
  EXPECT_EQ(renewed_text.find("\nndsip_certificate_renewal_next_timestamp_seconds 0"), std::string::npos) << renewed_text;
}
