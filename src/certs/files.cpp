#include "certs/files.hpp"

#include <algorithm>
#include <filesystem>

#include "common/read_file.hpp"
#include "common/secret_file.hpp"

namespace ndsip::certs {
namespace fs = std::filesystem;

namespace {

// The key, through the one rule for secret files (common/secret_file.hpp): what is checked
// (type, owner, mode) is what is read.
std::optional<std::string> read_key(const std::string& path, std::vector<CertProblem>* problems) {
  common::SecretRead r = common::read_secret_file(path);
  if (r.problem != common::SecretRead::Problem::none) {
    const bool permissions = r.problem == common::SecretRead::Problem::permissions;
    problems->push_back({path, permissions ? "key-permissions" : "unreadable",
                         (permissions ? "private key " : "") + r.error});
  }
  return std::move(r.text);
}

std::optional<std::string> read_one(const std::string& path, std::vector<CertProblem>* problems) {
  common::ReadResult r = common::read_file_or_error(path);
  if (!r.text) problems->push_back({path, "unreadable", r.error});
  return std::move(r.text);
}

}  // namespace

CredentialFiles read_credential_files(const CredentialPaths& paths) {
  CredentialFiles f;
  f.paths = paths;
  if (!paths.ca_bundle.empty()) f.ca_bundle = read_one(paths.ca_bundle, &f.problems);
  if (!paths.cert.empty()) f.cert = read_one(paths.cert, &f.problems);
  if (!paths.key.empty()) f.key = read_key(paths.key, &f.problems);
  if (!paths.crl_dir.empty()) {
    std::error_code ec;
    std::vector<fs::path> files;
    for (const auto& e : fs::directory_iterator(paths.crl_dir, ec)) {
      if (e.is_regular_file()) files.push_back(e.path());
    }
    if (ec) f.problems.push_back({paths.crl_dir, "unreadable", ec.message()});
    std::sort(files.begin(), files.end());
    for (const fs::path& p : files) {
      if (auto text = read_one(p.string(), &f.problems)) f.crls.emplace_back(p.string(), std::move(*text));
    }
  }
  return f;
}

}  // namespace ndsip::certs
