// ndsipd with --topology-source etcd, in the lab: a real etcd in a lab namespace of its own,
// with TLS and client certificates (and, in one test, users), two hosts with charon and
// ndsipd watching it. One publish and both converge and traffic passes; an object written
// around ndsipctl (etcdctl) that breaks the topology is refused with its problems in status
// and the tunnels stay; a local push is refused; etcd killed and started again in the middle
// of the watch: ndsipd keeps its tunnels, reconnects and applies the next publish; a lease
// run out shows `unreachable`; restarts while etcd is down, and a compaction.
#include <gtest/gtest.h>

#include <csignal>
#include <fstream>
#include <thread>

#include "lab/etcd_server.hpp"
#include "ndsipd_fixture.hpp"

using namespace ndsip;
using ndsip::testing::Ndsipd;
using namespace std::chrono_literals;
using nlohmann::json;

class FleetNdsipd : public Ndsipd {
 protected:
  // etcd as a fleet runs it: in a lab namespace of its own, TLS with client certificates.
  std::unique_ptr<lab::EtcdServer> start_etcd(const lab::Host& store) {
    std::filesystem::create_directories(lab_->workdir() + "/etcd-data");
    auto etcd = std::make_unique<lab::EtcdServer>(lab_->workdir() + "/etcd-data", store.netns, store.outer_addr, true);
    etcd->start();
    return etcd;
  }
  // ndsipd's and ndsipctl's options to reach it.
  static std::vector<std::string> tls_options(const lab::EtcdServer& etcd) {
    return {"--etcd-cacert", etcd.ca().cert, "--etcd-cert", etcd.client().cert, "--etcd-key", etcd.client().key};
  }
  static std::vector<std::string> source(const lab::EtcdServer& etcd) {
    std::vector<std::string> s{"--topology-source", "etcd", "--etcd-endpoints", etcd.endpoint()};
    for (const std::string& o : tls_options(etcd)) s.push_back(o);
    return s;
  }
  // etcdctl with `args`, as an operator writing around ndsipctl.
  static std::vector<std::string> etcdctl(const lab::EtcdServer& etcd, const std::vector<std::string>& args) {
    std::vector<std::string> argv{"etcdctl", "--endpoints", etcd.endpoint(), "--cacert", etcd.ca().cert,
                                  "--cert",  etcd.client().cert, "--key", etcd.client().key};
    argv.insert(argv.end(), args.begin(), args.end());
    return argv;
  }
  // ndsipctl's fleet command `args` against it.
  static std::vector<std::string> fleet_ctl(const lab::EtcdServer& etcd, std::vector<std::string> args) {
    args.insert(args.begin(), NDSIP_CTL);
    args.insert(args.end(), {"--etcd", etcd.endpoint()});
    for (const std::string& o : tls_options(etcd)) args.push_back(o);
    return args;
  }

  // Waits until `pred(status)` holds on h (status --json), or 20 s.
  template <typename Pred>
  bool wait_status(const lab::Host& h, Pred pred, json* last = nullptr) {
    const auto deadline = std::chrono::steady_clock::now() + 20s;
    json s;
    while (std::chrono::steady_clock::now() < deadline) {
      s = status(h);
      if (pred(s)) break;
      std::this_thread::sleep_for(200ms);
    }
    if (last) *last = s;
    return pred(s);
  }
};

