// --check-config (the unit's ExecStartPre): what start() would read, checked through the same
// functions start() uses, without touching charon or the control socket.
#include <ctime>
#include <filesystem>

#include "daemon/credential_manager.hpp"
#include "daemon/daemon.hpp"
#include "daemon/evaluate.hpp"

namespace ndsip::daemon {

std::vector<std::string> check_config(const Config& c) {
  std::vector<std::string> problems;
  const policy::PolicyLoadResult pol = load_policy_set(c.policies_dir, c.templates_dir);
  for (const auto& p : pol.problems) problems.push_back(p.to_string());

  // The stored topology, evaluated as a push would be: with these policies, for this node.
  std::string identity;
  std::error_code ec;
  if (pol.problems.empty() && std::filesystem::is_directory(c.state_dir, ec)) {
    try {
      const StateStore store(c.state_dir);
      if (const auto stored = store.current()) {
        const Candidate candidate = evaluate(stored->text, pol.set, c.node);
        for (const std::string& p : candidate.problems) {
          problems.push_back("stored topology version " + std::to_string(stored->version) + ": " + p);
        }
        if (candidate.ok()) identity = candidate.plan->credentials.identity;
      }
    } catch (const std::exception& e) {
      problems.push_back(e.what());
    }
  }
  // The credentials, against this node's identity when a topology names it.
  for (const auto& p : read_and_check(c.credential_paths(), identity, std::time(nullptr)).problems) {
    problems.push_back(p);
  }
  return problems;
}

}  // namespace ndsip::daemon
