// Keeps a copy of kernel tables current on the loop: one dump at start, then a fresh dump
// after every notification that concerns them (the tables' multicast groups), and after lost
// notifications (ENOBUFS). Re-reading instead of applying each notification keeps one code
// path for every change the kernel can make (flushes, expiries, routes a downed device takes
// with it, which IPv4 does not even announce per route) and cannot drift. A burst of
// notifications costs one dump `settle` after its first, plus one more if any arrive while it
// runs. XFRM and libipsec inventories are mirrors; the address watcher applies its events
// one by one instead, because its caller wants every change.
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "kernel/dumper.hpp"
#include "kernel/netlink_channel.hpp"

namespace ndsip::kernel {

class Mirror {
 public:
  struct Spec {
    SocketOptions events;  // joined to the tables' groups
    SocketOptions dumps;   // no groups
    std::function<std::vector<Request>()> requests;
    std::function<bool(nlmsghdr*)> concerns;  // a notification about the tables?
    std::function<void()> begin;              // a dump starts: clear the scratch copy
    Collect collect;                          // one message of it
    std::function<void()> commit;             // it is complete: the scratch copy is the copy
    std::chrono::milliseconds settle{50};
    std::chrono::milliseconds timeout{10000};  // for each dump
    std::chrono::milliseconds retry{5000};     // after a failed dump
  };

  // Joins the groups first, then dumps (blocking, at most spec.timeout), so no change falls
  // between the two. Never throws: a failure is error(), and is tried again every
  // spec.retry (the socket, then the dump).
  Mirror(boost::asio::io_context& io, Spec spec);
  ~Mirror();
  Mirror(const Mirror&) = delete;
  Mirror& operator=(const Mirror&) = delete;

  // Runs after every committed dump (the copy changed, or may have).
  void on_change(std::function<void()> handler) { on_change_ = std::move(handler); }
  // Why the copy cannot be trusted ("" when it can): no socket, no permission, a failed dump.
  const std::string& error() const { return error_; }
  // The copy has read back every change announced so far (no dump queued or running).
  bool current() const { return error_.empty() && !dumper_.busy() && !queued_; }
  // Dumps again, soon.
  void refresh();
  // Committed dumps so far (tests wait on it).
  std::uint64_t generation() const { return generation_; }

 private:
  bool open_events();
  void read_events();
  void drain();
  void schedule(std::chrono::milliseconds after);
  void start_dump();
  void dumped(Outcome outcome);

  boost::asio::io_context& io_;
  Spec spec_;
  std::unique_ptr<NetlinkChannel> events_;
  Dumper dumper_;
  boost::asio::steady_timer settle_;
  bool queued_ = false;  // a dump is wanted (after the timer, or after the one running)
  bool armed_ = false;   // the timer runs
  std::string error_, events_error_;
  std::uint64_t generation_ = 0;
  std::function<void()> on_change_;
  std::shared_ptr<int> life_ = std::make_shared<int>(0);
};

}  // namespace ndsip::kernel
