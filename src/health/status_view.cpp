#include "health/status_view.hpp"

#include <ctime>

namespace ndsip::health {

using Json = nlohmann::json;

namespace {

long long seconds(Clock::duration d) { return std::chrono::duration_cast<std::chrono::seconds>(d).count(); }

const char* shown_state(const Tunnel& t) { return t.revoked() ? "revoked" : to_string(t.state); }

}  // namespace

Json tunnel_rows(const Tunnels& tunnels, Clock::time_point now, Clock::duration since_poll) {
  const auto age = static_cast<unsigned long long>(std::max(0LL, seconds(since_poll)));
  Json rows = Json::array();
  auto& list = rows.get_ref<Json::array_t&>();
  list.reserve(tunnels.all().size());
  for (const auto& [key, t] : tunnels.all()) {
    // The ages charon gave at the last list-sas, counted on to now, for a tunnel with an SA.
    const bool has_sa = t.state == State::up || t.state == State::degraded;
    const unsigned long long uptime = has_sa ? t.established + age : t.established;
    const unsigned long long rekey_in = has_sa ? (t.rekey_in > age ? t.rekey_in - age : 0) : t.rekey_in;
    Json& row = list.emplace_back(Json::value_t::object);
    auto& o = row.get_ref<Json::object_t&>();
    // In key order, each placed at the end: no search of the object.
    auto add = [&o](const char* name, auto&& value) { o.emplace_hint(o.end(), name, std::forward<decltype(value)>(value)); };
    add("bytes_in", t.bytes_in);
    add("bytes_out", t.bytes_out);
    add("child", t.child);
    add("connection", t.connection);
    add("ike_uniqueid", t.ike_uniqueid);
    add("initiator", t.initiator);
    add("last_error", t.last_error());
    add("packets_in", t.packets_in);
    add("packets_out", t.packets_out);
    add("peer", t.peer);
    add("profile", t.profile);
    add("reason", code(t.failure));
    add("reference_points", t.reference_points);
    add("rekey_in_s", rekey_in);
    add("spi_in", t.spi_in);
    add("spi_out", t.spi_out);
    add("state", shown_state(t));
    add("state_for_s", seconds(now - t.since));
    add("uptime_s", uptime);
    add("zone", t.zone);
  }
  return rows;
}

Json tunnel_counts(const Tunnels& tunnels) {
  std::size_t up = 0, connecting = 0, down = 0, degraded = 0, revoked = 0;
  for (const auto& [key, t] : tunnels.all()) {
    if (t.revoked()) {
      ++revoked;
      continue;
    }
    switch (t.state) {
      case State::up: ++up; break;
      case State::connecting: ++connecting; break;
      case State::down: ++down; break;
      case State::degraded: ++degraded; break;
    }
  }
  return {{"total", tunnels.all().size()}, {"up", up},           {"connecting", connecting},
          {"down", down},                  {"degraded", degraded}, {"revoked", revoked}};
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
