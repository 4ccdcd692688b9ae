#include "kernel/address_watcher.hpp"

#include <linux/if_addr.h>
#include <linux/rtnetlink.h>
#include <netlink/msg.h>
#include <sys/socket.h>

#include <boost/asio/steady_timer.hpp>
#include <map>

#include "kernel/address_table.hpp"
#include "kernel/dumper.hpp"
#include "kernel/netlink_channel.hpp"
#include "kernel/prefix.hpp"
#include "kernel/rtnl_read.hpp"

namespace ndsip::kernel {
namespace {

constexpr int kDatagramsPerTurn = 64;

std::vector<Request> address_dump() {
  Request r;
  r.type = RTM_GETADDR;
  r.what = "address dump";
  r.build = [](nl_msg* msg) {
    ifaddrmsg header{};
    header.ifa_family = AF_UNSPEC;  // IPv4 and IPv6
    return nlmsg_append(msg, &header, sizeof header, NLMSG_ALIGNTO);
  };
  return {r};
}

}  // namespace

struct AddressWatcher::Impl {
  Impl(boost::asio::io_context& io, Handler h, Options o)
      : io(io), handler(std::move(h)), options(o), dumper(io, dump_options()), retry_timer(io) {}

  SocketOptions dump_options() const {
    SocketOptions s;
    s.protocol = NETLINK_ROUTE;
    s.what = "address dump";
    return s;
  }

  // Joins the groups, then dumps: nothing announced between the two is lost.
  void start() {
    if (!open_events()) return;
    std::vector<AddressEvent> dump;
    Outcome outcome;
    for (int attempt = 0; attempt < 3; ++attempt) {
      dump.clear();
      outcome = dumper.run_now(address_dump(), collector(dump), options.timeout);
      if (outcome.status != Outcome::Status::interrupted) break;
    }
    if (outcome.status == Outcome::Status::failed) {
      fail(outcome.error);
    } else {
      table.replace(dump);
      ++dumps;
      if (outcome.status == Outcome::Status::interrupted) redump();
    }
    read_events();
  }

  bool open_events() {
    SocketOptions s;
    s.protocol = NETLINK_ROUTE;
    s.groups = {RTNLGRP_IPV4_IFADDR, RTNLGRP_IPV6_IFADDR};
    s.receive_buffer = options.receive_buffer;
    s.what = "address events";
    try {
      events = std::make_unique<NetlinkChannel>(io, s);
      return true;
    } catch (const std::exception& e) {
      fail(e.what());
      return false;
    }
  }

  Collect collector(std::vector<AddressEvent>& into) {
    return [&into](std::size_t, nlmsghdr* h) {
      if (auto e = read_address(h)) into.push_back(*e);
    };
  }

  void read_events() {
    events->when_readable([this](const boost::system::error_code& ec) {
      if (ec) {
        events.reset();
        fail("address events: " + ec.message());
        return;
      }
      drain();
    });
  }

  void drain() {
    std::vector<AddressEvent> batch;
    bool lost = false;
    for (int turn = 0; turn < kDatagramsPerTurn; ++turn) {
      const Datagram d = events->socket().receive();
      if (d.status == Datagram::Status::again) break;
      if (d.status == Datagram::Status::overrun) {
        lost = true;
        continue;
      }
      if (d.status == Datagram::Status::failed) {
        events.reset();
        fail("address events: " + errno_text(d.error));
        return;
      }
      for_each_message(d.bytes, [&](nlmsghdr* h) {
        if (auto e = read_address(h)) batch.push_back(*e);
      });
    }
    read_events();
    if (lost) redump();
    if (dumper.busy()) {
      // A re-dump runs: its result replaces the table, then these are replayed on top.
      queued.insert(queued.end(), batch.begin(), batch.end());
      return;
    }
    std::vector<std::pair<std::string, bool>> changes;
    for (const AddressEvent& e : batch) {
      const bool before = table.present(e.address);
      table.apply(e);
      const bool after = table.present(e.address);
      if (before != after && watched.count(e.address)) changes.emplace_back(e.address, after);
    }
    notify(changes);  // last: the handler may destroy the watcher
  }

