// ndsipctl validate and plan, run in-process: exit codes, error lines, help.
#include <gtest/gtest.h>

#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include <nlohmann/json.hpp>

#include "cli/commands.hpp"
#include "cli/status_table.hpp"

using namespace ndsip::cli;
namespace fs = std::filesystem;

namespace {

struct Outcome {
  int code;
  std::string out, err;
};

Outcome run(int (*command)(const Args&, std::ostream&, std::ostream&), Args args) {
  std::ostringstream out, err;
  args.push_back("--policies=" NDSIP_SOURCE_DIR "/policies");
  args.push_back("--templates=" NDSIP_SOURCE_DIR "/templates");
  const int code = command(args, out, err);
  return {code, out.str(), err.str()};
}

// The daemon's commands take no --policies / --templates.
Outcome run_daemon(int (*command)(const Args&, std::ostream&, std::ostream&), const Args& args) {
  std::ostringstream out, err;
  const int code = command(args, out, err);
  return {code, out.str(), err.str()};
}

const std::string example = NDSIP_SOURCE_DIR "/examples/two-domains-segs.json";

fs::path write_temp(const std::string& text) {
  const fs::path p = fs::temp_directory_path() /
                     ("ndsip-cli-test-" + std::to_string(::getpid()) + ".json");
  std::ofstream(p) << text;
  return p;
}

}  // namespace

TEST(Validate, ValidExampleExitsZero) {
  const Outcome r = run(validate_command, {example});
  EXPECT_EQ(r.code, exit_ok) << r.out << r.err;
  EXPECT_NE(r.out.find("valid"), std::string::npos);
}

TEST(Validate, EveryProblemOnItsOwnLineAndExitOne) {
  const fs::path p = write_temp(R"({"version": 1, "name": "x", "domains": [],
    "nodes": [{"name": "n1", "role": "val-server", "domain": "nowhere",
               "addresses": ["10.0.0.300"], "identity": "n1.example"}],
    "typo": 1})");
  const Outcome r = run(validate_command, {p.string()});
  fs::remove(p);
  EXPECT_EQ(r.code, exit_invalid);
  EXPECT_NE(r.out.find("/nodes/0/addresses/0: \"10.0.0.300\" is not an IP address"),
            std::string::npos)
      << r.out;
  EXPECT_NE(r.out.find("/typo"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("/nodes/0/domain"), std::string::npos) << r.out;
  // One line per problem.
  EXPECT_GE(std::count(r.out.begin(), r.out.end(), '\n'), 3);
}

// A SEG listed in `segs` is used or validate says why not (the topology stays valid).
TEST(Validate, AListedSegThatCarriesNothingIsANote) {
  const fs::path p = write_temp(R"({"version": 1, "name": "x",
    "domains": [{"name": "a", "ca_id": "CN=A", "segs": ["gms-a", "seg-a"]},
                {"name": "b", "ca_id": "CN=B"}],
    "nodes": [{"name": "gms-a", "role": "seal-server", "domain": "a", "services": ["group-management"],
               "addresses": ["192.0.2.10"], "identity": "gms-a.example"},
              {"name": "seg-a", "role": "seg", "domain": "a", "addresses": ["192.0.2.1"], "identity": "seg-a.example"},
              {"name": "val-1", "role": "val-server", "domain": "a", "addresses": ["192.0.2.20"], "identity": "val-1.example"},
              {"name": "gms-b", "role": "seal-server", "domain": "b", "services": ["group-management"],
               "addresses": ["192.0.2.110"], "identity": "gms-b.example"}],
    "service_uses": [{"val_server": "val-1", "seal_server": "gms-b", "services": ["group-management"]}]})");
  const Outcome r = run(validate_command, {p.string()});
  fs::remove(p);
  EXPECT_EQ(r.code, exit_ok) << r.out << r.err;
  EXPECT_NE(r.out.find("note: plan for gms-a: gms-a is listed in a's segs but carries nothing"), std::string::npos)
      << r.out;
  EXPECT_EQ(r.out.find("note: plan for seg-a"), std::string::npos) << r.out;
}

TEST(Validate, MissingFileIsAProblemNotACrash) {
  const Outcome r = run(validate_command, {"/nonexistent/topology.json"});
  EXPECT_EQ(r.code, exit_invalid);
  EXPECT_NE(r.out.find("/nonexistent/topology.json"), std::string::npos) << r.out;
}

TEST(Validate, BadPolicyDirectoryIsReported) {
  std::ostringstream out, err;
  const int code = validate_command(
      {example, "--policies=/nonexistent/policies", "--templates=" NDSIP_SOURCE_DIR "/templates"},
      out, err);
  EXPECT_EQ(code, exit_invalid);
  EXPECT_NE(out.str().find("/nonexistent/policies"), std::string::npos) << out.str();
}

