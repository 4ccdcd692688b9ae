// Rollover is make-before-break: renewed credentials that pass every check are loaded, then
// the IKE_SAs re-authenticate (rekey reauth=yes) a few at a time. An invalid renewal is
// refused; the old credentials stay in use and status says why. A CRL change ends the SAs of
// peers it revokes.
#include "daemon/credential_manager.hpp"

#include <algorithm>
#include <map>

#include "certs/files.hpp"
#include "control/answer.hpp"
#include "daemon/log.hpp"
#include "vici/commands.hpp"

namespace ndsip::daemon {

namespace {

std::string crl_digest(const Credentials& c) {
  std::string all;
  for (const std::string& crl : c.crls) all += std::to_string(crl.size()) + ":" + crl;
  return std::to_string(std::hash<std::string>{}(all));
}

}  // namespace

CheckedCredentials read_and_check(const certs::CredentialPaths& paths, const std::string& identity, std::time_t now) {
  const certs::CredentialFiles files = certs::read_credential_files(paths);
  CheckedCredentials c;
  c.check = certs::check_credentials(files, identity, now);
  c.charon = credentials_for_charon(files);
  for (const auto& p : c.check.problems) c.problems.push_back(p.to_string());  // reading included
  c.problems.insert(c.problems.end(), c.charon.problems.begin(), c.charon.problems.end());
  return c;
}

CredentialManager::CredentialManager(boost::asio::io_context& io, CharonLink& charon, HealthMonitor& health,
                                     CredentialSettings settings)
    : io_(io), charon_(charon), health_(health), settings_(std::move(settings)), reauth_timer_(io),
      expiry_timer_(io) {}

CheckedCredentials CredentialManager::check_files() const {
  return read_and_check(settings_.paths, plan_->credentials.identity, std::time(nullptr));
}

void CredentialManager::adopt(CheckedCredentials c) {
  problems_.clear();
  in_use_ = std::move(c.charon);
  check_ = std::move(c.check);
  schedule_expiry();
  if (on_adopted_) on_adopted_();
}

std::vector<std::string> CredentialManager::refresh() {
  CheckedCredentials c = check_files();
  std::vector<std::string> problems = c.problems;
  if (problems.empty()) {
    adopt(std::move(c));
  } else {
    problems_ = problems;
  }
  return problems;
}

void CredentialManager::watch() {
  const auto& p = settings_.paths;
  const std::vector<std::string> watched{p.cert, p.key, p.ca_bundle, p.crl_dir};
  if (std::none_of(watched.begin(), watched.end(), [](const std::string& w) { return !w.empty(); })) return;
  watcher_ = std::make_unique<certs::Watcher>(io_, watched, std::chrono::milliseconds(500),
                                              [this] { on_files_changed(); });
}

void CredentialManager::load(std::function<void()> then) {
  // Credentials first: connections reference identities, never certificate data.
  std::vector<vici::Request> requests;
  for (const std::string& ca : in_use_.ca_certs) {
    requests.push_back(vici::request::load_cert(vici::CertType::x509, vici::CertFlag::ca, ca));
  }
  if (!in_use_.own_cert.empty()) {
    requests.push_back(vici::request::load_cert(vici::CertType::x509, vici::CertFlag::none, in_use_.own_cert));
  }
  if (!in_use_.key.empty()) requests.push_back(vici::request::load_key(in_use_.key_type, in_use_.key));
  for (const std::string& crl : in_use_.crls) {
    requests.push_back(vici::request::load_cert(vici::CertType::x509_crl, vici::CertFlag::none, crl));
  }
  if (requests.empty()) {
    then();
    return;
  }
  auto remaining = std::make_shared<std::size_t>(requests.size());
  auto next = std::make_shared<std::function<void()>>(std::move(then));
  for (vici::Request& r : requests) {
    const std::string what = r.command;
    charon_.request(std::move(r), [this, remaining, next, what](std::optional<vici::Error> e, vici::Reply) {
      // The error names the command, never the data (a key).
      if (e && e->kind() != vici::ErrorKind::disconnected) {
        log(what + ": " + e->what());
        problems_.push_back("charon refused " + what + ": " + e->what());
      }
      if (--*remaining == 0 && charon_.up()) (*next)();
    });
  }
}

void CredentialManager::on_files_changed() {
  const std::string had = check_.own ? check_.own->fingerprint : "";
  const std::string had_crls = crl_digest(in_use_);
  const auto problems = refresh();
  if (!problems.empty()) {
    // Often a renewal half done (new certificate, old key): the next change event retries.
    log("credential files changed but are refused, keeping the loaded ones: " + problems.front() +
        (problems.size() > 1 ? " (and " + std::to_string(problems.size() - 1) + " more)" : ""));
    return;
  }
  const std::string now = check_.own ? check_.own->fingerprint : "";
  log("credential files changed and pass every check" +
      (now != had && check_.own ? "; new certificate serial " + check_.own->serial : std::string()));
  if (!charon_.up()) return;  // loaded when charon is back
  const bool renewed = !had.empty() && now != had;
  const bool crls_changed = crl_digest(in_use_) != had_crls;
  // VICI can add credentials but not remove one certificate, and charon might keep choosing
  // the old certificate for our identity. So: clear what was loaded over VICI and load the new
  // set back to back (a few milliseconds without credentials; established SAs are not
  // affected), and only then re-authenticate.
  // New CRLs: charon refuses revoked peers from now on; SAs already up are ended here. The
  // peers' certificates are read first: clear-creds also flushes charon's certificate cache.
  if (crls_changed) drop_revoked_peers();
  charon_.send(vici::request::clear_creds(), "", [this](const vici::Error& e) {
    problems_.push_back(std::string("clear-creds failed: ") + e.what());
  });
  load([this, renewed] {
    // Make-before-break: the new credentials are in charon before any IKE_SA re-authenticates.
    if (renewed) reauthenticate_all("certificate renewed, serial " + check_.own->serial);
  });
}

void CredentialManager::reauthenticate_all(const std::string& why) {
  vici::ListSasArgs args;
  args.noblock = true;
  charon_.request(vici::request::list_sas(args), [this, why](std::optional<vici::Error> e, vici::Reply reply) {
    if (e) {
      log("re-authentication after \"" + why + "\" not started: list-sas: " + e->what());
      return;
    }
    std::set<std::string> ours;
    for (const auto& c : plan_->connections) ours.insert(c.name);
    std::size_t queued = 0;
    try {
      for (const vici::IkeSa& sa : vici::parse::list_sas(reply)) {
        if (sa.state != "ESTABLISHED" || !ours.count(sa.name) || sa.uniqueid == 0) continue;
        reauth_queue_.push_back(sa.uniqueid);
        ++queued;
      }
    } catch (const vici::Error& bad) {
      log("re-authentication after \"" + why + "\" not started: list-sas answer refused: " + bad.what());
      return;
    }
    log("re-authenticating " + std::to_string(queued) + " IKE_SA(s), " + std::to_string(settings_.reauth_batch) +
        " at a time: " + why);
    drain_reauth();
  });
}

void CredentialManager::peer_certificates(std::function<void(std::vector<PeerCert>)> then) {
  vici::ListCertsArgs args;
  args.type = vici::CertType::x509;
  args.flag = vici::CertFlag::none;  // end-entity certificates
  charon_.request(vici::request::list_certs(args), [this, then = std::move(then)](std::optional<vici::Error> e,
                                                                                 vici::Reply r) {
    std::vector<PeerCert> out;
    if (e) {
      if (e->kind() != vici::ErrorKind::disconnected) log(std::string("list-certs: ") + e->what());
      then(std::move(out));
      return;
    }
    std::map<std::string, std::string> connection_of;  // peer identity -> connection
    for (const auto& c : plan_->connections) connection_of.emplace(c.remote_id, c.name);
    for (const vici::CertInfo& info : vici::parse::list_certs(r)) {
      for (const certs::Cert& cert : certs::parse_certificates(info.data)) {
        const certs::CertificateInfo d = certs::describe(cert.get());
        if (d.is_ca) continue;
        for (const std::string& san : d.dns_names) {
          auto it = connection_of.find(san);
          if (it == connection_of.end()) continue;
          out.push_back({san, it->second, d, certs::revoked_by(cert.get(), in_use_.crls)});
          break;
        }
      }
    }
    then(std::move(out));
  });
}

void CredentialManager::drop_revoked_peers() {
  peer_certificates([this](std::vector<PeerCert> peers) {
    for (const PeerCert& p : peers) {
      if (!p.revoked) continue;
      log("peer " + p.identity + " presented certificate serial " + p.info.serial + ", now revoked: closing " +
          p.connection);
      health_.note(p.connection, health::Failure::certificate_revoked, "serial " + p.info.serial);
      charon_.terminate(p.connection, [this] { health_.poll_soon(); });
    }
  });
}

void CredentialManager::check_peer_expiry() {
  const auto now_steady = std::chrono::steady_clock::now();
  if (now_steady - last_peer_check_ < std::chrono::seconds(5)) return;
  last_peer_check_ = now_steady;
  // TS 33.310: when a certificate in use expires, the IKE_SA is rekeyed. For the peers'
  // certificates that means: re-authenticate the IKE_SA once the one it presented has expired
  // (the peer then has to present a valid one).
  peer_certificates([this](std::vector<PeerCert> peers) {
    if (on_peers_checked_) on_peers_checked_(peers);
    const std::time_t now = std::time(nullptr);
    for (const PeerCert& p : peers) {
      if (p.info.not_after > now || expired_peer_certs_.count(p.info.serial)) continue;
      expired_peer_certs_.insert(p.info.serial);
      log("certificate of peer " + p.identity + " (serial " + p.info.serial + ") expired: re-authenticating " +
          p.connection);
      health_.note(p.connection, health::Failure::peer_certificate_expired, "serial " + p.info.serial);
      if (const auto id = health_.ike_id(p.connection)) reauth_queue_.push_back(id);
      // Make-before-break keeps the old IKE_SA when the new one cannot authenticate (the peer
      // has no valid certificate). An SA on an expired certificate must not stay: after a
      // grace period, close the connection's SAs unless the peer now has a valid one.
      auto timer = std::make_shared<boost::asio::steady_timer>(io_, std::chrono::seconds(15));
      timer->async_wait([this, timer, identity = p.identity, connection = p.connection](boost::system::error_code ec) {
        if (ec) return;
        peer_certificates([this, identity, connection](std::vector<PeerCert> now_held) {
          const std::time_t t = std::time(nullptr);
          for (const PeerCert& q : now_held) {
            if (q.identity == identity && q.info.not_after > t) return;  // renewed: the new SA uses it
          }
          log("peer " + identity + " has no valid certificate: closing " + connection);
          charon_.terminate(connection, [this] { health_.poll_soon(); });
        });
      });
    }
    drain_reauth();
  });
}

void CredentialManager::drain_reauth() {
  for (std::size_t i = 0; i < settings_.reauth_batch && !reauth_queue_.empty(); ++i) {
    vici::RekeyArgs args;
    args.ike_id = reauth_queue_.front();
    args.reauth = true;
    reauth_queue_.erase(reauth_queue_.begin());
    charon_.send(vici::request::rekey(args), "IKE_SA #" + std::to_string(*args.ike_id) + " (re-authentication)");
  }
  if (reauth_queue_.empty()) return;
  reauth_timer_.expires_after(settings_.reauth_interval);
  reauth_timer_.async_wait([this](boost::system::error_code ec) {
    if (!ec) drain_reauth();
  });
}

void CredentialManager::schedule_expiry() {
  expiry_timer_.cancel();
  if (!check_.own) return;
  // TS 33.310: an end entity rekeys the IKE_SA when a certificate it used expires.
  // charon compares validity to the second: fire safely after it has passed.
  const auto left = std::chrono::seconds(check_.own->not_after - std::time(nullptr) + 2);
  if (left.count() <= 0) return;
  expiry_timer_.expires_after(left);
  expiry_timer_.async_wait([this](boost::system::error_code ec) {
    if (ec) return;
    refresh();  // a renewal may be on disk and valid: then it is in use already
    if (!charon_.up() || !check_.own || check_.own->not_after > std::time(nullptr)) return;
    // No valid certificate to re-authenticate with: no SA may rest on the expired one.
    log("own certificate expired with no valid renewal: closing every IKE_SA (TS 33.310)");
    for (const auto& c : plan_->connections) {
      health_.note(c.name, health::Failure::own_certificate_expired);
      charon_.terminate(c.name, [this] { health_.poll_soon(); });
    }
  });
}

const char* CredentialManager::expiry_state(long days) const {
  return days < 0                          ? "expired"
         : days < settings_.critical_days ? "critical"
         : days < settings_.warn_days     ? "warning"
                                          : "ok";
}

Json CredentialManager::summary() const {
  Json out = {{"problems", problems_}};
  if (check_.own) {
    const long days = certs::days_until(check_.own->not_after, std::time(nullptr));
    out["serial"] = check_.own->serial;
    out["not_after"] = certs::format_time(check_.own->not_after);
    out["days_left"] = days;
    out["state"] = problems_.empty() ? expiry_state(days) : "invalid";
  } else {
    out["state"] = problems_.empty() ? "none configured" : "invalid";
  }
  if (renewal_view_) out["renewal"] = renewal_view_();
  return out;
}

void CredentialManager::register_commands(control::CommandTable& table) {
  table.add("certs", "the node's certificate, CAs, CRLs and the peers' certificates, with expiry",
            [this](const Json&, control::Reply reply) { certs_command(std::move(reply)); });
}

void CredentialManager::certs_command(control::Reply reply) {
  const std::time_t now = std::time(nullptr);
  auto describe = [this, now](const certs::CertificateInfo& c, bool with_state) {
    const long days = certs::days_until(c.not_after, now);
    Json j = {{"subject", c.subject}, {"san", c.dns_names}, {"issuer", c.issuer}, {"serial", c.serial},
              {"not_after", certs::format_time(c.not_after)}, {"days_left", days}, {"key", c.key},
              {"signature", c.signature}};
    if (with_state) j["state"] = expiry_state(days);
    return j;
  };
  Json own = summary();
  if (check_.own) own.update(describe(*check_.own, false));
  Json cas = Json::array();
  for (const auto& c : check_.cas) cas.push_back(describe(c, true));
  Json crls = Json::array();
  for (const auto& c : check_.crls) {
    crls.push_back({{"file", c.file}, {"issuer", c.issuer}, {"next_update", certs::format_time(c.next_update)},
                    {"revoked", c.revoked}, {"state", c.next_update && c.next_update < now ? "expired" : "ok"}});
  }
  Json result = control::ok_answer();
  result.update({{"own", own}, {"cas", cas}, {"crls", crls}, {"peers", Json::array()},
                 {"thresholds", {{"warn_days", settings_.warn_days}, {"critical_days", settings_.critical_days}}}});
  if (!charon_.up()) {
    result["note"] = "charon is not reachable: peers' certificates unknown";
    reply(result);
    return;
  }
  // The peers' certificates as charon holds them (received during authentication).
  peer_certificates([result, describe, reply](std::vector<PeerCert> peers) mutable {
    for (const PeerCert& p : peers) {
      Json j = describe(p.info, true);
      j["peer_identity"] = p.identity;
      if (p.revoked) j["state"] = "revoked";
      result["peers"].push_back(j);
    }
    reply(result);
  });
}

}  // namespace ndsip::daemon
