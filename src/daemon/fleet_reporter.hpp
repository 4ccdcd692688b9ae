// This node's line in the fleet status (issue 12): `<prefix>status/<node>` in etcd, rewritten
// every interval under a lease of a few intervals, so a node that stops (or loses etcd)
// disappears from the fleet status by itself and `ndsipctl fleet-status` shows it
// unreachable. The content comes from the daemon (`snapshot`): the etcd revision and digest
// it applied, each tunnel's state and reason, the certificate's days left.
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <functional>
#include <memory>
#include <string>

#include <nlohmann/json.hpp>

#include "etcd/client.hpp"
#include "etcd/layout.hpp"

namespace ndsip::daemon {

class FleetReporter {
 public:
  using Snapshot = std::function<nlohmann::json()>;
  FleetReporter(boost::asio::io_context& io, etcd::ClientSettings settings, etcd::Layout layout, std::string node,
                std::chrono::milliseconds interval, Snapshot snapshot);
  ~FleetReporter();

  void start();
  // The lease's TTL: three intervals, at least 3 s (etcd's own minimum is near that).
  std::int64_t ttl_seconds() const;

 private:
  void tick();
  void grant_then_put();
  void put();

  etcd::Client client_;
  etcd::Layout layout_;
  std::string node_;
  std::chrono::milliseconds interval_;
  Snapshot snapshot_;
  std::int64_t lease_ = 0;  // 0: none granted (or it expired)
  bool busy_ = false;       // a tick's requests are in flight: the next tick waits
  std::string error_;
  boost::asio::steady_timer timer_;
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
};

}  // namespace ndsip::daemon
