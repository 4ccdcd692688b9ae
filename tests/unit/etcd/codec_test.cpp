// etcd's JSON gateway codec: the bodies ndsip sends, the answers as etcd 3.4 writes them
// (int64 as strings, zero values left out, bytes as base64), and every malformed answer
// refused with etcd::Error, never a crash.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "etcd/base64.hpp"
#include "etcd/codec.hpp"

using namespace ndsip::etcd;
using nlohmann::json;

namespace {

Error::Kind kind_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const Error& e) {
    return e.kind();
  }
  ADD_FAILURE() << "no etcd::Error";
  return Error::Kind::transport;
}

}  // namespace

TEST(Base64, RoundTripsAndRefusesWhatIsNotCanonical) {
  for (const std::string& s : std::vector<std::string>{"", "a", "ab", "abc", "abcd", std::string("\0\xff\x01", 3), "/ndsip/v1/node/x"}) {
    const auto back = base64_decode(base64_encode(s));
    ASSERT_TRUE(back) << s;
    EXPECT_EQ(*back, s);
  }
  EXPECT_EQ(base64_encode("/ndsip/"), "L25kc2lwLw==");
  for (const char* bad : {"L25kc2lwLw=", "L25k c2lw", "L2=5", "QR==", "====", "L25kc2lwLw==\n", "L25k\xc3\xa9"}) {
    EXPECT_FALSE(base64_decode(bad)) << bad;
  }
}

TEST(Codec, PrefixEndCoversEveryKeyUnderThePrefix) {
  EXPECT_EQ(prefix_end("/ndsip/v1/"), "/ndsip/v10");
  EXPECT_EQ(prefix_end(std::string("a\xff", 2)), "b");
  EXPECT_EQ(prefix_end(""), std::string(1, '\0'));
  EXPECT_EQ(prefix_end(std::string("\xff\xff", 2)), std::string(1, '\0'));
}

TEST(Codec, RequestBodiesAreWhatTheGatewayExpects) {
  const json range = json::parse(range_request("/p/", prefix_end("/p/"), 42));
  EXPECT_EQ(range["key"], base64_encode("/p/"));
  EXPECT_EQ(range["range_end"], base64_encode("/p0"));
  EXPECT_EQ(range["revision"], "42");  // int64 as a string
  EXPECT_FALSE(json::parse(range_request("/k", "", 0)).contains("revision"));

  Op put{Op::Kind::put, "/p/node/a", "{\"x\":1}", 7, ""};
  Op erase{Op::Kind::erase, "/p/node/b", "", 0, ""};
  const json txn = json::parse(txn_request({{"/p/publish", Compare::Target::mod_revision, 12}}, {put, erase}));
  ASSERT_EQ(txn["compare"].size(), 1u);
  EXPECT_EQ(txn["compare"][0]["target"], "MOD");
  EXPECT_EQ(txn["compare"][0]["result"], "EQUAL");
  EXPECT_EQ(txn["compare"][0]["mod_revision"], "12");
  EXPECT_EQ(txn["success"][0]["request_put"]["value"], base64_encode("{\"x\":1}"));
  EXPECT_EQ(txn["success"][0]["request_put"]["lease"], "7");
  EXPECT_EQ(txn["success"][1]["request_delete_range"]["key"], base64_encode("/p/node/b"));
  EXPECT_EQ(txn["failure"], json::array());
  // "created at all": CREATE revision 0.
  const json absent = json::parse(txn_request({{"/p/publish", Compare::Target::create_revision, 0}}, {}));
  EXPECT_EQ(absent["compare"][0]["create_revision"], "0");

  const json watch = json::parse(watch_create_request("/p/", prefix_end("/p/"), 13));
  EXPECT_EQ(watch["create_request"]["start_revision"], "13");
  EXPECT_EQ(watch["create_request"]["progress_notify"], true);
  EXPECT_EQ(json::parse(lease_grant_request(30))["TTL"], "30");
  EXPECT_EQ(json::parse(lease_keepalive_request(99))["ID"], "99");
}

TEST(Codec, RangeAnswerAsEtcdWritesIt) {
  const std::string body =
      R"({"header":{"cluster_id":"14841639068965178418","member_id":"10276657743932975437","revision":"7","raft_term":"2"},)"
      R"("kvs":[{"key":")" + base64_encode("/p/node/a") + R"(","create_revision":"5","mod_revision":"6","version":"2","value":")" +
      base64_encode("{}") + R"("}],"count":"1"})";
  const RangeResult r = parse_range(body);
  EXPECT_EQ(r.header.revision, 7);
  ASSERT_EQ(r.kvs.size(), 1u);
  EXPECT_EQ(r.kvs[0].key, "/p/node/a");
  EXPECT_EQ(r.kvs[0].value, "{}");
  EXPECT_EQ(r.kvs[0].mod_revision, 6);
  EXPECT_EQ(r.kvs[0].version, 2);
  EXPECT_EQ(r.count, 1);
  EXPECT_FALSE(r.more);
  // An empty range: no "kvs", no "count".
  const RangeResult empty = parse_range(R"({"header":{"revision":"3"}})");
  EXPECT_TRUE(empty.kvs.empty());
  EXPECT_EQ(empty.count, 0);
}