TEST(Validate, UsageErrorsExitTwo) {
  EXPECT_EQ(run(validate_command, {}).code, exit_usage);
  EXPECT_EQ(run(validate_command, {example, "--bogus"}).code, exit_usage);
  const Outcome help = run(validate_command, {"--help"});
  EXPECT_EQ(help.code, exit_ok);
  EXPECT_NE(help.out.find("Usage: ndsipctl validate"), std::string::npos);
}

TEST(Plan, TableJsonAndSwanctl) {
  const Outcome table = run(plan_command, {example, "--node", "seg-a"});
  ASSERT_EQ(table.code, exit_ok) << table.err;
  EXPECT_NE(table.out.find("za_seg-a_seg-b"), std::string::npos) << table.out;
  const Outcome json = run(plan_command, {example, "--node", "seg-a", "--json"});
  ASSERT_EQ(json.code, exit_ok);
  const auto doc = nlohmann::json::parse(json.out);
  EXPECT_EQ(doc.at("node"), "seg-a");
  EXPECT_FALSE(doc.at("connections").empty());
  const Outcome swanctl = run(plan_command, {example, "--node", "seg-a", "--swanctl"});
  ASSERT_EQ(swanctl.code, exit_ok);
  EXPECT_NE(swanctl.out.find("connections {"), std::string::npos);
}

TEST(Plan, Errors) {
  EXPECT_EQ(run(plan_command, {example}).code, exit_usage);  // no --node
  EXPECT_EQ(run(plan_command, {example, "--node", "x", "--json", "--swanctl"}).code, exit_usage);
  const Outcome unknown = run(plan_command, {example, "--node", "no-such-node"});
  EXPECT_EQ(unknown.code, exit_invalid);
  EXPECT_NE(unknown.err.find("no-such-node"), std::string::npos);
  const Outcome help = run(plan_command, {"--help"});
  EXPECT_EQ(help.code, exit_ok);
  EXPECT_NE(help.out.find("--swanctl"), std::string::npos);
}

TEST(DaemonCommands, HelpOnEverySubcommand) {
  for (auto command : {push_command, diff_command, status_command, rollback_command, reconnect_command,
                       reload_command, version_command, renew_command}) {
    const Outcome help = run_daemon(command, {"--help"});
    EXPECT_EQ(help.code, exit_ok) << help.err;
    EXPECT_NE(help.out.find("Usage: ndsipctl"), std::string::npos) << help.out;
    EXPECT_NE(help.out.find("--socket"), std::string::npos) << help.out;
  }
}

TEST(DaemonCommands, NoDaemonIsExitTwoWithTheReason) {
  const std::string socket = "--socket=/nonexistent/ndsipd.sock";
  for (auto command : {status_command, rollback_command, reload_command, version_command}) {
    const Outcome r = run_daemon(command, {socket});
    EXPECT_EQ(r.code, exit_unreachable);
    EXPECT_NE(r.err.find("cannot reach ndsipd at /nonexistent/ndsipd.sock"), std::string::npos) << r.err;
  }
  EXPECT_EQ(run_daemon(push_command, {example, socket}).code, exit_unreachable);
  EXPECT_EQ(run_daemon(reconnect_command, {"peer", socket}).code, exit_unreachable);
  EXPECT_EQ(run_daemon(renew_command, {socket}).code, exit_unreachable);
}

TEST(DaemonCommands, UsageErrors) {
  EXPECT_EQ(run_daemon(push_command, {}).code, exit_usage);          // no TOPOLOGY
  EXPECT_EQ(run_daemon(reconnect_command, {}).code, exit_usage);     // no PEER
  EXPECT_EQ(run_daemon(status_command, {"--bogus"}).code, exit_usage);
  const Outcome missing = run_daemon(push_command, {"/nonexistent/topology.json", "--socket=/nonexistent/s"});
  EXPECT_EQ(missing.code, exit_invalid);
  EXPECT_NE(missing.err.find("cannot read /nonexistent/topology.json"), std::string::npos);
}

