// The etcd client against a real etcd (Debian's etcd-server 3.4) started by the test on
// loopback: the gateway's answers as the codec reads them, a guarded transaction that loses
// cleanly, a watch that sees a transaction and is cancelled by a compaction, TLS with client
// certificates (and a clear error without one), a user and password (etcd's auth, the token
// renewed when etcd forgets it), endpoint failover, a silent server timing out, and etcd
// killed under a watch.
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <boost/asio/io_context.hpp>
#include <filesystem>

#include "etcd/client.hpp"
#include "etcd/codec.hpp"
#include "lab/etcd_server.hpp"
#include "lab/process.hpp"

using namespace ndsip;
using namespace std::chrono_literals;
namespace fs = std::filesystem;

namespace {

struct TempDir {
  std::string path;
  TempDir() {
    char tmpl[] = "/tmp/ndsip-etcd-XXXXXX";
    path = ::mkdtemp(tmpl);
  }
  ~TempDir() { fs::remove_all(path); }
};

bool etcd_installed() {
  try {
    lab::proc::find_program("etcd");
    return true;
  } catch (...) {
    return false;
  }
}

etcd::ClientSettings plain(const lab::EtcdServer& s) {
  etcd::ClientSettings c;
  c.endpoints = etcd::parse_endpoints(s.endpoint());
  c.timeout = 3s;
  return c;
}

// Runs the loop until `done` or 10 s.
bool run_until(boost::asio::io_context& io, const std::function<bool()>& done) {
  const auto deadline = std::chrono::steady_clock::now() + 10s;
  while (!done() && std::chrono::steady_clock::now() < deadline) {
    io.restart();
    io.run_for(20ms);
  }
  return done();
}

class EtcdClient : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!etcd_installed()) GTEST_SKIP() << "etcd-server is not installed (scripts/test installs it)";
  }
};

}  // namespace

TEST_F(EtcdClient, RangeAndAGuardedTransactionOfWhichTheStaleOneLoses) {
  TempDir dir;
  lab::EtcdServer server(dir.path, false);
  server.start();
  etcd::BlockingClient c(plain(server));
  // Publish 1: nothing there yet (create revision 0), two objects and the publish key.
  const etcd::TxnResult first =
      c.txn({{"/t/publish", etcd::Compare::Target::create_revision, 0}},
            {{etcd::Op::Kind::put, "/t/node/a", "{\"a\":1}", 0, ""}, {etcd::Op::Kind::put, "/t/publish", "1", 0, ""}});
  EXPECT_TRUE(first.succeeded);
  const etcd::RangeResult all = c.range("/t/", etcd::prefix_end("/t/"));
  ASSERT_EQ(all.kvs.size(), 2u);
  EXPECT_EQ(all.kvs[0].key, "/t/node/a");
  EXPECT_EQ(all.kvs[0].value, "{\"a\":1}");
  const std::int64_t publish_rev = all.kvs[1].mod_revision;
  EXPECT_EQ(all.header.revision, publish_rev);
  // Two operators read that revision; the first to commit wins, the second's compare fails and
  // nothing of it is written.
  const etcd::Op put_b{etcd::Op::Kind::put, "/t/node/b", "{}", 0, ""};
  const etcd::Op put_c{etcd::Op::Kind::put, "/t/node/c", "{}", 0, ""};
  const etcd::Op bump{etcd::Op::Kind::put, "/t/publish", "2", 0, ""};
  EXPECT_TRUE(c.txn({{"/t/publish", etcd::Compare::Target::mod_revision, publish_rev}}, {put_b, bump}).succeeded);
  EXPECT_FALSE(c.txn({{"/t/publish", etcd::Compare::Target::mod_revision, publish_rev}}, {put_c, bump}).succeeded);
  EXPECT_TRUE(c.range("/t/node/c", "").kvs.empty());
  EXPECT_EQ(c.range("/t/node/b", "").kvs.size(), 1u);
  // A revision from the future is etcd's refusal, not a malformed answer.
  try {
    c.range("/t/", etcd::prefix_end("/t/"), 1000000);
    FAIL();
  } catch (const etcd::Error& e) {
    EXPECT_EQ(e.kind(), etcd::Error::Kind::refused) << e.what();
    EXPECT_NE(std::string(e.what()).find("future revision"), std::string::npos) << e.what();
  }
}