TEST(Codec, TxnLeaseAndWatchAnswers) {
  EXPECT_TRUE(parse_txn(R"({"header":{"revision":"9"},"succeeded":true,"responses":[]})").succeeded);
  EXPECT_FALSE(parse_txn(R"({"header":{"revision":"9"}})").succeeded);  // false is left out
  const LeaseResult grant = parse_lease(R"({"header":{"revision":"9"},"ID":"7587862072541226504","TTL":"30"})");
  EXPECT_EQ(grant.id, 7587862072541226504);
  EXPECT_EQ(grant.ttl, 30);
  const LeaseResult alive = parse_lease(R"({"result":{"header":{"revision":"9"},"ID":"5","TTL":"29"}})");
  EXPECT_EQ(alive.ttl, 29);

  const WatchResult created = parse_watch(R"({"result":{"header":{"revision":"9"},"created":true}})");
  EXPECT_TRUE(created.created);
  const std::string events = R"({"result":{"header":{"revision":"11"},"events":[{"kv":{"key":")" +
                             base64_encode("/p/node/a") + R"(","mod_revision":"11","value":")" + base64_encode("{}") +
                             R"("}},{"type":"DELETE","kv":{"key":")" + base64_encode("/p/node/b") +
                             R"(","mod_revision":"11"}}]}})";
  const WatchResult w = parse_watch(events);
  ASSERT_EQ(w.events.size(), 2u);
  EXPECT_EQ(w.events[0].type, WatchEvent::Type::put);
  EXPECT_EQ(w.events[0].kv.value, "{}");
  EXPECT_EQ(w.events[1].type, WatchEvent::Type::erase);
  EXPECT_EQ(w.events[1].kv.key, "/p/node/b");
  const WatchResult compacted = parse_watch(
      R"({"result":{"header":{"revision":"20"},"canceled":true,"compact_revision":"15","cancel_reason":"mvcc: required revision has been compacted"}})");
  EXPECT_TRUE(compacted.canceled);
  EXPECT_EQ(compacted.compact_revision, 15);
}

// Answers captured from etcd 3.4.23 (Debian's etcd-server) through its gateway with curl.
TEST(Codec, AnswersCapturedFromRealEtcd) {
  const RangeResult r = parse_range(
      R"({"header":{"cluster_id":"324952591200643719","member_id":"3319814642761637952","revision":"2","raft_term":"2"},)"
      R"("kvs":[{"key":"L3Avbm9kZS9h","create_revision":"2","mod_revision":"2","version":"1","value":"e30="}],"count":"1"})");
  ASSERT_EQ(r.kvs.size(), 1u);
  EXPECT_EQ(r.kvs[0].key, "/p/node/a");
  EXPECT_EQ(r.header.revision, 2);
  // A failed compare: no "succeeded" at all.
  EXPECT_FALSE(parse_txn(R"({"header":{"cluster_id":"324952591200643719","member_id":"3319814642761637952","revision":"2","raft_term":"2"}})")
                   .succeeded);
  const WatchResult del = parse_watch(
      R"({"result":{"header":{"cluster_id":"324952591200643719","member_id":"3319814642761637952","revision":"3","raft_term":"2"},)"
      R"("events":[{"type":"DELETE","kv":{"key":"L3Avbm9kZS9h","mod_revision":"3"}}]}})");
  ASSERT_EQ(del.events.size(), 1u);
  EXPECT_EQ(del.events[0].type, WatchEvent::Type::erase);
  // A watch from before the compaction: canceled, no reason, and no revision in the header.
  const WatchResult compacted = parse_watch(
      R"({"result":{"header":{"cluster_id":"324952591200643719","member_id":"3319814642761637952","raft_term":"2"},)"
      R"("canceled":true,"compact_revision":"3"}})");
  EXPECT_TRUE(compacted.canceled);
  EXPECT_EQ(compacted.compact_revision, 3);
  EXPECT_EQ(kind_of([] {
              parse_range(R"({"error":"etcdserver: mvcc: required revision is a future revision",)"
                          R"("message":"etcdserver: mvcc: required revision is a future revision","code":11})");
            }),
            Error::Kind::refused);
}

TEST(Codec, EtcdsOwnErrorsAreRefusals) {
  try {
    parse_range(R"({"error":"etcdserver: mvcc: required revision has been compacted","code":11,"message":"etcdserver: mvcc: required revision has been compacted"})");
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), Error::Kind::refused);
    EXPECT_EQ(e.code(), 11);
    EXPECT_NE(std::string(e.what()).find("compacted"), std::string::npos);
  }
  EXPECT_EQ(kind_of([] { parse_watch(R"({"error":{"grpc_code":14,"http_code":503,"message":"unavailable"}})"); }),
            Error::Kind::refused);
}