TEST(StatusTable, AFreshSaHasAnUptimeAndLongCellsDoNotRunTogether) {
  const nlohmann::json s = nlohmann::json::parse(R"json({
    "ok": true, "node": "gms", "topology": {"version": 3, "digest": "0123456789abcdef", "name": "lab"},
    "charon": {"connected": true, "version": "charon 5.9.8", "error": ""},
    "credentials": {"state": "ok", "days_left": 300, "serial": "0A", "problems": []},
    "tunnels": [
      {"child": "gms_val1", "peer": "val1", "reference_points": ["KM-S", "SEAL-S", "SEALDD-S", "SEAL-E"],
       "zone": "Zb", "state": "up", "uptime_s": 0, "rekey_in_s": 3725, "bytes_in": 1, "bytes_out": 2,
       "packets_in": 3, "packets_out": 4, "last_error": ""},
      {"child": "gms_val2", "peer": "val2", "reference_points": ["SEAL-S"], "zone": "Zb", "state": "down",
       "uptime_s": 0, "rekey_in_s": 0, "bytes_in": 0, "bytes_out": 0, "packets_in": 0, "packets_out": 0,
       "last_error": "retransmit timeout (peer not responding)"}],
    "outside": [{"reference_point": "SEAL-S (CAPIF)", "peer": "val3", "kind": "capif",
                 "protection": "CAPIF-2 security (TS 33.122), no tunnel"},
                {"reference_point": "SEAL-UU", "peer": "", "kind": "tls", "protection": "TLS, outside NDS/IP"}]
  })json");
  std::ostringstream out;
  print_status(s, out);
  const std::string text = out.str();
  // Installed this second: "0s", not "-"; a tunnel that is down has none.
  EXPECT_NE(text.find("KM-S,SEAL-S,SEALDD-S,SEAL-E  Zb    up     0s      1h2m5s"), std::string::npos) << text;
  EXPECT_NE(text.find("SEAL-S                       Zb    down   -       -"), std::string::npos) << text;
  // By kind, whatever the protection's words.
  EXPECT_NE(text.find("SEAL-S (CAPIF)  val3  CAPIF"), std::string::npos) << text;
  EXPECT_NE(text.find("SEAL-UU         -     TLS"), std::string::npos) << text;
  EXPECT_EQ(duration(0), "0s");
  EXPECT_EQ(duration(90061), "1d1h1m1s");
}

// The renewal in status's header and certs: the next attempt, and a failure that says why.
TEST(StatusTable, TheRenewalLineSaysWhatComesNextAndWhyTheLastFailed) {
  const nlohmann::json failed = nlohmann::json::parse(R"json({
    "server": "http://ca.example:8080/pkix/", "renew_at": "70%", "in_progress": false, "failures_in_a_row": 3,
    "next": "2026-12-01 10:00:00 UTC", "next_trigger": "retry",
    "last_attempt": {"at": "2026-12-01 09:30:00 UTC", "trigger": "retry", "result": "failed",
                     "failed_at": "transfer", "error": "cannot reach the CMP server: Connection refused"}})json");
  EXPECT_EQ(renewal_line(failed),
            "renewal via http://ca.example:8080/pkix/: next 2026-12-01 10:00:00 UTC (retry); last 2026-12-01 09:30:00 "
            "UTC FAILED (3 in a row, transfer): cannot reach the CMP server: Connection refused");
  nlohmann::json renewed = failed;
  renewed["last_attempt"] = {{"at", "2026-12-01 10:00:00 UTC"}, {"result", "renewed"}, {"serial", "0B"}};
  renewed["in_progress"] = true;
  EXPECT_EQ(renewal_line(renewed),
            "renewal via http://ca.example:8080/pkix/: in progress; last 2026-12-01 10:00:00 UTC renewed, serial 0B");
  // Status shows it under the certificate.
  nlohmann::json s = {{"ok", true}, {"node", "gms"}, {"tunnels", nlohmann::json::array()},
                      {"topology", {{"version", 3}, {"digest", "0123456789abcdef"}, {"name", "lab"}}},
                      {"charon", {{"connected", true}, {"version", "charon 5.9.8"}, {"error", ""}}},
                      {"credentials", {{"state", "ok"}, {"days_left", 10}, {"serial", "0A"}, {"renewal", failed}}}};
  std::ostringstream out;
  print_status(s, out);
  EXPECT_NE(out.str().find("  renewal via http://ca.example:8080/pkix/: next"), std::string::npos) << out.str();
}

