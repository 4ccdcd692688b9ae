// The typed layer for the VICI commands ndsip uses: a builder for each request and a parser
// for each answer. Builders and parsers are plain functions so the blocking Client (tools,
// tests) and the daemon's asynchronous loop share one definition of every command.
//
// charon answers many commands with `success = no` and an `errmsg`; expect_success turns that
// into Error(command_failed) carrying charon's words.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "vici/error.hpp"
#include "vici/message.hpp"
#include "vici/session.hpp"

namespace ndsip::vici {

// Error(command_failed, "charon refused <command>: <errmsg>") when the response says
// success = no; nullopt otherwise (responses without a success key, such as version or
// get-conns, pass). The session applies it to every command's response.
std::optional<Error> refusal(const std::string& command, const Message& response);
// Throws refusal(command, response), if any.
void expect_success(const std::string& command, const Message& response);

struct VersionInfo {
  std::string daemon, version, sysname, release, machine;
};

struct Stats {
  std::string uptime_running, uptime_since;
  unsigned long long workers_total = 0, workers_idle = 0;
  unsigned long long ikesas_total = 0, ikesas_half_open = 0;
  std::vector<std::string> plugins;
};

// Unique ids are charon's numbers for an SA (never reused while it runs); 0: not given.
struct ChildSa {
  std::string name;
  unsigned long long uniqueid = 0;
  std::string reqid, state, mode, protocol, encap;
  std::string spi_in, spi_out, encr_alg, integ_alg, dh_group;
  unsigned long long bytes_in = 0, bytes_out = 0, packets_in = 0, packets_out = 0;
  std::optional<unsigned long long> use_in, use_out;  // seconds since last use; absent if never
  unsigned long long install_time = 0, rekey_time = 0, life_time = 0;
  std::vector<std::string> local_ts, remote_ts;
};

struct IkeSa {
  std::string name;
  unsigned long long uniqueid = 0;
  std::string state, version;
  std::string local_host, local_id, remote_host, remote_id;
  std::string encr_alg, prf_alg, dh_group;
  bool initiator = false;
  unsigned long long established = 0, rekey_time = 0, reauth_time = 0;
  std::vector<ChildSa> children;

  const ChildSa* child(std::string_view name, std::string_view state) const;
};

// One IKE_SA per top-level section, as list-sas streams them and as ike-updown/child-updown
// events carry them. Throws Error(malformed) for a unique id that is not a decimal number:
// ids are used to rekey and terminate, so a garbled one must not become another SA's.
std::vector<IkeSa> parse_ike_sas(const Message& message);

enum class CertType { x509, x509_ac, x509_crl, ocsp_response, pubkey };
enum class CertFlag { none, ca, aa, ocsp };
enum class KeyType { any, rsa, ecdsa, ed25519, ed448 };

const char* to_string(CertType type);
const char* to_string(CertFlag flag);
const char* to_string(KeyType type);

struct CertInfo {
  std::string type, flag, subject, not_before, not_after;
  bool has_privkey = false;
  std::string data;  // DER
};

struct InitiateArgs {
  std::string child, ike;
  int timeout_ms = 0;  // charon's: 0 waits for the outcome, -1 returns at once
  bool init_limits = false;
};

struct TerminateArgs {
  std::string child, ike;
  std::optional<unsigned long long> child_id, ike_id;
  bool force = false;
  int timeout_ms = 0;
};

struct RekeyArgs {
  std::string child, ike;
  std::optional<unsigned long long> child_id, ike_id;
  bool reauth = false;
};

struct ListSasArgs {
  std::string ike;
  std::optional<unsigned long long> ike_id;
  bool noblock = false;
};

struct ListCertsArgs {
  std::optional<CertType> type;
  std::optional<CertFlag> flag;
  std::string subject;
};

namespace request {
Request version();
Request stats();
Request load_conn(const std::string& name, Section connection);
Request unload_conn(const std::string& name);
Request get_conns();
Request list_conns(const std::string& ike = {});
Request initiate(const InitiateArgs& args);
Request terminate(const TerminateArgs& args);
Request rekey(const RekeyArgs& args);
// A CHILD_SA config's trap policy (start_action trap), installed again or taken away.
Request install(const std::string& child, const std::string& ike);
Request uninstall(const std::string& child, const std::string& ike);
Request list_sas(const ListSasArgs& args = {});
Request load_cert(CertType type, CertFlag flag, std::string data);
Request load_key(KeyType type, std::string data);
Request unload_key(const std::string& id);
Request get_keys();
Request load_authority(const std::string& name, Section authority);
Request unload_authority(const std::string& name);
Request get_authorities();
Request clear_creds();
Request list_certs(const ListCertsArgs& args = {});
}  // namespace request

namespace parse {
VersionInfo version(const Reply& reply);
Stats stats(const Reply& reply);
std::vector<std::string> get_conns(const Reply& reply);
std::vector<IkeSa> list_sas(const Reply& reply);
std::vector<Section> list_conns(const Reply& reply);
std::string load_key(const Reply& reply);  // the key id charon assigned
std::vector<std::string> get_keys(const Reply& reply);
std::vector<std::string> get_authorities(const Reply& reply);
std::vector<CertInfo> list_certs(const Reply& reply);
}  // namespace parse

}  // namespace ndsip::vici