  // Reads everything again, on the loop (announcements were lost, or a dump was inconsistent).
  void redump() {
    if (dumper.busy()) {
      again = true;
      return;
    }
    again = false;
    scratch.clear();
    dumper.run(address_dump(), collector(scratch), [this](Outcome o) { redumped(std::move(o)); }, options.timeout);
  }

  void redumped(Outcome outcome) {
    if (outcome.status == Outcome::Status::failed) {
      queued.clear();
      fail(outcome.error);
      return;
    }
    std::map<std::string, bool> before;
    for (const auto& [address, spellings] : watched) before[address] = table.present(address);
    table.replace(scratch);
    // Announcements read while the dump ran: older ones change nothing the dump has not
    // already got, newer ones bring it up to date.
    for (const AddressEvent& e : queued) table.apply(e);
    queued.clear();
    ++dumps;
    error.clear();
    if (outcome.status == Outcome::Status::interrupted || again) redump();
    std::vector<std::pair<std::string, bool>> changes;
    for (const auto& [address, was] : before) {
      if (table.present(address) != was) changes.emplace_back(address, !was);
    }
    notify(changes);
  }

  void fail(const std::string& why) {
    error = why;
    retry_timer.expires_after(options.retry);
    std::weak_ptr<int> l = life;
    retry_timer.async_wait([this, l](const boost::system::error_code& ec) {
      if (l.expired() || ec) return;
      if (!events) {
        if (!open_events()) return;
        read_events();
      }
      redump();
    });
  }

  void notify(const std::vector<std::pair<std::string, bool>>& changes) {
    if (!handler) return;
    std::weak_ptr<int> l = life;
    Handler h = handler;  // the watcher may be gone after any call
    for (const auto& [canonical, present] : changes) {
      const auto it = watched.find(canonical);
      if (it == watched.end()) continue;
      const std::vector<std::string> spellings = it->second;
      for (const std::string& spelled : spellings) {
        h(spelled, present);
        if (l.expired()) return;
      }
    }
  }

  boost::asio::io_context& io;
  Handler handler;
  Options options;
  std::unique_ptr<NetlinkChannel> events;
  Dumper dumper;
  boost::asio::steady_timer retry_timer;
  AddressTable table;
  std::map<std::string, std::vector<std::string>> watched;  // canonical -> as given
  std::vector<std::string> not_addresses;                    // given to watch(), never present
  std::vector<AddressEvent> scratch, queued;
  bool again = false;
  std::string error;
  std::uint64_t dumps = 0;
  std::shared_ptr<int> life = std::make_shared<int>(0);
};

AddressWatcher::AddressWatcher(boost::asio::io_context& io, Handler handler)
    : AddressWatcher(io, std::move(handler), Options{}) {}

AddressWatcher::AddressWatcher(boost::asio::io_context& io, Handler handler, Options options)
    : impl_(std::make_unique<Impl>(io, std::move(handler), options)) {
  impl_->start();
}

AddressWatcher::~AddressWatcher() = default;

void AddressWatcher::watch(const std::set<std::string>& addresses) {
  impl_->watched.clear();
  impl_->not_addresses.clear();
  for (const std::string& a : addresses) {
    const std::string canonical = canonical_address(a);
    if (canonical.empty()) {
      impl_->not_addresses.push_back(a);
    } else {
      impl_->watched[canonical].push_back(a);
    }
  }
}

bool AddressWatcher::present(const std::string& address) const {
  const std::string canonical = canonical_address(address);
  return !canonical.empty() && impl_->table.present(canonical);
}

std::vector<std::string> AddressWatcher::missing() const {
  std::vector<std::string> out = impl_->not_addresses;
  for (const auto& [canonical, spellings] : impl_->watched) {
    if (!impl_->table.present(canonical)) out.insert(out.end(), spellings.begin(), spellings.end());
  }
  return out;
}

std::string AddressWatcher::error() const { return impl_->error; }

std::uint64_t AddressWatcher::dumps() const { return impl_->dumps; }

}  // namespace ndsip::kernel
