// etcd's v3 API as its JSON gateway speaks it (etcd 3.4: POST /v3/kv/range, /v3/kv/txn,
// /v3/lease/grant, /v3/lease/keepalive, /v3/watch, /v3/auth/authenticate): the request bodies ndsip sends and the
// answers it reads, typed. The gateway writes protobuf's JSON mapping: bytes as base64, 64-bit
// integers as strings, and fields with their zero value left out (no "kvs" for an empty range,
// no "succeeded" for a failed transaction, no "type" for a PUT event).
//
// The store's answers are untrusted bytes: every parse checks type, range and encoding and
// throws etcd::Error (malformed) on anything else, never crashes; an answer that is etcd's own
// error ({"error": ..., "code": ...}) throws etcd::Error (refused) with its message.
#pragma once

#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace ndsip::etcd {

class Error : public std::runtime_error {
 public:
  enum class Kind {
    malformed,  // not an answer of etcd's API (bad JSON, wrong types, bad base64)
    refused,    // etcd's own error answer (e.g. "etcdserver: mvcc: required revision has been compacted")
    transport,  // connection, TLS or HTTP trouble, or a timeout (set by the client)
  };
  Error(Kind kind, const std::string& what, int code = 0) : std::runtime_error(what), kind_(kind), code_(code) {}
  Kind kind() const { return kind_; }
  int code() const { return code_; }  // gRPC status code of a refusal (e.g. 11 OUT_OF_RANGE)

 private:
  Kind kind_;
  int code_;
};

struct Header {
  std::int64_t revision = 0;  // the store's revision when it answered
};

struct KeyValue {
  std::string key, value;
  std::int64_t create_revision = 0, mod_revision = 0, version = 0, lease = 0;
};

// The end of the range of every key that starts with `prefix` (prefix + 1 in its last byte
// that is not 0xff); "\0" (every key) for an empty prefix or one of 0xff bytes alone.
std::string prefix_end(std::string_view prefix);

// --- requests: JSON bodies ---

// Keys in [key, range_end); range_end empty: the key alone. revision 0: the newest.
std::string range_request(std::string_view key, std::string_view range_end, std::int64_t revision = 0);

struct Compare {
  enum class Target { mod_revision, create_revision, version };
  std::string key;
  Target target = Target::mod_revision;
  std::int64_t equals = 0;  // only EQUAL is needed: "unchanged since I read it"
};
struct Op {
  enum class Kind { put, erase };
  Kind kind = Kind::put;
  std::string key, value;
  std::int64_t lease = 0;  // put: attach to this lease (0: none)
  std::string range_end;   // erase: [key, range_end) (empty: the key alone)
};
// One transaction: if every compare holds, the success ops, else the failure ops.
std::string txn_request(const std::vector<Compare>& compares, const std::vector<Op>& success,
                        const std::vector<Op>& failure = {});

std::string lease_grant_request(std::int64_t ttl_seconds);
std::string lease_keepalive_request(std::int64_t id);
std::string lease_revoke_request(std::int64_t id);

// Watches [key, range_end) from `start_revision` (0: from now), with progress notifications
// (so a quiet watch still learns the store's revision).
std::string watch_create_request(std::string_view key, std::string_view range_end, std::int64_t start_revision);

// Authentication (etcd's --auth, user and password): the token that every later request
// carries in its Authorization header. The body holds the password: never log it.
std::string authenticate_request(std::string_view user, std::string_view password);

// --- answers ---

// etcd's error answer in `body` ({"error": ...}), if it is one; nullopt for anything else.
std::optional<Error> error_in(std::string_view body);

struct RangeResult {
  Header header;
  std::vector<KeyValue> kvs;
  bool more = false;
  std::int64_t count = 0;
};
RangeResult parse_range(std::string_view body);

struct TxnResult {
  Header header;
  bool succeeded = false;
};
TxnResult parse_txn(std::string_view body);

struct LeaseResult {
  Header header;
  std::int64_t id = 0, ttl = 0;  // ttl <= 0 from keepalive: the lease is gone
};
LeaseResult parse_lease(std::string_view body);  // grant, and each keepalive answer

struct WatchEvent {
  enum class Type { put, erase };
  Type type = Type::put;
  KeyValue kv;  // for an erase, the key and the revision of the deletion
};
struct WatchResult {
  Header header;
  std::int64_t watch_id = 0;
  bool created = false, canceled = false;
  std::int64_t compact_revision = 0;  // > 0: asked from before it; re-read in full
  std::string cancel_reason;
  std::vector<WatchEvent> events;  // empty for creation and progress notifications
};
// One message of the watch stream ({"result": {...}}, or {"error": {...}}).
WatchResult parse_watch(std::string_view message);

// The token of an authenticate answer (non-empty, else malformed).
std::string parse_authenticate(std::string_view body);

// etcd no longer takes the token a request carried (it expired, or etcd forgot it when auth
// was disabled and enabled again): authenticating again may help. A unary call answers
// gRPC code 16 UNAUTHENTICATED ("etcdserver: invalid auth token"); a watch is created and
// cancelled at once with that in its cancel_reason.
bool token_rejected(const Error& e);
bool token_rejected(const WatchResult& w);

}  // namespace ndsip::etcd
