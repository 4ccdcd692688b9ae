// The daemon's wiring, in-process against a scripted charon and over its real control socket:
// every part's commands are listed and documented, a garbled answer from charon is handled
// where it happens and ndsipd keeps serving, a reload whose policies refuse the accepted
// topology changes nothing, and push and diff answer with the same keys.
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <filesystem>
#include <fstream>
#include <future>
#include <sstream>
#include <regex>

#include "cli/commands.hpp"
#include "common/read_file.hpp"
#include "control/client.hpp"
#include "daemon/daemon.hpp"
#include "part_fixture.hpp"
#include "test_credentials.hpp"
#include "support/loop.hpp"
#include "support/scripted_charon.hpp"

using namespace ndsip;
using namespace std::chrono_literals;
using nlohmann::json;
using test::run_until;
namespace fs = std::filesystem;

namespace {

struct Rig {
  test::ScriptedCharon charon;
  test::TempDir dir;
  boost::asio::io_context io;
  daemon::Config config;
  std::unique_ptr<daemon::Daemon> d;
  std::string garbled_uniqueid;  // when set, list-sas answers with it

  explicit Rig(bool launch_now = true) {
    // Policies and templates the test may change (for reload).
    fs::copy(NDSIP_SOURCE_DIR "/policies", dir.path("policies"));
    fs::copy(NDSIP_SOURCE_DIR "/templates", dir.path("templates"));
    config.node = "gms";
    config.vici_uri = charon.uri();
    config.control_socket = dir.path("ndsipd.sock");
    config.kernel_view = false;  // charon is the scripted peer: this host's kernel has none of its SAs
    config.state_dir = dir.path("state");
    config.policies_dir = dir.path("policies");
    config.templates_dir = dir.path("templates");
    config.vici_timeout = 2s;
    charon.on("list-sas", [this](const vici::Message&) {
      test::ScriptedCharon::Answer a;
      if (!garbled_uniqueid.empty()) {
        vici::Message m;
        m.add_section("zb_gms_val1").set("uniqueid", garbled_uniqueid).set("state", "ESTABLISHED");
        a.streamed.push_back(m);
      }
      return a;
    });
    if (launch_now) launch();
  }

  void launch() {
    d = std::make_unique<daemon::Daemon>(io, config);
    d->start();
  }

  // One request over the control socket, answered while this thread runs the loop.
  json ask(json request) {
    auto answer = std::async(std::launch::async, [this, request] {
      return control::control_request(config.control_socket, request, 10s);
    });
    EXPECT_TRUE(run_until(io, [&] { return answer.wait_for(0s) == std::future_status::ready; }, 10s));
    const control::ControlResult r = answer.get();
    EXPECT_TRUE(r.response) << r.error;
    return r.response ? *r.response : json{};
  }
};

}  // namespace

TEST(Daemon, EveryPartsCommandsAreListedAndDocumented) {
  Rig rig;
  const json a = rig.ask({{"command", "list-commands"}});
  ASSERT_EQ(a["ok"], true) << a.dump();
  EXPECT_EQ(a["protocol"], 1);
  std::set<std::string> listed;
  for (const auto& [name, summary] : a["commands"].items()) listed.insert(name);
  EXPECT_EQ(listed, (std::set<std::string>{"certs", "diff", "list-commands", "push", "reconnect", "reload", "renew",
                                           "rollback", "status", "version"}));
  // docs/control.md has a section for each command ndsipd answers.
  const auto doc = common::read_file(NDSIP_SOURCE_DIR "/docs/control.md");
  ASSERT_TRUE(doc);
  for (const std::string& name : listed) {
    EXPECT_NE(doc->find("### `" + name + "`"), std::string::npos) << "docs/control.md lacks " << name;
  }
}

