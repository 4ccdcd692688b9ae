// The topology from etcd (issue 12, --topology-source etcd): a mirror of the fleet's objects
// under the prefix, kept by reading them in full at revision R and watching from R+1. Each
// revision that touches the objects (one publish = one transaction = one revision) is offered
// to the topology holder as the document those objects make: the same delta pipeline as a
// push, so only what the publish changed is checked, planned and applied. A revision whose
// topology is refused (written around ndsipctl) leaves the last good one in force and is shown
// in status with its problems. When etcd cannot be reached ndsipd keeps running on what it
// has (the state directory has the last accepted topology), retries with backoff and resumes
// the watch after the last revision it mirrored; a compaction past that revision makes it read
// everything again and offer the difference.
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <functional>
#include <memory>
#include <string>

#include <nlohmann/json.hpp>

#include "common/backoff.hpp"
#include "etcd/client.hpp"
#include "etcd/layout.hpp"
#include "etcd/publication.hpp"

namespace ndsip::daemon {

class EtcdSource {
 public:
  using Json = nlohmann::json;
  // Offers a document; `done` gets the holder's answer ({"ok", "problems", ...}).
  using Offer = std::function<void(const std::string& document, std::function<void(Json)> done)>;

  EtcdSource(boost::asio::io_context& io, etcd::ClientSettings settings, etcd::Layout layout, Offer offer);
  ~EtcdSource();

  void start();
  // {"kind": "etcd", "endpoints", "prefix", "watching", "revision" (the newest mirrored),
  //  "applied_revision" (the newest accepted), "error", "refused": {"revision", "problems"},
  //  "last_revision": what the newest offered revision did here (null before the first)}
  Json status() const;
  std::int64_t applied_revision() const { return applied_revision_; }
  const Json& refused() const { return refused_; }  // null, or {"revision", "problems"}

 private:
  void read_all();
  void watch_from(std::int64_t revision);
  void on_message(const std::string& message);
  void lost(const std::string& why);
  void offer_current(std::int64_t revision);

  boost::asio::io_context& io_;
  etcd::Client client_;
  etcd::Layout layout_;
  Offer offer_;
  etcd::Objects objects_;             // the fleet's topology objects, as of revision_
  std::int64_t revision_ = 0;         // the newest revision mirrored
  std::int64_t applied_revision_ = 0; // the newest revision whose topology was accepted
  bool watching_ = false;
  std::string error_;
  Json refused_;  // null, or the newest refused revision and why
  // {"revision", "accepted", "this_node_planned", "nodes_planned", "vici_commands", "ms"}: what
  // the newest revision cost this host, so an operator (and the fleet bench) sees that a
  // publish touching other hosts made this one plan nothing and send charon nothing.
  Json last_revision_;
  std::shared_ptr<etcd::Client::Watch> watch_;
  common::Backoff backoff_{std::chrono::milliseconds(200), std::chrono::seconds(10)};
  boost::asio::steady_timer retry_;
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);  // for callbacks after destruction
};

}  // namespace ndsip::daemon
