// The rules that relate values to each other: unique names, addresses, identities and
// prefixes; references to domains and nodes; roles of referenced nodes; services offered;
// SEG listings; duplicate relations. Runs on whatever the decoder could read, so one file
// gets every problem at once. Internal to the topology part.
#pragma once

#include "topology/draft.hpp"
#include "topology/report.hpp"

namespace ndsip::topology::detail {

void validate(const Draft& draft, Problems& problems);

// The model, with defaults applied. Only for a draft that gave no problems (decode and
// validate), where every required field is present.
Topology build(const Draft& draft);
// The same for one object of a draft without problems.
Domain build_domain(const DraftDomain& draft);
Node build_node(const DraftNode& draft);
ServiceUse build_use(const DraftUse& draft);
Interconnect build_interconnect(const DraftInterconnect& draft);

}  // namespace ndsip::topology::detail
