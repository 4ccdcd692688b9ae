#include "daemon/credentials.hpp"

#include <sys/stat.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <sstream>

namespace ndsip::daemon {
namespace fs = std::filesystem;

namespace {

bool slurp(const std::string& path, std::string* out, std::vector<std::string>* problems) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    problems->push_back(path + ": cannot be read");
    return false;
  }
  std::ostringstream s;
  s << in.rdbuf();
  *out = s.str();
  return true;
}

}  // namespace

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

Credentials read_credentials(const certs::CredentialPaths& f) {
  Credentials c;
  if (!f.ca_bundle.empty()) {
    std::string text;
    if (slurp(f.ca_bundle, &text, &c.problems)) {
      c.ca_certs = pem_blocks(text, "CERTIFICATE");
      if (c.ca_certs.empty()) c.problems.push_back(f.ca_bundle + ": no PEM certificate in it");
    }
  }
  if (!f.cert.empty()) {
    std::string text;
    if (slurp(f.cert, &text, &c.problems)) {
      const auto blocks = pem_blocks(text, "CERTIFICATE");
      if (blocks.empty()) {
        c.problems.push_back(f.cert + ": no PEM certificate in it");
      } else {
        c.own_cert = blocks.front();
      }
    }
  }
  if (!f.key.empty()) {
    struct stat st {};
    if (::stat(f.key.c_str(), &st) != 0) {
      c.problems.push_back(f.key + ": cannot be read");
    } else if ((st.st_mode & (S_IRWXG | S_IRWXO)) != 0) {
      c.problems.push_back(f.key + ": private key is accessible by group or others (mode " +
                           [&] {
                             std::ostringstream o;
                             o << std::oct << (st.st_mode & 0777);
                             return o.str();
                           }() +
                           "); chmod 600 it");
    } else if (slurp(f.key, &c.key, &c.problems)) {
      if (c.key.find("BEGIN EC PRIVATE KEY") != std::string::npos) {
        c.key_type = vici::KeyType::ecdsa;
      } else if (c.key.find("BEGIN RSA PRIVATE KEY") != std::string::npos) {
        c.key_type = vici::KeyType::rsa;
      } else if (c.key.find("BEGIN PRIVATE KEY") != std::string::npos) {
        c.key_type = vici::KeyType::any;  // PKCS#8: charon finds the type
      } else {
        c.problems.push_back(f.key + ": not a PEM private key");
        c.key.clear();
      }
    }
  }
  if (!f.crl_dir.empty()) {
    std::error_code ec;
    std::vector<fs::path> files;
    for (const auto& e : fs::directory_iterator(f.crl_dir, ec)) {
      if (e.is_regular_file()) files.push_back(e.path());
    }
    if (ec) c.problems.push_back(f.crl_dir + ": " + ec.message());
    std::sort(files.begin(), files.end());
    for (const fs::path& p : files) {
      std::string text;
      if (slurp(p.string(), &text, &c.problems)) c.crls.push_back(text);
    }
  }
  return c;
}

}  // namespace ndsip::daemon
