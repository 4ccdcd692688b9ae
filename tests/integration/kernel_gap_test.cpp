// The kernel's side of a tunnel lost behind charon's back (someone deleted the route
// kernel-libipsec installed in table 220; with the kernel's XFRM it would be `ip xfrm policy
// flush`): charon still says INSTALLED, ndsipd's kernel check finds the gap, the tunnel is not
// `up` while it lasts, and ndsipd repairs it (rekey, then initiating afresh) until traffic
// passes again. A route no SA owns is reported stale.
#include <gtest/gtest.h>

#include <thread>

#include "ndsipd_fixture.hpp"

using namespace ndsip;
using ndsip::testing::Ndsipd;
using namespace std::chrono_literals;
using nlohmann::json;

class KernelGaps : public Ndsipd {};

TEST_F(KernelGaps, ARouteDeletedBehindCharonsBackIsFoundAndRepairedAndAStrayOneIsStale) {
  bring_up_gms_and_val1();
  lab::Host& gms = lab_->host("gms");
  lab::Host& val1 = lab_->host("val1");
  auto kernel_of = [&](const json& s) {
    const json* t = tunnel(s, "val1");
    return t ? (*t)["kernel"].get<std::string>() : std::string("no tunnel");
  };
  json s;
  auto wait_for = [&](auto pred, std::chrono::seconds limit) {
    const auto deadline = std::chrono::steady_clock::now() + limit;
    while (!pred(s = fresh_status(gms)) && std::chrono::steady_clock::now() < deadline) {
      std::this_thread::sleep_for(100ms);
    }
    return pred(s);
  };
  ASSERT_TRUE(wait_for([&](const json& j) { return kernel_of(j) == "ok"; }, 10s)) << s.dump(2);
  EXPECT_EQ(s["kernel"]["datapath"], "libipsec") << s["kernel"].dump();
  EXPECT_TRUE(s["kernel"]["stale"].empty()) << s["kernel"].dump();

  // The route to val1's protected address, deleted behind charon's back: traffic stops.
  std::string out;
  const auto deleted = std::chrono::steady_clock::now();
  ASSERT_EQ(lab_->run(gms, {"ip", "route", "del", val1.inner_addr + "/32", "table", "220"}, &out), 0) << out;
  // Found, and repaired: the route is back, the tunnel up with its kernel side ok, traffic passes.
  auto route_back = [&] {
    std::string routes;
    lab_->run(gms, {"ip", "route", "show", "table", "220"}, &routes);
    return routes.find(val1.inner_addr) != std::string::npos;
  };
  ASSERT_TRUE(wait_for(
      [&](const json& j) {
        const json* t = tunnel(j, "val1");
        return t && (*t)["state"] == "up" && kernel_of(j) == "ok" && route_back();
      },
      30s))
      << s.dump(2) << lab_->ndsipd_log_tail(gms, 40);
  const auto repaired = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - deleted);
  const std::string log = lab_->ndsipd_log_tail(gms, 80);
  EXPECT_NE(log.find("the kernel lacks"), std::string::npos) << log;
  EXPECT_TRUE(lab_->ping(val1, gms.inner_addr, 3)) << why(gms);
  // How it was repaired and how long it took, for the measurement.
  std::printf("[ kernel gap ] repaired %lld ms after the route was deleted; %s\n",
              static_cast<long long>(repaired.count()),
              log.find("initiating afresh") != std::string::npos ? "the rekey did not bring it back, initiating afresh did"
                                                                 : "the rekey brought it back");

  // A route into charon's device that no SA accounts for: stale.
  ASSERT_EQ(lab_->run(gms, {"ip", "route", "add", "198.18.7.7/32", "dev", "ipsec0", "table", "220"}, &out), 0) << out;
  ASSERT_TRUE(wait_for([&](const json& j) { return j["kernel"]["stale"].dump().find("198.18.7.7") != std::string::npos; },
                       10s))
      << s["kernel"].dump(2);
  EXPECT_EQ(ctl(gms, {"status"}, &out), 0) << out;  // reported, not a tunnel's failure
  EXPECT_NE(out.find("198.18.7.7"), std::string::npos) << out;
}
