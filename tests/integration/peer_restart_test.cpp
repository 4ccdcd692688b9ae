// A peer restarts (its charon killed and started again: a host reboot) while the hub keeps
// its now stale IKE_SA. charon's own retransmits would take minutes to notice (measured 187 s
// with its defaults); ndsipd must not call the tunnel `up` meanwhile, and must get traffic
// through again within seconds. charon runs with its default retransmission settings here
// (4 s, x1.8, 5 tries): that is what makes the stale SA last.
#include <gtest/gtest.h>

#include <chrono>
#include <thread>

#include "lab/tunnel_setup.hpp"
#include "ndsipd_fixture.hpp"

using namespace ndsip;
using ndsip::testing::Ndsipd;
using namespace std::chrono_literals;
using nlohmann::json;

namespace {

class PeerRestart : public Ndsipd {
 protected:
  // gms serving val1, both with charon's default retransmissions.
  void bring_up() {
    for (const char* name : {"gms", "val1"}) lab_->add_host(name).charon_extra_conf = "make_before_break = yes\n";
    start_all();
    push_all(topology(false), "topology.json");
    ASSERT_TRUE(all_up(lab_->host("gms"))) << why(lab_->host("gms"));
    ASSERT_TRUE(all_up(lab_->host("val1"))) << why(lab_->host("val1"));
    ASSERT_TRUE(lab_->ping(lab_->host("gms"), lab_->host("val1").inner_addr, 2));
  }

  // Seconds until `done` holds (polled every 200 ms), or -1 after `limit`.
  static double seconds_until(const std::function<bool()>& done, std::chrono::seconds limit) {
    const auto t0 = std::chrono::steady_clock::now();
    while (std::chrono::steady_clock::now() - t0 < limit) {
      if (done()) return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
      std::this_thread::sleep_for(200ms);
    }
    return -1;
  }
};

}  // namespace

// The peer runs ndsipd: its ndsipd sees that charon lost what it had loaded and initiates at
// once, although by the initiator rule gms initiates; INITIAL_CONTACT makes gms drop the
// stale IKE_SA. Target: traffic from the hub within 10 s of the peer's charon starting.
TEST_F(PeerRestart, APeerRunningNdsipdIsBackWithinSeconds) {
  ASSERT_NO_FATAL_FAILURE(bring_up());
  lab::Host& gms = lab_->host("gms");
  lab::Host& val1 = lab_->host("val1");
  const json before = *tunnel(status(gms), "val1");

  lab_->stop_charon(val1, SIGKILL);
  lab_->start_charon(val1);
  const double back = seconds_until([&] { return lab_->ping_replies(gms, val1.inner_addr, 1) == 1; }, 30s);
  std::cout << "[ measured ] peer restart to traffic from the hub: " << back << " s\n";
  EXPECT_GE(back, 0) << why(gms) << why(val1);
  EXPECT_LE(back, 10) << why(gms) << why(val1);
  EXPECT_TRUE(all_up(gms, 10s)) << why(gms);
  EXPECT_NE((*tunnel(status(gms), "val1"))["ike_uniqueid"], before["ike_uniqueid"]);
  EXPECT_NE(lab_->ndsipd_log_tail(val1).find("initiating them from this end at once"), std::string::npos)
      << lab_->ndsipd_log_tail(val1);
}

// The peer is configured by hand (no ndsipd): it restarts empty and initiates nothing. gms
// must stop saying `up` within the liveness interval (DPD 2 s here, then the first
// retransmit at 4 s), and once the peer is configured again the tunnel comes back without
// waiting for charon's retransmits to give up.
TEST_F(PeerRestart, AHandConfiguredPeerIsNotUpWhileSilentAndComesBackWhenItAnswers) {
  ASSERT_NO_FATAL_FAILURE(bring_up());
  lab::Host& gms = lab_->host("gms");
  lab::Host& val1 = lab_->host("val1");
  lab_->stop_ndsipd(val1);  // from now on val1 is configured by hand
  lab_->stop_charon(val1, SIGKILL);
  lab_->start_charon(val1);

  const double not_up = seconds_until([&] { return (*tunnel(status(gms), "val1"))["state"] != "up"; }, 60s);
  std::cout << "[ measured ] peer restart to `up` leaving the hub's status: " << not_up << " s\n";
  EXPECT_GE(not_up, 0) << why(gms);
  EXPECT_LE(not_up, 10) << why(gms);  // DPD after 2 s idle + the first retransmit after 4 s
  const json t = *tunnel(status(gms), "val1");
  EXPECT_NE(t["last_error"].get<std::string>().find("not answering"), std::string::npos) << t.dump(2);
  EXPECT_NE(ctl(gms, {"status"}), 0);

  // The operator configures val1 by hand, as a responder.
  vici::Client client;
  ASSERT_TRUE(client.connect_with_retry(val1.vici_uri, 5s));
  lab::load_credentials(client, *lab_, val1);
  client.load_conn("by-hand", lab::tunnel_connection(val1, gms, "by-hand-net"));
  const double back = seconds_until([&] { return ctl(gms, {"status"}) == 0; }, 60s);
  std::cout << "[ measured ] peer configured to the hub's tunnel up again: " << back << " s\n";
  EXPECT_GE(back, 0) << why(gms);
  EXPECT_LE(back, 30) << why(gms);
  EXPECT_TRUE(lab_->ping(gms, val1.inner_addr, 3)) << why(gms);
}
