// A CA and a node certificate made by the tests (tests/unit/certs/test_pki.hpp), written where
// the daemon parts' tests point ndsipd's credential settings.
#pragma once

#include <sys/stat.h>

#include <string>

#include "certs/checks.hpp"
#include "certs/test_pki.hpp"
#include "part_fixture.hpp"

namespace ndsip::test {

using namespace ndsip::certs::testing;

inline std::string pem(X509* cert) {
  BIO* b = BIO_new(BIO_s_mem());
  PEM_write_bio_X509(b, cert);
  char* data = nullptr;
  const long n = BIO_get_mem_data(b, &data);
  std::string out(data, static_cast<std::size_t>(n));
  BIO_free(b);
  return out;
}

struct Pki {
  // ca.pem and key.pem written; cert_pem() makes node certificates with the same key.
  test::TempDir dir;
  certs::Key ca_key = make_key("p256");
  certs::Cert ca;
  certs::Key key = make_key("p256");

  Pki() {
    CertSpec c;
    c.cn = "ndsip unit CA";
    c.ca = true;
    ca = make_cert(c, ca_key.get(), nullptr, nullptr);
    write_cert(dir.path("ca.pem"), ca.get());
    write_key(dir.path("key.pem"), key.get());
    ::chmod(dir.path("key.pem").c_str(), 0600);
  }

  std::string cert_pem(const std::string& san, long serial) {
    CertSpec s;
    s.cn = "gms";
    s.san = san;
    s.serial = serial;
    return pem(make_cert(s, key.get(), ca.get(), ca_key.get()).get());
  }

  certs::CredentialPaths paths() const { return {dir.path("cert.pem"), dir.path("key.pem"), dir.path("ca.pem"), ""}; }
};

}  // namespace ndsip::test
