// The fleet's layout in etcd and the one transaction of a publish: objects put and deleted by
// identity, nothing sent for what etcd already holds, keys no object owns removed, and the
// guard on the publish key.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "etcd/base64.hpp"
#include "etcd/layout.hpp"
#include "etcd/publication.hpp"

using namespace ndsip::etcd;
using nlohmann::json;

TEST(Layout, ObjectKeysRoundTrip) {
  const Layout l;
  EXPECT_EQ(l.object_key("topology"), "/ndsip/v1/topology/header");
  EXPECT_EQ(l.object_key("node val-1"), "/ndsip/v1/topology/node/val-1");
  EXPECT_EQ(l.object_key("service-use val-1>gms"), "/ndsip/v1/topology/service-use/val-1>gms");
  for (const char* id : {"topology", "node val-1", "domain core", "service-use v>s", "interconnect a|b"}) {
    EXPECT_EQ(l.object_of(l.object_key(id)), id);
  }
  for (const char* key : {"/ndsip/v1/publish", "/ndsip/v1/topology/", "/ndsip/v1/topology/node/",
                          "/ndsip/v1/topology/nodes/a", "/ndsip/v1/topology/junk", "/other/topology/node/a"}) {
    EXPECT_FALSE(l.object_of(key)) << key;
  }
  EXPECT_THROW(Layout("ndsip"), std::invalid_argument);
  EXPECT_THROW(Layout("/ndsip"), std::invalid_argument);
  EXPECT_EQ(Layout("/x/").status_key("gms"), "/x/status/gms");
}

TEST(Publication, OnlyWhatDiffersIsWrittenAndForeignKeysGo) {
  const Layout l;
  RangeResult objects;
  objects.header.revision = 40;
  objects.kvs = {{l.object_key("node a"), "{\"a\":1}", 3, 3, 1, 0},
                 {l.object_key("node b"), "{\"b\":1}", 3, 3, 1, 0},
                 {l.object_key("node gone"), "{}", 3, 3, 1, 0},
                 {"/ndsip/v1/topology/junk", "x", 5, 5, 1, 0}};
  RangeResult publish;
  PublishRecord before{"d1", "lab", "alice", "2026-11-29T10:00:00Z", 3, 0};
  publish.kvs = {{l.publish_key(), before.to_json(), 3, 7, 2, 0}};
  const Held held = held_from(objects, publish, l);
  ASSERT_TRUE(held.record);
  EXPECT_EQ(held.record->by, "alice");
  EXPECT_EQ(held.foreign, std::vector<std::string>{"/ndsip/v1/topology/junk"});

  const Objects wanted = {{"node a", "{\"a\":1}"}, {"node b", "{\"b\":2}"}, {"node c", "{}"}};
  const Publication p = publication(wanted, held, l);
  EXPECT_EQ(p.added, std::vector<std::string>{"node c"});
  EXPECT_EQ(p.changed, std::vector<std::string>{"node b"});
  EXPECT_EQ(p.removed, (std::vector<std::string>{"node gone", "/ndsip/v1/topology/junk"}));
  EXPECT_EQ(p.ops.size(), 4u);  // a is not sent again

  PublishRecord next{"d2", "lab", "bob", "2026-11-29T11:00:00Z", 3, 7};
  const json txn = json::parse(publish_txn(p, held, next, l));
  EXPECT_EQ(txn["compare"][0]["target"], "MOD");
  EXPECT_EQ(txn["compare"][0]["mod_revision"], "7");
  EXPECT_EQ(txn["success"].size(), 5u);  // the four ops and the publish record
  EXPECT_EQ(*base64_decode(txn["success"][4]["request_put"]["key"].get<std::string>()), l.publish_key());
  EXPECT_EQ(PublishRecord::from_json(*base64_decode(txn["success"][4]["request_put"]["value"].get<std::string>()))->previous, 7);

  // The same objects again: nothing to write.
  Held now = held;
  now.objects = wanted;
  now.foreign.clear();
  EXPECT_TRUE(publication(wanted, now, l).empty());
}

TEST(Publication, TheFirstPublishIsGuardedByTheKeyNotExisting) {
  const Layout l;
  const Held empty = held_from(RangeResult{}, RangeResult{}, l);
  const Publication p = publication({{"topology", "{}"}}, empty, l);
  const json txn = json::parse(publish_txn(p, empty, PublishRecord{"d", "n", "me", "now", 1, 0}, l));
  EXPECT_EQ(txn["compare"][0]["target"], "CREATE");
  EXPECT_EQ(txn["compare"][0]["create_revision"], "0");
  EXPECT_FALSE(PublishRecord::from_json("not json"));
  EXPECT_FALSE(PublishRecord::from_json("{\"name\":\"x\"}"));  // no digest
}
