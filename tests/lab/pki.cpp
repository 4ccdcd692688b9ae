#include "lab/pki.hpp"

#include <filesystem>
#include <stdexcept>
#include <vector>

#include "lab/process.hpp"

namespace ndsip::lab::pki {

namespace {

// pki writes the credential to stdout and complains on stderr about plugins it
// could not load; only the exit status says whether it worked.
void run_pki(const std::vector<std::string>& args, const std::string& out_path) {
  std::vector<std::string> argv{"pki"};
  argv.insert(argv.end(), args.begin(), args.end());
  proc::RunOptions opts;
  opts.stdout_file = out_path;
  opts.timeout = std::chrono::seconds(30);
  proc::run_checked(argv, opts);
  if (std::filesystem::file_size(out_path) == 0)
    throw std::runtime_error("pki wrote nothing: " + proc::quote(argv) + " > " + out_path);
}

}  // namespace

void generate_key(const std::string& path) {
  run_pki({"--gen", "--type", "ecdsa", "--size", "256", "--outform", "pem"}, path);
  // Private keys are secrets: owner-only, as ndsipd insists.
  std::filesystem::permissions(path, std::filesystem::perms::owner_read | std::filesystem::perms::owner_write,
                               std::filesystem::perm_options::replace);
}

Credential make_ca(const std::string& dir, const std::string& common_name, int lifetime_days) {
  std::filesystem::create_directories(dir);
  Credential ca{dir + "/ca.key.pem", dir + "/ca.cert.pem"};
  generate_key(ca.key);
  run_pki({"--self", "--ca", "--in", ca.key, "--type", "ecdsa", "--dn", "CN=" + common_name,
           "--lifetime", std::to_string(lifetime_days), "--outform", "pem"},
          ca.cert);
  return ca;
}

Credential issue(const Credential& ca, const std::string& fqdn, const std::string& key_path,
                 const std::string& cert_path, int lifetime_days) {
  generate_key(key_path);
  run_pki({"--issue", "--in", key_path, "--type", "priv", "--cacert", ca.cert, "--cakey", ca.key,
           "--dn", "CN=" + fqdn, "--san", fqdn, "--lifetime", std::to_string(lifetime_days),
           "--outform", "pem"},
          cert_path);
  return Credential{key_path, cert_path};
}

Credential issue(const Credential& ca, const std::string& fqdn, const std::string& key_path,
                 const std::string& cert_path, const IssueOptions& o) {
  if (!o.reuse_key) generate_key(key_path);
  std::vector<std::string> args{"--issue", "--in", key_path, "--type", "priv", "--cacert", ca.cert,
                                "--cakey", ca.key, "--dn", "CN=" + fqdn, "--san", o.san.empty() ? fqdn : o.san,
                                "--outform", "pem"};
  if (!o.digest.empty()) args.insert(args.end(), {"--digest", o.digest});
  if (!o.serial.empty()) args.insert(args.end(), {"--serial", o.serial});
  if (!o.not_before.empty() || !o.not_after.empty()) args.insert(args.end(), {"--dateform", "%Y-%m-%d %H:%M:%S"});
  if (!o.not_before.empty()) args.insert(args.end(), {"--not-before", o.not_before});
  if (!o.not_after.empty()) args.insert(args.end(), {"--not-after", o.not_after});
  run_pki(args, cert_path);
  return Credential{key_path, cert_path};
}

}  // namespace ndsip::lab::pki