TEST(Daemon, AGarbledAnswerFromCharonIsHandledAndNdsipdKeepsServing) {
  Rig rig;
  ASSERT_EQ(rig.ask({{"command", "push"}, {"topology", test::small_topology()}})["ok"], true);
  // Connected, and the first list-sas applied: the fresh one below is sent after the change.
  ASSERT_TRUE(run_until(rig.io, [&] { return rig.ask({{"command", "status"}})["polled"]["at"].is_string(); }));
  rig.garbled_uniqueid = "not-a-number";
  ::testing::internal::CaptureStderr();
  const json s = rig.ask({{"command", "status"}, {"fresh", true}});
  const std::string logged = ::testing::internal::GetCapturedStderr();
  EXPECT_EQ(s["ok"], true) << s.dump();
  EXPECT_NE(logged.find("list-sas answer refused"), std::string::npos) << logged;
  // Still serving, and still connected to charon.
  const json v = rig.ask({{"command", "version"}});
  EXPECT_EQ(v["ok"], true);
  EXPECT_EQ(v["charon"], "charon 5.9.8-scripted");
}

TEST(Daemon, PushAndDiffAnswerWithTheSameKeys) {
  Rig rig;
  const json diff = rig.ask({{"command", "diff"}, {"topology", test::small_topology(true)}});
  const json push = rig.ask({{"command", "push"}, {"topology", test::small_topology(true)}});
  for (const char* key : {"load", "unload", "unchanged"}) {
    ASSERT_TRUE(diff.contains(key)) << diff.dump();
    ASSERT_TRUE(push.contains(key)) << push.dump();
    EXPECT_EQ(diff[key], push[key]) << key;
  }
  EXPECT_EQ(push["load"], json({"zb_gms_val1", "zb_gms_val2"}));
  EXPECT_EQ(push["topology_version"], 1);
}

TEST(Daemon, AReloadWhosePoliciesRefuseTheTopologyChangesNothing) {
  Rig rig;
  ASSERT_EQ(rig.ask({{"command", "push"}, {"topology", test::small_topology()}})["ok"], true);
  const json before = rig.ask({{"command", "status"}});
  // KM-S on another profile than SEAL-S, which share val1's tunnel.
  const std::string km = rig.dir.path("templates") + "/km-s.json";
  json t = json::parse(*common::read_file(km));
  t["zb_profile"] = "zb-integrity-only";
  std::ofstream(km, std::ios::trunc) << t.dump(2);
  const json r = rig.ask({{"command", "reload"}});
  EXPECT_EQ(r["ok"], false) << r.dump();
  EXPECT_NE(r["error"].get<std::string>().find("refuse the accepted topology"), std::string::npos) << r.dump();
  ASSERT_FALSE(r["problems"].empty());
  const json after = rig.ask({{"command", "status"}});
  EXPECT_EQ(after["tunnels"], before["tunnels"]);
  EXPECT_EQ(rig.charon.count("load-conn"), 1u);  // nothing re-sent
  // --check-config says the same of the stored topology with these policies.
  const auto problems = daemon::check_config(rig.config);
  ASSERT_FALSE(problems.empty());
  EXPECT_NE(problems[0].find("stored topology version 1"), std::string::npos) << problems[0];
}

TEST(Daemon, CheckConfigEvaluatesTheStoredTopology) {
  test::TempDir dir;
  daemon::Config c;
  c.node = "gms";
  c.state_dir = dir.path("state");
  c.policies_dir = NDSIP_SOURCE_DIR "/policies";
  c.templates_dir = NDSIP_SOURCE_DIR "/templates";
  EXPECT_TRUE(daemon::check_config(c).empty());  // nothing stored yet: fine
  daemon::StateStore(c.state_dir).accept(test::small_topology());
  EXPECT_TRUE(daemon::check_config(c).empty());
  c.node = "val7";  // a node the stored topology does not have
  const auto problems = daemon::check_config(c);
  ASSERT_EQ(problems.size(), 1u);
  EXPECT_NE(problems[0].find("\"val7\" is not in the topology"), std::string::npos) << problems[0];
}

