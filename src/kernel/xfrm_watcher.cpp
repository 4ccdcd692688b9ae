#include "kernel/xfrm_watcher.hpp"

#include <linux/netlink.h>
#include <linux/xfrm.h>

#include "kernel/mirror.hpp"
#include "kernel/xfrm_read.hpp"

namespace ndsip::kernel {
namespace {

bool is_one_of(std::uint16_t type, std::initializer_list<int> types) {
  for (int t : types) {
    if (type == t) return true;
  }
  return false;
}

Mirror::Spec spec(const XfrmWatcher::Options& o, const std::string& what, std::uint32_t group) {
  Mirror::Spec s;
  s.events.protocol = NETLINK_XFRM;
  s.events.groups = {group};
  s.events.what = "XFRM " + what + " events";
  s.dumps.protocol = NETLINK_XFRM;
  s.dumps.what = "XFRM " + what + " dump";
  s.settle = o.settle;
  s.timeout = o.timeout;
  s.retry = o.retry;
  return s;
}

}  // namespace

XfrmWatcher::XfrmWatcher(boost::asio::io_context& io) : XfrmWatcher(io, Options{}) {}

XfrmWatcher::XfrmWatcher(boost::asio::io_context& io, Options options) {
  Mirror::Spec p = spec(options, "policy", XFRMNLGRP_POLICY);
  p.requests = [] {
    Request r;
    r.type = XFRM_MSG_GETPOLICY;
    r.what = "XFRM policy dump";
    return std::vector<Request>{r};
  };
  p.concerns = [](nlmsghdr* h) {
    return is_one_of(h->nlmsg_type, {XFRM_MSG_NEWPOLICY, XFRM_MSG_UPDPOLICY, XFRM_MSG_DELPOLICY,
                                      XFRM_MSG_FLUSHPOLICY, XFRM_MSG_POLEXPIRE});
  };
  p.begin = [this] { policies_.clear(); };
  p.collect = [this](std::size_t, nlmsghdr* h) {
    if (auto policy = read_policy(h)) policies_.push_back(std::move(*policy));
  };
  p.commit = [this] {
    snapshot_.policies.swap(policies_);
    policies_.clear();
  };

  Mirror::Spec s = spec(options, "state", XFRMNLGRP_SA);
  s.dumps.wipe = true;  // state dumps carry the SAs' keys
  s.requests = [] {
    Request r;
    r.type = XFRM_MSG_GETSA;
    r.what = "XFRM state dump";
    return std::vector<Request>{r};
  };
  s.concerns = [](nlmsghdr* h) {
    return is_one_of(h->nlmsg_type, {XFRM_MSG_NEWSA, XFRM_MSG_UPDSA, XFRM_MSG_DELSA, XFRM_MSG_FLUSHSA, XFRM_MSG_EXPIRE});
  };
  s.begin = [this] { states_.clear(); };
  s.collect = [this](std::size_t, nlmsghdr* h) {
    if (auto state = read_state(h)) states_.push_back(*state);
  };
  s.commit = [this] {
    snapshot_.states.swap(states_);
    states_.clear();
  };

  policy_mirror_ = std::make_unique<Mirror>(io, std::move(p));
  state_mirror_ = std::make_unique<Mirror>(io, std::move(s));
  // After the mirror is done with its reading (the handler may destroy this watcher).
  auto changed = [this] {
    if (on_change_) on_change_();
  };
  policy_mirror_->on_change(changed);
  state_mirror_->on_change(changed);
}

XfrmWatcher::~XfrmWatcher() = default;

std::string XfrmWatcher::error() const {
  std::string e = !policy_mirror_->error().empty() ? policy_mirror_->error() : state_mirror_->error();
  // The usual cause, said where the operator reads it (ndsipd's unit bounds its capabilities).
  if (e.find("not permitted") != std::string::npos) e += " (reading XFRM needs CAP_NET_ADMIN)";
  return e;
}

bool XfrmWatcher::current() const { return policy_mirror_->current() && state_mirror_->current(); }

void XfrmWatcher::on_change(std::function<void()> handler) { on_change_ = std::move(handler); }

void XfrmWatcher::refresh() {
  policy_mirror_->refresh();
  state_mirror_->refresh();
}

std::uint64_t XfrmWatcher::generation() const { return policy_mirror_->generation() + state_mirror_->generation(); }

}  // namespace ndsip::kernel
