#include "lab/tunnel_setup.hpp"

#include <stdexcept>

#include "common/read_file.hpp"

namespace ndsip::lab {
namespace {

// The lab's PEM files must exist; a missing one is a broken lab, so say which and why.
std::string read_file(const std::string& path) {
  common::ReadResult read = common::read_file_or_error(path);
  if (!read.text) throw std::runtime_error(read.error);
  return std::move(*read.text);
}

}  // namespace

std::string load_credentials(vici::Client& client, const Lab& lab, const Host& host) {
  client.load_cert(vici::CertType::x509, vici::CertFlag::ca, read_file(lab.ca_cert_pem()));
  client.load_cert(vici::CertType::x509, vici::CertFlag::none, read_file(host.cert_pem));
  return client.load_key(vici::KeyType::ecdsa, read_file(host.key_pem));
}

std::string connection_name(const Host& self, const Host& peer) {
  return self.name + "-" + peer.name;
}

std::string child_name(const Host& self, const Host& peer) {
  return connection_name(self, peer) + "-net";
}

void program_tunnel(vici::Client& client_a, vici::Client& client_b, const Lab& lab, const Host& a,
                    const Host& b) {
  load_credentials(client_a, lab, a);
  load_credentials(client_b, lab, b);
  client_a.load_conn(connection_name(a, b), tunnel_connection(a, b, child_name(a, b)));
  client_b.load_conn(connection_name(b, a), tunnel_connection(b, a, child_name(b, a)));
}

vici::Section tunnel_connection(const Host& self, const Host& peer, const std::string& child) {
  vici::Section conn;
  conn.set("version", "2");
  conn.set_list("local_addrs", {self.outer_addr});
  conn.set_list("remote_addrs", {peer.outer_addr});
  conn.set_list("proposals", {ike_proposal});
  // One IKE_SA per peer pair: several between the same identities destroy each other
  // through INITIAL_CONTACT (see the lab notes).
  conn.set("unique", "replace");
  conn.set("dpd_delay", "2s");
  vici::Section& local = conn.add_section("local");
  local.set("auth", "pubkey").set("id", self.fqdn);
  vici::Section& remote = conn.add_section("remote");
  remote.set("auth", "pubkey").set("id", peer.fqdn);
  vici::Section& c = conn.add_section("children").add_section(child);
  c.set_list("local_ts", {self.inner_addr + "/32"});
  c.set_list("remote_ts", {peer.inner_addr + "/32"});
  c.set_list("esp_proposals", {esp_proposal});
  c.set("mode", "tunnel");
  c.set("start_action", "none");
  c.set("dpd_action", "restart");
  return conn;
}

}  // namespace ndsip::lab