TEST_F(EtcdClient, AWatchSeesEachTransactionAndACompactionCancelsAnOldOne) {
  TempDir dir;
  lab::EtcdServer server(dir.path, false);
  server.start();
  boost::asio::io_context io;
  etcd::Client client(io, plain(server));
  etcd::BlockingClient writer(plain(server));
  const std::int64_t start = writer.range("/w/", etcd::prefix_end("/w/")).header.revision;
  std::vector<etcd::WatchResult> seen;
  std::optional<etcd::Error> ended;
  auto w = client.watch(etcd::watch_create_request("/w/", etcd::prefix_end("/w/"), start + 1),
                        [&](const std::string& m) { seen.push_back(etcd::parse_watch(m)); },
                        [&](const etcd::Error& e) { ended = e; });
  ASSERT_TRUE(run_until(io, [&] { return !seen.empty(); }));
  EXPECT_TRUE(seen[0].created);
  // One transaction of two puts and a delete: one watch message, three events, one revision.
  writer.txn({}, {{etcd::Op::Kind::put, "/w/x", "1", 0, ""}, {etcd::Op::Kind::put, "/w/y", "2", 0, ""}});
  writer.txn({}, {{etcd::Op::Kind::put, "/w/z", "3", 0, ""}, {etcd::Op::Kind::erase, "/w/x", "", 0, ""}});
  ASSERT_TRUE(run_until(io, [&] { return seen.size() >= 3; })) << seen.size();
  EXPECT_EQ(seen[1].events.size(), 2u);
  ASSERT_EQ(seen[2].events.size(), 2u);
  EXPECT_EQ(seen[2].events[1].type, etcd::WatchEvent::Type::erase);
  EXPECT_EQ(seen[2].events[1].kv.key, "/w/x");
  EXPECT_EQ(seen[2].header.revision, seen[1].header.revision + 1);
  w->cancel();
  EXPECT_FALSE(ended);
  // Compacted past `start`: a watch from there is cancelled with the compact revision.
  const std::int64_t now = writer.range("/w/", etcd::prefix_end("/w/")).header.revision;
  writer.post("/v3/kv/compaction", "{\"revision\":\"" + std::to_string(now) + "\"}");
  std::optional<etcd::WatchResult> cancelled;
  auto old = client.watch(etcd::watch_create_request("/w/", etcd::prefix_end("/w/"), start + 1),
                          [&](const std::string& m) {
                            auto r = etcd::parse_watch(m);
                            if (r.canceled) cancelled = r;
                          },
                          [&](const etcd::Error&) {});
  ASSERT_TRUE(run_until(io, [&] { return cancelled.has_value(); }));
  EXPECT_EQ(cancelled->compact_revision, now);
  old->cancel();
}

TEST_F(EtcdClient, TlsWithAClientCertificateAndAClearErrorWithoutOne) {
  TempDir dir;
  lab::EtcdServer server(dir.path, true);
  server.start();
  etcd::ClientSettings s;
  s.endpoints = etcd::parse_endpoints(server.endpoint());
  s.ca_file = server.ca().cert;
  s.cert_file = server.client().cert;
  s.key_file = server.client().key;
  s.timeout = 5s;
  etcd::BlockingClient with_cert(s);
  EXPECT_TRUE(with_cert.txn({}, {{etcd::Op::Kind::put, "/tls/k", "v", 0, ""}}).succeeded);
  EXPECT_EQ(with_cert.range("/tls/k", "").kvs.at(0).value, "v");
  // Without a client certificate etcd refuses the handshake: an error naming the endpoint.
  s.cert_file.clear();
  s.key_file.clear();
  etcd::BlockingClient without(s);
  try {
    without.range("/tls/k", "");
    FAIL();
  } catch (const etcd::Error& e) {
    EXPECT_EQ(e.kind(), etcd::Error::Kind::transport);
    EXPECT_NE(std::string(e.what()).find(server.endpoint()), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("no client certificate was presented"), std::string::npos) << e.what();
  }
  // A CA that did not sign etcd's certificate: refused by our side, and said so.
  s.ca_file = "/etc/ssl/certs/ca-certificates.crt";
  if (fs::exists(s.ca_file)) {
    etcd::BlockingClient wrong_ca(s);
    try {
      wrong_ca.range("/tls/k", "");
      FAIL();
    } catch (const etcd::Error& e) {
      EXPECT_NE(std::string(e.what()).find("is not signed by a CA of --etcd-cacert"), std::string::npos) << e.what();
      EXPECT_EQ(std::string(e.what()).find("no client certificate"), std::string::npos) << e.what();
    }
  }
}