// --check-config reads what a CMP renewal will need: the certificates to trust, a pre-staged
// key (owner-only, an allowed type).
TEST(Daemon, CheckConfigReadsTheCmpFiles) {
  test::TempDir dir;
  daemon::Config c;
  c.node = "gms";
  c.state_dir = dir.path("state");
  c.policies_dir = NDSIP_SOURCE_DIR "/policies";
  c.templates_dir = NDSIP_SOURCE_DIR "/templates";
  c.cmp_server = "http://ca:8080/pkix/";
  c.cmp_trusted = dir.path("missing.pem");
  c.cmp_new_key = dir.path("next.key.pem");
  std::ofstream(c.cmp_new_key) << "not a key";
  std::filesystem::permissions(c.cmp_new_key, std::filesystem::perms::owner_read | std::filesystem::perms::owner_write,
                               std::filesystem::perm_options::replace);
  const auto problems = daemon::check_config(c);
  ASSERT_EQ(problems.size(), 2u) << ::testing::PrintToString(problems);
  EXPECT_NE(problems[0].find("cmp-trusted: cannot read " + c.cmp_trusted), std::string::npos) << problems[0];
  EXPECT_NE(problems[1].find("is not a private key of an allowed type"), std::string::npos) << problems[1];
  std::filesystem::permissions(c.cmp_new_key, std::filesystem::perms::group_read, std::filesystem::perm_options::add);
  const auto open_key = daemon::check_config(c);
  ASSERT_EQ(open_key.size(), 2u);
  EXPECT_NE(open_key[1].find("chmod 600"), std::string::npos) << open_key[1];
}

// A stored topology that no longer loads must not become "nothing accepted": that would
// unload every tunnel. ndsipd falls back to the newest one that loads, or holds charon as is.
TEST(Daemon, AStoredTopologyThatFailsToLoadNeverUnloadsWhatCharonHolds) {
  Rig rig(false);
  {
    daemon::StateStore store(rig.config.state_dir);
    store.accept(test::small_topology(true, "v1"));
    store.accept(test::small_topology(true, "v2"));
    // What ndsipd had loaded: charon holds both connections.
    store.save_applied({{"zb_gms_val1", "x"}, {"zb_gms_val2", "y"}});
  }
  rig.charon.on("get-conns", [](const vici::Message&) {
    test::ScriptedCharon::Answer a;
    a.response.set_list("conns", {"zb_gms_val1", "zb_gms_val2"});
    return a;
  });
  // Version 2's record torn (a crash of the disk, not of ndsipd): the journal drops it,
  // ndsipd starts from version 1 and says so.
  const fs::path journal = rig.config.state_dir + "/topology/journal";
  fs::resize_file(journal, fs::file_size(journal) - 7);
  rig.launch();
  json s = rig.ask({{"command", "status"}});
  EXPECT_EQ(s["topology"]["version"], 1) << s.dump(2);
  EXPECT_EQ(s["topology"]["name"], "v1");
  EXPECT_NE(s["topology"]["refused"].get<std::string>().find("journal: dropped"), std::string::npos) << s.dump(2);
  EXPECT_EQ(rig.charon.count("unload-conn"), 0u);
  EXPECT_EQ(rig.charon.count("terminate"), 0u);

  // Nothing stored names this host (pushed to the wrong hosts): nothing is adopted and
  // nothing is sent; status says why.
  const std::size_t loads_before = rig.charon.count("load-conn");
  rig.d.reset();
  fs::remove_all(rig.config.state_dir + "/topology");
  {
    daemon::StateStore store(rig.config.state_dir);
    std::string other = test::small_topology(true, "other");
    for (std::size_t at; (at = other.find("gms")) != std::string::npos;) other.replace(at, 3, "hub");
    store.accept(other);
  }
  rig.launch();
  s = rig.ask({{"command", "status"}});
  EXPECT_EQ(s["topology"]["version"], 0) << s.dump(2);
  EXPECT_NE(s["topology"]["refused"].get<std::string>().find("version 1 refused"), std::string::npos) << s.dump(2);
  EXPECT_EQ(rig.charon.count("unload-conn"), 0u);
  EXPECT_EQ(rig.charon.count("terminate"), 0u);
  EXPECT_EQ(rig.charon.count("load-conn"), loads_before);

  // A push is accepted again, and the refusal is history.
  const json pushed = rig.ask({{"command", "push"}, {"topology", test::small_topology(true, "v3")}});
  EXPECT_EQ(pushed["ok"], true) << pushed.dump();
  EXPECT_EQ(rig.ask({{"command", "status"}})["topology"]["refused"], "");
}

