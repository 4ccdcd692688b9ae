// `ndsipctl plan --swanctl` output is real swanctl.conf: loaded by real swanctl into real
// charon for two lab hosts, it brings their tunnel up and traffic passes.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <memory>
#include <sstream>

#include "lab/lab.hpp"
#include "vici/client.hpp"

using namespace ndsip;
using namespace std::chrono_literals;
namespace fs = std::filesystem;

namespace {

std::string node_json(const lab::Host& h, const std::string& role, const std::string& extra) {
  return R"({"name": ")" + h.name + R"(", "role": ")" + role +
         R"(", "domain": "lab", "addresses": [")" + h.outer_addr + R"("], "identity": ")" +
         h.fqdn + R"(", "protects": [")" + h.inner_addr + "/32\"]" + extra + "}";
}

// Runs ndsipctl and returns its stdout; fails the test on a non-zero exit.
std::string ndsipctl(const std::vector<std::string>& args, const std::string& out_file) {
  std::string cmd = NDSIP_CTL;
  for (const std::string& a : args) cmd += " '" + a + "'";
  cmd += " > '" + out_file + "'";
  const int rc = std::system(cmd.c_str());
  EXPECT_EQ(rc, 0) << cmd;
  std::ifstream in(out_file);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

}  // namespace

TEST(PlanSwanctl, LoadsIntoRealCharonAndCarriesTraffic) {
  if (geteuid() != 0) GTEST_SKIP() << "the lab needs root (network namespaces)";
  lab::Lab lab("plan");
  lab::Host& a = lab.add_host("gms");
  lab::Host& b = lab.add_host("val");
  lab.make_pki();
  lab.start_charon(a);
  lab.start_charon(b);

  const std::string topo = lab.workdir() + "/topology.json";
  std::ofstream(topo) << R"({"version": 1, "name": "lab",
    "domains": [{"name": "lab", "ca_id": "CN=ndsip lab CA"}],
    "nodes": [)" << node_json(a, "seal-server", R"(, "services": ["group-management", "key-management"])")
                 << ", " << node_json(b, "val-server", "") << R"(],
    "service_uses": [{"val_server": "val", "seal_server": "gms",
                      "services": ["group-management", "key-management"]}]})";
  ndsipctl({"validate", topo, "--policies", NDSIP_SOURCE_DIR "/policies", "--templates",
            NDSIP_SOURCE_DIR "/templates"},
           lab.workdir() + "/validate.out");

  for (lab::Host* h : {&a, &b}) {
    const fs::path dir = fs::path(h->dir) / "swanctl";
    // swanctl reads credentials from these folders beside --file; create them all so a
    // missing folder is not mistaken for a failed load.
    for (const char* sub : {"x509", "x509ca", "x509aa", "x509ocsp", "x509crl", "x509ac", "pubkey",
                            "private", "rsa", "ecdsa", "bliss", "pkcs8", "pkcs12"}) {
      fs::create_directories(dir / sub);
    }
    fs::copy_file(h->cert_pem, dir / "x509" / "own.pem");
    fs::copy_file(lab.ca_cert_pem(), dir / "x509ca" / "ca.pem");
    fs::copy_file(h->key_pem, dir / "private" / "own.pem");
    const std::string conf =
        ndsipctl({"plan", topo, "--node", h->name, "--swanctl", "--policies",
                  NDSIP_SOURCE_DIR "/policies", "--templates", NDSIP_SOURCE_DIR "/templates"},
                 (dir / "swanctl.conf").string());
    ASSERT_NE(conf.find("connections {"), std::string::npos) << conf;
    std::string output;
    const int rc = lab.run(*h, {"swanctl", "--load-all", "--noprompt", "--file",
                                (dir / "swanctl.conf").string(), "--uri", h->vici_uri},
                           &output);
    ASSERT_EQ(rc, 0) << output;
    // swanctl reports every load problem with "failed"; plugin-loading chatter aside.
    std::istringstream lines(output);
    for (std::string line; std::getline(lines, line);) {
      if (line.rfind("plugin '", 0) == 0) continue;
      EXPECT_EQ(line.find("failed"), std::string::npos) << line;
    }
    EXPECT_NE(output.find("loaded connection 'zb_" + h->name), std::string::npos) << output;
  }

  // The shipped profiles offer Curve25519 "where charon has it": this charon does.
  std::string algs;
  ASSERT_EQ(lab.run(b, {"swanctl", "--list-algs", "--uri", b.vici_uri}, &algs), 0) << algs;
  EXPECT_NE(algs.find("CURVE_25519"), std::string::npos) << algs;

  // The plan names the connection and child the same way on every run.
  vici::Client cb(15s);
  cb.connect(b.vici_uri);
  EXPECT_EQ(cb.get_conns(), std::vector<std::string>{"zb_val_gms"});
  cb.initiate({"val_gms", "zb_val_gms", 10000, false});
  EXPECT_TRUE(lab.ping(b, a.inner_addr, 3));
  bool installed = false;
  for (const vici::IkeSa& sa : cb.list_sas()) {
    const vici::ChildSa* child = sa.child("val_gms", "INSTALLED");
    if (sa.state != "ESTABLISHED" || !child || sa.remote_id != a.fqdn) continue;
    installed = true;
    // The profile's first choice won: AES-GCM-256 with ECP-384, IKE and ESP.
    EXPECT_EQ(sa.encr_alg, "AES_GCM_16");
    EXPECT_EQ(sa.dh_group, "ECP_384");
    EXPECT_EQ(child->encr_alg, "AES_GCM_16");
    EXPECT_EQ(child->mode, "TUNNEL");
    // The pings went through ESP: the SA counted them both ways.
    EXPECT_GE(child->packets_out, 3u);
    EXPECT_GE(child->packets_in, 3u);
  }
  EXPECT_TRUE(installed);
}
