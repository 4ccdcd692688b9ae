#include "metrics/tunnel_series.hpp"

#include <set>

namespace ndsip::metrics {

using Json = nlohmann::json;

namespace {

std::string text(const Json& row, const char* key) {
  const auto it = row.find(key);
  return it != row.end() && it->is_string() ? it->get<std::string>() : std::string();
}

template <typename T>
T number(const Json& row, const char* key) {
  const auto it = row.find(key);
  return it != row.end() && it->is_number() ? it->get<T>() : T{};
}

// The counter moves on by what the SA carried since `last` (all of `now` for a new SA).
void advance(prometheus::Counter* c, bool same_sa, unsigned long long now, unsigned long long& last) {
  const unsigned long long delta = same_sa && now >= last ? now - last : now;
  if (delta > 0) c->Increment(static_cast<double>(delta));
  last = now;
}

bool failing_state(const std::string& state) {
  return state == "down" || state == "degraded" || state == "revoked" || state == "connecting";
}

// Erases the entries of `map` whose key is not in `seen`, calling `remove` on each first
// (their series leave the registry with them).
template <typename Map, typename Remove>
void drop_unseen(Map& map, const std::set<std::string>& seen, Remove remove) {
  for (auto it = map.begin(); it != map.end();) {
    if (seen.count(it->first)) {
      ++it;
      continue;
    }
    remove(it->second);
    it = map.erase(it);
  }
}

}  // namespace

std::vector<TunnelRow> rows_from_status(const Json& rows) {
  std::vector<TunnelRow> out;
  if (!rows.is_array()) return out;
  out.reserve(rows.size());
  for (const Json& r : rows) {
    if (!r.is_object()) continue;
    TunnelRow t;
    t.connection = text(r, "connection");
    t.child = text(r, "child");
    t.peer = text(r, "peer");
    t.zone = text(r, "zone");
    if (const auto rp = r.find("reference_points"); rp != r.end() && rp->is_array()) {
      for (const Json& p : *rp) {
        if (!p.is_string()) continue;
        if (!t.reference_points.empty()) t.reference_points += ',';
        t.reference_points += p.get<std::string>();
      }
    }
    t.state = text(r, "state");
    t.reason = text(r, "reason");
    t.spi_in = text(r, "spi_in");
    t.spi_out = text(r, "spi_out");
    t.bytes_in = number<unsigned long long>(r, "bytes_in");
    t.bytes_out = number<unsigned long long>(r, "bytes_out");
    t.packets_in = number<unsigned long long>(r, "packets_in");
    t.packets_out = number<unsigned long long>(r, "packets_out");
    t.state_for_s = number<long long>(r, "state_for_s");
    out.push_back(std::move(t));
  }
  return out;
}

TunnelSeries::Series TunnelSeries::make_series(const TunnelRow& row) {
  Series s;
  s.labels = {{"connection", row.connection},
              {"child", row.child},
              {"peer", row.peer},
              {"zone", row.zone},
              {"reference_points", row.reference_points}};
  s.up = &f_.tunnel_up.Add(s.labels);
  s.standby = &f_.tunnel_standby.Add(s.labels);
  s.black_hole = &f_.tunnel_black_hole.Add(s.labels);
  s.in_bytes = &f_.tunnel_inbound_bytes.Add(s.labels);
  s.out_bytes = &f_.tunnel_outbound_bytes.Add(s.labels);
  s.in_packets = &f_.tunnel_inbound_packets.Add(s.labels);
  s.out_packets = &f_.tunnel_outbound_packets.Add(s.labels);
  return s;
}

void TunnelSeries::remove_series(Series& s) {
  f_.tunnel_up.Remove(s.up);
  f_.tunnel_standby.Remove(s.standby);
  f_.tunnel_black_hole.Remove(s.black_hole);
  f_.tunnel_inbound_bytes.Remove(s.in_bytes);
  f_.tunnel_outbound_bytes.Remove(s.out_bytes);
  f_.tunnel_inbound_packets.Remove(s.in_packets);
  f_.tunnel_outbound_packets.Remove(s.out_packets);
}

void TunnelSeries::remove_connection(Connection& c) {
  for (auto& [kind, counter] : c.rekeys) f_.rekeys.Remove(counter);
  for (auto& [reason, counter] : c.failures) f_.failures.Remove(counter);
  if (c.initiations) f_.initiations.Remove(c.initiations);
}

void TunnelSeries::count_failure(const TunnelRow& row, Series& s, long long now_ms) {
  // Failing: not up, with a reason. Connecting counts as failing when it has one: a tunnel
  // whose SA went away is initiated again within the same list-sas, so it may never be seen
  // down.
  const bool failing = failing_state(row.state) && !row.reason.empty() && row.reason != "none";
  const long long since_ms = now_ms - row.state_for_s * 1000;
  // The state's start is known to a second: one that moved by a second or more is a new entry.
  const bool reentered = row.state == s.state && since_ms - s.since_ms >= 1000;
  // A failure: from up (or no reason) to failing; a new reason; the same state left and entered
  // again; or an attempt that ended (connecting -> down). Not the retry itself (down ->
  // connecting with the reason it had).
  const bool counted = failing && (!s.failing || s.reason != row.reason || reentered ||
                                   (row.state != s.state && row.state != "connecting"));
  if (counted) {
    Connection& c = connections_[row.connection];
    prometheus::Counter*& counter = c.failures[row.reason];
    if (!counter) {
      counter = &f_.failures.Add({{"connection", row.connection}, {"peer", row.peer}, {"reason", row.reason}});
    }
    counter->Increment();
  }
  s.failing = failing;
  s.state = row.state;
  s.reason = row.reason;
  s.since_ms = since_ms;
}

void TunnelSeries::update(const std::vector<TunnelRow>& rows, Clock::time_point now) {
  const long long now_ms = std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()).count();
  std::set<std::string> seen, seen_connections;
  std::map<std::string, std::size_t> counts{{"up", 0},       {"connecting", 0}, {"down", 0},
                                            {"degraded", 0}, {"revoked", 0},    {"standby", 0}};
  for (const TunnelRow& row : rows) {
    const std::string key = row.connection + "/" + row.child;
    if (!seen.insert(key).second) continue;
    seen_connections.insert(row.connection);
    auto it = tunnels_.find(key);
    // The plan's labels (peer, zone, reference points) may change under the same key: new series.
    if (it != tunnels_.end() && (it->second.labels["peer"] != row.peer || it->second.labels["zone"] != row.zone ||
                                 it->second.labels["reference_points"] != row.reference_points)) {
      remove_series(it->second);
      tunnels_.erase(it);
      it = tunnels_.end();
    }
    if (it == tunnels_.end()) it = tunnels_.emplace(key, make_series(row)).first;
    Series& s = it->second;
    Connection& c = connections_[row.connection];
    if (c.peer != row.peer) {
      remove_connection(c);
      c = Connection{};
      c.peer = row.peer;
    }
    if (auto n = counts.find(row.state); n != counts.end()) ++n->second;
    s.up->Set(row.state == "up" ? 1 : 0);
    s.standby->Set(row.state == "standby" ? 1 : 0);
    s.black_hole->Set(row.state == "degraded" && row.reason == "black-hole" ? 1 : 0);
    const bool same_in = !row.spi_in.empty() && row.spi_in == s.spi_in;
    const bool same_out = !row.spi_out.empty() && row.spi_out == s.spi_out;
    advance(s.in_bytes, same_in, row.bytes_in, s.bytes_in);
    advance(s.in_packets, same_in, row.packets_in, s.packets_in);
    advance(s.out_bytes, same_out, row.bytes_out, s.bytes_out);
    advance(s.out_packets, same_out, row.packets_out, s.packets_out);
    s.spi_in = row.spi_in;
    s.spi_out = row.spi_out;
    count_failure(row, s, now_ms);
  }
  drop_unseen(tunnels_, seen, [this](Series& gone) { remove_series(gone); });
  drop_unseen(connections_, seen_connections, [this](Connection& gone) { remove_connection(gone); });
  for (const auto& [state, n] : counts) f_.tunnels.Add({{"state", state}}).Set(static_cast<double>(n));
}

void TunnelSeries::rekeyed(const std::string& connection, const std::string& kind) {
  const auto it = connections_.find(connection);
  if (it == connections_.end()) return;
  prometheus::Counter*& counter = it->second.rekeys[kind];
  if (!counter) counter = &f_.rekeys.Add({{"connection", connection}, {"peer", it->second.peer}, {"kind", kind}});
  counter->Increment();
}

void TunnelSeries::initiated(const std::string& connection) {
  const auto it = connections_.find(connection);
  if (it == connections_.end()) return;
  Connection& c = it->second;
  if (!c.initiations) c.initiations = &f_.initiations.Add({{"connection", connection}, {"peer", c.peer}});
  c.initiations->Increment();
}

}  // namespace ndsip::metrics