TEST(Daemon, CheckConfigChecksWhatStartWouldRefuse) {
  test::TempDir dir;
  daemon::Config c;
  c.node = "gms";
  c.state_dir = dir.path("state");
  c.control_socket = dir.path("ndsipd.sock");
  c.policies_dir = NDSIP_SOURCE_DIR "/policies";
  c.templates_dir = NDSIP_SOURCE_DIR "/templates";
  EXPECT_TRUE(daemon::check_config(c).empty());
  auto has = [](const std::vector<std::string>& problems, const std::string& text) {
    for (const auto& p : problems) {
      if (p.find(text) != std::string::npos) return true;
    }
    return false;
  };
  daemon::Config bad = c;
  bad.node = "GMS_1";
  EXPECT_TRUE(has(daemon::check_config(bad), "not a valid node name"));
  bad = c;
  bad.control_group = "no-such-group-ndsip";
  EXPECT_TRUE(has(daemon::check_config(bad), "control group \"no-such-group-ndsip\" does not exist"));
  bad = c;
  std::ofstream(dir.path("a-file")) << "x";
  bad.state_dir = dir.path("a-file");
  EXPECT_TRUE(has(daemon::check_config(bad), "is not a directory"));
  bad.state_dir = dir.path("a-file") + "/state";  // under a file
  EXPECT_TRUE(has(daemon::check_config(bad), "cannot be created"));
  bad = c;
  fs::create_directories(dir.path("open"));
  ::chmod(dir.path("open").c_str(), 0777);
  bad.state_dir = dir.path("open");
  EXPECT_TRUE(has(daemon::check_config(bad), "writable by group or others"));
  // A certificate whose name is not the node's identity in the stored topology.
  test::Pki pki;
  std::ofstream(pki.dir.path("cert.pem")) << pki.cert_pem("val1.unit.test", 1);
  bad = c;
  bad.cert = pki.paths().cert;
  bad.key = pki.paths().key;
  bad.ca_bundle = pki.paths().ca_bundle;
  EXPECT_FALSE(has(daemon::check_config(bad), "[san]"));  // no topology yet: no identity to hold it to
  daemon::StateStore(c.state_dir).accept(test::small_topology());
  EXPECT_TRUE(has(daemon::check_config(bad), "subjectAltName has no dNSName \"gms.unit.test\""));
}

TEST(Daemon, CertsWithNoCertificateConfiguredSaysSo) {
  Rig rig;
  auto run = std::async(std::launch::async, [&] {
    std::ostringstream out, err;
    const int rc = cli::certs_command({"--socket=" + rig.config.control_socket}, out, err);
    return std::make_pair(rc, out.str() + err.str());
  });
  ASSERT_TRUE(run_until(rig.io, [&] { return run.wait_for(0s) == std::future_status::ready; }, 10s));
  const auto [rc, text] = run.get();
  EXPECT_EQ(rc, 1);
  EXPECT_NE(text.find("no certificate configured (set cert, key and ca"), std::string::npos) << text;
}

TEST(Daemon, NdsipctlPushSaysWhatChangedAndWhenNothingDid) {
  Rig rig;
  const std::string file = rig.dir.path("topology.json");
  auto push = [&](const std::string& text) {
    std::ofstream(file, std::ios::trunc) << text;
    auto run = std::async(std::launch::async, [&] {
      std::ostringstream out, err;
      const int rc = cli::push_command({file, "--socket=" + rig.config.control_socket}, out, err);
      return std::make_pair(rc, out.str() + err.str());
    });
    EXPECT_TRUE(run_until(rig.io, [&] { return run.wait_for(0s) == std::future_status::ready; }, 10s));
    return run.get();
  };
  auto [rc, text] = push(test::small_topology(false));
  EXPECT_EQ(rc, 0) << text;
  std::tie(rc, text) = push(test::small_topology(true));
  EXPECT_NE(text.find("added:     node val2, service-use val2>gms"), std::string::npos) << text;
  std::tie(rc, text) = push(test::small_topology(true));
  EXPECT_EQ(rc, 0);
  EXPECT_NE(text.find("unchanged: this is the topology in force (version 2)"), std::string::npos) << text;
}

