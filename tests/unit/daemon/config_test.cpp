#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "daemon/config.hpp"

using namespace ndsip::daemon;
using namespace std::chrono_literals;

TEST(Config, FlagsAndDefaults) {
  const auto r = parse_config({"--node", "gms-a", "--poll-interval", "500ms", "--max-initiating", "3"});
  ASSERT_TRUE(r.config) << r.output;
  EXPECT_EQ(r.config->node, "gms-a");
  EXPECT_EQ(r.config->poll_interval, 500ms);
  EXPECT_EQ(r.config->max_initiating, 3u);
  EXPECT_EQ(r.config->control_socket, "/run/ndsip/ndsipd.sock");
  EXPECT_EQ(r.config->state_dir, "/var/lib/ndsip");
  EXPECT_EQ(r.config->failback_hold, 60s);
  EXPECT_EQ(parse_config({"--node", "a", "--failback-hold", "5s"}).config->failback_hold, 5s);
  EXPECT_EQ(parse_config({"--node", "a", "--failback-hold", "later"}).exit_code, 2);
}

TEST(Config, FileWithFlagsWinning) {
  const std::string path = std::filesystem::temp_directory_path() / ("ndsipd-" + std::to_string(::getpid()) + ".conf");
  std::ofstream(path) << "node = from-file\nvici = unix:///x.vici\npoll-interval = 2m\n";
  const auto r = parse_config({"--config", path, "--node", "from-flag"});
  std::filesystem::remove(path);
  ASSERT_TRUE(r.config) << r.output;
  EXPECT_EQ(r.config->node, "from-flag");
  EXPECT_EQ(r.config->vici_uri, "unix:///x.vici");
  EXPECT_EQ(r.config->poll_interval, 120s);
}

TEST(Config, BadInputIsAClearUsageError) {
  EXPECT_EQ(parse_config({}).exit_code, 2);
  EXPECT_NE(parse_config({}).output.find("--node"), std::string::npos);
  const auto bad = parse_config({"--node", "a", "--poll-interval", "soon"});
  EXPECT_EQ(bad.exit_code, 2);
  EXPECT_NE(bad.output.find("\"soon\" is not a duration"), std::string::npos);
  EXPECT_EQ(parse_config({"--node", "a", "--bogus"}).exit_code, 2);
  EXPECT_EQ(parse_config({"--node", "a", "--max-initiating", "0"}).exit_code, 2);
  // Not taken as 2^64-1.
  const auto negative = parse_config({"--node", "a", "--max-initiating", "-1"});
  EXPECT_EQ(negative.exit_code, 2);
  EXPECT_NE(negative.output.find("--max-initiating must be between 1 and 100000 (got -1)"), std::string::npos)
      << negative.output;
  EXPECT_EQ(parse_config({"--node", "a", "--reauth-batch", "-5"}).exit_code, 2);
  EXPECT_EQ(parse_config({"--node", "a", "--max-initiating", "16"}).config->max_initiating, 16u);
  EXPECT_EQ(parse_config({"--node", "a", "--vici-sessions", "4"}).config->vici_sessions, 4u);
  const auto sessions = parse_config({"--node", "a", "--vici-sessions", "17"});
  EXPECT_NE(sessions.output.find("--vici-sessions must be between 1 and 16 (got 17)"), std::string::npos)
      << sessions.output;
  EXPECT_EQ(parse_config({"--config", "/nonexistent/ndsipd.conf"}).exit_code, 2);
  // The fleet: etcd needs endpoints that parse and a prefix that is one.
  const auto etcd = parse_config({"--node", "a", "--topology-source", "etcd", "--etcd-endpoints", "http://10.0.0.1:2379"});
  ASSERT_TRUE(etcd.config) << etcd.output;
  EXPECT_EQ(etcd.config->topology_source, "etcd");
  EXPECT_EQ(etcd.config->etcd_prefix, "/ndsip/v1/");
  const auto no_endpoints = parse_config({"--node", "a", "--topology-source", "etcd"});
  EXPECT_EQ(no_endpoints.exit_code, 2);
  EXPECT_NE(no_endpoints.output.find("--etcd-endpoints is required"), std::string::npos) << no_endpoints.output;
  EXPECT_EQ(parse_config({"--node", "a", "--topology-source", "etcd", "--etcd-endpoints", "10.0.0.1:2379"}).exit_code, 2);
  EXPECT_EQ(parse_config({"--node", "a", "--topology-source", "etcd", "--etcd-endpoints", "http://a:1", "--etcd-prefix",
                          "ndsip"})
                .exit_code,
            2);
  const auto bad_source = parse_config({"--node", "a", "--topology-source", "zookeeper"});
  EXPECT_NE(bad_source.output.find("must be push or etcd"), std::string::npos) << bad_source.output;
  const auto help = parse_config({"--help"});
  EXPECT_FALSE(help.config);
  EXPECT_EQ(help.exit_code, 0);
  EXPECT_NE(help.output.find("--control-socket"), std::string::npos);
}

