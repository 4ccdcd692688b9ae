// ndsipd: the parts, created and wired on one Boost.Asio io_context (no threads, no locks),
// as strongSwan's vici_plugin.c creates and wires its components. Data flows one way:
// topology -> plan -> reconciler (charon's connections) -> health (SAs) -> status. The daemon
// keeps no state of its own beyond the wiring, readiness and the commands that span parts
// (status, reload, version).
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "control/command_table.hpp"
#include "control/server.hpp"
#include "daemon/cert_renewer.hpp"
#include "daemon/charon_link.hpp"
#include "daemon/config.hpp"
#include "daemon/credential_manager.hpp"
#include "daemon/etcd_source.hpp"
#include "daemon/fleet_reporter.hpp"
#include "daemon/health_monitor.hpp"
#include "daemon/seg_failover.hpp"
#include "daemon/reconciler.hpp"
#include "daemon/state_store.hpp"
#include "daemon/topology_holder.hpp"
#include "kernel/address_watcher.hpp"
#include "kernel/inventory.hpp"
#include "metrics/http_listener.hpp"
#include "metrics/metrics.hpp"

namespace ndsip::daemon {

class Daemon {
 public:
  // Loads policies and templates and opens the state directory. Throws std::runtime_error
  // for what makes running pointless (bad policies, unusable state directory).
  Daemon(boost::asio::io_context& io, Config config);
  ~Daemon();
  Daemon(const Daemon&) = delete;
  Daemon& operator=(const Daemon&) = delete;

  // Adopts the stored topology, reads the credentials, opens the control socket and connects
  // to charon (retrying). Throws std::runtime_error when the control socket is unusable.
  void start();
  // SIGHUP / ndsipctl reload: re-read policies, templates and credentials; refused whole,
  // with every problem, when any is bad.
  void reload(Done done);

  const control::CommandTable& commands() const { return table_; }

 private:
  void wire();
  void watch_addresses(const policy::NodePlan& plan);  // after each adoption
  void check_kernel(const std::vector<vici::IkeSa>& sas);  // after each list-sas
  void plan_trap_views(const policy::NodePlan& plan);       // after each adoption
  Json kernel_status() const;  // status's "kernel"
  Json status() const;
  Json fleet_status() const;  // what FleetReporter writes to etcd
  void notify_ready_once(const std::string& status);
  void pet_watchdog();
  // With metrics-listen (metrics_wiring.cpp): the metrics and their feeds from the parts, the
  // HTTP listener, and the paths whose durations they measure.
  void wire_metrics();
  void start_metrics();
  void reconcile(Done done);
  void dispatch(const Json& request, control::Reply reply);
  void offer(const std::string& document, Done done);

  boost::asio::io_context& io_;
  Config config_;
  StateStore store_;
  CharonLink charon_;
  TopologyHolder topology_;
  Reconciler reconciler_;
  HealthMonitor health_;
  SegFailover seg_failover_;
  CredentialManager credentials_;
  CertRenewer renewer_;  // with cmp-server
  control::CommandTable table_;
  std::unique_ptr<EtcdSource> etcd_;  // with --topology-source etcd
  // This node's IKE end points on the host, live (a virtual IP failing over away holds its
  // tunnels as `address missing`). Without netlink (a unit that forbids it) it stays in its
  // error state and holds nothing.
  std::unique_ptr<kernel::AddressWatcher> addresses_;
  // The kernel's side of each CHILD_SA charon reports (XFRM policies, or libipsec's routes),
  // checked after every list-sas; what the last check found unowned, for status.
  std::unique_ptr<kernel::Inventory> inventory_;
  kernel::Report last_kernel_;
  std::vector<kernel::ChildSaView> trap_views_;  // the adopted plan's traps, for every check
  std::unique_ptr<FleetReporter> reporter_;  // with it: this node's line in the fleet status
  std::unique_ptr<control::Server> server_;
  boost::asio::steady_timer watchdog_timer_;
  bool ready_sent_ = false;
  std::unique_ptr<metrics::Metrics> metrics_;                 // with metrics-listen
  std::unique_ptr<metrics::HttpListener> metrics_listener_;  // (gone first: it renders the parts)
};

// --check-config: everything start() reads (settings, policies, templates, the stored
// topology evaluated in full with these policies, the credentials against it), checked
// without touching charon. Returns the problems (empty: fine).
std::vector<std::string> check_config(const Config& config);

}  // namespace ndsip::daemon
