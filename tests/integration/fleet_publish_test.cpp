// ndsipctl publish and rollback --etcd against a real etcd started by the test on loopback:
// a valid topology lands as one key per object and a publish record; publishing it again
// writes nothing; a one-node change rewrites that node's key alone; an invalid topology and
// a dry run write nothing; of two publishes made from the same reading one commits and the
// other changes nothing; rollback restores the previous objects; etcd down is exit 2.
#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>

#include <nlohmann/json.hpp>

#include "etcd/client.hpp"
#include "etcd/publication.hpp"
#include "lab/etcd_server.hpp"
#include "lab/process.hpp"

using namespace ndsip;
using namespace std::chrono_literals;
using nlohmann::json;
namespace fs = std::filesystem;

namespace {

class FleetPublish : public ::testing::Test {
 protected:
  void SetUp() override {
    try {
      lab::proc::find_program("etcd");
    } catch (...) {
      GTEST_SKIP() << "etcd-server is not installed (scripts/test installs it)";
    }
    char tmpl[] = "/tmp/ndsip-fleet-XXXXXX";
    dir_ = ::mkdtemp(tmpl);
    server_ = std::make_unique<lab::EtcdServer>(dir_, false);
    server_->start();
    etcd::ClientSettings s;
    s.endpoints = etcd::parse_endpoints(server_->endpoint());
    client_ = std::make_unique<etcd::BlockingClient>(s);
  }
  void TearDown() override {
    client_.reset();
    server_.reset();
    if (!dir_.empty()) fs::remove_all(dir_);
  }

  int ctl(std::vector<std::string> args, std::string* out = nullptr) {
    std::vector<std::string> argv{NDSIP_CTL};
    argv.insert(argv.end(), args.begin(), args.end());
    std::string captured;
    const int rc = lab::proc::run(argv, &captured);
    if (out) *out = captured;
    return rc;
  }
  int publish(const std::string& file, std::string* out = nullptr, std::vector<std::string> extra = {}) {
    std::vector<std::string> args{"publish", file, "--etcd", server_->endpoint(), "--policies",
                                  NDSIP_SOURCE_DIR "/policies", "--templates", NDSIP_SOURCE_DIR "/templates"};
    args.insert(args.end(), extra.begin(), extra.end());
    return ctl(args, out);
  }
  std::string write(const std::string& name, const json& doc) {
    const std::string path = dir_ + "/" + name;
    std::ofstream(path) << doc.dump(2);
    return path;
  }
  json demo() { return json::parse(std::ifstream(NDSIP_SOURCE_DIR "/examples/demo.json")); }
  etcd::RangeResult all() { return client_->range("/ndsip/v1/", etcd::prefix_end("/ndsip/v1/")); }
  std::int64_t mod_revision(const std::string& key) {
    const auto r = client_->range(key, "");
    return r.kvs.empty() ? 0 : r.kvs[0].mod_revision;
  }

  std::string dir_;
  std::unique_ptr<lab::EtcdServer> server_;
  std::unique_ptr<etcd::BlockingClient> client_;
};

}  // namespace

TEST_F(FleetPublish, PublishWritesEachObjectOnceAndOnlyWhatChanged) {
  const std::string v1 = write("v1.json", demo());
  std::string out;
  ASSERT_EQ(publish(v1, &out), 0) << out;
  // 6 nodes, 2 domains, 2 service uses, 1 interconnect, the header; and the publish record.
  const etcd::RangeResult first = all();
  EXPECT_EQ(first.kvs.size(), 6u + 2u + 2u + 1u + 1u + 1u) << out;
  const std::string node_key = "/ndsip/v1/topology/node/val-1";
  const std::int64_t val1_rev = mod_revision(node_key);
  ASSERT_GT(val1_rev, 0);
  const auto record = etcd::PublishRecord::from_json(client_->range("/ndsip/v1/publish", "").kvs.at(0).value);
  ASSERT_TRUE(record);
  EXPECT_EQ(record->name, demo()["name"]);
  EXPECT_EQ(record->previous, 0);

  // The same topology, spelt differently: nothing written.
  const std::int64_t before = all().header.revision;
  json same = demo();
  std::reverse(same["nodes"].begin(), same["nodes"].end());
  ASSERT_EQ(publish(write("same.json", same), &out), 0) << out;
  EXPECT_NE(out.find("unchanged"), std::string::npos) << out;
  EXPECT_EQ(all().header.revision, before);

  // One node changed: its key is rewritten, val-1's is not.
  json v2 = demo();
  for (json& n : v2["nodes"]) {
    if (n["name"] == "val-2") n["comment"] = "moved racks";
  }
  ASSERT_EQ(publish(write("v2.json", v2), &out), 0) << out;
  EXPECT_NE(out.find("0 added, 1 changed, 0 removed"), std::string::npos) << out;
  EXPECT_EQ(mod_revision(node_key), val1_rev);
  EXPECT_EQ(all().header.revision, before + 1);  // one transaction

  // rollback: v1's objects again, as one more publish.
  ASSERT_EQ(ctl({"rollback", "--etcd", server_->endpoint()}, &out), 0) << out;
  EXPECT_NE(out.find("1 changed"), std::string::npos) << out;
  EXPECT_EQ(publish(v1, &out), 0);
  EXPECT_NE(out.find("unchanged"), std::string::npos) << out;
}

