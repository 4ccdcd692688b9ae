#include "reconcile/connection_section.hpp"

namespace ndsip::reconcile {

std::string charon_start_action(const std::string& planned) {
  return planned.find("trap") != std::string::npos ? "trap" : "none";
}

namespace {

std::string responder_action(const std::string& planned) {
  return planned == "start" || planned == "restart" ? "trap" : planned;
}

}  // namespace

bool is_initiator(const std::string& self, const std::string& peer) { return self < peer; }

vici::Section connection_section(const policy::ConnectionPlan& c, bool initiator) {
  vici::Section conn;
  conn.set("version", "2");
  conn.set_list("local_addrs", c.local_addrs);
  conn.set_list("remote_addrs", c.remote_addrs);
  conn.set_list("proposals", c.ike_proposals);
  if (!c.rekey_time.empty()) conn.set("rekey_time", c.rekey_time);
  if (!c.dpd_delay.empty()) conn.set("dpd_delay", c.dpd_delay);
  if (!c.dpd_timeout.empty()) conn.set("dpd_timeout", c.dpd_timeout);
  // One IKE_SA per peer pair (see docs/planner.md).
  conn.set("unique", "replace");
  vici::Section& local = conn.add_section("local");
  local.set("auth", "pubkey").set("id", c.local_id);
  vici::Section& remote = conn.add_section("remote");
  remote.set("auth", "pubkey").set("id", c.remote_id);
  if (!c.remote_ca_id.empty()) remote.set("ca_id", c.remote_ca_id);
  vici::Section& children = conn.add_section("children");
  for (const policy::ChildPlan& ch : c.children) {
    vici::Section& child = children.add_section(ch.name);
    child.set_list("local_ts", ch.local_ts);
    child.set_list("remote_ts", ch.remote_ts);
    child.set_list("esp_proposals", ch.esp_proposals);
    child.set("mode", ch.mode);
    if (!ch.rekey_time.empty()) child.set("rekey_time", ch.rekey_time);
    if (!ch.life_time.empty()) child.set("life_time", ch.life_time);
    // A passive child (a standby hop, or one whose SEG the peer picks) is never started nor
    // restarted by charon: its selectors are another hop's, and a host must not hold both.
    // The end that picks its SEG hop initiates it, whatever the name rule.
    const bool initiates = ch.picks_seg || initiator;
    if (ch.passive()) {
      child.set("start_action", "none").set("close_action", "none").set("dpd_action", "clear");
    } else {
      child.set("start_action", charon_start_action(ch.start_action));
      child.set("close_action", initiates ? ch.close_action : responder_action(ch.close_action));
      child.set("dpd_action", initiates ? ch.dpd_action : responder_action(ch.dpd_action));
    }
  }
  return conn;
}

}  // namespace ndsip::reconcile
