#include "metrics/metrics.hpp"

namespace ndsip::metrics {

Metrics::Metrics(const std::string& version, Sources sources)
    : f_(version), sources_(std::move(sources)), tunnels_(f_) {}

void Metrics::tunnels_changed() {
  if (TunnelSeries::Clock::now() - tunnels_read_ < std::chrono::seconds(1)) return;
  refresh_tunnels();
}

void Metrics::refresh_tunnels() {
  if (!sources_.tunnels) return;
  tunnels_read_ = TunnelSeries::Clock::now();
  tunnels_.update(rows_from_status(sources_.tunnels()), tunnels_read_);
}

void Metrics::refresh() {
  refresh_tunnels();
  if (sources_.polled) {
    const nlohmann::json p = sources_.polled();
    double at = 0;
    if (const auto age = p.find("age_s"); age != p.end() && age->is_number()) {
      const auto now = std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch());
      at = now.count() - age->get<double>();
    }
    f_.health_poll_timestamp.Add({}).Set(at);
  }
  if (sources_.charon_connected) f_.charon_connected.Add({}).Set(sources_.charon_connected() ? 1 : 0);
  if (sources_.topology_version) f_.topology_version.Add({}).Set(static_cast<double>(sources_.topology_version()));
  if (sources_.topology_refused) f_.topology_refused.Add({}).Set(sources_.topology_refused() ? 1 : 0);
  if (sources_.certificates) set_certificates("own+ca", sources_.certificates());
  if (sources_.renewal) {
    const Renewal r = sources_.renewal();
    f_.renewal_failures.Add({}).Set(r.failures_in_a_row);
    f_.renewal_next_timestamp.Add({}).Set(static_cast<double>(r.next));
  }
}

std::string Metrics::text() {
  refresh();
  return f_.text();
}

void Metrics::set_certificates(const std::string& group, const std::vector<Certificate>& certs) {
  // Replaced whole: a renewed certificate (a new serial) ends its predecessor's series.
  std::vector<prometheus::Gauge*>& series = certificate_series_[group];
  for (prometheus::Gauge* g : series) f_.certificate_expiry.Remove(g);
  series.clear();
  for (const Certificate& c : certs) {
    prometheus::Gauge& g = f_.certificate_expiry.Add(
        {{"role", c.role}, {"identity", c.identity}, {"subject", c.subject}, {"serial", c.serial}});
    g.Set(static_cast<double>(c.not_after));
    series.push_back(&g);
  }
}

void Metrics::peer_certificates(const std::vector<Certificate>& peers) { set_certificates("peer", peers); }

void Metrics::vici_command(const std::string& command, const std::string& ike, const std::string& result) {
  prometheus::Counter*& counter = vici_[{command, result}];
  if (!counter) counter = &f_.vici_commands.Add({{"command", command}, {"result", result}});
  counter->Increment();
  if (command != "initiate" || ike.empty()) return;
  // A tunnel of a plan adopted since the last refresh: look at the table first.
  if (!tunnels_.has(ike)) refresh_tunnels();
  tunnels_.initiated(ike);
}

void Metrics::rekey_event(const std::string& event, const vici::Message& message) {
  const char* kind = event == "ike-rekey" ? "ike" : event == "child-rekey" ? "child" : nullptr;
  if (!kind) return;
  for (const vici::Section::Entry& e : message.entries()) {
    if (e.kind == vici::Section::Kind::section) {
      if (!tunnels_.has(e.name)) refresh_tunnels();
      tunnels_.rekeyed(e.name, kind);
      return;
    }
  }
}

void Metrics::push_done(const std::string& source, bool accepted, Seconds took) {
  f_.push_duration.Add({{"source", source}, {"result", accepted ? "applied" : "refused"}}, Families::duration_buckets())
      .Observe(took.count());
}

void Metrics::reconcile_done(Seconds took) {
  f_.reconcile_duration.Add({}, Families::duration_buckets()).Observe(took.count());
}

}  // namespace ndsip::metrics
