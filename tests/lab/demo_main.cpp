// The README's demo: two lab hosts with real charon, a certificate-authenticated IKEv2
// tunnel programmed through ndsip's own VICI client, the SA and traffic shown, then cleanup.
// The daemon work turns this into the full multi-host demo with ndsipd on every host.
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <iostream>

#include "lab/lab.hpp"
#include "lab/tunnel_setup.hpp"
#include "vici/client.hpp"

using namespace ndsip;
using namespace std::chrono_literals;

namespace {

void show_sas(const std::string& host, vici::Client& client) {
  for (const vici::IkeSa& sa : client.list_sas()) {
    std::printf("  %s: IKE_SA %s #%s %s  %s[%s] <-> %s[%s]  %s/%s/%s\n", host.c_str(),
                sa.name.c_str(), sa.uniqueid.c_str(), sa.state.c_str(), sa.local_host.c_str(),
                sa.local_id.c_str(), sa.remote_host.c_str(), sa.remote_id.c_str(),
                sa.encr_alg.c_str(), sa.prf_alg.c_str(), sa.dh_group.c_str());
    for (const vici::ChildSa& c : sa.children) {
      std::printf("  %s:   CHILD_SA %s #%s %s %s/%s  SPIs %s/%s  in %llu B %llu pkts, out %llu B "
                  "%llu pkts  %s === %s\n",
                  host.c_str(), c.name.c_str(), c.uniqueid.c_str(), c.state.c_str(),
                  c.mode.c_str(), c.encap == "yes" ? "UDP-encap" : "ESP", c.spi_in.c_str(),
                  c.spi_out.c_str(), c.bytes_in, c.packets_in, c.bytes_out, c.packets_out,
                  c.local_ts.empty() ? "" : c.local_ts[0].c_str(),
                  c.remote_ts.empty() ? "" : c.remote_ts[0].c_str());
    }
  }
}

}  // namespace

int main() {
  if (geteuid() != 0) {
    std::cerr << "ndsip demo: needs root (it creates network namespaces)\n";
    return 2;
  }
  try {
    lab::Lab lab("demo");
    lab::Host& a = lab.add_host("a");
    lab::Host& b = lab.add_host("b");
    lab.make_pki();
    lab.start_charon(a);
    lab.start_charon(b);
    std::printf("lab: %s (%s, inner %s) and %s (%s, inner %s), charon pids %d and %d\n",
                a.fqdn.c_str(), a.outer_addr.c_str(), a.inner_addr.c_str(), b.fqdn.c_str(),
                b.outer_addr.c_str(), b.inner_addr.c_str(), a.charon_pid, b.charon_pid);

    vici::Client ca, cb;
    ca.connect(a.vici_uri);
    cb.connect(b.vici_uri);
    const vici::VersionInfo v = ca.version();
    std::printf("vici: connected to %s %s on both hosts\n", v.daemon.c_str(), v.version.c_str());

    lab::program_tunnel(ca, cb, lab, a, b);
    std::printf("vici: load-cert (CA, own), load-key: %zu key(s) on a, %zu on b\n",
                ca.get_keys().size(), cb.get_keys().size());
    const std::string conn = lab::connection_name(a, b), child = lab::child_name(a, b);
    std::printf("vici: load-conn %s on a, %s on b (%s, ESP %s)\n", conn.c_str(),
                lab::connection_name(b, a).c_str(), lab::ike_proposal, lab::esp_proposal);

    bool up = false;
    ca.subscribe("child-updown", [&](const std::string&, const vici::Message& m) {
      if (m.flag("up")) up = true;
    });
    const auto t0 = std::chrono::steady_clock::now();
    ca.initiate({child, conn, 10000, false});
    ca.run_until([&] { return up; }, 5s);
    const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                        std::chrono::steady_clock::now() - t0)
                        .count();
    std::printf("vici: initiate %s -> child-updown up=%s after %lld ms\n", child.c_str(),
                up ? "yes" : "no", static_cast<long long>(ms));

    const int replies = lab.ping_replies(a, b.inner_addr, 5);
    std::printf("traffic: ping %s -> %s through the tunnel: %d/5 replies\n",
                a.inner_addr.c_str(), b.inner_addr.c_str(), replies);
    std::printf("list-sas:\n");
    show_sas("a", ca);
    show_sas("b", cb);

    const bool ok = up && replies == 5;
    std::printf("%s\n", ok ? "demo: tunnel up, traffic passed; cleaning up"
                           : "demo: FAILED; cleaning up");
    lab.teardown();
    std::printf("demo: lab removed (namespaces deleted, charon processes ended)\n");
    return ok ? 0 : 1;
  } catch (const std::exception& e) {
    std::cerr << "ndsip demo: " << e.what() << "\n";
    return 1;
  }
}
