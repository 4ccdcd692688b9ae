#include "policy/render.hpp"

#include <algorithm>

#include <nlohmann/json.hpp>

#include "common/join.hpp"

namespace ndsip::policy {

using common::join;

namespace {

std::string pad(const std::string& s, std::size_t width) {
  return s.size() >= width ? s : s + std::string(width - s.size(), ' ');
}

// swanctl.conf values: quote anything beyond plain tokens (CA distinguished names have
// spaces and commas, which would otherwise split the value).
std::string value(const std::string& v) {
  const bool plain = !v.empty() && std::all_of(v.begin(), v.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '-' || c == '_' ||
           c == ':' || c == '/' || c == '|';
  });
  if (plain) return v;
  std::string out = "\"";
  for (char c : v) {
    if (c == '"' || c == '\\') out += '\\';
    out += c;
  }
  return out + "\"";
}

void line(std::string& out, int depth, const std::string& key, const std::string& v) {
  if (v.empty()) return;
  out += std::string(static_cast<std::size_t>(depth) * 2, ' ') + key + " = " + value(v) + "\n";
}

void line(std::string& out, int depth, const std::string& key, const std::vector<std::string>& v) {
  if (v.empty()) return;
  out += std::string(static_cast<std::size_t>(depth) * 2, ' ') + key + " = " + join(v, ",") + "\n";
}

void open(std::string& out, int depth, const std::string& name) {
  out += std::string(static_cast<std::size_t>(depth) * 2, ' ') + name + " {\n";
}

void close(std::string& out, int depth) {
  out += std::string(static_cast<std::size_t>(depth) * 2, ' ') + "}\n";
}

}  // namespace

std::string render_table(const NodePlan& plan) {
  std::string out = "node " + plan.node + " (" + plan.role + ", domain " + plan.domain +
                    ", identity " + plan.credentials.identity + ")\n\n";
  if (plan.connections.empty()) {
    out += "no NDS/IP connections\n";
  } else {
    std::size_t wn = 10, wp = 4, wr = 16;
    for (const ConnectionPlan& c : plan.connections) {
      wn = std::max(wn, c.name.size());
      wp = std::max(wp, c.peer.size());
      wr = std::max(wr, join(c.reference_points, ",").size());
    }
    out += pad("connection", wn) + "  " + pad("peer", wp) + "  " + pad("reference points", wr) +
           "  zone  profile  digest            why\n";
    for (const ConnectionPlan& c : plan.connections) {
      out += pad(c.name, wn) + "  " + pad(c.peer, wp) + "  " +
             pad(join(c.reference_points, ","), wr) + "  " + pad(to_string(c.zone), 4) + "  " +
             pad(c.profile, 7) + "  " + c.digest + "  " + c.why + "\n";
      for (const ChildPlan& ch : c.children) {
        out += "    child " + ch.name + ": " + join(ch.local_ts, ",") + " <=> " +
               join(ch.remote_ts, ",") + " (" + ch.mode + ", " + join(ch.reference_points, ",") +
               "; " + ch.why + ")" + (ch.standby ? " standby for " + ch.standby_for : "") + "\n";
      }
    }
  }
  if (!plan.outside.empty()) {
    out += "\noutside NDS/IP:\n";
    for (const OutsidePoint& o : plan.outside) {
      out += "  " + o.reference_point + (o.peer.empty() ? "" : " with " + o.peer) + ": " +
             o.protection + " (" + o.why + ")\n";
    }
  }
  out += "\ncredentials: certificate for " + plan.credentials.identity + " issued by \"" +
         plan.credentials.own_ca_id + "\"; trusts " +
         std::to_string(plan.credentials.trusted_ca_ids.size()) + " CA(s)\n";
  for (const std::string& ca : plan.credentials.trusted_ca_ids) out += "  trusted CA: " + ca + "\n";
  for (const PlanProblem& p : plan.problems) out += "problem: " + p.message + "\n";
  for (const std::string& n : plan.notes) out += "note: " + n + "\n";
  return out;
}

