#include "daemon/fleet_reporter.hpp"

#include <algorithm>

#include "daemon/log.hpp"
#include "etcd/codec.hpp"

namespace ndsip::daemon {

FleetReporter::FleetReporter(boost::asio::io_context& io, etcd::ClientSettings settings, etcd::Layout layout,
                             std::string node, std::chrono::milliseconds interval, Snapshot snapshot)
    : client_(io, std::move(settings)), layout_(std::move(layout)), node_(std::move(node)), interval_(interval),
      snapshot_(std::move(snapshot)), timer_(io) {}

FleetReporter::~FleetReporter() { *alive_ = false; }

std::int64_t FleetReporter::ttl_seconds() const {
  return std::max<std::int64_t>(3, (3 * interval_.count() + 999) / 1000);
}

void FleetReporter::start() { tick(); }

void FleetReporter::tick() {
  if (!busy_) {
    busy_ = true;
    if (lease_ == 0) {
      grant_then_put();
    } else {
      // Keep the lease alive; a lease etcd no longer knows (TTL 0) is granted anew.
      auto alive = alive_;
      client_.post("/v3/lease/keepalive", etcd::lease_keepalive_request(lease_),
                   [this, alive](std::optional<etcd::Error> e, std::string body) {
                     if (!*alive) return;
                     try {
                       if (e) throw *e;
                       if (etcd::parse_lease(body).ttl <= 0) lease_ = 0;
                     } catch (const etcd::Error& err) {
                       lease_ = 0;
                       if (error_ != err.what()) log(std::string("fleet status: ") + err.what());
                       error_ = err.what();
                       busy_ = false;
                       return;
                     }
                     if (lease_ == 0) return grant_then_put();
                     put();
                   });
    }
  }
  timer_.expires_after(interval_);
  auto alive = alive_;
  timer_.async_wait([this, alive](boost::system::error_code ec) {
    if (!ec && *alive) tick();
  });
}

void FleetReporter::grant_then_put() {
  auto alive = alive_;
  client_.post("/v3/lease/grant", etcd::lease_grant_request(ttl_seconds()),
               [this, alive](std::optional<etcd::Error> e, std::string body) {
                 if (!*alive) return;
                 try {
                   if (e) throw *e;
                   lease_ = etcd::parse_lease(body).id;
                 } catch (const etcd::Error& err) {
                   if (error_ != err.what()) log(std::string("fleet status: ") + err.what());
                   error_ = err.what();
                   busy_ = false;
                   return;
                 }
                 put();
               });
}

void FleetReporter::put() {
  const std::string value = snapshot_().dump();
  auto alive = alive_;
  client_.post("/v3/kv/txn", etcd::txn_request({}, {{etcd::Op::Kind::put, layout_.status_key(node_), value, lease_, ""}}),
               [this, alive](std::optional<etcd::Error> e, std::string body) {
                 if (!*alive) return;
                 busy_ = false;
                 try {
                   if (e) throw *e;
                   etcd::parse_txn(body);
                   if (!error_.empty()) log("fleet status: written again");
                   error_.clear();
                 } catch (const etcd::Error& err) {
                   // A lease that expired between keepalive and put: refused; granted anew next time.
                   if (err.kind() == etcd::Error::Kind::refused) lease_ = 0;
                   if (error_ != err.what()) log(std::string("fleet status: ") + err.what());
                   error_ = err.what();
                 }
               });
}

}  // namespace ndsip::daemon