TEST_F(EtcdClient, FailsOverToTheNextEndpointAndTimesOutOnASilentOne) {
  TempDir dir;
  lab::EtcdServer server(dir.path, false);
  server.start();
  // A listener that accepts and never answers.
  const int silent = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof a;
  ASSERT_EQ(::bind(silent, reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
  ASSERT_EQ(::listen(silent, 4), 0);
  ASSERT_EQ(::getsockname(silent, reinterpret_cast<sockaddr*>(&a), &len), 0);
  const std::string silent_url = "http://127.0.0.1:" + std::to_string(ntohs(a.sin_port));

  etcd::ClientSettings s;
  s.timeout = 500ms;
  s.endpoints = etcd::parse_endpoints(silent_url + "," + server.endpoint());
  etcd::BlockingClient c(s);
  EXPECT_TRUE(c.range("/f/", etcd::prefix_end("/f/")).kvs.empty());  // the second answered

  s.endpoints = etcd::parse_endpoints(silent_url);
  etcd::BlockingClient only_silent(s);
  const auto t0 = std::chrono::steady_clock::now();
  try {
    only_silent.range("/f/", "");
    FAIL();
  } catch (const etcd::Error& e) {
    EXPECT_EQ(e.kind(), etcd::Error::Kind::transport);
    EXPECT_NE(std::string(e.what()).find("no answer within 500 ms"), std::string::npos) << e.what();
  }
  EXPECT_LT(std::chrono::steady_clock::now() - t0, 5s);
  ::close(silent);
}

TEST_F(EtcdClient, EtcdKilledUnderAWatchEndsItWithAnError) {
  TempDir dir;
  lab::EtcdServer server(dir.path, false);
  server.start();
  boost::asio::io_context io;
  etcd::Client client(io, plain(server));
  bool created = false;
  std::optional<etcd::Error> ended;
  auto w = client.watch(etcd::watch_create_request("/k/", etcd::prefix_end("/k/"), 0),
                        [&](const std::string& m) { created = created || etcd::parse_watch(m).created; },
                        [&](const etcd::Error& e) { ended = e; });
  ASSERT_TRUE(run_until(io, [&] { return created; }));
  server.kill();
  ASSERT_TRUE(run_until(io, [&] { return ended.has_value(); }));
  EXPECT_EQ(ended->kind(), etcd::Error::Kind::transport);
}

// etcd with authentication enabled (etcdctl: root, a role with readwrite on /auth/, a user
// with that role). The right password works for range, txn and a watch; a token etcd no
// longer takes (disabling and enabling auth forgets every token) is renewed once, unseen by
// the caller, for a request and for a watch; a wrong password and no credentials at all are
// refusals that say so, never showing the password.
TEST_F(EtcdClient, UserAndPasswordAndATokenRenewedOnce) {
  TempDir dir;
  lab::EtcdServer server(dir.path, false);
  server.start();
  auto etcdctl = [&](std::vector<std::string> args) {
    std::vector<std::string> argv{"etcdctl", "--endpoints", server.endpoint()};
    argv.insert(argv.end(), args.begin(), args.end());
    std::string out;
    EXPECT_EQ(lab::proc::run(argv, &out), 0) << lab::proc::quote(argv) << "\n" << out;
  };
  etcdctl({"user", "add", "root:root-pw"});
  etcdctl({"role", "add", "ndsip"});
  etcdctl({"role", "grant-permission", "ndsip", "--prefix=true", "readwrite", "/auth/"});
  etcdctl({"user", "add", "fleet:s3cret-pw"});
  etcdctl({"user", "grant-role", "fleet", "ndsip"});
  etcdctl({"auth", "enable"});

  etcd::ClientSettings s = plain(server);
  s.user = "fleet";
  s.password = "s3cret-pw";
  etcd::BlockingClient c(s);
  EXPECT_TRUE(c.txn({}, {{etcd::Op::Kind::put, "/auth/k", "v", 0, ""}}).succeeded);
  EXPECT_EQ(c.range("/auth/k", "").kvs.at(0).value, "v");
  // A watch carries the token too, and sees a put.
  boost::asio::io_context io;
  etcd::Client client(io, s);
  auto watch_sees_a_put = [&](const std::string& key) {
    bool created = false, seen = false;
    std::optional<etcd::Error> ended;
    std::string cancelled;
    auto w = client.watch(etcd::watch_create_request("/auth/", etcd::prefix_end("/auth/"), 0),
                          [&](const std::string& m) {
                            const etcd::WatchResult r = etcd::parse_watch(m);
                            if (r.canceled) cancelled = r.cancel_reason;
                            created = created || r.created;
                            for (const etcd::WatchEvent& e : r.events) seen = seen || e.kv.key == key;
                          },
                          [&](const etcd::Error& e) { ended = e; });
    EXPECT_TRUE(run_until(io, [&] { return created || ended; })) << "no answer";
    EXPECT_EQ(cancelled, "");
    EXPECT_FALSE(ended) << ended->what();
    c.txn({}, {{etcd::Op::Kind::put, key, "1", 0, ""}});
    EXPECT_TRUE(run_until(io, [&] { return seen || ended; }));
    EXPECT_TRUE(seen);
    w->cancel();
  };
  watch_sees_a_put("/auth/w1");

  // etcd forgets every token when auth is disabled and enabled again: the next request and
  // the next watch are refused once for the token (code 16 / a cancelled watch), and the
  // client authenticates again and sends them once more.
  etcdctl({"--user", "root:root-pw", "auth", "disable"});
  etcdctl({"auth", "enable"});
  EXPECT_EQ(c.range("/auth/k", "").kvs.at(0).value, "v");
  watch_sees_a_put("/auth/w2");

  // A wrong password: etcd's refusal, naming the user and not the password.
  s.password = "not-the-pw";
  etcd::BlockingClient wrong(s);
  try {
    wrong.range("/auth/k", "");
    FAIL();
  } catch (const etcd::Error& e) {
    EXPECT_EQ(e.kind(), etcd::Error::Kind::refused) << e.what();
    const std::string what = e.what();
    EXPECT_NE(what.find("authenticating to etcd as fleet: etcd refused: etcdserver: authentication failed"),
              std::string::npos)
        << what;
    EXPECT_EQ(what.find("not-the-pw"), std::string::npos) << what;
  }
  // The same for a watch: it ends with that error instead of opening.
  {
    etcd::Client wrong_watcher(io, s);
    std::optional<etcd::Error> ended;
    auto w = wrong_watcher.watch(etcd::watch_create_request("/auth/", etcd::prefix_end("/auth/"), 0),
                                 [](const std::string&) {}, [&](const etcd::Error& e) { ended = e; });
    ASSERT_TRUE(run_until(io, [&] { return ended.has_value(); }));
    EXPECT_EQ(ended->kind(), etcd::Error::Kind::refused);
    EXPECT_NE(std::string(ended->what()).find("authentication failed"), std::string::npos) << ended->what();
  }
  // No credentials against an etcd with auth: refused, and told what is missing.
  etcd::BlockingClient anonymous(plain(server));
  try {
    anonymous.range("/auth/k", "");
    FAIL();
  } catch (const etcd::Error& e) {
    EXPECT_EQ(e.kind(), etcd::Error::Kind::refused) << e.what();
    EXPECT_NE(std::string(e.what()).find("user name is empty (etcd has authentication enabled: give a user and password)"),
              std::string::npos)
        << e.what();
  }
  // A user outside its role's prefix: etcd's permission refusal, not a retry.
  try {
    c.range("/elsewhere/", "");
    FAIL();
  } catch (const etcd::Error& e) {
    EXPECT_EQ(e.kind(), etcd::Error::Kind::refused);
    EXPECT_NE(std::string(e.what()).find("permission denied"), std::string::npos) << e.what();
  }
}

TEST(EtcdEndpoints, BadListsAreClearErrors) {
  EXPECT_EQ(etcd::parse_endpoints("http://a:1,https://b:2379").size(), 2u);
  EXPECT_TRUE(etcd::parse_endpoints("https://b:2379")[0].tls);
  EXPECT_EQ(etcd::parse_endpoints("http://[::1]:2379")[0].host, "::1");
  for (const char* bad : {"", "a:1", "http://a", "http://a:", "http://:1", "ftp://a:1", "http://a:1/x", "http://a:1,",
                          "http://u@a:1", "http://a:123456"}) {
    EXPECT_THROW(etcd::parse_endpoints(bad), std::invalid_argument) << bad;
  }
}
