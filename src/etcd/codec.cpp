#include "etcd/codec.hpp"

#include <algorithm>
#include <charconv>
#include <cstdint>
#include <nlohmann/json.hpp>

#include "common/json_depth.hpp"
#include "etcd/base64.hpp"

namespace ndsip::etcd {

using json = nlohmann::json;

namespace {

// No answer of the API nests deeper than this; deeper text is refused before parsing.
constexpr int max_depth = 16;

[[noreturn]] void malformed(const std::string& what) {
  throw Error(Error::Kind::malformed, "malformed answer from etcd: " + what);
}

std::string b64(std::string_view bytes) { return base64_encode(bytes); }

std::string int64_text(std::int64_t v) { return std::to_string(v); }

json parse_object(std::string_view body) {
  if (common::json_too_deep_at(body, max_depth)) malformed("nested too deeply");
  json doc = json::parse(body.begin(), body.end(), nullptr, false);
  if (doc.is_discarded()) malformed("not JSON");
  if (!doc.is_object()) malformed("not a JSON object");
  return doc;
}

// protobuf's JSON mapping writes int64 as a string, but accepts and may write a number.
std::int64_t int64_field(const json& obj, const char* name) {
  const auto it = obj.find(name);
  if (it == obj.end() || it->is_null()) return 0;
  if (it->is_number_unsigned()) {
    const auto u = it->get<std::uint64_t>();
    if (u > static_cast<std::uint64_t>(INT64_MAX)) malformed(std::string("\"") + name + "\" is out of range");
    return static_cast<std::int64_t>(u);
  }
  if (it->is_number_integer()) return it->get<std::int64_t>();
  if (!it->is_string()) malformed(std::string("\"") + name + "\" is not an integer");
  const std::string& s = it->get_ref<const std::string&>();
  std::int64_t v = 0;
  const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || end != s.data() + s.size() || s.empty()) malformed(std::string("\"") + name + "\" is not an integer");
  return v;
}

bool bool_field(const json& obj, const char* name) {
  const auto it = obj.find(name);
  if (it == obj.end() || it->is_null()) return false;
  if (!it->is_boolean()) malformed(std::string("\"") + name + "\" is not true or false");
  return it->get<bool>();
}

std::string string_field(const json& obj, const char* name) {
  const auto it = obj.find(name);
  if (it == obj.end() || it->is_null()) return "";
  if (!it->is_string()) malformed(std::string("\"") + name + "\" is not a string");
  return it->get<std::string>();
}

std::string bytes_field(const json& obj, const char* name) {
  const std::string text = string_field(obj, name);
  auto bytes = base64_decode(text);
  if (!bytes) malformed(std::string("\"") + name + "\" is not base64");
  return std::move(*bytes);
}

const json& object_field(const json& obj, const char* name) {
  static const json empty = json::object();
  const auto it = obj.find(name);
  if (it == obj.end() || it->is_null()) return empty;
  if (!it->is_object()) malformed(std::string("\"") + name + "\" is not an object");
  return *it;
}

const json& array_field(const json& obj, const char* name) {
  static const json empty = json::array();
  const auto it = obj.find(name);
  if (it == obj.end() || it->is_null()) return empty;
  if (!it->is_array()) malformed(std::string("\"") + name + "\" is not an array");
  return *it;
}

// etcd's own error answer: {"error": "...", "code": N, "message": "..."} for unary calls,
// {"error": {"grpc_code": N, "http_code": N, "message": "..."}} in a stream.
void throw_if_error(const json& doc) {
  const auto it = doc.find("error");
  if (it == doc.end() || it->is_null()) return;
  if (it->is_string()) {
    const std::string msg = string_field(doc, "message");
    throw Error(Error::Kind::refused, "etcd refused: " + (msg.empty() ? it->get<std::string>() : msg),
                static_cast<int>(int64_field(doc, "code")));
  }
  if (it->is_object()) {
    throw Error(Error::Kind::refused, "etcd refused: " + string_field(*it, "message"),
                static_cast<int>(int64_field(*it, "grpc_code")));
  }
  malformed("\"error\" is neither a string nor an object");
}

// An answer's object, or etcd's refusal as an Error.
json answer_object(std::string_view body) {
  json doc = parse_object(body);
  throw_if_error(doc);
  return doc;
}

Header header_of(const json& obj) {
  Header h;
  h.revision = int64_field(object_field(obj, "header"), "revision");
  if (h.revision < 0) malformed("negative revision");
  return h;
}

KeyValue kv_of(const json& obj) {
  if (!obj.is_object()) malformed("a key-value is not an object");
  KeyValue kv;
  kv.key = bytes_field(obj, "key");
  kv.value = bytes_field(obj, "value");
  kv.create_revision = int64_field(obj, "create_revision");
  kv.mod_revision = int64_field(obj, "mod_revision");
  kv.version = int64_field(obj, "version");
  kv.lease = int64_field(obj, "lease");
  return kv;
}

json op_json(const Op& op) {
  if (op.kind == Op::Kind::put) {
    json put = {{"key", b64(op.key)}, {"value", b64(op.value)}};
    if (op.lease != 0) put["lease"] = int64_text(op.lease);
    return {{"request_put", put}};
  }
  json del = {{"key", b64(op.key)}};
  if (!op.range_end.empty()) del["range_end"] = b64(op.range_end);
  return {{"request_delete_range", del}};
}

}  // namespace

std::string prefix_end(std::string_view prefix) {
  std::string end(prefix);
  while (!end.empty()) {
    if (static_cast<unsigned char>(end.back()) != 0xff) {
      end.back() = static_cast<char>(static_cast<unsigned char>(end.back()) + 1);
      return end;
    }
    end.pop_back();
  }
  return std::string(1, '\0');
}