TEST_F(FleetNdsipd, OnePublishEveryHostConvergesAndBadRevisionsAreRefused) {
  lab::Host& store = lab_->add_host("etcd");
  lab::Host& gms = add("gms");
  lab::Host& val1 = add("val1");
  lab_->make_pki();
  const auto server = start_etcd(store);
  lab::EtcdServer& etcd = *server;
  start(gms, source(etcd));
  start(val1, source(etcd));

  const std::string file = topology(false).write(lab_->workdir() + "/topology.json");
  auto publish = [&](const std::string& path, std::string* out) {
    return lab_->run(
        store,
        fleet_ctl(etcd, {"publish", path, "--policies", test_policies(), "--templates", NDSIP_SOURCE_DIR "/templates"}),
        out);
  };
  std::string out;
  ASSERT_EQ(publish(file, &out), 0) << out;
  ASSERT_TRUE(all_up(gms, 30s)) << why(gms);
  ASSERT_TRUE(all_up(val1, 30s)) << why(val1);
  EXPECT_TRUE(lab_->ping(val1, gms.inner_addr, 3));
  // The fleet status: every node applied the publish and has its tunnels up (the status keys
  // are written every poll interval, 1 s here).
  auto fleet_status = [&](std::string* text, bool as_json = false) {
    std::vector<std::string> args{"fleet-status"};
    if (as_json) args.push_back("--json");
    return lab_->run(store, fleet_ctl(etcd, args), text);
  };
  auto fleet_status_becomes = [&](int rc, std::string* text) {
    const auto deadline = std::chrono::steady_clock::now() + 20s;
    while (fleet_status(text) != rc && std::chrono::steady_clock::now() < deadline) std::this_thread::sleep_for(300ms);
    return fleet_status(text) == rc;
  };
  ASSERT_TRUE(fleet_status_becomes(0, &out)) << out;
  EXPECT_NE(out.find("gms"), std::string::npos) << out;
  EXPECT_NE(out.find("1/1"), std::string::npos) << out;
  json s = status(gms);
  EXPECT_EQ(s["source"]["kind"], "etcd");
  EXPECT_GT(s["source"]["applied_revision"].get<int>(), 0) << s["source"].dump();
  const int version = s["topology"]["version"];

  // A local push is refused while etcd is the source.
  EXPECT_EQ(ctl(gms, {"push", file}, &out), 1) << out;
  EXPECT_NE(out.find("comes from etcd"), std::string::npos) << out;

  // An object written around ndsipctl that breaks the topology: refused on both hosts, every
  // tunnel stays up, and status says which revision and why.
  ASSERT_EQ(lab_->run(store,
                      etcdctl(etcd, {"put", "/ndsip/v1/topology/node/val1",
                                     R"({"name":"val1","role":"val-server","domain":"lab","addresses":["not-an-address"]})"}),
                      &out),
            0)
      << out;
  ASSERT_TRUE(wait_status(gms, [](const json& j) { return !j["source"]["refused"].is_null(); }, &s))
      << s.dump(2);
  EXPECT_NE(s["source"]["refused"].dump().find("not-an-address"), std::string::npos) << s["source"].dump(2);
  EXPECT_EQ(s["topology"]["version"], version);
  EXPECT_TRUE(all_up(gms, 5s)) << why(gms);
  EXPECT_TRUE(lab_->ping(val1, gms.inner_addr, 3));

  // etcd killed in the middle of the watch: ndsipd keeps running on what it has.
  etcd.kill();
  ASSERT_TRUE(wait_status(gms, [](const json& j) { return j["source"]["watching"] == false; }, &s))
      << s.dump(2);
  EXPECT_TRUE(all_up(gms, 5s)) << why(gms);
  // etcd back: the watch resumes, and a good publish (the file again) replaces the refused
  // object and is applied on both.
  etcd.start();
  ASSERT_EQ(publish(file, &out), 0) << out;
  for (lab::Host* h : {&gms, &val1}) {
    ASSERT_TRUE(wait_status(*h,
                            [](const json& j) {
                              return j["source"]["watching"] == true && j["source"]["refused"].is_null();
                            },
                            &s))
        << h->name << ": " << s["source"].dump(2) << why(*h);
  }
  EXPECT_TRUE(all_up(gms, 10s)) << why(gms);
  EXPECT_TRUE(lab_->ping(val1, gms.inner_addr, 3));
  // val1's ndsipd stops: its lease runs out and the fleet status shows it unreachable.
  lab_->stop_ndsipd(val1);
  auto node_state = [&](const std::string& node) {
    std::string text;
    fleet_status(&text, true);
    const json fleet = json::parse(text.substr(std::min(text.find('{'), text.size())), nullptr, false);
    if (!fleet.is_object()) return std::string("no JSON: ") + text;
    for (const json& n : fleet["nodes"]) {
      if (n["node"] == node) return n["state"].get<std::string>();
    }
    return std::string("absent");
  };
  const auto deadline = std::chrono::steady_clock::now() + 20s;
  while (node_state("val1") != "unreachable" && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(300ms);
  }
  EXPECT_EQ(node_state("val1"), "unreachable");
  EXPECT_EQ(node_state("gms"), "ok");
  EXPECT_EQ(fleet_status(&out), 1) << out;
  EXPECT_NE(out.find("unreachable"), std::string::npos) << out;
  // The story as the log tells it: refused, etcd lost, the watch resumed after the revision
  // it had (not read again from scratch), the good topology accepted.
  const std::string log = lab_->ndsipd_log_tail(gms, 400);
  for (const char* line : {"is refused", "keeping the topology in force and retrying", "watching /ndsip/v1/topology/"}) {
    EXPECT_NE(log.find(line), std::string::npos) << line << "\n" << log;
  }
  EXPECT_EQ(log.find("etcd: read"), log.rfind("etcd: read")) << log;  // read in full once
}

