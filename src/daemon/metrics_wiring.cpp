// --metrics-listen: the metrics part (src/metrics) wired to ndsipd's parts. The gauges are
// read from the parts' state at each scrape; the events the counters and histograms need are
// passed on where they happen: a VICI command answered (CharonLink), a rekey charon reported
// (its events), the peers' certificates checked (CredentialManager), the tunnel table after
// each list-sas (daemon.cpp's on_polled), a push or reconcile answered (below). Without the
// setting none of this exists and nothing is timed.
#include <chrono>

#include "control/protocol.hpp"
#include "daemon/daemon.hpp"
#include "daemon/log.hpp"
#include "metrics/listen_address.hpp"

namespace ndsip::daemon {

namespace {

using Clock = std::chrono::steady_clock;

metrics::Certificate certificate(const char* role, const certs::CertificateInfo& c, std::string identity) {
  return {role, std::move(identity), c.subject, c.serial, c.not_after};
}

// A push's answer says whether it was applied (a preserialized answer is never a refusal).
bool accepted(const Json& answer) { return !answer.is_object() || answer.value(control::key::ok, false); }

}  // namespace

void Daemon::wire_metrics() {
  if (config_.metrics_listen.empty()) return;
  metrics::Sources sources;
  sources.tunnels = [this] { return health_.tunnels(); };
  sources.polled = [this] { return health_.polled(); };
  sources.charon_connected = [this] { return charon_.up(); };
  sources.topology_version = [this] { return topology_.version(); };
  sources.topology_refused = [this] {
    return !topology_.refused().empty() || (etcd_ && !etcd_->refused().is_null());
  };
  sources.certificates = [this] {
    std::vector<metrics::Certificate> out;
    const certs::CheckResult& in_use = credentials_.in_use();
    if (in_use.own) {
      out.push_back(certificate("own", *in_use.own, in_use.own->dns_names.empty() ? "" : in_use.own->dns_names[0]));
    }
    for (const certs::CertificateInfo& ca : in_use.cas) out.push_back(certificate("ca", ca, ""));
    return out;
  };
  if (renewer_.enabled()) {
    sources.renewal = [this] { return metrics::Renewal{renewer_.failures_in_a_row(), renewer_.next()}; };
  }
  metrics_ = std::make_unique<metrics::Metrics>(NDSIP_VERSION, std::move(sources));
  charon_.on_command([this](const std::string& command, const std::string& ike, const std::string& result) {
    metrics_->vici_command(command, ike, result);
  });
  for (const char* event : {"ike-rekey", "child-rekey"}) {
    charon_.subscribe(event, [this](const std::string& name, const vici::Message& m) { metrics_->rekey_event(name, m); });
  }
  credentials_.on_peers_checked([this](const std::vector<CredentialManager::PeerCert>& peers) {
    std::vector<metrics::Certificate> out;
    for (const auto& p : peers) out.push_back(certificate("peer", p.info, p.identity));
    metrics_->peer_certificates(out);
  });
}

void Daemon::start_metrics() {
  if (!metrics_) return;
  metrics_listener_ = std::make_unique<metrics::HttpListener>(
      io_, metrics::parse_listen_address(config_.metrics_listen), [this] { return metrics_->text(); });
  log("serving metrics at http://" + config_.metrics_listen + "/metrics");
}

void Daemon::reconcile(Done done) {
  if (!metrics_) return reconciler_.reconcile(std::move(done));
  reconciler_.reconcile([this, start = Clock::now(), done = std::move(done)](Json answer) {
    metrics_->reconcile_done(Clock::now() - start);
    done(std::move(answer));
  });
}

void Daemon::dispatch(const Json& request, control::Reply reply) {
  const auto command = request.find(control::key::command);
  if (!metrics_ || command == request.end() || *command != "push") return table_.dispatch(request, std::move(reply));
  table_.dispatch(request, [this, start = Clock::now(), reply = std::move(reply)](Json answer) {
    metrics_->push_done("control", accepted(answer), Clock::now() - start);
    reply(std::move(answer));
  });
}

void Daemon::offer(const std::string& document, Done done) {
  if (!metrics_) return topology_.offer(document, std::move(done));
  topology_.offer(document, [this, start = Clock::now(), done = std::move(done)](Json answer) {
    metrics_->push_done("etcd", accepted(answer), Clock::now() - start);
    done(std::move(answer));
  });
}

}  // namespace ndsip::daemon
