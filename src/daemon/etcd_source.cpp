#include "daemon/etcd_source.hpp"

#include <chrono>

#include "daemon/log.hpp"
#include "topology/state.hpp"

namespace ndsip::daemon {

EtcdSource::EtcdSource(boost::asio::io_context& io, etcd::ClientSettings settings, etcd::Layout layout, Offer offer)
    : io_(io), client_(io, std::move(settings)), layout_(std::move(layout)), offer_(std::move(offer)), retry_(io) {}

EtcdSource::~EtcdSource() {
  *alive_ = false;
  if (watch_) watch_->cancel();
}

void EtcdSource::start() { read_all(); }

void EtcdSource::read_all() {
  // The objects at one revision: the range answer carries it, and the watch starts after it.
  auto alive = alive_;
  client_.post("/v3/kv/range", etcd::range_request(layout_.objects_prefix(), etcd::prefix_end(layout_.objects_prefix())),
               [this, alive](std::optional<etcd::Error> e, std::string body) {
                 if (!*alive) return;
                 etcd::RangeResult r;
                 try {
                   if (e) throw *e;
                   r = etcd::parse_range(body);
                   if (r.more) throw etcd::Error(etcd::Error::Kind::malformed, "etcd cut the range short");
                 } catch (const etcd::Error& err) {
                   return lost(err.what());
                 }
                 etcd::Objects objects;
                 for (const etcd::KeyValue& kv : r.kvs) {
                   if (auto id = layout_.object_of(kv.key)) objects[*id] = kv.value;
                 }
                 const bool changed = objects != objects_ || applied_revision_ == 0;
                 objects_ = std::move(objects);
                 revision_ = r.header.revision;
                 log("etcd: read " + std::to_string(objects_.size()) + " topology objects at revision " +
                     std::to_string(revision_));
                 if (changed) offer_current(revision_);
                 watch_from(revision_ + 1);
               });
}

void EtcdSource::watch_from(std::int64_t revision) {
  if (watch_) watch_->cancel();
  auto alive = alive_;
  watch_ = client_.watch(
      etcd::watch_create_request(layout_.objects_prefix(), etcd::prefix_end(layout_.objects_prefix()), revision),
      [this, alive](const std::string& m) {
        if (*alive) on_message(m);
      },
      [this, alive](const etcd::Error& why) {
        if (*alive) lost(why.what());
      });
}

void EtcdSource::on_message(const std::string& message) {
  etcd::WatchResult w;
  try {
    w = etcd::parse_watch(message);
  } catch (const etcd::Error& e) {
    watch_->cancel();
    return lost(e.what());
  }
  if (w.created) {
    if (!watching_) log("etcd: watching " + layout_.objects_prefix() + " from revision " + std::to_string(revision_ + 1));
    watching_ = true;
    error_.clear();
    backoff_.reset();
  }
  if (w.canceled) {
    watch_->cancel();
    watching_ = false;
    if (w.compact_revision > 0) {
      log("etcd: revision " + std::to_string(revision_ + 1) + " was compacted (now " +
          std::to_string(w.compact_revision) + "); reading everything again");
      return read_all();
    }
    return lost("the watch was cancelled: " + (w.cancel_reason.empty() ? std::string("no reason given") : w.cancel_reason));
  }
  // Events come in revision order; each revision is one transaction (one publish).
  std::size_t i = 0;
  while (i < w.events.size()) {
    const std::int64_t rev = w.events[i].kv.mod_revision;
    for (; i < w.events.size() && w.events[i].kv.mod_revision == rev; ++i) {
      const etcd::WatchEvent& ev = w.events[i];
      const auto id = layout_.object_of(ev.kv.key);
      if (!id) continue;  // not an object's key: nothing of the topology
      if (ev.type == etcd::WatchEvent::Type::put) {
        objects_[*id] = ev.kv.value;
      } else {
        objects_.erase(*id);
      }
    }
    revision_ = std::max(revision_, rev);
    offer_current(rev);
  }
  revision_ = std::max(revision_, w.header.revision);  // progress notifications move it too
}

void EtcdSource::lost(const std::string& why) {
  watching_ = false;
  if (error_ != why) log("etcd: " + why + "; keeping the topology in force and retrying");
  error_ = why;
  retry_.expires_after(backoff_.next());
  auto alive = alive_;
  retry_.async_wait([this, alive](boost::system::error_code ec) {
    if (ec || !*alive) return;
    // Resume after what was mirrored; nothing mirrored yet: read everything.
    if (revision_ > 0) {
      watch_from(revision_ + 1);
    } else {
      read_all();
    }
  });
}

void EtcdSource::offer_current(std::int64_t revision) {
  if (objects_.empty()) {
    log("etcd: nothing published under " + layout_.prefix() + " yet");
    return;
  }
  auto alive = alive_;
  const auto t0 = std::chrono::steady_clock::now();
  offer_(topology::assemble(objects_), [this, alive, revision, t0](Json answer) {
    if (!*alive) return;
    const Json work = answer.value("work", Json::object());
    last_revision_ = {
        {"revision", revision},
        {"accepted", answer.value("ok", false)},
        {"this_node_planned", work.value("this_node_planned", false)},
        {"nodes_planned", work.value("nodes_planned", 0)},
        {"vici_commands", answer.value("vici_commands", 0)},
        {"ms", std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count()}};
    if (answer.value("ok", false)) {
      applied_revision_ = std::max(applied_revision_, revision);
      if (!refused_.is_null() && refused_.value("revision", std::int64_t{0}) <= revision) refused_ = nullptr;
      return;
    }
    Json problems = answer.contains("problems") ? answer["problems"] : Json::array({answer.value("error", "refused")});
    refused_ = {{"revision", revision}, {"problems", problems}};
    log("etcd: the topology at revision " + std::to_string(revision) + " is refused (" +
        std::to_string(problems.size()) + " problems); the topology in force stays");
  });
}

EtcdSource::Json EtcdSource::status() const {
  Json endpoints = Json::array();
  for (const etcd::Endpoint& e : client_.settings().endpoints) endpoints.push_back(e.text());
  return {{"kind", "etcd"},        {"endpoints", endpoints},           {"prefix", layout_.prefix()},
          {"watching", watching_}, {"revision", revision_},            {"applied_revision", applied_revision_},
          {"error", error_},       {"refused", refused_},              {"last_revision", last_revision_}};
}

}  // namespace ndsip::daemon
