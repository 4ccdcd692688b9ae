#include "health/status_view.hpp"

#include <ctime>

namespace ndsip::health {

using Json = nlohmann::json;

namespace {

long long seconds(Clock::duration d) { return std::chrono::duration_cast<std::chrono::seconds>(d).count(); }

const char* shown_state(const Tunnel& t) {
  if (t.revoked()) return "revoked";
  return t.waiting_standby() ? "standby" : to_string(t.state);
}

}  // namespace

namespace {

// A JSON string as nlohmann's dump writes it (ensure_ascii off): plain printable ASCII is
// copied with '"' and '\\' escaped; anything else (control characters, non-ASCII, which may be
// invalid UTF-8 to be replaced) goes through nlohmann itself, so the bytes cannot differ.
void append_string(std::string& out, const std::string& s) {
  for (const unsigned char c : s) {
    if (c < 0x20 || c >= 0x7f) {
      out += Json(s).dump(-1, ' ', false, Json::error_handler_t::replace);
      return;
    }
  }
  out += '"';
  for (const char c : s) {
    if (c == '"' || c == '\\') out += '\\';
    out += c;
  }
  out += '"';
}

void append_number(std::string& out, unsigned long long v) { out += std::to_string(v); }
void append_number(std::string& out, long long v) { out += std::to_string(v); }

}  // namespace

std::string tunnel_rows_text(const Tunnels& tunnels, Clock::time_point now, Clock::duration since_poll) {
  const auto age = static_cast<unsigned long long>(std::max(0LL, seconds(since_poll)));
  std::string out;
  out.reserve(tunnels.all().size() * 480 + 2);
  out += '[';
  bool first = true;
  for (const auto& [key, t] : tunnels.all()) {
    const bool has_sa = t.state == State::up || t.state == State::degraded;
    const unsigned long long uptime = has_sa ? t.established + age : t.established;
    const unsigned long long rekey_in = has_sa ? (t.rekey_in > age ? t.rekey_in - age : 0) : t.rekey_in;
    if (!first) out += ',';
    first = false;
    // The members in key order, as nlohmann's dump() writes an object (the bytes ndsipctl
    // printed when status was a DOM; tests hold the two to it).
    out += "{\"bytes_in\":";
    append_number(out, t.bytes_in);
    out += ",\"bytes_out\":";
    append_number(out, t.bytes_out);
    out += ",\"child\":";
    append_string(out, t.child);
    out += ",\"connection\":";
    append_string(out, t.connection);
    out += ",\"ike_uniqueid\":";
    append_number(out, t.ike_uniqueid);
    out += ",\"initiator\":";
    out += t.initiator ? "true" : "false";
    out += ",\"kernel\":";
    append_string(out, t.kernel);
    out += ",\"last_error\":";
    append_string(out, t.last_error());
    out += ",\"packets_in\":";
    append_number(out, t.packets_in);
    out += ",\"packets_out\":";
    append_number(out, t.packets_out);
    out += ",\"peer\":";
    append_string(out, t.peer);
    out += ",\"profile\":";
    append_string(out, t.profile);
    out += ",\"reason\":";
    append_string(out, code(t.failure));
    out += ",\"reference_points\":[";
    for (std::size_t i = 0; i < t.reference_points.size(); ++i) {
      if (i) out += ',';
      append_string(out, t.reference_points[i]);
    }
    out += "],\"rekey_in_s\":";
    append_number(out, rekey_in);
    out += ",\"spi_in\":";
    append_string(out, t.spi_in);
    out += ",\"spi_out\":";
    append_string(out, t.spi_out);
    out += ",\"state\":";
    append_string(out, shown_state(t));
    out += ",\"state_for_s\":";
    append_number(out, static_cast<long long>(seconds(now - t.since)));
    out += ",\"uptime_s\":";
    append_number(out, uptime);
    out += ",\"zone\":";
    append_string(out, t.zone);
    out += '}';
  }
  out += ']';
  return out;
}

Json tunnel_rows(const Tunnels& tunnels, Clock::time_point now, Clock::duration since_poll) {
  // One writer of the rows: the DOM, for the few who want one, is read back from the text.
  return Json::parse(tunnel_rows_text(tunnels, now, since_poll));
}

Json tunnel_counts(const Tunnels& tunnels) {
  std::size_t up = 0, connecting = 0, down = 0, degraded = 0, revoked = 0, standby = 0;
  for (const auto& [key, t] : tunnels.all()) {
    if (t.revoked()) {
      ++revoked;
      continue;
    }
    if (t.waiting_standby()) {
      ++standby;
      continue;
    }
    switch (t.state) {
      case State::up: ++up; break;
      case State::connecting: ++connecting; break;
      case State::down: ++down; break;
      case State::degraded: ++degraded; break;
    }
  }
  // `total`: the tunnels that should be up; standby ones (a second SEG's) wait by design and
  // are counted apart, so "up == total" still means all is well (ndsipctl status exits 0).
  return {{"total", tunnels.all().size() - standby}, {"up", up},           {"connecting", connecting},
          {"down", down},                  {"degraded", degraded}, {"revoked", revoked},
          {"standby", standby}};
}

std::string utc_time(std::chrono::system_clock::time_point t) {
  const std::time_t s = std::chrono::system_clock::to_time_t(t);
  std::tm tm{};
  ::gmtime_r(&s, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

}  // namespace ndsip::health
