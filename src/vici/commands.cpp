#include "vici/commands.hpp"

#include <charconv>

#include "vici/error.hpp"

namespace ndsip::vici {
namespace {

unsigned long long num(const Section& s, std::string_view key) {
  return s.number(key).value_or(0);
}

std::vector<std::string> list_or_empty(const Section& s, std::string_view key) {
  const std::vector<std::string>* l = s.find_list(key);
  return l ? *l : std::vector<std::string>{};
}

// A unique id: absent -> 0; otherwise all decimal digits that fit, or Error(malformed).
unsigned long long unique_id(const Section& s, const std::string& sa) {
  const std::string* text = s.find_value("uniqueid");
  if (!text) return 0;
  unsigned long long id = 0;
  const char* end = text->data() + text->size();
  const auto [ptr, ec] = std::from_chars(text->data(), end, id);
  if (text->empty() || ec != std::errc() || ptr != end) {
    throw Error(ErrorKind::malformed, "charon sent SA \"" + sa + "\" with a unique id that is not a number: \"" +
                                          text->substr(0, 32) + "\"");
  }
  return id;
}

const char* yes_no(bool b) { return b ? "yes" : "no"; }

Request simple(std::string command) { return Request{std::move(command), {}, {}}; }

ChildSa parse_child(const Section& s) {
  ChildSa c;
  c.name = s.value_or("name");
  c.uniqueid = unique_id(s, c.name);
  c.reqid = s.value_or("reqid");
  c.state = s.value_or("state");
  c.mode = s.value_or("mode");
  c.protocol = s.value_or("protocol");
  c.encap = s.value_or("encap");
  c.spi_in = s.value_or("spi-in");
  c.spi_out = s.value_or("spi-out");
  c.encr_alg = s.value_or("encr-alg");
  c.integ_alg = s.value_or("integ-alg");
  c.dh_group = s.value_or("dh-group");
  c.bytes_in = num(s, "bytes-in");
  c.bytes_out = num(s, "bytes-out");
  c.packets_in = num(s, "packets-in");
  c.packets_out = num(s, "packets-out");
  c.use_in = s.number("use-in");
  c.use_out = s.number("use-out");
  c.install_time = num(s, "install-time");
  c.rekey_time = num(s, "rekey-time");
  c.life_time = num(s, "life-time");
  c.local_ts = list_or_empty(s, "local-ts");
  c.remote_ts = list_or_empty(s, "remote-ts");
  return c;
}

IkeSa parse_ike(const std::string& name, const Section& s) {
  IkeSa sa;
  sa.name = name;
  sa.uniqueid = unique_id(s, name);
  sa.state = s.value_or("state");
  sa.version = s.value_or("version");
  sa.local_host = s.value_or("local-host");
  sa.local_id = s.value_or("local-id");
  sa.remote_host = s.value_or("remote-host");
  sa.remote_id = s.value_or("remote-id");
  sa.encr_alg = s.value_or("encr-alg");
  sa.prf_alg = s.value_or("prf-alg");
  sa.dh_group = s.value_or("dh-group");
  sa.initiator = s.flag("initiator");
  sa.established = num(s, "established");
  sa.rekey_time = num(s, "rekey-time");
  sa.reauth_time = num(s, "reauth-time");
  if (const Section* children = s.find_section("child-sas")) {
    for (const Section::Entry& e : children->entries()) {
      if (e.kind == Section::Kind::section) sa.children.push_back(parse_child(e.section));
    }
  }
  return sa;
}

void put_id(Section& args, const char* key, const std::optional<unsigned long long>& id) {
  if (id) args.set(key, std::to_string(*id));
}

}  // namespace

std::optional<Error> refusal(const std::string& command, const Message& response) {
  const std::string* success = response.find_value("success");
  if (!success || *success == "yes") return std::nullopt;
  return Error(ErrorKind::command_failed,
               "charon refused " + command + ": " + response.value_or("errmsg", "no reason given"));
}

void expect_success(const std::string& command, const Message& response) {
  if (auto e = refusal(command, response)) throw *e;
}

const ChildSa* IkeSa::child(std::string_view child_name, std::string_view wanted) const {
  for (const ChildSa& c : children) {
    if (c.name == child_name && c.state == wanted) return &c;
  }
  return nullptr;
}

std::vector<IkeSa> parse_ike_sas(const Message& message) {
  std::vector<IkeSa> out;
  for (const Section::Entry& e : message.entries()) {
    if (e.kind == Section::Kind::section) out.push_back(parse_ike(e.name, e.section));
  }
  return out;
}

const char* to_string(CertType type) {
  switch (type) {
    case CertType::x509: return "X509";
    case CertType::x509_ac: return "X509_AC";
    case CertType::x509_crl: return "X509_CRL";
    case CertType::ocsp_response: return "OCSP_RESPONSE";
    case CertType::pubkey: return "PUBKEY";
  }
  return "X509";
}

const char* to_string(CertFlag flag) {
  switch (flag) {
    case CertFlag::none: return "NONE";
    case CertFlag::ca: return "CA";
    case CertFlag::aa: return "AA";
    case CertFlag::ocsp: return "OCSP";
  }
  return "NONE";
}

const char* to_string(KeyType type) {
  switch (type) {
    case KeyType::any: return "any";
    case KeyType::rsa: return "rsa";
    case KeyType::ecdsa: return "ecdsa";
    case KeyType::ed25519: return "ed25519";
    case KeyType::ed448: return "ed448";
  }
  return "any";
}

namespace request {

Request version() { return simple("version"); }
Request stats() { return simple("stats"); }
Request get_conns() { return simple("get-conns"); }
Request get_keys() { return simple("get-keys"); }
Request get_authorities() { return simple("get-authorities"); }
Request clear_creds() { return simple("clear-creds"); }

Request load_conn(const std::string& name, Section connection) {
  Request r = simple("load-conn");
  r.args.set_section(name, std::move(connection));
  return r;
}

Request unload_conn(const std::string& name) {
  Request r = simple("unload-conn");
  r.args.set("name", name);
  return r;
}

Request list_conns(const std::string& ike) {
  Request r{"list-conns", {}, "list-conn"};
  if (!ike.empty()) r.args.set("ike", ike);
  return r;
}

Request initiate(const InitiateArgs& a) {
  Request r = simple("initiate");
  if (!a.child.empty()) r.args.set("child", a.child);
  if (!a.ike.empty()) r.args.set("ike", a.ike);
  r.args.set("timeout", std::to_string(a.timeout_ms));
  r.args.set("init-limits", yes_no(a.init_limits));
  return r;
}

Request terminate(const TerminateArgs& a) {
  Request r = simple("terminate");
  if (!a.child.empty()) r.args.set("child", a.child);
  if (!a.ike.empty()) r.args.set("ike", a.ike);
  put_id(r.args, "child-id", a.child_id);
  put_id(r.args, "ike-id", a.ike_id);
  r.args.set("force", yes_no(a.force));
  r.args.set("timeout", std::to_string(a.timeout_ms));
  return r;
}

Request rekey(const RekeyArgs& a) {
  Request r = simple("rekey");
  if (!a.child.empty()) r.args.set("child", a.child);
  if (!a.ike.empty()) r.args.set("ike", a.ike);
  put_id(r.args, "child-id", a.child_id);
  put_id(r.args, "ike-id", a.ike_id);
  r.args.set("reauth", yes_no(a.reauth));
  return r;
}

Request install(const std::string& child, const std::string& ike) {
  Request r = simple("install");
  r.args.set("child", child);
  if (!ike.empty()) r.args.set("ike", ike);
  return r;
}

Request uninstall(const std::string& child, const std::string& ike) {
  Request r = simple("uninstall");
  r.args.set("child", child);
  if (!ike.empty()) r.args.set("ike", ike);
  return r;
}

Request list_sas(const ListSasArgs& a) {
  Request r{"list-sas", {}, "list-sa"};
  if (!a.ike.empty()) r.args.set("ike", a.ike);
  put_id(r.args, "ike-id", a.ike_id);
  r.args.set("noblock", yes_no(a.noblock));
  return r;
}

Request load_cert(CertType type, CertFlag flag, std::string data) {
  Request r = simple("load-cert");
  r.args.set("type", to_string(type));
  r.args.set("flag", to_string(flag));
  r.args.set("data", std::move(data));
  return r;
}

Request load_key(KeyType type, std::string data) {
  Request r = simple("load-key");
  r.args.set("type", to_string(type));
  r.args.set("data", std::move(data));
  return r;
}

Request unload_key(const std::string& id) {
  Request r = simple("unload-key");
  r.args.set("id", id);
  return r;
}

Request load_authority(const std::string& name, Section authority) {
  Request r = simple("load-authority");
  r.args.set_section(name, std::move(authority));
  return r;
}

Request unload_authority(const std::string& name) {
  Request r = simple("unload-authority");
  r.args.set("name", name);
  return r;
}

Request list_certs(const ListCertsArgs& a) {
  Request r{"list-certs", {}, "list-cert"};
  if (a.type) r.args.set("type", to_string(*a.type));
  if (a.flag) r.args.set("flag", to_string(*a.flag));
  if (!a.subject.empty()) r.args.set("subject", a.subject);
  return r;
}

}  // namespace request

namespace parse {

VersionInfo version(const Reply& reply) {
  const Message& m = reply.response;
  return {m.value_or("daemon"), m.value_or("version"), m.value_or("sysname"),
          m.value_or("release"), m.value_or("machine")};
}

Stats stats(const Reply& reply) {
  const Message& m = reply.response;
  Stats s;
  if (const Section* up = m.find_section("uptime")) {
    s.uptime_running = up->value_or("running");
    s.uptime_since = up->value_or("since");
  }
  if (const Section* w = m.find_section("workers")) {
    s.workers_total = num(*w, "total");
    s.workers_idle = num(*w, "idle");
  }
  if (const Section* ike = m.find_section("ikesas")) {
    s.ikesas_total = num(*ike, "total");
    s.ikesas_half_open = num(*ike, "half-open");
  }
  s.plugins = list_or_empty(m, "plugins");
  return s;
}

std::vector<std::string> get_conns(const Reply& reply) {
  return list_or_empty(reply.response, "conns");
}

std::vector<IkeSa> list_sas(const Reply& reply) {
  std::vector<IkeSa> out;
  for (const Message& event : reply.streamed) {
    for (IkeSa& sa : parse_ike_sas(event)) out.push_back(std::move(sa));
  }
  return out;
}

std::vector<Section> list_conns(const Reply& reply) {
  std::vector<Section> out;
  for (const Message& event : reply.streamed) {
    for (const Section::Entry& e : event.entries()) {
      if (e.kind != Section::Kind::section) continue;
      Section conn = e.section;
      conn.set("name", e.name);
      out.push_back(std::move(conn));
    }
  }
  return out;
}

std::string load_key(const Reply& reply) {
  return reply.response.value_or("id");  // a refusal never gets here: the session fails it
}

std::vector<std::string> get_keys(const Reply& reply) {
  return list_or_empty(reply.response, "keys");
}

std::vector<std::string> get_authorities(const Reply& reply) {
  return list_or_empty(reply.response, "authorities");
}

std::vector<CertInfo> list_certs(const Reply& reply) {
  std::vector<CertInfo> out;
  for (const Message& m : reply.streamed) {
    CertInfo c;
    c.type = m.value_or("type");
    c.flag = m.value_or("flag");
    c.subject = m.value_or("subject");
    c.not_before = m.value_or("not-before");
    c.not_after = m.value_or("not-after");
    c.has_privkey = m.flag("has_privkey");
    c.data = m.value_or("data");
    out.push_back(std::move(c));
  }
  return out;
}

}  // namespace parse
}  // namespace ndsip::vici