std::string render_json(const NodePlan& plan) {
  using nlohmann::json;
  json connections = json::array();
  for (const ConnectionPlan& c : plan.connections) {
    json children = json::array();
    for (const ChildPlan& ch : c.children) {
      children.push_back({{"name", ch.name},
                          {"local_ts", ch.local_ts},
                          {"remote_ts", ch.remote_ts},
                          {"esp_proposals", ch.esp_proposals},
                          {"mode", ch.mode},
                          {"rekey_time", ch.rekey_time},
                          {"life_time", ch.life_time},
                          {"start_action", ch.start_action},
                          {"close_action", ch.close_action},
                          {"dpd_action", ch.dpd_action},
                          {"reference_points", ch.reference_points},
                          {"why", ch.why}});
      if (ch.standby) {  // present only on standby children
        children.back()["standby"] = true;
        children.back()["standby_for"] = ch.standby_for;
      }
      if (ch.picks_seg) children.back()["picks_seg"] = true;
      if (ch.peer_picks_seg) children.back()["peer_picks_seg"] = true;
    }
    connections.push_back({{"name", c.name},
                           {"digest", c.digest},
                           {"peer", c.peer},
                           {"zone", to_string(c.zone)},
                           {"profile", c.profile},
                           {"template", c.template_name},
                           {"reference_points", c.reference_points},
                           {"why", c.why},
                           {"local_addrs", c.local_addrs},
                           {"remote_addrs", c.remote_addrs},
                           {"local_id", c.local_id},
                           {"remote_id", c.remote_id},
                           {"remote_ca_id", c.remote_ca_id},
                           {"ike_proposals", c.ike_proposals},
                           {"rekey_time", c.rekey_time},
                           {"dpd_delay", c.dpd_delay},
                           {"dpd_timeout", c.dpd_timeout},
                           {"children", children}});
  }
  json outside = json::array();
  for (const OutsidePoint& o : plan.outside) {
    outside.push_back({{"reference_point", o.reference_point},
                       {"peer", o.peer},
                       {"protection", o.protection},
                       {"why", o.why}});
  }
  json problems = json::array();
  for (const PlanProblem& p : plan.problems) problems.push_back(p.message);
  json doc = {{"node", plan.node},
              {"domain", plan.domain},
              {"role", plan.role},
              {"credentials",
               {{"identity", plan.credentials.identity},
                {"own_ca_id", plan.credentials.own_ca_id},
                {"trusted_ca_ids", plan.credentials.trusted_ca_ids}}},
              {"connections", connections},
              {"outside_nds_ip", outside},
              {"problems", problems}};
  if (!plan.notes.empty()) doc["notes"] = plan.notes;  // present only when there are some
  return doc.dump(2) + "\n";
}

std::string render_swanctl(const NodePlan& plan) {
  std::string out = "# swanctl.conf for " + plan.node + ", generated by ndsipctl plan --swanctl.\n"
                    "# Credentials are loaded separately (x509/, x509ca/, private/ or VICI).\n";
  open(out, 0, "connections");
  for (const ConnectionPlan& c : plan.connections) {
    out += "  # " + c.why + "\n";
    out += "  # reference points " + join(c.reference_points, ", ") + "; " + to_string(c.zone) +
           ", profile " + c.profile + ", digest " + c.digest + "\n";
    open(out, 1, c.name);
    line(out, 2, "version", "2");
    line(out, 2, "local_addrs", c.local_addrs);
    line(out, 2, "remote_addrs", c.remote_addrs);
    line(out, 2, "proposals", c.ike_proposals);
    line(out, 2, "rekey_time", c.rekey_time);
    line(out, 2, "dpd_delay", c.dpd_delay);
    line(out, 2, "dpd_timeout", c.dpd_timeout);
    // One IKE_SA per peer: a second one between the same identities would be torn down by
    // INITIAL_CONTACT.
    line(out, 2, "unique", "replace");
    open(out, 2, "local");
    line(out, 3, "auth", "pubkey");
    line(out, 3, "id", c.local_id);
    close(out, 2);
    open(out, 2, "remote");
    line(out, 3, "auth", "pubkey");
    line(out, 3, "id", c.remote_id);
    line(out, 3, "ca_id", c.remote_ca_id);
    close(out, 2);
    open(out, 2, "children");
    for (const ChildPlan& ch : c.children) {
      open(out, 3, ch.name);
      line(out, 4, "local_ts", ch.local_ts);
      line(out, 4, "remote_ts", ch.remote_ts);
      line(out, 4, "esp_proposals", ch.esp_proposals);
      line(out, 4, "mode", ch.mode);
      line(out, 4, "rekey_time", ch.rekey_time);
      line(out, 4, "life_time", ch.life_time);
      // A passive child is never started nor restarted by charon (see ChildPlan::passive).
      if (ch.standby) out += "        # standby for " + ch.standby_for + "\n";
      if (ch.picks_seg) out += "        # ndsipd picks the SEG hop for this pair\n";
      if (ch.peer_picks_seg && !ch.picks_seg) out += "        # the peer picks the SEG hop for this pair\n";
      line(out, 4, "start_action", ch.passive() ? "none" : ch.start_action);
      line(out, 4, "close_action", ch.passive() ? "none" : ch.close_action);
      line(out, 4, "dpd_action", ch.passive() ? "clear" : ch.dpd_action);
      close(out, 3);
    }
    close(out, 2);
    close(out, 1);
  }
  close(out, 0);
  return out;
}

}  // namespace ndsip::policy
