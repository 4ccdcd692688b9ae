#include "cli/status_table.hpp"

#include <algorithm>
#include <iomanip>
#include <ostream>
#include <sstream>
#include <vector>

namespace ndsip::cli {

using nlohmann::json;

std::string duration(long long s) {
  if (s < 0) s = 0;
  std::ostringstream o;
  if (s >= 86400) o << s / 86400 << "d";
  if (s >= 3600) o << (s % 86400) / 3600 << "h";
  if (s >= 60) o << (s % 3600) / 60 << "m";
  o << s % 60 << "s";
  return o.str();
}

namespace {

using Row = std::vector<std::string>;

// Columns padded to their widest cell plus two spaces; the last column is not padded.
void print_table(const std::vector<Row>& rows, std::ostream& out) {
  std::vector<std::size_t> width;
  for (const Row& r : rows) {
    if (width.size() < r.size()) width.resize(r.size(), 0);
    for (std::size_t i = 0; i < r.size(); ++i) width[i] = std::max(width[i], r[i].size());
  }
  for (const Row& r : rows) {
    std::string line;
    for (std::size_t i = 0; i < r.size(); ++i) {
      line += r[i];
      if (i + 1 < r.size()) line += std::string(width[i] - r[i].size() + 2, ' ');
    }
    while (!line.empty() && line.back() == ' ') line.pop_back();
    out << line << "\n";
  }
}

std::string joined(const json& list, const char* sep) {
  std::string out;
  for (const auto& item : list) out += (out.empty() ? "" : sep) + item.get<std::string>();
  return out;
}

// "2 of 3 up, 1 down; as of list-sas 4.2s ago": how many, and how old the state is (ndsipd
// answers from what it keeps; --fresh makes it ask charon first).
std::string tunnels_line(const json& s) {
  std::string line;
  if (const auto c = s.find("tunnel_counts"); c != s.end() && c->is_object()) {
    // `total` leaves out standby hops (a second SEG's): they wait by design.
    line = std::to_string(c->value("up", 0)) + " of " + std::to_string(c->value("total", 0)) + " up";
    for (const char* state : {"connecting", "degraded", "down", "revoked", "standby"}) {
      if (c->value(state, 0) > 0) line += ", " + std::to_string(c->value(state, 0)) + " " + state;
    }
  }
  if (const auto p = s.find("polled"); p != s.end() && p->is_object()) {
    if (!line.empty()) line += "; ";
    const auto age = p->find("age_s");
    if (age == p->end() || !age->is_number()) {
      line += "no list-sas yet";
    } else {
      const double a = age->get<double>();
      std::ostringstream o;
      if (a < 10) {
        o << std::fixed << std::setprecision(1) << a << "s";
      } else {
        o << duration(static_cast<long long>(a));
      }
      line += "as of list-sas " + o.str() + " ago";
    }
  }
  return line;
}

}  // namespace

std::string renewal_line(const json& r) {
  if (!r.is_object()) return "";
  std::string line = "renewal via " + r.value("server", "") + ": ";
  if (r.value("in_progress", false)) {
    line += "in progress";
  } else if (r.contains("next")) {
    line += "next " + r.value("next", "") + " (" + r.value("next_trigger", "") + ")";
  } else {
    line += "not planned (no certificate or topology yet)";
  }
  if (r.contains("last_attempt")) {
    const json& a = r["last_attempt"];
    line += "; last " + a.value("at", "") + " ";
    if (a.value("result", "") == "renewed") {
      line += "renewed, serial " + a.value("serial", "");
    } else {
      line += "FAILED (" + std::to_string(r.value("failures_in_a_row", 0)) + " in a row, " + a.value("failed_at", "") +
              "): " + a.value("error", "");
    }
  }
  return line;
}

void print_status(const json& s, std::ostream& out) {
  const json& topo = s["topology"];
  out << "node " << s.value("node", "") << "   topology version " << topo.value("version", 0) << " digest "
      << (topo.value("digest", "").empty() ? "-" : topo.value("digest", "")) << " (" << topo.value("name", "")
      << ")\n";
  if (topo.value("version", 0) == 0) out << "NO ACCEPTED TOPOLOGY: charon is held as it is until a push\n";
  if (!topo.value("refused", "").empty()) out << "STORED TOPOLOGY REFUSED: " << topo.value("refused", "") << "\n";
  const bool charon = s["charon"].value("connected", false);
  out << "charon "
      << (charon ? "connected, " + s["charon"].value("version", "") : "NOT CONNECTED: " + s["charon"].value("error", ""))
      << "\n";
  // The kernel's view: said only when something is wrong (at 3 a.m. a quiet line is a good one).
  if (const auto k = s.find("kernel"); k != s.end() && k->is_object()) {
    const json missing = k->value("addresses_missing", json::array());
    if (!missing.empty()) out << "ADDRESS NOT ON THIS HOST: " << joined(missing, ", ") << " (its tunnels are held)\n";
    if (!k->value("error", "").empty()) out << "kernel view unavailable: " << k->value("error", "") << "\n";
    const json stale = k->value("stale", json::array());
    if (!stale.empty()) {
      out << "kernel (" << k->value("datapath", "") << "): " << stale.size()
          << " entries no SA of charon's owns: " << joined(stale, "; ") << "\n";
    }
  }
  const json creds = s.value("credentials", json::object());
  out << "certificate " << creds.value("state", "")
      << (creds.contains("days_left") ? ", " + std::to_string(creds.value("days_left", 0L)) + " days left (serial " +
                                            creds.value("serial", "") + ")"
                                      : std::string())
      << "\n";
  for (const auto& c : creds.value("problems", json::array())) out << "  refused: " << c.get<std::string>() << "\n";
  if (creds.contains("renewal")) out << "  " << renewal_line(creds["renewal"]) << "\n";
  if (s.contains("tunnel_counts") || s.contains("polled")) out << "tunnels " << tunnels_line(s) << "\n";
  out << "\n";
  std::vector<Row> rows{{"TUNNEL", "PEER", "REFERENCE POINTS", "ZONE", "STATE", "UPTIME", "REKEY IN", "BYTES IN/OUT",
                         "PACKETS IN/OUT", "KERNEL", "LAST ERROR"}};
  for (const auto& t : s["tunnels"]) {
    const std::string state = t.value("state", "");
    // An SA installed this second has an uptime of 0 s, not none: "-" only when not up.
    const bool has_sa = state == "up" || state == "degraded";
    rows.push_back({t.value("child", ""), t.value("peer", ""), joined(t["reference_points"], ","), t.value("zone", ""),
                    state, has_sa ? duration(t.value("uptime_s", 0LL)) : "-",
                    has_sa ? duration(t.value("rekey_in_s", 0LL)) : "-",
                    std::to_string(t.value("bytes_in", 0ULL)) + "/" + std::to_string(t.value("bytes_out", 0ULL)),
                    std::to_string(t.value("packets_in", 0ULL)) + "/" + std::to_string(t.value("packets_out", 0ULL)),
                    t.value("kernel", "-"), t.value("last_error", "").empty() ? "-" : t.value("last_error", "")});
  }
  print_table(rows, out);
  // The reference points NDS/IP does not cover, so every one is accounted for.
  if (s.value("outside", json::array()).empty()) return;
  std::vector<Row> outside{{"NOT OURS", "PEER", "PROTECTED BY"}};
  for (const auto& o : s["outside"]) {
    outside.push_back({o.value("reference_point", ""), o.value("peer", "").empty() ? "-" : o.value("peer", ""),
                       o.value("kind", "") == "capif" ? "CAPIF" : "TLS"});
  }
  out << "\n";
  print_table(outside, out);
}

}  // namespace ndsip::cli