// ndsipd refusing this user the socket is, for every command, as good as no ndsipd: exit 2.
TEST(DaemonCommands, ARefusalOfThePeerIsExitTwoForEveryCommand) {
  const std::string dir = fs::temp_directory_path() / ("ndsip-cli-refuse-" + std::to_string(::getpid()));
  fs::create_directories(dir);
  const std::string path = dir + "/s.sock";
  const int listener = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_un a{};
  a.sun_family = AF_UNIX;
  std::snprintf(a.sun_path, sizeof a.sun_path, "%s", path.c_str());
  ASSERT_EQ(::bind(listener, reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
  ASSERT_EQ(::listen(listener, 8), 0);
  const std::string refusal =
      "{\"protocol\":1,\"ok\":false,\"denied\":true,\"error\":\"permission denied: uid 1000 is not root\"}\n";
  std::thread server([&] {
    for (int i = 0; i < 3; ++i) {
      const int fd = ::accept(listener, nullptr, nullptr);
      if (fd < 0) return;
      [[maybe_unused]] const ssize_t n = ::send(fd, refusal.data(), refusal.size(), MSG_NOSIGNAL);
      ::shutdown(fd, SHUT_WR);
      char buf[4096];
      while (::recv(fd, buf, sizeof buf, 0) > 0) {
      }
      ::close(fd);
    }
  });
  for (auto command : {version_command, status_command, certs_command}) {
    const Outcome r = run_daemon(command, {"--socket=" + path});
    EXPECT_EQ(r.code, exit_unreachable) << r.err;
    EXPECT_NE(r.err.find("permission denied"), std::string::npos) << r.err;
  }
  server.join();
  ::close(listener);
  fs::remove_all(dir);
  EXPECT_NE(exit_usage, exit_unreachable);
}

TEST(DaemonCommands, PushOfADirectorySaysSo) {
  const Outcome r = run_daemon(push_command, {"/etc", "--socket=/nonexistent/s"});
  EXPECT_EQ(r.code, exit_invalid);
  EXPECT_NE(r.err.find("cannot read /etc: Is a directory"), std::string::npos) << r.err;
}

// The fleet commands' etcd user and password: the password never on the command line
// (--etcd-password-file, owner-only, or NDSIP_ETCD_PASSWORD), checked before etcd is
// contacted; errors never show it.
TEST(FleetCommands, EtcdUserAndPassword) {
  ::unsetenv("NDSIP_ETCD_PASSWORD");
  const std::string etcd = "--etcd=http://127.0.0.1:1";  // nothing listens there
  const Outcome help = run_daemon(fleet_status_command, {"--help"});
  EXPECT_NE(help.out.find("--etcd-password-file"), std::string::npos) << help.out;
  EXPECT_NE(help.out.find("NDSIP_ETCD_PASSWORD"), std::string::npos) << help.out;

  const Outcome no_password = run_daemon(fleet_status_command, {etcd, "--etcd-user=fleet"});
  EXPECT_EQ(no_password.code, exit_usage);
  EXPECT_NE(no_password.err.find("--etcd-user fleet needs a password: --etcd-password-file FILE or NDSIP_ETCD_PASSWORD"),
            std::string::npos)
      << no_password.err;

  const fs::path pw = fs::temp_directory_path() / ("ndsip-cli-etcd-pw-" + std::to_string(::getpid()));
  fs::remove(pw);
  std::ofstream(pw) << "s3cret-pw\n";
  fs::permissions(pw, fs::perms::owner_read | fs::perms::group_read | fs::perms::others_read,
                  fs::perm_options::replace);
  const Outcome readable =
      run_daemon(fleet_status_command, {etcd, "--etcd-user=fleet", "--etcd-password-file=" + pw.string()});
  EXPECT_EQ(readable.code, exit_usage);
  EXPECT_NE(readable.err.find("accessible by group or others (mode 444); chmod 600 it"), std::string::npos)
      << readable.err;
  const Outcome no_user = run_daemon(fleet_status_command, {etcd, "--etcd-password-file=" + pw.string()});
  EXPECT_EQ(no_user.code, exit_usage);
  EXPECT_NE(no_user.err.find("--etcd-password-file needs --etcd-user"), std::string::npos) << no_user.err;

  // A good file, or the variable: the credentials are taken and etcd is tried (exit 2: nothing
  // listens), the error naming the user, never the password.
  fs::permissions(pw, fs::perms::owner_read, fs::perm_options::replace);
  const Outcome from_file =
      run_daemon(fleet_status_command, {etcd, "--etcd-user=fleet", "--etcd-password-file=" + pw.string()});
  EXPECT_EQ(from_file.code, exit_unreachable) << from_file.err;
  EXPECT_NE(from_file.err.find("authenticating to etcd as fleet"), std::string::npos) << from_file.err;
  EXPECT_EQ(from_file.err.find("s3cret"), std::string::npos) << from_file.err;
  fs::remove(pw);
  ::setenv("NDSIP_ETCD_PASSWORD", "s3cret-env", 1);
  const Outcome from_env = run_daemon(fleet_status_command, {etcd, "--etcd-user=fleet"});
  ::unsetenv("NDSIP_ETCD_PASSWORD");
  EXPECT_EQ(from_env.code, exit_unreachable) << from_env.err;
  EXPECT_EQ(from_env.err.find("s3cret"), std::string::npos) << from_env.err;
}
