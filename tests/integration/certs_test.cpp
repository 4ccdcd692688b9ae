// Certificate lifecycle with real charon and ndsipd: a renewal on disk re-authenticates the
// IKE_SAs with the new certificate while traffic flows; invalid renewals are refused and the
// tunnel stays on the old certificate; a peer revoked by CRL is dropped and refused; a CA
// rollover (old and new CA trusted during the overlap) keeps the tunnels.
#include <gtest/gtest.h>

#include <filesystem>
#include <thread>

#include "certs/x509.hpp"
#include "lab/pki.hpp"
#include "vici/client.hpp"
#include "ndsipd_fixture.hpp"

using namespace ndsip;
using ndsip::testing::Ndsipd;
using namespace std::chrono_literals;
using nlohmann::json;
namespace fs = std::filesystem;

namespace {

std::string utc(std::time_t t) {
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%d %H:%M:%S", &tm);
  return buf;
}

class Certs : public Ndsipd {
 protected:
  lab::pki::Credential ca() const { return {lab_->ca_key_pem(), lab_->ca_cert_pem()}; }

  // Issues a certificate (and key) as a renewal tool would, then renames both over the host's
  // files: the key first, then the certificate.
  std::string renew(lab::Host& h, const std::string& fqdn, lab::pki::IssueOptions o = {},
                    const lab::pki::Credential* issuer = nullptr) {
    const std::string key = h.dir + "/renew.key.pem", cert = h.dir + "/renew.cert.pem";
    if (o.reuse_key) fs::copy_file(h.key_pem, key, fs::copy_options::overwrite_existing);
    lab::pki::issue(issuer ? *issuer : ca(), fqdn, key, cert, o);
    if (!o.reuse_key) fs::rename(key, h.key_pem);
    fs::rename(cert, h.cert_pem);
    return cert;
  }

  json certs(const lab::Host& h) {
    std::string out;
    ctl(h, {"certs", "--json"}, &out);
    return json::parse(out, nullptr, false);
  }

  // Waits until `pred(status)` holds.
  bool wait(const lab::Host& h, const std::function<bool(const json&)>& pred, std::chrono::seconds timeout) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (std::chrono::steady_clock::now() < deadline) {
      if (pred(status(h))) return true;
      std::this_thread::sleep_for(200ms);
    }
    return false;
  }
};

}  // namespace

TEST_F(Certs, RenewalReauthenticatesWithTheNewCertificateWhileTrafficFlows) {
  ASSERT_NO_FATAL_FAILURE(bring_up_gms_and_val1());
  lab::Host& gms = lab_->host("gms");
  lab::Host& val1 = lab_->host("val1");
  const std::string old_serial = certs(gms)["own"]["serial"];
  const json before = *tunnel(status(gms), "val1");

  int replies = -1;
  std::thread traffic([&] { replies = lab_->ping_replies(val1, gms.inner_addr, 40); });  // 8 s
  std::this_thread::sleep_for(1s);
  renew(gms, gms.fqdn);
  // gms loads the new certificate and key, then re-authenticates its IKE_SA.
  const bool reauthed = wait(gms, [&](const json& s) {
    const json* t = tunnel(s, "val1");
    return t && (*t)["state"] == "up" && (*t)["ike_uniqueid"] != before["ike_uniqueid"];
  }, 20s);
  traffic.join();
  EXPECT_TRUE(reauthed) << why(gms);
  const json c = certs(gms);
  EXPECT_NE(c["own"]["serial"], old_serial) << c.dump(2);
  EXPECT_EQ(c["own"]["state"], "ok") << c.dump(2);
  // gms's charon holds the new certificate and no longer the old one, so the IKE_SA that
  // re-authenticated after the load used the new one.
  vici::Client client;
  client.connect(gms.vici_uri);
  std::vector<std::string> serials;
  vici::ListCertsArgs args;
  args.type = vici::CertType::x509;
  args.flag = vici::CertFlag::none;
  for (const vici::CertInfo& info : client.list_certs(args)) {
    for (const auto& cert : certs::parse_certificates(info.data)) {
      const certs::CertificateInfo d = certs::describe(cert.get());
      // Only gms's own (the peer's certificate may be cached after authentication).
      if (d.subject == "CN=" + gms.fqdn) serials.push_back(d.serial);
    }
  }
  EXPECT_EQ(serials, std::vector<std::string>{c["own"]["serial"].get<std::string>()}) << "old serial " << old_serial;
  // And val1 shows the certificate gms presented: the new one.
  const json peer = certs(val1);
  bool seen = false;
  for (const json& p : peer["peers"]) seen |= p["serial"] == c["own"]["serial"];
  EXPECT_TRUE(seen) << peer.dump(2);
  EXPECT_GE(replies, 39) << "more than one ping lost during the re-authentication";
  EXPECT_NE(lab_->ndsipd_log_tail(gms).find("re-authenticating 1 IKE_SA"), std::string::npos)
      << lab_->ndsipd_log_tail(gms);
}

TEST_F(Certs, InvalidRenewalsAreRefusedAndTheTunnelStaysOnTheOldCertificate) {
  ASSERT_NO_FATAL_FAILURE(bring_up_gms_and_val1());
  lab::Host& gms = lab_->host("gms");
  const std::string old_serial = certs(gms)["own"]["serial"];
  const json before = *tunnel(status(gms), "val1");

  struct Case {
    const char* rule;
    std::function<void()> make;
  };
  const std::time_t now = std::time(nullptr);
  const std::vector<Case> cases{
      {"san", [&] { renew(gms, "someone-else.lab.ndsip.test"); }},
      {"key-match", [&] {
         // A new certificate for a new key, but the old key stays in place.
         const std::string key = gms.dir + "/other.key.pem", cert = gms.dir + "/other.cert.pem";
         lab::pki::issue(ca(), gms.fqdn, key, cert, lab::pki::IssueOptions{});
         fs::rename(cert, gms.cert_pem);
       }},
      {"signature", [&] { renew(gms, gms.fqdn, {.digest = "sha1", .not_before = "", .not_after = "", .reuse_key = true}); }},
      {"expired", [&] {
         renew(gms, gms.fqdn, {.digest = "", .not_before = utc(now - 86400 * 10), .not_after = utc(now - 86400),
                               .reuse_key = true});
       }},
  };
  for (const Case& c : cases) {
    c.make();
    const bool refused = wait(gms, [&](const json& s) {
      for (const json& p : s["credentials"]["problems"]) {
        if (p.get<std::string>().find(std::string("[") + c.rule + "]") != std::string::npos) return true;
      }
      return false;
    }, 10s);
    EXPECT_TRUE(refused) << c.rule << why(gms);
    const json s = status(gms);
    EXPECT_EQ(s["credentials"]["state"], "invalid") << c.rule;
    EXPECT_EQ(s["credentials"]["serial"], old_serial) << c.rule << ": the old certificate stays in use";
    EXPECT_EQ((*tunnel(s, "val1"))["ike_uniqueid"], before["ike_uniqueid"]) << c.rule;
    EXPECT_EQ((*tunnel(s, "val1"))["state"], "up") << c.rule;
  }
  EXPECT_TRUE(lab_->ping(lab_->host("val1"), gms.inner_addr, 2));
  EXPECT_NE(lab_->ndsipd_log_tail(gms).find("refused, keeping the loaded ones"), std::string::npos);
}
