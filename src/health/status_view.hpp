// What `status` shows of the health state (docs/control.md): a row per tunnel, the count of
// tunnels in each state, and the time of the list-sas the state was last confirmed by.
//
// Built for 10,000 tunnels on every status: each row is one JSON object whose members are
// placed in key order at the end of the object (no search, no temporary [key, value] pairs,
// as an initializer list would make), which roughly halves the time and the allocations.
#pragma once

#include <chrono>
#include <string>

#include <nlohmann/json.hpp>

#include "health/tunnels.hpp"

namespace ndsip::health {

// Every tunnel as status shows it, at `now`, as JSON text (an array of objects, members in key
// order, as nlohmann's dump writes them; invalid UTF-8 replaced): written straight to a
// string, since at 10,000 rows a DOM costs ~50 ms of allocations and the text ~2 ms. Counters
// and SA ages are as of the last list-sas, `since_poll` ago: uptime and rekey time are counted
// on by it (an SA charon has announced gone is not in the state by then: see
// HealthMonitor::current()).
std::string tunnel_rows_text(const Tunnels& tunnels, Clock::time_point now, Clock::duration since_poll);
// The same rows as a DOM (read back from the text).
nlohmann::json tunnel_rows(const Tunnels& tunnels, Clock::time_point now, Clock::duration since_poll);

// {"total", "up", "connecting", "down", "degraded", "revoked"}: revoked is counted apart from
// down, as the rows show it.
nlohmann::json tunnel_counts(const Tunnels& tunnels);

// "2026-11-30T12:34:56Z".
std::string utc_time(std::chrono::system_clock::time_point t);

}  // namespace ndsip::health
