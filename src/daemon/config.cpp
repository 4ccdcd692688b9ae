#include "daemon/config.hpp"

#include <boost/program_options.hpp>
#include <fstream>
#include <regex>
#include <sstream>

#include "cmp/new_key.hpp"
#include "etcd/client.hpp"
#include "etcd/credentials.hpp"
#include "etcd/layout.hpp"
#include "metrics/listen_address.hpp"

namespace ndsip::daemon {
namespace po = boost::program_options;

namespace {

// "10s", "500ms", "2m", or plain seconds.
std::optional<std::chrono::milliseconds> duration(const std::string& text) {
  static const std::regex syntax("([0-9]{1,9})(ms|s|m|h)?");
  std::smatch m;
  if (!std::regex_match(text, m, syntax)) return std::nullopt;
  const long long n = std::stoll(m[1].str());
  const std::string unit = m[2].str();
  const long long ms = unit == "ms" ? n : unit == "m" ? n * 60000 : unit == "h" ? n * 3600000 : n * 1000;
  if (ms <= 0) return std::nullopt;
  return std::chrono::milliseconds(ms);
}

// The CMP settings, each problem a line; fills c.cmp_renew_at.
std::string check_cmp_settings(Config& c, const std::string& renew_at) {
  std::string errors, why;
  if (auto point = cmp::RenewalPoint::parse(renew_at, &why)) {
    c.cmp_renew_at = *point;
  } else {
    errors += "ndsipd: --cmp-renew-at: " + why + "\n";
  }
  if (!c.cmp_key_type.empty() && !cmp::valid_key_spec(c.cmp_key_type, &why)) {
    errors += "ndsipd: --cmp-key-type: " + why + "\n";
  }
  if (!c.cmp_new_key.empty() && !c.cmp_key_type.empty()) {
    errors += "ndsipd: --cmp-new-key and --cmp-key-type exclude each other (the file's key is certified as it is)\n";
  }
  if (c.cmp_retry_max < c.cmp_retry_first) errors += "ndsipd: need --cmp-retry-first <= --cmp-retry-max\n";
  // Whole seconds reach OpenSSL, where 0 means no limit at all.
  if (c.cmp_timeout < std::chrono::seconds(1)) errors += "ndsipd: --cmp-timeout must be at least 1s\n";
  if (c.cmp_server.empty()) return errors;
  if (c.cmp_server.rfind("http://", 0) != 0) {
    errors += "ndsipd: --cmp-server must be an http:// URL (CMP protects its messages itself; got \"" + c.cmp_server +
              "\")\n";
  }
  if (c.cmp_trusted.empty()) errors += "ndsipd: --cmp-server needs --cmp-trusted (whom to believe in the CA's answers)\n";
  if (c.cert.empty() || c.key.empty() || c.ca_bundle.empty()) {
    errors += "ndsipd: --cmp-server needs --cert, --key and --ca (what is renewed, and what it must chain to)\n";
  }
  return errors;
}

}  // namespace

ParseOutcome parse_config(const std::vector<std::string>& args) {
  ParseOutcome out;
  Config c;
  // Counts are read signed and checked: an unsigned option would take "-1" as 2^64-1.
  long long max_initiating = static_cast<long long>(c.max_initiating),
            reauth_batch = static_cast<long long>(c.reauth_batch),
            vici_sessions = static_cast<long long>(c.vici_sessions);
  std::string poll = "10s", black_hole = "30s", connect_timeout = "30s", vici_timeout = "30s",
              reauth_interval = "2s", failback_hold = "60s", cmp_renew_at = "70%", cmp_retry_first = "1m",
              cmp_retry_max = "1h", cmp_timeout = "60s";
  po::options_description opts(
      "Usage: ndsipd --node NAME [options]\n\n"
      "Keeps the local strongSwan charon programmed, over VICI, with exactly the NDS/IP tunnels\n"
      "the accepted topology asks of NAME, and keeps them up. Settings may also come from a\n"
      "file (--config) with the same names, one \"name = value\" per line; flags win.\n\n"
      "Options");
  opts.add_options()
      ("help,h", "show this help")
      ("config", po::value(&c.config_file), "settings file")
      ("check-config", "check the settings, policies, templates, credentials and the stored topology, then exit")
      ("node", po::value(&c.node), "this host's node name in the topology (required)")
      ("vici", po::value(&c.vici_uri)->default_value(c.vici_uri), "charon's VICI socket")
      ("control-socket", po::value(&c.control_socket)->default_value(c.control_socket), "ndsipctl's socket")
      ("control-group", po::value(&c.control_group), "group allowed on the control socket besides root")
      ("state-dir", po::value(&c.state_dir)->default_value(c.state_dir), "accepted topologies and applied state")
      ("policies", po::value(&c.policies_dir), "TS 33.210 profiles (default: data directory)")
      ("templates", po::value(&c.templates_dir), "reference-point templates (default: data directory)")
      ("cert", po::value(&c.cert), "own certificate (PEM)")
      ("key", po::value(&c.key), "own private key (PEM; must not be readable by group or others)")
      ("ca", po::value(&c.ca_bundle), "CA certificates to trust (PEM bundle)")
      ("crl-dir", po::value(&c.crl_dir), "directory of CRLs (PEM or DER) to load")
      ("poll-interval", po::value(&poll)->default_value(poll), "list-sas cross-check interval")
      ("black-hole-after", po::value(&black_hole)->default_value(black_hole),
       "outbound rising, inbound flat this long: degraded")
      ("connect-timeout", po::value(&connect_timeout)->default_value(connect_timeout),
       "an initiation not up after this is down")
      ("vici-timeout", po::value(&vici_timeout)->default_value(vici_timeout), "per VICI request")
      ("failback-hold", po::value(&failback_hold)->default_value(failback_hold),
       "the preferred SEG answers this long before its hops carry the traffic again")
      ("topology-source", po::value(&c.topology_source)->default_value(c.topology_source),
       "push (ndsipctl push) or etcd (the fleet's etcd, --etcd-endpoints)")
      ("etcd-endpoints", po::value(&c.etcd_endpoints), "etcd: http(s)://HOST:PORT[,...]")
      ("etcd-prefix", po::value(&c.etcd_prefix)->default_value(c.etcd_prefix), "etcd: the fleet's key prefix")
      ("etcd-cacert", po::value(&c.etcd_cacert), "etcd: CA bundle that signed etcd's certificate")
      ("etcd-cert", po::value(&c.etcd_cert), "etcd: client certificate (PEM)")
      ("etcd-key", po::value(&c.etcd_key), "etcd: client key (PEM)")
      ("etcd-user", po::value(&c.etcd_user), "etcd: user, when etcd has authentication enabled")
      ("etcd-password-file", po::value(&c.etcd_password_file),
       "etcd: file holding that user's password on one line (owner-only: mode 0600 or stricter)")
      ("vici-sessions", po::value(&vici_sessions)->default_value(vici_sessions),
       "VICI connections a large apply spreads its load-conns over (charon works on each in parallel)")
      ("max-initiating", po::value(&max_initiating)->default_value(max_initiating),
       "initiations in flight at once")
      ("kernel-view", po::value(&c.kernel_view)->default_value(c.kernel_view),
       "follow this node's addresses and each CHILD_SA's kernel policies or routes over netlink (true/false)")
      ("warn-days", po::value(&c.warn_days)->default_value(c.warn_days), "certificate expiry: warning below")
      ("critical-days", po::value(&c.critical_days)->default_value(c.critical_days), "certificate expiry: critical below")
      ("reauth-batch", po::value(&reauth_batch)->default_value(reauth_batch),
       "IKE_SAs re-authenticated at once after a certificate rollover")
      ("reauth-interval", po::value(&reauth_interval)->default_value(reauth_interval), "between those batches")
      ("cmp-server", po::value(&c.cmp_server),
       "renew the certificate over CMPv2 (TS 33.310) at this CA URL, http://HOST[:PORT]/PATH (default: off)")
      ("cmp-trusted", po::value(&c.cmp_trusted),
       "CMP: certificates (PEM) the CA's responses must be protected by, or chain to (required with cmp-server)")
      ("cmp-renew-at", po::value(&cmp_renew_at)->default_value(cmp_renew_at),
       "CMP: renew at this share of the lifetime (70%) or days before expiry (30d)")
      ("cmp-new-key", po::value(&c.cmp_new_key),
       "CMP: certify the key in this file (owner-only) instead of generating one (pre-staged or HSM-made keys)")
      ("cmp-key-type", po::value(&c.cmp_key_type),
       "CMP: generate the new key as rsa:BITS, ec:P-256, ec:P-384 or ed25519 (default: like the current key)")
      ("cmp-retry-first", po::value(&cmp_retry_first)->default_value(cmp_retry_first),
       "CMP: first wait after a failed attempt (doubling, jittered)")
      ("cmp-retry-max", po::value(&cmp_retry_max)->default_value(cmp_retry_max), "CMP: longest wait between attempts")
      ("cmp-timeout", po::value(&cmp_timeout)->default_value(cmp_timeout),
       "CMP: one attempt's limit, the CA's polling included")
      ("metrics-listen", po::value(&c.metrics_listen),
       "serve Prometheus metrics at http://ADDR:PORT/metrics (numeric address, e.g. 127.0.0.1:9474 or [::1]:9474; "
       "default: off)");
  po::variables_map vm;
  try {
    po::store(po::command_line_parser(args).options(opts).run(), vm);
    if (vm.count("config")) {
      const std::string file = vm["config"].as<std::string>();
      std::ifstream in(file);
      if (!in) {
        out.exit_code = 2;
        out.output = "ndsipd: cannot read config file " + file + "\n";
        return out;
      }
      po::store(po::parse_config_file(in, opts), vm);
    }
    po::notify(vm);
  } catch (const po::error& e) {
    out.exit_code = 2;
    out.output = std::string("ndsipd: ") + e.what() + " (see --help)\n";
    return out;
  }
  if (vm.count("help")) {
    std::ostringstream s;
    s << opts << "\n";
    out.output = s.str();
    return out;
  }
  std::string errors;
  if (c.node.empty()) errors += "ndsipd: --node NAME is required\n";
  for (const auto& [name, text, target] :
       {std::tuple{"poll-interval", poll, &c.poll_interval},
        std::tuple{"black-hole-after", black_hole, &c.black_hole_after},
        std::tuple{"connect-timeout", connect_timeout, &c.connect_timeout},
        std::tuple{"vici-timeout", vici_timeout, &c.vici_timeout},
        std::tuple{"reauth-interval", reauth_interval, &c.reauth_interval},
        std::tuple{"failback-hold", failback_hold, &c.failback_hold},
        std::tuple{"cmp-retry-first", cmp_retry_first, &c.cmp_retry_first},
        std::tuple{"cmp-retry-max", cmp_retry_max, &c.cmp_retry_max},
        std::tuple{"cmp-timeout", cmp_timeout, &c.cmp_timeout}}) {
    if (auto d = duration(text)) {
      *target = *d;
    } else {
      errors += std::string("ndsipd: --") + name + ": \"" + text +
                "\" is not a duration (e.g. 10s, 500ms, 2m)\n";
    }
  }
  for (const auto& [name, value, target] : {std::tuple{"max-initiating", max_initiating, &c.max_initiating},
                                            std::tuple{"reauth-batch", reauth_batch, &c.reauth_batch},
                                            std::tuple{"vici-sessions", vici_sessions, &c.vici_sessions}}) {
    const long long most = target == &c.vici_sessions ? 16 : 100000;
    if (value < 1 || value > most) {
      errors += std::string("ndsipd: --") + name + " must be between 1 and " + std::to_string(most) + " (got " +
                std::to_string(value) + ")\n";
    } else {
      *target = static_cast<std::size_t>(value);
    }
  }
  if (c.topology_source != "push" && c.topology_source != "etcd") {
    errors += "ndsipd: --topology-source must be push or etcd (got \"" + c.topology_source + "\")\n";
  } else if (c.topology_source == "etcd") {
    try {
      etcd::parse_endpoints(c.etcd_endpoints);
      etcd::Layout check(c.etcd_prefix);
    } catch (const std::invalid_argument& e) {
      errors += std::string("ndsipd: ") + e.what() + (c.etcd_endpoints.empty() ? " (--etcd-endpoints is required)" : "") + "\n";
    }
    // The password is read here, once: a file others can read (or that is missing) is a
    // config error at start and in --check-config, not a retry loop against etcd later.
    try {
      if (c.etcd_user.empty() != c.etcd_password_file.empty()) {
        throw std::invalid_argument(c.etcd_user.empty() ? "--etcd-password-file needs --etcd-user"
                                                        : "--etcd-user needs --etcd-password-file");
      }
      if (!c.etcd_password_file.empty()) c.etcd_password = etcd::read_password_file(c.etcd_password_file);
      etcd::check_credentials(c.etcd_user, c.etcd_password);
    } catch (const std::invalid_argument& e) {
      errors += std::string("ndsipd: ") + e.what() + "\n";
    }
  }
  if (!c.metrics_listen.empty()) {
    try {
      metrics::parse_listen_address(c.metrics_listen);
    } catch (const std::invalid_argument& e) {
      errors += std::string("ndsipd: ") + e.what() + "\n";
    }
  }
  errors += check_cmp_settings(c, cmp_renew_at);
  if (c.critical_days < 0 || c.warn_days < c.critical_days) {
    errors += "ndsipd: need 0 <= --critical-days <= --warn-days\n";
  }
  if (!errors.empty()) {
    out.exit_code = 2;
    out.output = errors;
    return out;
  }
  c.check_only = vm.count("check-config") > 0;
  out.config = c;
  return out;
}

etcd::ClientSettings etcd_client_settings(const Config& c) {
  etcd::ClientSettings s;
  s.endpoints = etcd::parse_endpoints(c.etcd_endpoints);
  s.ca_file = c.etcd_cacert;
  s.cert_file = c.etcd_cert;
  s.key_file = c.etcd_key;
  s.user = c.etcd_user;
  s.password = c.etcd_password;
  return s;
}

}  // namespace ndsip::daemon