TEST(Codec, EveryMalformedAnswerIsAnErrorNotACrash) {
  const std::string deep = std::string(100000, '[') + std::string(100000, ']');
  for (const std::string& bad : std::vector<std::string>{
           "", "not json", "[]", "null", deep, R"({"header":[]})", R"({"header":{"revision":"x"}})",
           R"({"header":{"revision":"-1"}})", R"({"header":{"revision":"99999999999999999999"}})",
           R"({"kvs":{}})", R"({"kvs":[1]})", R"({"kvs":[{"key":"!!"}]})", R"({"kvs":[{"key":7}]})",
           R"({"more":"yes"})", R"({"count":18446744073709551615})", R"({"error":[]})", R"({"count":1.5})"}) {
    EXPECT_EQ(kind_of([&] { parse_range(bad); }), Error::Kind::malformed) << bad.substr(0, 60);
  }
  EXPECT_EQ(kind_of([] { parse_watch(R"({"result":{"events":[{"type":"EXPLODE","kv":{}}]}})"); }),
            Error::Kind::malformed);
  EXPECT_EQ(kind_of([] { parse_watch(R"({"result":{"events":["x"]}})"); }), Error::Kind::malformed);
  EXPECT_EQ(kind_of([] { parse_txn(R"({"succeeded":1})"); }), Error::Kind::malformed);
  EXPECT_EQ(kind_of([] { parse_lease(R"({"result":7})"); }), Error::Kind::malformed);
}

// etcd's auth, as etcd 3.4.23 answered (captured with curl against the gateway).
TEST(Codec, AuthenticateAndATokenEtcdNoLongerTakes) {
  const json request = json::parse(authenticate_request("fleet", "p\"w \\ x"));
  EXPECT_EQ(request, (json{{"name", "fleet"}, {"password", "p\"w \\ x"}}));
  EXPECT_EQ(parse_authenticate(R"({"header":{"cluster_id":"15118495548433857066","member_id":"13668033151171901709",)"
                               R"("revision":"1","raft_term":"2"},"token":"atdwanTizkfwADPU.14"})"),
            "atdwanTizkfwADPU.14");
  // A wrong password: etcd's refusal (gRPC 3 INVALID_ARGUMENT), not a malformed answer.
  try {
    parse_authenticate(R"({"error":"etcdserver: authentication failed, invalid user ID or password",)"
                       R"("message":"etcdserver: authentication failed, invalid user ID or password","code":3})");
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), Error::Kind::refused);
    EXPECT_EQ(e.code(), 3);
    EXPECT_FALSE(token_rejected(e));  // a new token would not help
  }
  // No token, or one that could end an HTTP header line: malformed.
  for (const std::string& bad : std::vector<std::string>{R"({"header":{}})", R"({"token":""})", R"({"token":7})",
                                                         R"({"token":"a\r\nX-Evil: 1"})", R"({"token":"a b"})",
                                                         "{\"token\":\"" + std::string(20000, 'a') + "\"}"}) {
    EXPECT_EQ(kind_of([&] { parse_authenticate(bad); }), Error::Kind::malformed) << bad.substr(0, 60);
  }
  // The token is no longer valid: a unary call is refused with gRPC 16 UNAUTHENTICATED...
  try {
    parse_range(R"({"error":"etcdserver: invalid auth token","message":"etcdserver: invalid auth token","code":16})");
    FAIL();
  } catch (const Error& e) {
    EXPECT_TRUE(token_rejected(e));
  }
  EXPECT_FALSE(token_rejected(Error(Error::Kind::refused, "etcd refused: etcdserver: user name is empty", 3)));
  EXPECT_FALSE(token_rejected(Error(Error::Kind::refused, "etcd refused: etcdserver: permission denied", 7)));
  EXPECT_FALSE(token_rejected(Error(Error::Kind::transport, "etcd at http://a:1: invalid auth token")));
  // ...and a watch is created and cancelled at once, saying so in its reason.
  const std::string header = R"("header":{"cluster_id":"1","member_id":"2","revision":"2","raft_term":"4"},)";
  EXPECT_TRUE(token_rejected(parse_watch(
      R"({"result":{)" + header +
      R"("watch_id":"-1","created":true,"canceled":true,"cancel_reason":"rpc error: code = Unauthenticated desc = etcdserver: invalid auth token"}})")));
  EXPECT_FALSE(token_rejected(parse_watch(
      R"({"result":{)" + header +
      R"("watch_id":"-1","created":true,"canceled":true,"cancel_reason":"rpc error: code = PermissionDenied desc = etcdserver: permission denied"}})")));
  EXPECT_FALSE(token_rejected(parse_watch(R"({"result":{)" + header + R"("created":true}})")));
}
