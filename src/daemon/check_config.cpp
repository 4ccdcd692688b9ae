// --check-config (the unit's ExecStartPre): what start() would read and use, checked through
// the same functions start() uses, without touching charon or the control socket: the node
// name, the control group and socket directory, the state directory, policies and templates,
// the stored topology (through the evaluate path a push takes) and the credentials against
// this node's identity in it.
#include <unistd.h>

#include <ctime>
#include <filesystem>

#include <openssl/crypto.h>

#include "certs/x509.hpp"
#include "cmp/new_key.hpp"
#include "common/read_file.hpp"
#include "common/secret_file.hpp"
#include "control/socket_path.hpp"
#include "daemon/credential_manager.hpp"
#include "daemon/daemon.hpp"
#include "daemon/evaluate.hpp"
#include "topology/names.hpp"

namespace ndsip::daemon {

namespace fs = std::filesystem;

namespace {

// A state directory that does not exist yet is fine if ndsipd can create it.
std::optional<std::string> state_dir_problem(const std::string& dir) {
  std::error_code ec;
  if (fs::exists(dir, ec)) {
    try {
      StateStore probe(dir, StateStore::Access::read_only);
    } catch (const std::exception& e) {
      return e.what();
    }
    if (::access(dir.c_str(), W_OK) != 0) return "state directory " + dir + " is not writable by ndsipd's user";
    return std::nullopt;
  }
  fs::path parent = fs::path(dir).parent_path();
  while (!parent.empty() && !fs::exists(parent, ec)) parent = parent.parent_path();
  if (parent.empty()) parent = ".";
  if (!fs::is_directory(parent, ec) || ::access(parent.c_str(), W_OK) != 0) {
    return "state directory " + dir + " does not exist and cannot be created under " + parent.string();
  }
  return std::nullopt;
}

}  // namespace

std::vector<std::string> check_config(const Config& c) {
  std::vector<std::string> problems;
  if (!topology::detail::is_valid_name(c.node)) {  // the topology validator's own rule
    problems.push_back("node \"" + c.node + "\" is not a valid node name (lower-case letters, digits and '-')");
  }
  try {
    control::control_group_id(c.control_group);
  } catch (const std::exception& e) {
    problems.push_back(e.what());
  }
  std::error_code ec;
  if (fs::exists(fs::path(c.control_socket).parent_path(), ec)) {
    try {
      control::check_socket_directory(c.control_socket);
    } catch (const std::exception& e) {
      problems.push_back(e.what());
    }
  }
  const auto state_problem = state_dir_problem(c.state_dir);
  if (state_problem) problems.push_back(*state_problem);

  const policy::PolicyLoadResult pol = load_policy_set(c.policies_dir, c.templates_dir);
  for (const auto& p : pol.problems) problems.push_back(p.to_string());

  // The stored topology, evaluated as a push would be: with these policies, for this node.
  std::string identity;
  if (pol.problems.empty() && !state_problem && fs::is_directory(c.state_dir, ec)) {
    try {
      const StateStore store(c.state_dir, StateStore::Access::read_only);
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
  // CMP renewal: whom to trust must hold certificates; a pre-staged key must be a private
  // key of an allowed type, in a file only ndsipd can read.
  if (!c.cmp_server.empty()) {
    const common::ReadResult trusted = common::read_file_or_error(c.cmp_trusted);
    if (!trusted.text) {
      problems.push_back("cmp-trusted: " + trusted.error);
    } else if (certs::parse_certificates(*trusted.text).empty()) {
      problems.push_back("cmp-trusted " + c.cmp_trusted + " holds no certificate");
    }
  }
  if (!c.cmp_new_key.empty()) {
    common::SecretRead key = common::read_secret_file(c.cmp_new_key);
    if (!key.text) {
      problems.push_back("cmp-new-key " + c.cmp_new_key + " " + key.error);
    } else {
      const certs::Key k = certs::parse_private_key(*key.text);
      OPENSSL_cleanse(key.text->data(), key.text->size());
      if (!k || cmp::key_spec(k.get()).empty()) {
        problems.push_back("cmp-new-key " + c.cmp_new_key +
                           " is not a private key of an allowed type (RSA >= 2048, ECDSA P-256/P-384, Ed25519)");
      }
    }
  }
  // The credentials, against this node's identity when a topology names it.
  for (const auto& p : read_and_check(c.credential_paths(), identity, std::time(nullptr)).problems) {
    problems.push_back(p);
  }
  return problems;
}

}  // namespace ndsip::daemon
