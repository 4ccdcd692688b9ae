#include "cmp/obtain.hpp"

#include <openssl/crypto.h>

#include <stdexcept>

#include "certs/checks.hpp"
#include "certs/files.hpp"
#include "cmp/new_key.hpp"
#include "common/atomic_file.hpp"
#include "common/secret_file.hpp"

namespace ndsip::cmp {

namespace {

// The key to certify, or an error sentence.
certs::Key new_key(const ObtainJob& job, std::string* spec, std::string* error) {
  if (!job.new_key_file.empty()) {
    common::SecretRead read = common::read_secret_file(job.new_key_file);
    if (!read.text) {
      *error = "new key " + job.new_key_file + " " + read.error;
      return nullptr;
    }
    certs::Key key = certs::parse_private_key(*read.text);
    OPENSSL_cleanse(read.text->data(), read.text->size());
    if (!key) {
      *error = "new key " + job.new_key_file + " is not a PEM private key";
      return nullptr;
    }
    *spec = key_spec(key.get());
    if (spec->empty()) *error = "new key " + job.new_key_file + " is of a type TS 33.310 / ndsip does not allow";
    return spec->empty() ? nullptr : std::move(key);
  }
  *spec = job.key_spec;
  if (spec->empty() && job.kind == Kind::kur) {
    const certs::Key current = certs::parse_private_key(job.auth_key_pem);
    *spec = current ? key_spec(current.get()) : "";
    if (spec->empty()) {
      *error = "the current key's type cannot be renewed as it is; set the new key's type (cmp-key-type)";
      return nullptr;
    }
  }
  if (spec->empty()) *spec = "ec:P-256";
  if (!valid_key_spec(*spec, error)) return nullptr;
  return generate_key(*spec);
}

}  // namespace

std::vector<std::string> check_issued(const std::string& cert_pem, const std::string& key_pem,
                                      const std::string& ca_bundle_pem, const std::string& ca_bundle_name,
                                      const std::string& identity, std::time_t now) {
  // The same check as for files on disk, on bytes that never were a file: the names are what
  // an operator reads in the error.
  certs::CredentialFiles files;
  files.paths = {"issued certificate", "new key", ca_bundle_name, ""};
  files.cert = cert_pem;
  files.key = key_pem;
  files.ca_bundle = ca_bundle_pem;
  std::vector<std::string> out;
  for (const certs::CertProblem& p : certs::check_credentials(files, identity, now).problems) out.push_back(p.to_string());
  return out;
}

ObtainOutcome obtain(const ObtainJob& job) {
  ObtainOutcome out;
  certs::Key key = new_key(job, &out.key_spec, &out.error);
  if (!key) {
    out.failed_at = "key";
    return out;
  }
  std::string key_pem = private_key_pem(key.get());

  Request request;
  request.kind = job.kind;
  request.server_url = job.server_url;
  request.trusted_pem = job.trusted_pem;
  request.auth_cert_pem = job.auth_cert_pem;
  request.auth_key_pem = job.auth_key_pem;
  request.reference = job.reference;
  request.secret = job.secret;
  request.identity = job.identity;
  request.subject = job.subject.empty() && job.kind == Kind::ir ? "CN=" + job.identity : job.subject;
  request.new_key = key.get();
  request.message_timeout = job.message_timeout;
  request.total_timeout = job.total_timeout;
  // Checked before it is confirmed, so a refused certificate is refused to the CA as well.
  request.accept = [&](X509* cert, const std::vector<X509*>&) -> std::string {
    out.issued = certs::describe(cert);
    out.problems = check_issued(certificate_pem(cert), key_pem, job.ca_bundle_pem, job.ca_bundle_name, job.identity,
                                std::time(nullptr));
    if (out.problems.empty()) return "";
    std::string why = out.problems.front();
    if (out.problems.size() > 1) why += " (and " + std::to_string(out.problems.size() - 1) + " more)";
    return why;
  };
  const Result r = exchange(request);
  out.pki_status = r.pki_status;
  if (!r.ok) {
    out.error = r.error;
    out.failed_at = !out.problems.empty() ? "check" : r.failed_at;
    OPENSSL_cleanse(key_pem.data(), key_pem.size());
    return out;
  }
  try {
    // Both on disk before either is renamed; the key first, so that the moment the watcher
    // sees the new certificate its key is there already.
    common::StagedFile key_file(job.key_path, key_pem, 0600);
    common::StagedFile cert_file(job.cert_path, r.cert_pem, 0644);
    key_file.commit();
    cert_file.commit();
  } catch (const std::exception& e) {
    out.failed_at = "write";
    out.error = std::string("the issued certificate could not be written: ") + e.what();
    OPENSSL_cleanse(key_pem.data(), key_pem.size());
    return out;
  }
  OPENSSL_cleanse(key_pem.data(), key_pem.size());
  out.ok = true;
  return out;
}

}  // namespace ndsip::cmp
