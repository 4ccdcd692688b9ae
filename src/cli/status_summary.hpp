// What ndsipctl status needs to decide its exit code, read from ndsipd's answer without
// building it: at 10,000 tunnels the answer is 3.5 MB, and --json passes it on as it came.
//
// ndsipd's answer carries `tunnel_counts`, and it serialises its keys in order, so every field
// needed comes before the table (`tunnels`) and the read stops there. An answer without
// `tunnel_counts` (an older ndsipd) is read to the end and its rows are counted instead.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

namespace ndsip::cli {

struct StatusSummary {
  bool ok = false;
  bool denied = false;  // the socket refused this user: as good as no ndsipd
  std::string error;
  bool charon_connected = false;
  long long topology_version = 0;
  std::string topology_refused;
  std::size_t tunnels = 0, tunnels_up = 0;

  // A topology accepted and in force (none refused at start), every tunnel up.
  bool healthy() const { return topology_version > 0 && topology_refused.empty() && tunnels_up == tunnels; }
};

// nullopt when the text is not a JSON object (as far as it is read).
std::optional<StatusSummary> summarize_status(std::string_view answer);

}  // namespace ndsip::cli
