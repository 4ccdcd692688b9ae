// The fixture the ndsipd integration tests share: a lab whose hosts run charon and ndsipd,
// ndsipctl as an operator would call it, and the waits and look-ups the tests need.
#pragma once

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <functional>
#include <memory>
#include <thread>

#include <nlohmann/json.hpp>

#include "lab/lab.hpp"
#include "lab/lab_topology.hpp"
#include "lab/process.hpp"

namespace ndsip::testing {

using namespace std::chrono_literals;
using nlohmann::json;
namespace fs = std::filesystem;

class Ndsipd : public ::testing::Test {
 protected:
  void SetUp() override {
    if (geteuid() != 0) GTEST_SKIP() << "the lab needs root (network namespaces)";
    lab_ = std::make_unique<lab::Lab>("ndsipd");
  }

  lab::Host& add(const std::string& name) {
    lab::Host& h = lab_->add_host(name);
    // Fast failure detection, so "peer down" tests take seconds, not minutes.
    // make_before_break: re-authentication builds the new IKE_SA before deleting the old one.
    h.charon_extra_conf = "retransmit_tries = 2\nretransmit_timeout = 1\nretransmit_base = 1\nmake_before_break = yes\n";
    return h;
  }

  // The shipped profiles with DPD every 2 s.
  std::string test_policies() { return lab::fast_dpd_policies(lab_->workdir(), NDSIP_SOURCE_DIR "/policies"); }

  void start(lab::Host& h, const std::vector<std::string>& extra = {}) {
    if (h.charon_pid <= 0) lab_->start_charon(h);
    std::vector<std::string> args{"--policies", test_policies(), "--templates", NDSIP_SOURCE_DIR "/templates"};
    args.insert(args.end(), extra.begin(), extra.end());
    lab_->start_ndsipd(h, NDSIP_DAEMON, args);
  }

  void start_all() {
    lab_->make_pki();
    for (const lab::Host& h : lab_->hosts()) start(lab_->host(h.name));
  }

  int ctl(const lab::Host& h, std::vector<std::string> args, std::string* out = nullptr) {
    std::vector<std::string> argv{NDSIP_CTL};
    argv.insert(argv.end(), args.begin(), args.end());
    argv.insert(argv.end(), {"--socket", h.control_socket});
    std::string captured;
    const int rc = lab::proc::run(argv, &captured);
    if (out) *out = captured;
    return rc;
  }

  // status as an operator gets it: from the state ndsipd keeps (charon's events and its
  // list-sas polls). A tunnel whose SA charon announced gone is never `up` in it.
  json status(const lab::Host& h) {
    std::string out;
    ctl(h, {"status", "--json"}, &out);
    return json::parse(out, nullptr, false);
  }

  // After a list-sas sent for it: counters as of now (they move between polls without events).
  json fresh_status(const lab::Host& h) {
    std::string out;
    ctl(h, {"status", "--json", "--fresh"}, &out);
    return json::parse(out, nullptr, false);
  }

  // Pushes to the ndsipd of every host in the topology (a host refuses a topology without
  // itself); expects each to accept.
  void push_all(const lab::LabTopology& t, const std::string& file) {
    const std::string path = t.write(lab_->workdir() + "/" + file);
    for (const lab::LabTopology::Node& n : t.nodes) {
      const lab::Host& h = *n.host;
      std::string out;
      ASSERT_EQ(ctl(h, {"push", path}, &out), 0) << h.name << ": " << out << lab_->ndsipd_log_tail(h);
    }
  }

  // Waits until `ndsipctl status` on h exits 0 (every tunnel up).
  bool all_up(const lab::Host& h, std::chrono::seconds timeout = 20s) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (std::chrono::steady_clock::now() < deadline) {
      if (ctl(h, {"status"}) == 0) return true;
      std::this_thread::sleep_for(200ms);
    }
    return false;
  }

  // `ndsipctl certs --json` of h.
  json certs(const lab::Host& h) {
    std::string out;
    ctl(h, {"certs", "--json"}, &out);
    return json::parse(out, nullptr, false);
  }

  // Waits until `pred(status)` holds.
  bool wait(const lab::Host& h, const std::function<bool(const json&)>& pred, std::chrono::seconds timeout) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (std::chrono::steady_clock::now() < deadline) {
      if (pred(status(h))) return true;
      std::this_thread::sleep_for(200ms);
    }
    return false;
  }

  std::string why(const lab::Host& h) {
    std::string out;
    ctl(h, {"status"}, &out);
    return "\n--- ndsipctl status on " + h.name + " ---\n" + out + "--- ndsipd log ---\n" +
           lab_->ndsipd_log_tail(h, 30) + "--- charon log ---\n" + lab_->log_tail(h, 30);
  }

  static const json* tunnel(const json& s, const std::string& peer) {
    for (const json& t : s["tunnels"]) {
      if (t["peer"] == peer) return &t;
    }
    return nullptr;
  }

  // gms serves val1 (and val2 when with_val2).
  lab::LabTopology topology(bool with_val2) {
    lab::LabTopology t;
    t.nodes.push_back({&lab_->host("gms"), "seal-server", "lab", {"group-management", "key-management"}});
    t.nodes.push_back({&lab_->host("val1"), "val-server"});
    t.uses.push_back({"val1", "gms", {"group-management", "key-management"}});
    if (with_val2) {
      t.nodes.push_back({&lab_->host("val2"), "val-server"});
      t.uses.push_back({"val2", "gms", {"group-management"}});
    }
    return t;
  }

  // gms serving val1, both running, that topology pushed, every tunnel up.
  void bring_up_gms_and_val1() {
    lab::Host& gms = add("gms");
    add("val1");
    start_all();
    push_all(topology(false), "topology.json");
    ASSERT_TRUE(all_up(gms)) << why(gms);
  }

  std::unique_ptr<lab::Lab> lab_;
};


}  // namespace ndsip::testing