// etcd requires client certificates (the other tests reach it with one): ndsipctl without
// one exits 2 naming the endpoint and the missing certificate; ndsipd without one keeps
// running, holds charon as it is and says why in status.
TEST_F(FleetNdsipd, WithoutAClientCertificateEtcdRefusesAndStatusSaysWhy) {
  lab::Host& store = lab_->add_host("etcd");
  lab::Host& gms = add("gms");
  lab_->make_pki();
  const auto server = start_etcd(store);
  lab::EtcdServer& etcd = *server;
  ASSERT_EQ(etcd.endpoint(), "https://" + store.outer_addr + ":2379");
  start(gms, {"--topology-source", "etcd", "--etcd-endpoints", etcd.endpoint(), "--etcd-cacert", etcd.ca().cert});
  std::string out;
  EXPECT_EQ(lab_->run(gms, {NDSIP_CTL, "fleet-status", "--etcd", etcd.endpoint(), "--etcd-cacert", etcd.ca().cert}, &out),
            2)
      << out;
  EXPECT_NE(out.find(etcd.endpoint()), std::string::npos) << out;
  EXPECT_NE(out.find("no client certificate"), std::string::npos) << out;
  json s;
  ASSERT_TRUE(wait_status(gms,
                          [](const json& j) {
                            return j["source"]["error"].get<std::string>().find("no client certificate") !=
                                   std::string::npos;
                          },
                          &s))
      << s["source"].dump(2);
  EXPECT_EQ(s["source"]["watching"], false);
  EXPECT_EQ(s["topology"]["version"], 0);
}

// etcd with authentication enabled (a user whose role may read and write the fleet's prefix):
// ndsipd with the user and a password file converges; one with a wrong password keeps running,
// says why in status, never logs the password, and converges once restarted with the right one.
TEST_F(FleetNdsipd, UserAndPassword) {
  lab::Host& store = lab_->add_host("etcd");
  lab::Host& gms = add("gms");
  lab::Host& val1 = add("val1");
  lab_->make_pki();
  std::filesystem::create_directories(lab_->workdir() + "/etcd-data");
  lab::EtcdServer etcd(lab_->workdir() + "/etcd-data", store.netns, store.outer_addr);
  etcd.start();
  auto etcdctl = [&](std::vector<std::string> args) {
    args.insert(args.begin(), {"etcdctl", "--endpoints", etcd.endpoint()});
    std::string out;
    EXPECT_EQ(lab_->run(store, args, &out), 0) << out;
  };
  etcdctl({"user", "add", "root:root-pw-1"});
  etcdctl({"role", "add", "fleet"});
  etcdctl({"role", "grant-permission", "fleet", "--prefix=true", "readwrite", "/ndsip/v1/"});
  etcdctl({"user", "add", "fleet:right-pw-7"});
  etcdctl({"user", "grant-role", "fleet", "fleet"});
  etcdctl({"auth", "enable"});
  auto password_file = [&](const std::string& name, const std::string& password) {
    const std::string path = lab_->workdir() + "/" + name;
    std::ofstream(path) << password << "\n";
    std::filesystem::permissions(path, std::filesystem::perms::owner_read | std::filesystem::perms::owner_write);
    return path;
  };
  const std::string right = password_file("right.pw", "right-pw-7");
  const std::string wrong = password_file("wrong.pw", "wrong-pw-9");
  auto source = [&](const std::string& file) {
    return std::vector<std::string>{"--topology-source", "etcd",   "--etcd-endpoints",     etcd.endpoint(),
                                    "--etcd-user",       "fleet", "--etcd-password-file", file};
  };
  start(gms, source(right));
  start(val1, source(wrong));
  const std::string file = topology(false).write(lab_->workdir() + "/topology.json");
  std::string out;
  ASSERT_EQ(lab_->run(store,
                      {NDSIP_CTL, "publish", file, "--etcd", etcd.endpoint(), "--etcd-user", "fleet",
                       "--etcd-password-file", right, "--policies", test_policies(), "--templates",
                       NDSIP_SOURCE_DIR "/templates"},
                      &out),
            0)
      << out;
  // gms takes the publish; val1 cannot read etcd and says so, running on.
  json s;
  ASSERT_TRUE(wait_status(gms, [](const json& j) { return j["source"]["applied_revision"].get<long long>() > 0; }, &s))
      << s["source"].dump(2);
  ASSERT_TRUE(wait_status(val1,
                          [](const json& j) {
                            return j["source"]["error"].get<std::string>().find("authenticating to etcd as fleet") !=
                                   std::string::npos;
                          },
                          &s))
      << s["source"].dump(2);
  EXPECT_EQ(s["topology"]["version"], 0) << s.dump(2);
  for (const lab::Host* h : {&gms, &val1}) {
    const std::string log = lab_->ndsipd_log_tail(*h, 400);
    EXPECT_EQ(log.find("right-pw-7"), std::string::npos) << log;
    EXPECT_EQ(log.find("wrong-pw-9"), std::string::npos) << log;
  }
  // Restarted with the right password: it reads the publish, both ends come up.
  lab_->stop_ndsipd(val1);
  start(val1, source(right));
  ASSERT_TRUE(all_up(val1, 30s)) << why(val1);
  ASSERT_TRUE(all_up(gms, 30s)) << why(gms);
  EXPECT_TRUE(lab_->ping(val1, gms.inner_addr, 3));
}

