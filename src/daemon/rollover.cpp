// Credentials on the loop: checked before use (TS 33.310 / policy), watched with inotify, and
// rolled over make-before-break: a renewed certificate and key that pass every check are
// loaded (load-cert, load-key), then the IKE_SAs re-authenticate (rekey reauth=yes) a few at a
// time. An invalid renewal is refused; the old credentials stay in use and status says why.
// A CRL change re-authenticates the IKE_SAs too, so a revoked peer is dropped.
#include <algorithm>
#include <ctime>
#include <map>
#include <set>

#include "daemon/daemon.hpp"
#include "vici/commands.hpp"

namespace ndsip::daemon {

namespace {

std::string crl_digest(const Credentials& c) {
  std::string all;
  for (const std::string& crl : c.crls) all += std::to_string(crl.size()) + ":" + crl;
  return std::to_string(std::hash<std::string>{}(all));
}

const char* expiry_state(long days, int warn, int critical) {
  return days < 0 ? "expired" : days < critical ? "critical" : days < warn ? "warning" : "ok";
}

}  // namespace

std::vector<std::string> Daemon::refresh_credentials() {
  std::vector<std::string> problems;
  certs::CheckResult check =
      certs::check_credentials(config_.credential_paths(), plan_.credentials.identity, std::time(nullptr));
  for (const auto& p : check.problems) problems.push_back(p.to_string());
  Credentials creds;
  if (problems.empty()) {
    creds = read_credentials(config_.credential_paths());
    problems = creds.problems;
  }
  credential_problems_ = problems;
  if (problems.empty()) {
    credentials_ = std::move(creds);
    cert_check_ = std::move(check);
    schedule_expiry();
  }
  return problems;
}

void Daemon::on_credentials_changed() {
  const std::string had = cert_check_.own ? cert_check_.own->fingerprint : "";
  const std::string had_crls = crl_digest(credentials_);
  const auto problems = refresh_credentials();
  if (!problems.empty()) {
    // Often a renewal half done (new certificate, old key): the next change event retries.
    log("credential files changed but are refused, keeping the loaded ones: " + problems.front() +
        (problems.size() > 1 ? " (and " + std::to_string(problems.size() - 1) + " more)" : ""));
    return;
  }
  const std::string now = cert_check_.own ? cert_check_.own->fingerprint : "";
  log("credential files changed and pass every check" +
      (now != had && cert_check_.own ? "; new certificate serial " + cert_check_.own->serial : std::string()));
  if (!charon_up_) return;  // loaded when charon is back
  const bool renewed = !had.empty() && now != had;
  const bool crls_changed = crl_digest(credentials_) != had_crls;
  // VICI can add credentials but not remove one certificate, and charon might keep choosing
  // the old certificate for our identity. So: clear what was loaded over VICI and load the new
  // set back to back (a few milliseconds without credentials; established SAs are not
  // affected), and only then re-authenticate.
  // New CRLs: charon refuses revoked peers from now on; SAs already up are ended here. The
  // peers' certificates are read first: clear-creds also flushes charon's certificate cache.
  if (crls_changed) drop_revoked_peers();
  session_.request(vici::request::clear_creds(), config_.vici_timeout, [](std::optional<vici::Error>, vici::Reply) {});
  load_credentials([this, renewed] {
    // Make-before-break: the new credentials are in charon before any IKE_SA re-authenticates.
    if (renewed) reauthenticate_all("certificate renewed, serial " + cert_check_.own->serial);
  });
}

void Daemon::reauthenticate_all(const std::string& why) {
  vici::ListSasArgs args;
  args.noblock = true;
  session_.request(vici::request::list_sas(args), config_.vici_timeout,
                   [this, why](std::optional<vici::Error> e, vici::Reply reply) {
                     if (e) return;
                     std::set<std::string> ours;
                     for (const auto& c : plan_.connections) ours.insert(c.name);
                     std::size_t queued = 0;
                     for (const vici::IkeSa& sa : vici::parse::list_sas(reply)) {
                       if (sa.state != "ESTABLISHED" || !ours.count(sa.name) || sa.uniqueid.empty()) continue;
                       reauth_queue_.push_back(std::stoull(sa.uniqueid));
                       ++queued;
                     }
                     log("re-authenticating " + std::to_string(queued) + " IKE_SA(s), " +
                         std::to_string(config_.reauth_batch) + " at a time: " + why);
                     drain_reauth();
                   });
}

void Daemon::terminate_ike(const std::string& connection, std::function<void()> then) {
  vici::TerminateArgs t;
  t.ike = connection;
  t.force = true;
  t.timeout_ms = -1;
  session_.request(vici::request::terminate(t), config_.vici_timeout,
                   [then = std::move(then)](std::optional<vici::Error>, vici::Reply) {
                     if (then) then();
                   });
}

void Daemon::peer_certificates(std::function<void(std::vector<PeerCert>)> then) {
  vici::ListCertsArgs args;
  args.type = vici::CertType::x509;
  args.flag = vici::CertFlag::none;  // end-entity certificates
  session_.request(vici::request::list_certs(args), config_.vici_timeout,
                   [this, then = std::move(then)](std::optional<vici::Error> e, vici::Reply r) {
    std::vector<PeerCert> out;
    if (!e) {
      std::map<std::string, std::string> connection_of;  // peer identity -> connection
      for (const auto& c : plan_.connections) connection_of.emplace(c.remote_id, c.name);
      for (const vici::CertInfo& info : vici::parse::list_certs(r)) {
        for (const certs::Cert& cert : certs::parse_certificates(info.data)) {
          const certs::CertificateInfo d = certs::describe(cert.get());
          if (d.is_ca) continue;
          for (const std::string& san : d.dns_names) {
            auto it = connection_of.find(san);
            if (it == connection_of.end()) continue;
            out.push_back({san, it->second, d, certs::revoked_by(cert.get(), credentials_.crls)});
            break;
          }
        }
      }
    }
    then(std::move(out));
  });
}

void Daemon::drop_revoked_peers() {
  peer_certificates([this](std::vector<PeerCert> peers) {
    for (const PeerCert& p : peers) {
      if (!p.revoked) continue;
      log("peer " + p.identity + " presented certificate serial " + p.info.serial + ", now revoked: closing " +
          p.connection);
      tunnels_.alert(p.connection, "certificate revoked (serial " + p.info.serial + ")");
      terminate_ike(p.connection, [this] { poll_soon(); });
    }
  });
}

void Daemon::check_peer_expiry() {
  // TS 33.310: when a certificate in use expires, the IKE_SA is rekeyed. For the peers'
  // certificates that means: re-authenticate the IKE_SA once the one it presented has expired
  // (the peer then has to present a valid one).
  peer_certificates([this](std::vector<PeerCert> peers) {
    const std::time_t now = std::time(nullptr);
    for (const PeerCert& p : peers) {
      if (p.info.not_after > now || expired_peer_certs_.count(p.info.serial)) continue;
      expired_peer_certs_.insert(p.info.serial);
      log("certificate of peer " + p.identity + " (serial " + p.info.serial + ") expired: re-authenticating " +
          p.connection);
      tunnels_.alert(p.connection, "peer certificate expired (serial " + p.info.serial + ")");
      for (const auto& [key, t] : tunnels_.all()) {
        if (t.connection != p.connection || t.ike_uniqueid.empty()) continue;
        reauth_queue_.push_back(std::stoull(t.ike_uniqueid));
        break;
      }
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
          terminate_ike(connection, [this] { poll_soon(); });
        });
      });
    }
    drain_reauth();
  });
}

