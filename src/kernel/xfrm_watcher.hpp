// The kernel's XFRM policies and states, mirrored on the loop (mirror.hpp): dumped at start,
// dumped again after the kernel announces a change (XFRMNLGRP_POLICY, XFRMNLGRP_SA) or
// drops announcements. Policies and states have a mirror each, so a rekey (new states) does
// not re-read the policies. Needs CAP_NET_ADMIN; without it error() says so.
#pragma once

#include <boost/asio/io_context.hpp>
#include <chrono>
#include <functional>
#include <memory>
#include <string>

#include "kernel/xfrm_model.hpp"

namespace ndsip::kernel {

class Mirror;

class XfrmWatcher {
 public:
  struct Options {
    std::chrono::milliseconds settle{50};
    std::chrono::milliseconds timeout{10000};
    std::chrono::milliseconds retry{5000};
  };

  explicit XfrmWatcher(boost::asio::io_context& io);
  XfrmWatcher(boost::asio::io_context& io, Options options);
  ~XfrmWatcher();
  XfrmWatcher(const XfrmWatcher&) = delete;
  XfrmWatcher& operator=(const XfrmWatcher&) = delete;

  // The last complete reading of policies and states.
  const XfrmSnapshot& snapshot() const { return snapshot_; }
  std::string error() const;
  bool current() const;
  // Runs after each new reading.
  void on_change(std::function<void()> handler);
  void refresh();
  std::uint64_t generation() const;  // readings so far

 private:
  XfrmSnapshot snapshot_;
  std::vector<XfrmPolicy> policies_;  // being read
  std::vector<XfrmState> states_;
  std::function<void()> on_change_;
  std::unique_ptr<Mirror> policy_mirror_, state_mirror_;
};

}  // namespace ndsip::kernel
