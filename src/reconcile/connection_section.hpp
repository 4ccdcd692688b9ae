// A planned connection as the load-conn body charon takes over VICI. Connections reference
// identities only (local.id, remote.id, remote.ca_id), never certificate data, so a
// certificate or CA rollover changes no connection.
#pragma once

#include <string>

#include "policy/plan.hpp"
#include "vici/message.hpp"

namespace ndsip::reconcile {

// Which end starts a tunnel. Both ends initiating at once make duplicate IKE_SAs that tear
// each other down (INITIAL_CONTACT), so exactly one end initiates: the node whose name sorts
// first. The other end answers, and keeps traps so its traffic never leaves in clear text.
bool is_initiator(const std::string& self, const std::string& peer);

// charon's start_action for a child planned with `planned`: ndsipd does the initiating
// itself (paced, from one end), so charon only keeps the trap that drops clear-text traffic
// while the tunnel is down ("trap"), or nothing ("none").
std::string charon_start_action(const std::string& planned);
// The load-conn body. On the responding end, actions that would make charon initiate
// ("start", dpd "restart") become "trap".
vici::Section connection_section(const policy::ConnectionPlan& plan, bool initiator);

}  // namespace ndsip::reconcile
