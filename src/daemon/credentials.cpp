#include "daemon/credentials.hpp"

namespace ndsip::daemon {

std::vector<std::string> pem_blocks(const std::string& text, const std::string& label) {
  std::vector<std::string> out;
  const std::string begin = "-----BEGIN " + label + "-----", end = "-----END " + label + "-----";
  std::size_t pos = 0;
  while ((pos = text.find(begin, pos)) != std::string::npos) {
    const std::size_t stop = text.find(end, pos);
    if (stop == std::string::npos) break;
    out.push_back(text.substr(pos, stop + end.size() - pos) + "\n");
    pos = stop + end.size();
  }
  return out;
}

Credentials credentials_for_charon(const certs::CredentialFiles& f) {
  Credentials c;
  if (f.ca_bundle) {
    c.ca_certs = pem_blocks(*f.ca_bundle, "CERTIFICATE");
    if (c.ca_certs.empty()) c.problems.push_back(f.paths.ca_bundle + ": no PEM certificate in it");
  }
  if (f.cert) {
    const auto blocks = pem_blocks(*f.cert, "CERTIFICATE");
    if (blocks.empty()) {
      c.problems.push_back(f.paths.cert + ": no PEM certificate in it");
    } else {
      c.own_cert = blocks.front();
    }
  }
  if (f.key) {
    if (f.key->find("BEGIN EC PRIVATE KEY") != std::string::npos) {
      c.key_type = vici::KeyType::ecdsa;
      c.key = *f.key;
    } else if (f.key->find("BEGIN RSA PRIVATE KEY") != std::string::npos) {
      c.key_type = vici::KeyType::rsa;
      c.key = *f.key;
    } else if (f.key->find("BEGIN PRIVATE KEY") != std::string::npos) {
      c.key_type = vici::KeyType::any;  // PKCS#8: charon finds the type
      c.key = *f.key;
    } else {
      c.problems.push_back(f.paths.key + ": not a PEM private key");
    }
  }
  for (const auto& [file, text] : f.crls) c.crls.push_back(text);
  return c;
}

Credentials read_credentials(const certs::CredentialPaths& paths) {
  const certs::CredentialFiles files = certs::read_credential_files(paths);
  Credentials c = credentials_for_charon(files);
  for (const auto& p : files.problems) c.problems.insert(c.problems.begin(), p.to_string());
  return c;
}

}  // namespace ndsip::daemon
