#include "metrics/families.hpp"

#include <sstream>

#include <prometheus/text_serializer.h>

namespace ndsip::metrics {

namespace {

template <typename Builder>
auto& family(Builder builder, prometheus::Registry& registry, const char* name, const char* help) {
  return builder.Name(name).Help(help).Register(registry);
}

}  // namespace

Families::Families(const std::string& version)
    : registry_(std::make_shared<prometheus::Registry>()),
      build_info(family(prometheus::BuildGauge(), *registry_, "ndsip_build_info",
                        "Always 1; the version label is ndsipd's.")),
      tunnel_up(family(prometheus::BuildGauge(), *registry_, "ndsip_tunnel_up",
                       "1 while the tunnel's CHILD_SA is up, 0 otherwise (connecting, down, degraded, revoked, "
                       "standby).")),
      tunnel_standby(family(prometheus::BuildGauge(), *registry_, "ndsip_tunnel_standby",
                            "1 while a standby tunnel (through a second SEG) waits without SA by design.")),
      tunnel_black_hole(family(prometheus::BuildGauge(), *registry_, "ndsip_tunnel_black_hole",
                               "1 while the tunnel is degraded as a black hole (outbound packets rise, inbound "
                               "flat for black-hole-after).")),
      tunnel_inbound_bytes(family(prometheus::BuildCounter(), *registry_, "ndsip_tunnel_inbound_bytes_total",
                                  "Bytes the tunnel's CHILD_SAs received, across rekeys, as of the last list-sas.")),
      tunnel_outbound_bytes(family(prometheus::BuildCounter(), *registry_, "ndsip_tunnel_outbound_bytes_total",
                                   "Bytes the tunnel's CHILD_SAs sent, across rekeys, as of the last list-sas.")),
      tunnel_inbound_packets(family(prometheus::BuildCounter(), *registry_, "ndsip_tunnel_inbound_packets_total",
                                    "Packets the tunnel's CHILD_SAs received, across rekeys, as of the last "
                                    "list-sas.")),
      tunnel_outbound_packets(family(prometheus::BuildCounter(), *registry_, "ndsip_tunnel_outbound_packets_total",
                                     "Packets the tunnel's CHILD_SAs sent, across rekeys, as of the last list-sas.")),
      tunnels(family(prometheus::BuildGauge(), *registry_, "ndsip_tunnels",
                     "Desired tunnels in each state (up, connecting, down, degraded, revoked, standby).")),
      rekeys(family(prometheus::BuildCounter(), *registry_, "ndsip_rekeys_total",
                    "Rekeys charon reported (kind ike or child), by connection.")),
      initiations(family(prometheus::BuildCounter(), *registry_, "ndsip_tunnel_initiations_total",
                         "Initiations ndsipd sent for a tunnel that was not up (re-initiations), by connection.")),
      failures(family(prometheus::BuildCounter(), *registry_, "ndsip_tunnel_failures_total",
                      "Times a tunnel was found entering down, degraded or revoked, or changing its reason there, "
                      "by reason (status's reason codes).")),
      health_poll_timestamp(family(prometheus::BuildGauge(), *registry_, "ndsip_health_poll_timestamp_seconds",
                                   "When the tunnel states were last confirmed by a list-sas (0: never).")),
      certificate_expiry(family(prometheus::BuildGauge(), *registry_, "ndsip_certificate_expiry_timestamp_seconds",
                                "notAfter of the certificates in use: own, the CAs, and the peers' as charon holds "
                                "them.")),
      charon_connected(family(prometheus::BuildGauge(), *registry_, "ndsip_charon_connected",
                              "1 while ndsipd's VICI session to charon is up.")),
      vici_commands(family(prometheus::BuildCounter(), *registry_, "ndsip_vici_commands_total",
                           "VICI commands ndsipd sent to charon, by command and result (ok, or the error's kind).")),
      topology_version(family(prometheus::BuildGauge(), *registry_, "ndsip_topology_version",
                              "Version of the accepted topology in force (0: none accepted).")),
      topology_refused(family(prometheus::BuildGauge(), *registry_, "ndsip_topology_refused",
                              "1 while the newest topology offered (stored at start, or published to etcd) is "
                              "refused and an older one, or none, is in force.")),
      renewal_failures(family(prometheus::BuildGauge(), *registry_, "ndsip_certificate_renewal_failures",
                              "Failed CMP renewal attempts of the own certificate since its last renewal "
                              "(with cmp-server).")),
      renewal_next_timestamp(family(prometheus::BuildGauge(), *registry_,
                                    "ndsip_certificate_renewal_next_timestamp_seconds",
                                    "When ndsipd next asks the CA to renew the own certificate (0: nothing "
                                    "planned, or an attempt is running; with cmp-server).")),
      push_duration(family(prometheus::BuildHistogram(), *registry_, "ndsip_push_duration_seconds",
                           "From a topology's arrival (ndsipctl push, or an etcd revision) to its answer, applied "
                           "or refused.")),
      reconcile_duration(family(prometheus::BuildHistogram(), *registry_, "ndsip_reconcile_duration_seconds",
                                "From a reconcile asked for to charon holding the desired connections "
                                "(get-conns, load-conn, unload-conn).")) {
  build_info.Add({{"version", version}}).Set(1);
  charon_connected.Add({}).Set(0);
  topology_version.Add({}).Set(0);
  topology_refused.Add({}).Set(0);
  health_poll_timestamp.Add({}).Set(0);
  reconcile_duration.Add({}, duration_buckets());
}

std::vector<double> Families::duration_buckets() {
  return {0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120};
}

std::string Families::text() const {
  std::ostringstream out;
  prometheus::TextSerializer().Serialize(out, registry_->Collect());
  return out.str();
}

}  // namespace ndsip::metrics