TEST_F(FleetPublish, InvalidTopologyAndDryRunWriteNothing) {
  ASSERT_EQ(publish(write("v1.json", demo())), 0);
  const std::int64_t before = all().header.revision;
  json bad = demo();
  bad["service_uses"][0]["seal_server"] = "nobody";
  bad["nodes"][0]["addresses"] = json::array({"not-an-address"});
  std::string out;
  EXPECT_EQ(publish(write("bad.json", bad), &out), 1) << out;
  EXPECT_NE(out.find("nobody"), std::string::npos) << out;          // every problem ...
  EXPECT_NE(out.find("not-an-address"), std::string::npos) << out;  // ... at once
  EXPECT_NE(out.find("nothing was published"), std::string::npos) << out;
  json v2 = demo();
  v2["service_uses"].erase(1);
  EXPECT_EQ(publish(write("v2.json", v2), &out, {"--dry-run"}), 0) << out;
  EXPECT_NE(out.find("- service-use val-2>gms-a"), std::string::npos) << out;
  EXPECT_EQ(all().header.revision, before);
  // Nothing to roll back to after one publish.
  EXPECT_EQ(ctl({"rollback", "--etcd", server_->endpoint()}, &out), 1) << out;
}

TEST_F(FleetPublish, OfTwoPublishesFromTheSameReadingOneCommits) {
  ASSERT_EQ(publish(write("v1.json", demo())), 0);
  const etcd::Layout layout;
  const etcd::RangeResult p = client_->range(layout.publish_key(), "");
  const etcd::Held held = etcd::held_from(client_->range(layout.objects_prefix(), etcd::prefix_end(layout.objects_prefix())),
                                          p, layout);
  etcd::Objects a = held.objects, b = held.objects;
  a["node val-1"] = "{\"changed\":\"by alice\"}";
  b["node val-2"] = "{\"changed\":\"by bob\"}";
  const etcd::PublishRecord ra{"da", "n", "alice", "t", a.size(), 0}, rb{"db", "n", "bob", "t", b.size(), 0};
  const auto first = etcd::parse_txn(client_->post("/v3/kv/txn", etcd::publish_txn(etcd::publication(a, held, layout), held, ra, layout)));
  const auto second = etcd::parse_txn(client_->post("/v3/kv/txn", etcd::publish_txn(etcd::publication(b, held, layout), held, rb, layout)));
  EXPECT_TRUE(first.succeeded);
  EXPECT_FALSE(second.succeeded);
  EXPECT_EQ(client_->range("/ndsip/v1/topology/node/val-2", "").kvs.at(0).value, held.objects.at("node val-2"));
  EXPECT_EQ(etcd::PublishRecord::from_json(client_->range(layout.publish_key(), "").kvs.at(0).value)->by, "alice");
}

TEST_F(FleetPublish, EtcdDownIsExitTwoWithTheReason) {
  const std::string v1 = write("v1.json", demo());
  server_->stop();
  std::string out;
  EXPECT_EQ(publish(v1, &out), 2) << out;
  EXPECT_NE(out.find("cannot connect"), std::string::npos) << out;
  EXPECT_NE(out.find("nothing was published"), std::string::npos) << out;
  EXPECT_EQ(ctl({"publish", v1, "--etcd", "ftp://x:1"}, &out), 64) << out;
}

// A topology whose first publish is more operations than etcd takes in one transaction
// (default --max-txn-ops 128): refused whole, nothing written, and the message says which
// etcd flags to raise and to what.
TEST_F(FleetPublish, ATransactionOverEtcdsLimitsIsRefusedWholeWithWhatToRaise) {
  json doc = demo();
  for (int i = 0; i < 130; ++i) {
    const std::string name = "val-extra-" + std::to_string(i);
    json node = doc["nodes"][1];  // a VAL server of the demo, copied with its own address
    node["name"] = name;
    node["identity"] = name + ".example";
    node["addresses"] = json::array({"198.18.1." + std::to_string(i + 1)});
    node["protects"] = json::array({"198.19.1." + std::to_string(i + 1) + "/32"});
    doc["nodes"].push_back(node);
  }
  const std::int64_t before = all().header.revision;
  std::string out;
  EXPECT_EQ(publish(write("big.json", doc), &out), 2) << out;
  EXPECT_NE(out.find("too many operations"), std::string::npos) << out;
  EXPECT_NE(out.find("--max-txn-ops"), std::string::npos) << out;
  EXPECT_NE(out.find("nothing was published"), std::string::npos) << out;
  EXPECT_EQ(all().header.revision, before);
  EXPECT_TRUE(all().kvs.empty());
}