// Two harder recoveries. (1) ndsipd restarted while etcd is down starts from its local last
// good topology, with its tunnels, and catches up with a publish made once etcd is back.
// (2) A compaction past the revision a daemon had: its ndsipd is frozen (SIGSTOP) while etcd
// restarts, a publish lands and etcd compacts; thawed, it finds its watch revision gone,
// reads everything again and applies the difference.
TEST_F(FleetNdsipd, RestartWhileEtcdIsDownAndACompactionPastTheDaemonsRevision) {
  lab::Host& store = lab_->add_host("etcd");
  lab::Host& gms = add("gms");
  lab::Host& val1 = add("val1");
  lab_->make_pki();
  const auto server = start_etcd(store);
  lab::EtcdServer& etcd = *server;
  start(gms, source(etcd));
  start(val1, source(etcd));
  auto publish_with_comment = [&](const std::string& comment) {
    json doc = json::parse(topology(false).json());
    doc["comment"] = comment;
    const std::string path = lab_->workdir() + "/t-" + std::to_string(std::hash<std::string>{}(comment)) + ".json";
    std::ofstream(path) << doc.dump(2);
    std::string out;
    EXPECT_EQ(lab_->run(store,
                        fleet_ctl(etcd, {"publish", path, "--policies", test_policies(), "--templates",
                                         NDSIP_SOURCE_DIR "/templates"}),
                        &out),
              0)
        << out;
  };
  publish_with_comment("first");
  ASSERT_TRUE(all_up(gms, 30s)) << why(gms);
  const int v1 = status(gms)["topology"]["version"];

  // (1) etcd down, gms's ndsipd restarted: it comes up on version v1 with its tunnel.
  etcd.kill();
  lab_->stop_ndsipd(gms);
  start(gms, source(etcd));
  json s;
  ASSERT_TRUE(wait_status(gms, [&](const json& j) { return j["topology"]["version"] == v1; }, &s)) << s.dump(2);
  EXPECT_TRUE(all_up(gms, 10s)) << why(gms);
  EXPECT_EQ(s["source"]["watching"], false);
  etcd.start();
  publish_with_comment("second");
  ASSERT_TRUE(wait_status(gms, [&](const json& j) { return j["topology"]["version"] == v1 + 1; }, &s)) << s.dump(2);
  // A publish that changes only the comment touches no host: val1 accepts the revision without
  // making its plan again and sends charon nothing.
  ASSERT_TRUE(wait_status(val1,
                          [&](const json& j) {
                            return j["source"]["last_revision"].is_object() &&
                                   j["source"]["last_revision"]["revision"] == s["source"]["applied_revision"];
                          },
                          &s))
      << s["source"].dump(2);
  EXPECT_EQ(s["source"]["last_revision"]["accepted"], true) << s["source"].dump(2);
  EXPECT_EQ(s["source"]["last_revision"]["this_node_planned"], false) << s["source"].dump(2);
  EXPECT_EQ(s["source"]["last_revision"]["vici_commands"], 0) << s["source"].dump(2);

  // (2) val1's ndsipd frozen across an etcd restart, a publish and a compaction.
  ASSERT_TRUE(wait_status(val1, [&](const json& j) { return j["source"]["watching"] == true; }, &s)) << s.dump(2);
  const int val1_version = s["topology"]["version"];
  ASSERT_EQ(::kill(val1.ndsipd_pid, SIGSTOP), 0);
  etcd.stop();
  etcd.start();
  publish_with_comment("third");
  std::string out;
  ASSERT_EQ(lab_->run(store, etcdctl(etcd, {"compact", std::to_string(status(gms)["source"]["revision"].get<long long>())}),
                      &out),
            0)
      << out;
  ASSERT_EQ(::kill(val1.ndsipd_pid, SIGCONT), 0);
  ASSERT_TRUE(wait_status(val1, [&](const json& j) { return j["topology"]["version"] == val1_version + 1; }, &s))
      << s.dump(2) << lab_->ndsipd_log_tail(val1, 40);
  EXPECT_NE(lab_->ndsipd_log_tail(val1, 60).find("was compacted"), std::string::npos) << lab_->ndsipd_log_tail(val1, 60);
  EXPECT_TRUE(all_up(val1, 10s)) << why(val1);
}