std::string range_request(std::string_view key, std::string_view range_end, std::int64_t revision) {
  json r = {{"key", b64(key)}};
  if (!range_end.empty()) r["range_end"] = b64(range_end);
  if (revision > 0) r["revision"] = int64_text(revision);
  return r.dump();
}

std::string txn_request(const std::vector<Compare>& compares, const std::vector<Op>& success,
                        const std::vector<Op>& failure) {
  json c = json::array();
  for (const Compare& x : compares) {
    const char* target = x.target == Compare::Target::mod_revision      ? "MOD"
                         : x.target == Compare::Target::create_revision ? "CREATE"
                                                                         : "VERSION";
    const char* field = x.target == Compare::Target::mod_revision      ? "mod_revision"
                        : x.target == Compare::Target::create_revision ? "create_revision"
                                                                        : "version";
    c.push_back({{"key", b64(x.key)}, {"target", target}, {"result", "EQUAL"}, {field, int64_text(x.equals)}});
  }
  json s = json::array(), f = json::array();
  for (const Op& op : success) s.push_back(op_json(op));
  for (const Op& op : failure) f.push_back(op_json(op));
  return json{{"compare", c}, {"success", s}, {"failure", f}}.dump();
}

std::string lease_grant_request(std::int64_t ttl_seconds) { return json{{"TTL", int64_text(ttl_seconds)}}.dump(); }
std::string lease_keepalive_request(std::int64_t id) { return json{{"ID", int64_text(id)}}.dump(); }
std::string lease_revoke_request(std::int64_t id) { return json{{"ID", int64_text(id)}}.dump(); }

std::string watch_create_request(std::string_view key, std::string_view range_end, std::int64_t start_revision) {
  json c = {{"key", b64(key)}, {"progress_notify", true}};
  if (!range_end.empty()) c["range_end"] = b64(range_end);
  if (start_revision > 0) c["start_revision"] = int64_text(start_revision);
  return json{{"create_request", c}}.dump();
}

std::string authenticate_request(std::string_view user, std::string_view password) {
  return json{{"name", user}, {"password", password}}.dump();
}

std::optional<Error> error_in(std::string_view body) {
  try {
    throw_if_error(parse_object(body));
  } catch (const Error& e) {
    if (e.kind() == Error::Kind::refused) return e;
  }
  return std::nullopt;
}

RangeResult parse_range(std::string_view body) {
  const json doc = answer_object(body);
  RangeResult r;
  r.header = header_of(doc);
  for (const json& kv : array_field(doc, "kvs")) r.kvs.push_back(kv_of(kv));
  r.more = bool_field(doc, "more");
  r.count = int64_field(doc, "count");
  return r;
}

TxnResult parse_txn(std::string_view body) {
  const json doc = answer_object(body);
  TxnResult r;
  r.header = header_of(doc);
  r.succeeded = bool_field(doc, "succeeded");
  return r;
}

LeaseResult parse_lease(std::string_view body) {
  const json doc = answer_object(body);
  // A keepalive answer comes in a stream, wrapped as {"result": {...}}.
  const json& obj = doc.contains("result") ? object_field(doc, "result") : doc;
  LeaseResult r;
  r.header = header_of(obj);
  r.id = int64_field(obj, "ID");
  r.ttl = int64_field(obj, "TTL");
  return r;
}

WatchResult parse_watch(std::string_view message) {
  const json doc = answer_object(message);
  const json& obj = object_field(doc, "result");
  WatchResult r;
  r.header = header_of(obj);
  r.watch_id = int64_field(obj, "watch_id");
  r.created = bool_field(obj, "created");
  r.canceled = bool_field(obj, "canceled");
  r.compact_revision = int64_field(obj, "compact_revision");
  r.cancel_reason = string_field(obj, "cancel_reason");
  for (const json& e : array_field(obj, "events")) {
    if (!e.is_object()) malformed("an event is not an object");
    WatchEvent ev;
    const std::string type = string_field(e, "type");
    if (type.empty() || type == "PUT") {
      ev.type = WatchEvent::Type::put;
    } else if (type == "DELETE") {
      ev.type = WatchEvent::Type::erase;
    } else {
      malformed("unknown event type \"" + type.substr(0, 32) + "\"");
    }
    ev.kv = kv_of(object_field(e, "kv"));
    r.events.push_back(std::move(ev));
  }
  return r;
}

std::string parse_authenticate(std::string_view body) {
  const json doc = answer_object(body);
  std::string token = string_field(doc, "token");
  if (token.empty()) malformed("no token in the authenticate answer");
  // It goes into every request's Authorization header: printable ASCII only (etcd's simple
  // tokens and JWTs are), so an answer cannot smuggle a line break into our requests.
  if (token.size() > 16384 ||
      std::any_of(token.begin(), token.end(), [](char ch) { return ch < 0x21 || ch > 0x7e; })) {
    malformed("the token is not a printable ASCII string of at most 16384 bytes");
  }
  return token;
}

namespace {
constexpr int grpc_unauthenticated = 16;
constexpr std::string_view invalid_token = "invalid auth token";
}  // namespace

bool token_rejected(const Error& e) {
  return e.kind() == Error::Kind::refused &&
         (e.code() == grpc_unauthenticated || std::string_view(e.what()).find(invalid_token) != std::string_view::npos);
}

bool token_rejected(const WatchResult& w) {
  return w.canceled && w.cancel_reason.find(invalid_token) != std::string::npos;
}

}  // namespace ndsip::etcd
