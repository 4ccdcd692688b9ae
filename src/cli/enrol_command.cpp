// ndsipctl enrol: a new host's first certificate over CMPv2 (TS 33.310 initial request),
// authenticated by a pre-shared reference and secret or by an existing (vendor) certificate.
// The certificate and key are written, after the same TS 33.310 checks ndsipd runs, exactly
// where ndsipd reads them (its settings file names them). Offline: ndsipd need not run.
#include <boost/program_options.hpp>
#include <openssl/crypto.h>

#include <filesystem>
#include <fstream>
#include <iostream>

#include "certs/x509.hpp"
#include "cli/commands.hpp"
#include "cmp/obtain.hpp"
#include "common/read_file.hpp"
#include "common/secret_file.hpp"

namespace ndsip::cli {

namespace po = boost::program_options;

namespace {

const char* usage =
    "Usage: ndsipctl enrol --server URL --trusted FILE --identity FQDN\n"
    "                      (--reference REF --secret-file FILE | --vendor-cert FILE --vendor-key FILE)\n"
    "                      [--config FILE | --cert FILE --key FILE --ca FILE] [options]\n\n"
    "Enrols this host with the operator's CA over CMPv2 (an initial request, TS 33.310) and\n"
    "writes its first certificate and private key where ndsipd expects them (cert and key in\n"
    "ndsipd's settings file, --config, unless --cert and --key are given). The request is\n"
    "authenticated with the reference and secret the operator gave for this host, or with\n"
    "the host's vendor certificate. A new key is generated (ec:P-256 unless --key-type) or\n"
    "taken from --new-key. The issued certificate must carry FQDN, chain to the CA bundle,\n"
    "use an allowed key and signature and be valid now; otherwise nothing is written. An\n"
    "existing certificate is not replaced without --force (ndsipd renews it itself).\n"
    "Exit 0 when enrolled, 1 when the CA or the checks refused (the reason is printed).";

// "name = value" lines of ndsipd's settings file: only the paths enrol needs.
void read_ndsipd_settings(const std::string& file, std::string* cert, std::string* key, std::string* ca) {
  std::ifstream in(file);
  if (!in) throw std::runtime_error("cannot read " + file);
  po::options_description o;
  std::string c, k, a;
  o.add_options()("cert", po::value(&c))("key", po::value(&k))("ca", po::value(&a));
  po::variables_map vm;
  po::store(po::parse_config_file(in, o, /*allow_unregistered=*/true), vm);
  po::notify(vm);
  if (cert->empty()) *cert = c;
  if (key->empty()) *key = k;
  if (ca->empty()) *ca = a;
}

bool has_certificate(const std::string& path) {
  const auto text = common::read_file(path);
  return text && !certs::parse_certificates(*text).empty();
}

}  // namespace

int enrol_command(const Args& args, std::ostream& out, std::ostream& err) {
  std::string server, trusted, identity, reference, secret_file, vendor_cert, vendor_key, config, cert, key, ca,
      new_key, key_type, subject;
  int timeout = 60;
  po::options_description opts(std::string(usage) + "\n\nOptions");
  opts.add_options()
      ("server", po::value(&server), "the CA's CMP URL, http://HOST[:PORT]/PATH")
      ("trusted", po::value(&trusted), "certificates (PEM) the CA's responses must be protected by, or chain to")
      ("identity", po::value(&identity), "this host's identity in the topology (the SAN dNSName asked for)")
      ("subject", po::value(&subject), "subject DN asked for (default CN=IDENTITY)")
      ("reference", po::value(&reference), "the reference (senderKID) the operator gave for this host")
      ("secret-file", po::value(&secret_file), "file holding the matching secret on one line (owner-only)")
      ("vendor-cert", po::value(&vendor_cert), "authenticate with this existing certificate (PEM) instead")
      ("vendor-key", po::value(&vendor_key), "its private key (owner-only)")
      ("config", po::value(&config), "ndsipd's settings file: where cert, key and ca are")
      ("cert", po::value(&cert), "write the certificate here (overrides --config)")
      ("key", po::value(&key), "write the private key here, mode 0600 (overrides --config)")
      ("ca", po::value(&ca), "the CA bundle the certificate must chain to (overrides --config)")
      ("new-key", po::value(&new_key), "certify the key in this file (owner-only) instead of generating one")
      ("key-type", po::value(&key_type), "generate rsa:BITS, ec:P-256 (default), ec:P-384 or ed25519")
      ("timeout", po::value(&timeout)->default_value(timeout), "seconds the exchange may take, polling included")
      ("force", "replace a certificate that is already there")
      ("help,h", "show this help");
  po::variables_map vm;
  try {
    po::store(po::command_line_parser(args).options(opts).run(), vm);
    po::notify(vm);
    if (vm.count("help")) {
      out << opts << "\n";
      return exit_ok;
    }
    if (!config.empty()) read_ndsipd_settings(config, &cert, &key, &ca);
  } catch (const std::exception& e) {
    err << "ndsipctl enrol: " << e.what() << " (see --help)\n";
    return exit_usage;
  }
  std::string problems;
  auto need = [&](const std::string& v, const char* what) {
    if (v.empty()) problems += std::string("ndsipctl enrol: ") + what + "\n";
  };
  need(server, "--server URL is required");
  need(trusted, "--trusted FILE is required (whom to believe in the CA's answers)");
  need(identity, "--identity FQDN is required");
  need(cert, "where to write the certificate: --cert FILE or --config with cert = ...");
  need(key, "where to write the key: --key FILE or --config with key = ...");
  need(ca, "the CA bundle: --ca FILE or --config with ca = ...");
  const bool pbm = !reference.empty() || !secret_file.empty();
  const bool vendor = !vendor_cert.empty() || !vendor_key.empty();
  if (pbm == vendor) {
    problems += "ndsipctl enrol: authenticate with either --reference and --secret-file, or --vendor-cert and --vendor-key\n";
  } else if (pbm && (reference.empty() || secret_file.empty())) {
    problems += "ndsipctl enrol: --reference and --secret-file go together\n";
  } else if (vendor && (vendor_cert.empty() || vendor_key.empty())) {
    problems += "ndsipctl enrol: --vendor-cert and --vendor-key go together\n";
  }
  if (!new_key.empty() && !key_type.empty()) problems += "ndsipctl enrol: --new-key and --key-type exclude each other\n";
  if (timeout < 1) problems += "ndsipctl enrol: --timeout must be at least 1 second\n";
  if (!problems.empty()) {
    err << problems;
    return exit_usage;
  }
  if (!vm.count("force") && has_certificate(cert)) {
    err << "ndsipctl enrol: " << cert << " already holds a certificate; ndsipd renews it itself (ndsipctl renew). "
        << "--force replaces it\n";
    return exit_invalid;
  }

  cmp::ObtainJob job;
  job.kind = cmp::Kind::ir;
  job.server_url = server;
  job.identity = identity;
  job.subject = subject;
  job.reference = reference;
  job.new_key_file = new_key;
  job.key_spec = key_type;
  job.cert_path = cert;
  job.key_path = key;
  job.ca_bundle_name = ca;
  job.total_timeout = std::chrono::seconds(timeout);
  job.message_timeout = std::min(job.total_timeout, std::chrono::seconds(30));
  for (const auto& [path, target] : {std::pair{trusted, &job.trusted_pem}, std::pair{ca, &job.ca_bundle_pem},
                                     std::pair{vendor_cert, &job.auth_cert_pem}}) {
    if (path.empty()) continue;
    common::ReadResult r = common::read_file_or_error(path);
    if (!r.text) {
      err << "ndsipctl enrol: " << r.error << "\n";
      return exit_invalid;
    }
    *target = std::move(*r.text);
  }
  // Secrets: owner-only files, never on the command line.
  for (const auto& [path, target] : {std::pair{secret_file, &job.secret}, std::pair{vendor_key, &job.auth_key_pem}}) {
    if (path.empty()) continue;
    common::SecretRead r = common::read_secret_file(path);
    if (!r.text) {
      err << "ndsipctl enrol: " << path << " " << r.error << "\n";
      return exit_invalid;
    }
    *target = std::move(*r.text);
  }
  // The secret is the file's first line.
  if (const auto nl = job.secret.find_first_of("\r\n"); nl != std::string::npos) {
    OPENSSL_cleanse(job.secret.data() + nl, job.secret.size() - nl);
    job.secret.resize(nl);
  }
  if (pbm && job.secret.empty()) {
    err << "ndsipctl enrol: " << secret_file << " holds no secret\n";
    return exit_invalid;
  }

  const cmp::ObtainOutcome o = cmp::obtain(job);
  OPENSSL_cleanse(job.secret.data(), job.secret.size());
  OPENSSL_cleanse(job.auth_key_pem.data(), job.auth_key_pem.size());
  if (!o.ok) {
    err << "ndsipctl enrol: " << o.error << "\n";
    // The error names the first refused rule; the rest, when there are more, each on a line.
    if (o.problems.size() > 1) {
      for (const std::string& p : o.problems) err << "  refused: " << p << "\n";
    }
    err << "nothing was written\n";
    return exit_invalid;
  }
  out << "enrolled " << identity << ": serial " << o.issued.serial << ", valid until "
      << certs::format_time(o.issued.not_after) << ", key " << o.key_spec << "\n"
      << "certificate " << cert << "\nkey         " << key << " (mode 0600)\n";
  return exit_ok;
}

}  // namespace ndsip::cli
