// A planned connection as the load-conn body charon takes over VICI. Connections reference
// identities only (local.id, remote.id, remote.ca_id), never certificate data, so a
// certificate or CA rollover changes no connection.
#pragma once

#include "policy/plan.hpp"
#include "vici/message.hpp"

namespace ndsip::reconcile {

// Which end starts a tunnel. Both ends initiating at once make duplicate IKE_SAs that tear
// each other down (INITIAL_CONTACT), so exactly one end initiates: the node whose name sorts
// first. The other end answers, and keeps traps so its traffic never leaves in clear text.
bool is_initiator(const std::string& self, const std::string& peer);

// The load-conn body. On the responding end, actions that would make charon initiate
// ("start", dpd "restart") become "trap".
vici::Section connection_section(const policy::ConnectionPlan& plan, bool initiator);

}  // namespace ndsip::reconcile