// status answers from the state health keeps, without asking charon; {"fresh": true} asks
// charon first. Either answer says when the state was last confirmed by a list-sas, and how
// many tunnels are in each state.
TEST(Daemon, StatusAnswersFromTheKeptStateAndFreshAsksCharon) {
  Rig rig;
  ASSERT_EQ(rig.ask({{"command", "push"}, {"topology", test::small_topology()}})["ok"], true);
  ASSERT_TRUE(run_until(rig.io, [&] { return rig.ask({{"command", "status"}})["polled"]["at"].is_string(); }));
  const std::size_t polls = rig.charon.count("list-sas");
  const json kept = rig.ask({{"command", "status"}});
  EXPECT_EQ(rig.charon.count("list-sas"), polls) << "status without fresh sent a list-sas";
  ASSERT_EQ(kept["ok"], true) << kept.dump();
  EXPECT_TRUE(kept["polled"]["age_s"].is_number()) << kept.dump();
  EXPECT_EQ(kept["tunnel_counts"]["total"], kept["tunnels"].size()) << kept.dump();
  EXPECT_EQ(kept["tunnel_counts"]["up"], 0) << kept.dump();
  const json fresh = rig.ask({{"command", "status"}, {"fresh", true}});
  EXPECT_EQ(rig.charon.count("list-sas"), polls + 1) << "status with fresh sent no list-sas";
  EXPECT_LT(fresh["polled"]["age_s"].get<double>(), 1.0) << fresh.dump();
  const json bad = rig.ask({{"command", "status"}, {"fresh", "yes"}});
  EXPECT_EQ(bad["ok"], false);
  EXPECT_NE(bad["error"].get<std::string>().find("\"fresh\""), std::string::npos) << bad.dump();
}

// ndsipctl status --json prints ndsipd's answer as parsing it and dump(2) printed it, and its
// exit code says whether every tunnel is up, without a list-sas unless --fresh asks for one.
TEST(Daemon, NdsipctlStatusJsonIsTheAnswerAsBeforeWithTheSameExitCode) {
  Rig rig;
  ASSERT_EQ(rig.ask({{"command", "push"}, {"topology", test::small_topology()}})["ok"], true);
  auto status = [&](std::vector<std::string> args) {
    args.push_back("--socket=" + rig.config.control_socket);
    auto run = std::async(std::launch::async, [&] {
      std::ostringstream out, err;
      const int rc = cli::status_command(args, out, err);
      return std::make_tuple(rc, out.str(), err.str());
    });
    EXPECT_TRUE(run_until(rig.io, [&] { return run.wait_for(0s) == std::future_status::ready; }, 10s));
    return run.get();
  };
  auto [rc, out, err] = status({"--json"});
  EXPECT_EQ(rc, 1) << out << err;  // the tunnel is not up
  const json parsed = json::parse(out);
  EXPECT_EQ(out, parsed.dump(2) + "\n");
  EXPECT_EQ(parsed["tunnels"].size(), 1u) << out;
  EXPECT_EQ(parsed["protocol"], 1);
  // charon brings it up: --fresh sees it at once.
  rig.charon.on("list-sas", [](const vici::Message&) {
    vici::Message m;
    vici::Section& ike = m.add_section("zb_gms_val1");
    ike.set("uniqueid", "7").set("state", "ESTABLISHED");
    ike.add_section("child-sas").add_section("gms_val1-1").set("name", "gms_val1").set("uniqueid", "3")
        .set("state", "INSTALLED").set("install-time", "5");
    test::ScriptedCharon::Answer a;
    a.streamed = {m};
    return a;
  });
  const std::size_t polls = rig.charon.count("list-sas");
  std::tie(rc, out, err) = status({"--fresh"});
  EXPECT_EQ(rc, 0) << out << err;
  EXPECT_EQ(rig.charon.count("list-sas"), polls + 1);
  EXPECT_NE(out.find("tunnels 1 of 1 up; as of list-sas"), std::string::npos) << out;
  std::tie(rc, out, err) = status({"--json"});
  EXPECT_EQ(rc, 0) << out << err;
  EXPECT_EQ(json::parse(out)["tunnels"][0]["state"], "up") << out;
  EXPECT_EQ(rig.charon.count("list-sas"), polls + 1) << "status without --fresh sent a list-sas";
}
