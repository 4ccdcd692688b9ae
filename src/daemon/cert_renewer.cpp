#include "daemon/cert_renewer.hpp"

#include <openssl/crypto.h>

#include <boost/asio/post.hpp>
#include <mutex>
#include <thread>

#include "certs/x509.hpp"
#include "common/join.hpp"
#include "common/read_file.hpp"
#include "control/answer.hpp"
#include "daemon/log.hpp"

namespace ndsip::daemon {

// The worker posts its outcome through this; the destructor cuts it under the lock, so a
// worker that ends later never touches a loop (or a renewer) that is gone.
struct CertRenewer::Channel {
  std::mutex mutex;
  boost::asio::io_context* io = nullptr;
  CertRenewer* owner = nullptr;
};

CertRenewer::CertRenewer(boost::asio::io_context& io, CredentialManager& credentials, RenewalSettings settings)
    : io_(io), credentials_(credentials), settings_(std::move(settings)), timer_(io),
      backoff_(settings_.retry_first, settings_.retry_max), channel_(std::make_shared<Channel>()) {
  channel_->io = &io_;
  channel_->owner = this;
}

CertRenewer::~CertRenewer() {
  std::lock_guard<std::mutex> lock(channel_->mutex);
  channel_->io = nullptr;
  channel_->owner = nullptr;
}

void CertRenewer::schedule() {
  if (!enabled() || running_) return;
  const auto& own = credentials_.in_use().own;
  // Without a topology the identity the new certificate must carry is unknown: wait for one.
  if (!own || credentials_.identity().empty()) {
    timer_.cancel();
    next_ = 0;
    return;
  }
  std::time_t when = settings_.at.when(own->not_before, own->not_after);
  std::string trigger = "scheduled";
  // After a failure the retry comes first, unless the plan is later still.
  if (failures_in_a_row_ > 0 && next_ > when) {
    when = next_;
    trigger = "retry";
  }
  arm(std::max(when, quiet_until_), trigger);
}

void CertRenewer::arm(std::time_t when, const std::string& trigger) {
  next_ = when;
  next_trigger_ = trigger;
  timer_.cancel();
  const auto wait = std::chrono::seconds(std::max<std::time_t>(0, when - std::time(nullptr)));
  timer_.expires_after(wait);
  timer_.async_wait([this, trigger](boost::system::error_code ec) {
    if (!ec) start(trigger);
  });
}

void CertRenewer::start(const std::string& trigger) {
  if (running_) return;
  const Credentials& in_use = credentials_.in_use_credentials();
  const CredentialSettings& cs = credentials_.settings();
  running_ = Attempt{std::time(nullptr), trigger, std::nullopt};
  timer_.cancel();
  next_ = 0;

  cmp::ObtainJob job;
  job.kind = cmp::Kind::kur;
  job.server_url = settings_.server_url;
  job.auth_cert_pem = in_use.own_cert;
  job.auth_key_pem = in_use.key;
  job.identity = credentials_.identity();
  job.new_key_file = settings_.new_key_file;
  job.key_spec = settings_.key_spec;
  job.ca_bundle_pem = common::join(in_use.ca_certs, "");
  job.ca_bundle_name = cs.paths.ca_bundle;
  job.cert_path = cs.paths.cert;
  job.key_path = cs.paths.key;
  job.total_timeout = std::chrono::duration_cast<std::chrono::seconds>(settings_.timeout);
  job.message_timeout = std::min(job.total_timeout, std::chrono::seconds(30));
  if (in_use.own_cert.empty() || in_use.key.empty() || job.identity.empty()) {
    cmp::ObtainOutcome o;
    o.failed_at = "other";
    o.error = job.identity.empty()
                  ? "no topology accepted yet: the identity the new certificate must carry is unknown"
                  : "no certificate and key in use to renew with; enrol first (ndsipctl enrol)";
    finished(std::move(o));
    return;
  }
  // Read at each attempt: the operator may replace the CA's signer certificate.
  common::ReadResult trusted = common::read_file_or_error(settings_.trusted_file);
  if (!trusted.text) {
    cmp::ObtainOutcome o;
    o.failed_at = "other";
    o.error = "cmp-trusted: " + trusted.error;
    finished(std::move(o));
    return;
  }
  job.trusted_pem = std::move(*trusted.text);
  log("certificate renewal (" + trigger + "): key update request to " + settings_.server_url);
  std::thread([job = std::move(job), channel = channel_]() mutable {
    cmp::ObtainOutcome outcome = cmp::obtain(job);
    // The key is in the job: wipe it before the thread ends.
    OPENSSL_cleanse(job.auth_key_pem.data(), job.auth_key_pem.size());
    std::lock_guard<std::mutex> lock(channel->mutex);
    if (!channel->io) return;
    boost::asio::post(*channel->io, [channel, outcome = std::move(outcome)]() mutable {
      // On the loop: the owner is alive unless the channel was cut meanwhile.
      CertRenewer* owner = nullptr;
      {
        std::lock_guard<std::mutex> l(channel->mutex);
        owner = channel->owner;
      }
      if (owner) owner->finished(std::move(outcome));
    });
  }).detach();
}

void CertRenewer::finished(cmp::ObtainOutcome outcome) {
  Attempt done = running_ ? *running_ : Attempt{std::time(nullptr), "", std::nullopt};
  running_.reset();
  const bool ok = outcome.ok;
  if (ok) {
    log("certificate renewal: CA issued serial " + outcome.issued.serial + " (valid until " +
        certs::format_time(outcome.issued.not_after) + "), written to " + credentials_.settings().paths.cert +
        "; rolling over");
    failures_in_a_row_ = 0;
    backoff_.reset();
    // The watcher adopts the new files within a second; until then the old certificate's plan
    // would call for another attempt at once.
    quiet_until_ = std::time(nullptr) + std::chrono::duration_cast<std::chrono::seconds>(settings_.retry_first).count();
  } else {
    ++failures_in_a_row_;
    log("certificate renewal failed, credentials unchanged: " + outcome.error);
    if (outcome.problems.size() > 1) {  // the error names the first
      for (const std::string& p : outcome.problems) log("certificate renewal: refused: " + p);
    }
  }
  done.outcome = std::move(outcome);
  last_ = std::move(done);
  if (!ok) {
    const auto wait = std::chrono::duration_cast<std::chrono::seconds>(backoff_.next());
    next_ = std::time(nullptr) + std::max<long long>(1, wait.count());
  }
  schedule();
  const Json answer = attempt_json(*last_);
  for (control::Reply& reply : waiting_) {
    if (ok) {
      Json a = control::ok_answer();
      a.update(answer);
      reply(a);
    } else {
      Json a = control::error_answer(last_->outcome->error);
      a.update(answer);
      reply(a);
    }
  }
  waiting_.clear();
}

Json CertRenewer::attempt_json(const Attempt& a) const {
  Json j = {{"at", certs::format_time(a.at)}, {"trigger", a.trigger}};
  if (!a.outcome) return j;
  const cmp::ObtainOutcome& o = *a.outcome;
  j["result"] = o.ok ? "renewed" : "failed";
  if (o.ok) {
    j["serial"] = o.issued.serial;
    j["not_after"] = certs::format_time(o.issued.not_after);
    j["key"] = o.key_spec;
  } else {
    j["error"] = o.error;
    j["failed_at"] = o.failed_at;
    if (!o.problems.empty()) j["problems"] = o.problems;
  }
  if (!o.pki_status.empty()) j["pki_status"] = o.pki_status;
  return j;
}

Json CertRenewer::summary() const {
  Json j = {{"server", settings_.server_url}, {"renew_at", settings_.at.to_string()},
            {"in_progress", running_.has_value()}, {"failures_in_a_row", failures_in_a_row_}};
  if (next_) {
    j["next"] = certs::format_time(next_);
    j["next_trigger"] = next_trigger_;
  }
  if (last_) j["last_attempt"] = attempt_json(*last_);
  return j;
}

void CertRenewer::register_commands(control::CommandTable& table) {
  table.add("renew", "renew the node's certificate over CMPv2 now; answers when the CA's exchange has ended",
            [this](const Json&, control::Reply reply) {
              if (!enabled()) {
                reply(control::error_answer("certificate renewal is off: set cmp-server (and cmp-trusted) in "
                                            "ndsipd's settings"));
                return;
              }
              waiting_.push_back(std::move(reply));
              if (!running_) start("asked by ndsipctl");
            });
}

}  // namespace ndsip::daemon
