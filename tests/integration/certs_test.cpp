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

// "YYYY-MM-DD HH:MM:SS" (UTC), as pki's --dateform below takes it.
std::string utc(std::time_t t) { return certs::format_time(t).substr(0, 19); }

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

TEST_F(Certs, PeerRevokedByCrlIsDroppedAndRefused) {
  lab::Host& gms = add("gms");
  lab::Host& val1 = add("val1");
  lab_->make_pki();
  const std::string crl_dir = gms.dir + "/crls";
  fs::create_directories(crl_dir);
  lab_->start_charon(gms);
  lab_->start_ndsipd(gms, NDSIP_DAEMON, {"--policies", test_policies(), "--templates", NDSIP_SOURCE_DIR "/templates",
                                         "--crl-dir", crl_dir});
  start(val1);
  push_all(topology(false), "topology.json");
  ASSERT_TRUE(all_up(gms)) << why(gms);

  // The CA revokes val1's certificate; the CRL lands in gms's CRL directory (by rename).
  std::string out;
  ASSERT_EQ(lab::proc::run({"pki", "--signcrl", "--cacert", lab_->ca_cert_pem(), "--cakey", lab_->ca_key_pem(),
                            "--cert", val1.cert_pem, "--reason", "key-compromise", "--outform", "pem"},
                           &out),
            0)
      << out;
  std::ofstream(gms.dir + "/new.crl") << out;
  fs::rename(gms.dir + "/new.crl", crl_dir + "/lab-ca.crl");

  // The SA goes, and every attempt to bring it back is refused: status says revoked.
  const bool revoked = wait(gms, [&](const json& s) { return (*tunnel(s, "val1"))["state"] == "revoked"; }, 30s);
  EXPECT_TRUE(revoked) << why(gms);
  EXPECT_FALSE(lab_->ping(val1, gms.inner_addr, 2));
  const json c = certs(gms);
  ASSERT_EQ(c["crls"].size(), 1u) << c.dump(2);
  EXPECT_EQ(c["crls"][0]["revoked"], 1);
  EXPECT_EQ(ctl(gms, {"status"}), 1);
}

// CA rollover: a new CA key under the same name (so connections, which pin the CA by name,
// do not change). Both CAs are trusted during the overlap; each host renews onto the new
// CA; then the old CA goes. The tunnel stays up throughout.
TEST_F(Certs, CaRolloverKeepsTheTunnelUp) {
  ASSERT_NO_FATAL_FAILURE(bring_up_gms_and_val1());
  lab::Host& gms = lab_->host("gms");
  lab::Host& val1 = lab_->host("val1");
  const auto ca2 = lab::pki::make_ca(lab_->workdir() + "/ca2", "ndsip lab CA");
  auto read = [](const std::string& p) {
    std::ifstream in(p);
    return std::string(std::istreambuf_iterator<char>(in), {});
  };
  const std::string ca1_pem = read(lab_->ca_cert_pem()), ca2_pem = read(ca2.cert);
  auto set_bundle = [&](const std::string& pem) {
    std::ofstream(lab_->workdir() + "/bundle.tmp") << pem;
    fs::rename(lab_->workdir() + "/bundle.tmp", lab_->ca_cert_pem());  // the file both hosts use
  };
  auto uniqueid = [&](const lab::Host& h, const std::string& peer) {
    return (*tunnel(status(h), peer))["ike_uniqueid"].get<unsigned long long>();
  };

  int replies = -1;
  std::thread traffic([&] { replies = lab_->ping_replies(val1, gms.inner_addr, 60); });  // 12 s
  set_bundle(ca1_pem + ca2_pem);  // overlap: both trusted
  std::this_thread::sleep_for(1500ms);
  unsigned long long before = uniqueid(gms, "val1");
  renew(gms, gms.fqdn, {}, &ca2);
  EXPECT_TRUE(wait(gms, [&](const json& s) {
    const json* t = tunnel(s, "val1");
    return (*t)["state"] == "up" && (*t)["ike_uniqueid"] != before;
  }, 20s)) << why(gms);
  before = uniqueid(val1, "gms");
  renew(val1, val1.fqdn, {}, &ca2);
  EXPECT_TRUE(wait(val1, [&](const json& s) {
    const json* t = tunnel(s, "gms");
    return (*t)["state"] == "up" && (*t)["ike_uniqueid"] != before;
  }, 20s)) << why(val1);
  traffic.join();
  EXPECT_GE(replies, 58) << "the tunnel dropped traffic during the overlap";

  // The old CA goes; a fresh IKE_SA authenticates on the new CA alone.
  set_bundle(ca2_pem);
  std::this_thread::sleep_for(1500ms);
  EXPECT_EQ(certs(gms)["cas"].size(), 1u);
  before = uniqueid(gms, "val1");
  ASSERT_EQ(ctl(gms, {"reconnect", "val1"}), 0);
  EXPECT_TRUE(wait(gms, [&](const json& s) {
    const json* t = tunnel(s, "val1");
    return (*t)["state"] == "up" && (*t)["ike_uniqueid"] != before;
  }, 20s)) << why(gms);
  EXPECT_TRUE(lab_->ping(val1, gms.inner_addr, 3));
  EXPECT_EQ(certs(gms)["own"]["state"], "ok");
}

// TS 33.310: when an end-entity certificate in use expires, the IKE_SA is rekeyed. val1
// renews onto a certificate valid for 20 s and nothing after it: once it expires the IKE_SA
// is re-authenticated, cannot be, and is closed; status says why.
TEST_F(Certs, ExpiryOfACertificateInUseEndsTheSaItBacks) {
  ASSERT_NO_FATAL_FAILURE(bring_up_gms_and_val1());
  lab::Host& gms = lab_->host("gms");
  lab::Host& val1 = lab_->host("val1");
  const std::time_t now = std::time(nullptr);
  const json before = (*tunnel(status(gms), "val1"))["ike_uniqueid"];
  renew(val1, val1.fqdn, {.digest = "", .not_before = utc(now - 60), .not_after = utc(now + 20), .reuse_key = false});
  // The short-lived certificate is accepted and used (val1 re-authenticates with it).
  EXPECT_TRUE(wait(gms, [&](const json& s) {
    const json* t = tunnel(s, "val1");
    return (*t)["state"] == "up" && (*t)["ike_uniqueid"] != before;
  }, 15s)) << why(gms);
  // After it expires: no SA rests on it, and the reason is shown.
  const bool gone = wait(gms, [&](const json& s) {
    const json* t = tunnel(s, "val1");
    return (*t)["state"] != "up" && (*t)["last_error"].get<std::string>().find("expired") != std::string::npos;
  }, 60s);
  EXPECT_TRUE(gone) << why(gms) << why(val1);
  EXPECT_EQ(status(val1)["credentials"]["state"], "invalid");
}