// CMP renewal: off unless cmp-server; then it needs whom to trust and what it renews, and
// every setting is checked at start with a message that says what is accepted.
TEST(Config, CmpSettings) {
  const auto off = parse_config({"--node", "a"});
  ASSERT_TRUE(off.config);
  EXPECT_EQ(off.config->cmp_server, "");
  EXPECT_EQ(off.config->cmp_renew_at.to_string(), "70%");
  const std::vector<std::string> creds{"--node", "a", "--cert", "c.pem", "--key", "k.pem", "--ca", "ca.pem"};
  auto with = [&](std::vector<std::string> more) {
    std::vector<std::string> args = creds;
    args.insert(args.end(), more.begin(), more.end());
    return parse_config(args);
  };
  const auto on = with({"--cmp-server", "http://ca:8080/pkix/", "--cmp-trusted", "t.pem", "--cmp-renew-at", "30d",
                        "--cmp-key-type", "ec:P-384", "--cmp-retry-first", "30s", "--cmp-timeout", "2m"});
  ASSERT_TRUE(on.config) << on.output;
  EXPECT_EQ(on.config->cmp_renew_at.to_string(), "30d");
  EXPECT_EQ(on.config->cmp_key_type, "ec:P-384");
  EXPECT_EQ(on.config->cmp_retry_first, std::chrono::seconds(30));
  EXPECT_EQ(on.config->cmp_timeout, std::chrono::minutes(2));
  const struct {
    std::vector<std::string> args;
    const char* says;
  } bad[] = {
      {{"--cmp-server", "http://ca/", "--cmp-trusted", "t.pem", "--cmp-renew-at", "130%"}, "\"130%\" is out of range"},
      {{"--cmp-server", "https://ca/", "--cmp-trusted", "t.pem"}, "must be an http:// URL"},
      {{"--cmp-server", "http://ca/"}, "needs --cmp-trusted"},
      {{"--cmp-server", "http://ca/", "--cmp-trusted", "t.pem", "--cmp-key-type", "rsa:1024"}, "--cmp-key-type"},
      {{"--cmp-new-key", "n.pem", "--cmp-key-type", "ec:P-256"}, "exclude each other"},
      {{"--cmp-retry-first", "2h", "--cmp-retry-max", "1h"}, "--cmp-retry-first <= --cmp-retry-max"},
      {{"--cmp-timeout", "soon"}, "\"soon\" is not a duration"},
      {{"--cmp-timeout", "500ms"}, "--cmp-timeout must be at least 1s"},
  };
  for (const auto& b : bad) {
    const auto r = with(b.args);
    EXPECT_EQ(r.exit_code, 2) << b.says;
    EXPECT_NE(r.output.find(b.says), std::string::npos) << r.output;
  }
  const auto no_creds = parse_config({"--node", "a", "--cmp-server", "http://ca/", "--cmp-trusted", "t.pem"});
  EXPECT_NE(no_creds.output.find("needs --cert, --key and --ca"), std::string::npos) << no_creds.output;
}

// etcd's auth: etcd-user with etcd-password-file (owner-only), read once at start; a bad
// file is a config error (exit 2) naming the file and the fix, never the password.
TEST(Config, EtcdUserAndPasswordFile) {
  namespace fs = std::filesystem;
  const fs::path pw = fs::temp_directory_path() / ("ndsipd-etcd-pw-" + std::to_string(::getpid()));
  fs::remove(pw);
  std::ofstream(pw) << "s3cret-pw\n";
  fs::permissions(pw, fs::perms::owner_read | fs::perms::owner_write, fs::perm_options::replace);
  const std::vector<std::string> etcd{"--node", "a", "--topology-source", "etcd", "--etcd-endpoints", "http://10.0.0.1:2379"};
  auto with = [&](std::vector<std::string> extra) {
    std::vector<std::string> args = etcd;
    args.insert(args.end(), extra.begin(), extra.end());
    return parse_config(args);
  };
  const auto good = with({"--etcd-user", "fleet", "--etcd-password-file", pw.string()});
  ASSERT_TRUE(good.config) << good.output;
  EXPECT_EQ(good.config->etcd_password, "s3cret-pw");
  const ndsip::etcd::ClientSettings s = etcd_client_settings(*good.config);
  EXPECT_EQ(s.user, "fleet");
  EXPECT_EQ(s.password, "s3cret-pw");
  EXPECT_EQ(s.endpoints.at(0).host, "10.0.0.1");

  fs::permissions(pw, fs::perms::group_read, fs::perm_options::add);
  const auto readable = with({"--etcd-user", "fleet", "--etcd-password-file", pw.string()});
  EXPECT_EQ(readable.exit_code, 2);
  EXPECT_NE(readable.output.find("etcd password file " + pw.string() + " is accessible by group or others (mode 640)"),
            std::string::npos)
      << readable.output;
  EXPECT_EQ(readable.output.find("s3cret"), std::string::npos) << readable.output;
  fs::remove(pw);

  const auto no_file = with({"--etcd-user", "fleet"});
  EXPECT_EQ(no_file.exit_code, 2);
  EXPECT_NE(no_file.output.find("--etcd-user needs --etcd-password-file"), std::string::npos) << no_file.output;
  const auto no_user = with({"--etcd-password-file", pw.string()});
  EXPECT_NE(no_user.output.find("--etcd-password-file needs --etcd-user"), std::string::npos) << no_user.output;
  const auto missing = with({"--etcd-user", "fleet", "--etcd-password-file", "/nonexistent/pw"});
  EXPECT_EQ(missing.exit_code, 2);
  EXPECT_NE(missing.output.find("/nonexistent/pw cannot be read"), std::string::npos) << missing.output;
  // No auth: none asked of the client.
  const auto none = with({});
  ASSERT_TRUE(none.config) << none.output;
  EXPECT_TRUE(etcd_client_settings(*none.config).user.empty());
  EXPECT_NE(parse_config({"--help"}).output.find("--etcd-password-file"), std::string::npos);
}