void Daemon::drain_reauth() {
  for (std::size_t i = 0; i < config_.reauth_batch && !reauth_queue_.empty(); ++i) {
    vici::RekeyArgs args;
    args.ike_id = reauth_queue_.front();
    args.reauth = true;
    reauth_queue_.erase(reauth_queue_.begin());
    session_.request(vici::request::rekey(args), config_.vici_timeout, [](std::optional<vici::Error>, vici::Reply) {});
  }
  if (reauth_queue_.empty()) return;
  reauth_timer_.expires_after(config_.reauth_interval);
  reauth_timer_.async_wait([this](boost::system::error_code ec) {
    if (!ec) drain_reauth();
  });
}

void Daemon::schedule_expiry() {
  expiry_timer_.cancel();
  if (!cert_check_.own) return;
  // TS 33.310: an end entity rekeys the IKE_SA when a certificate it used expires.
  // charon compares validity to the second: fire safely after it has passed.
  const auto left = std::chrono::seconds(cert_check_.own->not_after - std::time(nullptr) + 2);
  if (left.count() <= 0) return;
  expiry_timer_.expires_after(left);
  expiry_timer_.async_wait([this](boost::system::error_code ec) {
    if (ec) return;
    refresh_credentials();  // a renewal may be on disk and valid: then it is in use already
    if (!charon_up_ || !cert_check_.own || cert_check_.own->not_after > std::time(nullptr)) return;
    // No valid certificate to re-authenticate with: no SA may rest on the expired one.
    log("own certificate expired with no valid renewal: closing every IKE_SA (TS 33.310)");
    for (const auto& c : plan_.connections) {
      tunnels_.alert(c.name, "own certificate expired, no valid renewal");
      terminate_ike(c.name, [this] { poll_soon(); });
    }
  });
}

Json Daemon::credential_summary() const {
  Json out = {{"problems", credential_problems_}};
  if (cert_check_.own) {
    const long days = certs::days_until(cert_check_.own->not_after, std::time(nullptr));
    out["serial"] = cert_check_.own->serial;
    out["not_after"] = certs::format_time(cert_check_.own->not_after);
    out["days_left"] = days;
    out["state"] = credential_problems_.empty() ? expiry_state(days, config_.warn_days, config_.critical_days)
                                                : "invalid";
  } else {
    out["state"] = credential_problems_.empty() ? "none configured" : "invalid";
  }
  return out;
}

void Daemon::cmd_certs(ControlServer::Reply reply) {
  const std::time_t now = std::time(nullptr);
  auto describe = [&](const certs::CertificateInfo& c, bool with_state) {
    const long days = certs::days_until(c.not_after, now);
    Json j = {{"subject", c.subject}, {"san", c.dns_names}, {"issuer", c.issuer}, {"serial", c.serial},
              {"not_after", certs::format_time(c.not_after)}, {"days_left", days}, {"key", c.key},
              {"signature", c.signature}};
    if (with_state) j["state"] = expiry_state(days, config_.warn_days, config_.critical_days);
    return j;
  };
  Json own = credential_summary();
  if (cert_check_.own) own.update(describe(*cert_check_.own, false));
  Json cas = Json::array();
  for (const auto& c : cert_check_.cas) cas.push_back(describe(c, true));
  Json crls = Json::array();
  for (const auto& c : cert_check_.crls) {
    crls.push_back({{"file", c.file}, {"issuer", c.issuer}, {"next_update", certs::format_time(c.next_update)},
                    {"revoked", c.revoked},
                    {"state", c.next_update && c.next_update < now ? "expired" : "ok"}});
  }
  Json result = {{"ok", true}, {"own", own}, {"cas", cas}, {"crls", crls}, {"peers", Json::array()},
                 {"thresholds", {{"warn_days", config_.warn_days}, {"critical_days", config_.critical_days}}}};
  if (!charon_up_) {
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
