#!/usr/bin/env bash
# The unit under a real systemd: boots systemd as PID 1 of a systemd-nspawn container, with
# ndsip installed by its own install rules, and checks what an operator relies on:
#   - strongswan.service and ndsipd.service active (ndsipd reached READY, Type=notify);
#   - control-group = ndsip: a member may status and push, anyone else is refused;
#   - the kernel view works under the unit's filter (netlink, CAP_NET_ADMIN): an address of
#     the topology missing, then added, is seen live;
#   - `systemctl reload`; SIGSEGV -> restarted; SIGSTOP -> the watchdog restarts it; the
#     accepted topology survives both;
#   - metrics-listen: refused by the unit alone (no IP), served with the shipped drop-in to
#     the allowed address and to no other;
#   - cmp-server: `ndsipctl renew` refused by the unit alone (no IP), the service and its
#     credentials kept; with the shipped drop-in renewed from OpenSSL's mock CMP server, the
#     files replaced and the new certificate in use;
#   - ndsipd's journal free of EPERM, EACCES and seccomp denials.
# Usage: boot_test.sh BUILD_DIR   (a build with ndsipd and ndsipctl built, not sanitized:
# the sanitizers' runtimes need syscalls the unit's filter rightly forbids)
#
# The container's root is an overlay: this host's / read-only below, a tmpfs above, so the
# host is never changed (an upper directory inside / itself is refused as overlapping). The
# container has its own network namespace, so its charon never touches the host's.
# Everything made here is removed at exit; only processes started here are ended, by PID.
set -uo pipefail

build=$(cd "${1:?usage: boot_test.sh BUILD_DIR}" && pwd)
work=$(mktemp -d /tmp/ndsip-systemd-XXXXXX)
root=$work/root       # the container's /
upper=$work/upper     # the tmpfs holding the overlay's upper and work directories
cgroup_name=ndsip-boot-test-$$
machine=ndsip-test-$$
nspawn_pid=""
leader=""             # the container's PID 1, as a host PID
failed=0
nspawn_run_made=0; [ -e /run/systemd/nspawn ] || nspawn_run_made=1

log() { echo "boot_test: $*"; }
# Our cgroup in every hierarchy that has one: pure v2 at /sys/fs/cgroup, or on a hybrid
# host (as these machines are) the v2 one at unified/ and systemd's named one at systemd/.
cgroups() {
  local h
  for h in /sys/fs/cgroup/unified /sys/fs/cgroup/systemd /sys/fs/cgroup; do
    [ -e "$h/cgroup.procs" ] && echo "$h/$cgroup_name"
  done
}
# The container's PID 1 (as a host PID): the descendant of nspawn whose innermost PID is 1.
container_init() {
  local p c
  for p in $(ps -o pid= --ppid "$nspawn_pid"); do
    for c in "$p" $(ps -o pid= --ppid "$p"); do
      grep -qE '^NSpid:.*[[:space:]]1$' "/proc/$c/status" 2>/dev/null && echo "$c" && return
    done
  done
}
inside() { nsenter -t "$leader" -a "$@"; }
# expect WHAT CMD...: a check, PASS or FAIL with CMD's output.
. "$(dirname "${BASH_SOURCE[0]}")/../shell/expect.sh"

cleanup() {
  set +e
  if [ -n "$leader" ] && [ "$failed" != 0 ]; then
    log "--- ndsipd's journal (for the failure above)"
    inside journalctl -u ndsipd -b --no-pager -o short-monotonic 2>&1 | tail -60
  fi
  if [ -n "$nspawn_pid" ] && kill -0 "$nspawn_pid" 2>/dev/null; then
    # nspawn --boot turns SIGTERM into a clean poweroff of the container's systemd.
    kill -TERM "$nspawn_pid"
    for _ in $(seq 60); do kill -0 "$nspawn_pid" 2>/dev/null || break; sleep 0.5; done
    if kill -0 "$nspawn_pid" 2>/dev/null; then
      [ -n "$leader" ] && kill -KILL "$leader"   # ends the container's whole PID namespace
      sleep 1; kill -KILL "$nspawn_pid" 2>/dev/null
    fi
    wait "$nspawn_pid" 2>/dev/null
  fi
  mountpoint -q "$root" && umount "$root"
  mountpoint -q "$upper" && umount "$upper"
  for d in $(cgroups); do [ -d "$d" ] && find "$d" -depth -type d -exec rmdir {} \; 2>/dev/null; done
  rm -rf "$work" "/run/systemd/nspawn/propagate/$machine"
  [ "$nspawn_run_made" = 1 ] && rm -rf /run/systemd/nspawn
}
trap cleanup EXIT
trap 'exit 130' INT TERM

[ "$(id -u)" = 0 ] || { log "needs root"; exit 1; }
command -v systemd-nspawn >/dev/null || { log "needs systemd-nspawn (systemd-container)"; exit 1; }
[ -x "$build/src/daemon/ndsipd" ] && [ -x "$build/src/cli/ndsipctl" ] ||
  { log "$build has no ndsipd and ndsipctl built"; exit 1; }

# --- the container's root and ndsip installed into it -----------------------------------------
mkdir -p "$root" "$upper"
mount -t tmpfs -o mode=0755,size=1G ndsip-boot-upper "$upper" || exit 1
mkdir -p "$upper/upper" "$upper/work"
mount -t overlay -o "lowerdir=/,upperdir=$upper/upper,workdir=$upper/work" ndsip-boot-root "$root" || exit 1
DESTDIR=$root cmake --install "$build" >/dev/null || { log "cmake --install failed"; exit 1; }
rm -f "$build/install_manifest.txt"
prefix=$(sed -n 's/^CMAKE_INSTALL_PREFIX:PATH=//p' "$build/CMakeCache.txt")
unit=$prefix/lib/systemd/system/ndsipd.service
[ -f "$root$unit" ] || { log "no $unit installed"; exit 1; }

# The installed example configuration, as an operator would start from it: control group on.
mkdir -p "$root/etc/ndsip"
sed -e 's/^#control-group = ndsip/control-group = ndsip/' \
  "$root$prefix/share/doc/ndsip/ndsipd.conf.example" > "$root/etc/ndsip/ndsipd.conf"
grep -q '^control-group = ndsip' "$root/etc/ndsip/ndsipd.conf" || { log "example config has no control-group line"; exit 1; }
chroot "$root" groupadd -f ndsip

# Credentials where the example configuration names them, made with strongSwan's pki.
(
  set -e
  cd "$root/etc/swanctl"; umask 077
  pki --gen --type ecdsa --size 256 --outform pem > "$work/ca.key"
  pki --self --ca --in "$work/ca.key" --type ecdsa --lifetime 30 --outform pem \
    --dn "C=DE, O=Operator A, CN=Operator A NDS/IP CA" > x509ca/operator-a-ca.pem
  pki --gen --type ecdsa --size 256 --outform pem > private/gms-a.pem
  pki --issue --in private/gms-a.pem --type priv --cacert x509ca/operator-a-ca.pem --cakey "$work/ca.key" \
    --dn "C=DE, O=Operator A, CN=gms-a.operator-a.example" --san gms-a.operator-a.example \
    --lifetime 365 --outform pem > x509/gms-a.pem
  chmod 644 x509ca/operator-a-ca.pem x509/gms-a.pem
) || { log "pki could not make the credentials"; exit 1; }

# This host is gms-a; val-1 uses its group management. Readable by the control group's member.
mkdir -p "$root/srv/ndsip-test"
cat > "$root/srv/ndsip-test/topology.json" <<'EOF'
{
  "version": 1,
  "name": "systemd-boot-test",
  "domains": [{"name": "operator-a", "ca_id": "C=DE, O=Operator A, CN=Operator A NDS/IP CA"}],
  "nodes": [
    {"name": "gms-a", "role": "seal-server", "domain": "operator-a", "services": ["group-management"],
     "addresses": ["192.0.2.10"], "identity": "gms-a.operator-a.example", "protects": ["198.51.100.10/32"]},
    {"name": "val-1", "role": "val-server", "domain": "operator-a",
     "addresses": ["192.0.2.20"], "identity": "val-1.operator-a.example", "protects": ["198.51.100.20/32"]}
  ],
  "service_uses": [{"val_server": "val-1", "seal_server": "gms-a", "services": ["group-management"]}]
}
EOF
chmod 644 "$root/srv/ndsip-test/topology.json"

# Enabled as its [Install] says; units this host enables that a light boot does not need
# are masked.
mkdir -p "$root/etc/systemd/system/multi-user.target.wants"
ln -sf "$unit" "$root/etc/systemd/system/multi-user.target.wants/ndsipd.service"
for u in postgresql.service postgresql@.service e2scrub_reap.service e2scrub_all.timer fstrim.timer \
         apt-daily.timer apt-daily-upgrade.timer dpkg-db-backup.timer man-db.timer \
         systemd-timesyncd.service getty@.service etcd.service prometheus.service; do
  ln -sf /dev/null "$root/etc/systemd/system/$u"
done
systemd-id128 new > "$root/etc/machine-id"

# --- boot ---------------------------------------------------------------------------------------
# nspawn in a cgroup of its own (this host's PID 1 is no systemd to make one); pure cgroup v2
# inside, as a Debian 12 host boots. bpf() allowed: systemd enforces IPAddressAllow= and
# IPAddressDeny= with BPF programs on a unit's cgroup, and without them (nspawn's default
# filter) it runs the unit with no IP firewall at all, silently.
for d in $(cgroups); do mkdir -p "$d"; done
(
  for d in $(cgroups); do echo "$BASHPID" > "$d/cgroup.procs"; done
  export SYSTEMD_NSPAWN_UNIFIED_HIERARCHY=1
  exec systemd-nspawn -D "$root" --boot --system-call-filter=bpf --register=no --keep-unit --private-network \
    --machine="$machine" --link-journal=no --console=passive systemd.unit=multi-user.target
) > "$work/nspawn.log" 2>&1 &
nspawn_pid=$!
for _ in $(seq 120); do
  leader=$(container_init); [ -n "$leader" ] && break
  kill -0 "$nspawn_pid" 2>/dev/null || break
  sleep 0.5
done
[ -n "$leader" ] || { log "the container did not boot:"; cat "$work/nspawn.log"; exit 1; }
for _ in $(seq 120); do
  state=$(inside systemctl is-system-running 2>/dev/null)
  case $state in running|degraded) break;; esac
  sleep 0.5
done
log "container booted: systemd $(inside systemctl --version | sed -n '1s/systemd \([0-9]*\).*/\1/p'), state $state"

# --- checks -------------------------------------------------------------------------------------
# The checks are shell functions, run by `expect` in this shell.
active() { [ "$(inside systemctl is-active "$1")" = active ]; }
prop() { inside systemctl show ndsipd -P "$1"; }
# Waits up to $1 seconds for the command to succeed.
within() { local t=$1; shift; for _ in $(seq $((t * 2))); do "$@" >/dev/null 2>&1 && return 0; sleep 0.5; done; "$@"; }
as_member() { inside setpriv --reuid=nobody --regid=ndsip --clear-groups "$@"; }
as_other() { inside setpriv --reuid=nobody --regid=nogroup --clear-groups "$@"; }
refused() { local out; ! out=$("$@" 2>&1) && grep -qi 'denied' <<<"$out"; }
socket_modes() { test "$(inside stat -c '%a %U:%G' /run/ndsip /run/ndsip/ndsipd.sock | tr '\n' ' ')" = "755 root:root 660 root:ndsip "; }
# ndsipctl's output whatever its exit status (status exits 1 while a tunnel is not up): the
# checks assert what it says.
ctl() { inside ndsipctl "$@" 2>&1 || true; }
member_status() { local out; out=$(as_member ndsipctl status 2>&1); grep -q '^node gms-a ' <<<"$out"; }
# status --json with the blanks taken out, so one grep pattern fits however it is indented.
kernel_view() { ctl status --json | tr -d ' \n' | grep -o '"kernel":{[^}]*}'; }
kernel_readable() { local k; k=$(kernel_view) && grep -q '"enabled":true' <<<"$k" && grep -q '"error":""' <<<"$k" || { echo "$k"; false; }; }
address_missing() { kernel_view | grep -q '"addresses_missing":\[[^]]*"192.0.2.10"'; }
address_present() { local k; k=$(kernel_view) && grep -q '"addresses_missing":\[\]' <<<"$k"; }
journal_has() { inside journalctl -u ndsipd -b -o cat | grep -q "$1"; }
topology_kept() { ctl status | grep -q 'topology version 1 '; }
certs_loaded() { ctl certs | grep -q gms-a.operator-a.example; }
restarted() { [ "$(prop NRestarts)" -gt "$restarts" ] && active ndsipd.service && [ "$(prop MainPID)" != "$pid" ]; }
journal_clean() {
  ! inside journalctl -b -o cat _SYSTEMD_UNIT=ndsipd.service + UNIT=ndsipd.service |
    grep -iE 'EPERM|EACCES|permission denied|operation not permitted|seccomp'
}

expect "strongswan.service active" within 30 active strongswan.service
expect "ndsipd.service active after READY (Type=notify)" within 30 active ndsipd.service
expect "watchdog armed (WatchdogUSec=30s)" test "$(prop WatchdogUSec)" = 30s
expect "control socket 0660 root:ndsip in a 0755 directory" socket_modes
expect "a member of control group ndsip gets status" within 5 member_status
expect "a user outside the control group is refused" refused as_other ndsipctl status
expect "a member of control group ndsip pushes a topology" as_member ndsipctl push /srv/ndsip-test/topology.json
expect "the kernel view reads netlink under the unit's filter (no error)" within 10 kernel_readable
expect "the topology's address 192.0.2.10, not on the host, is seen missing" within 15 address_missing
inside ip addr add 192.0.2.10/32 dev lo
expect "the address, once added, is seen live" within 15 address_present
expect "certificates loaded under the unit (ndsipctl certs)" certs_loaded

expect "systemctl reload ndsipd" inside systemctl reload ndsipd
expect "reload done (journal)" within 10 journal_has 'reload: done'
expect "active after reload" active ndsipd.service

# Signals go to MainPID only when there is one: `kill 0` would signal this test's own group.
signal_main() { [ "$pid" -gt 0 ] && inside kill "-$1" "$pid"; }
pid=$(prop MainPID); restarts=$(prop NRestarts)
expect "SIGSEGV sent to ndsipd's main process" signal_main SEGV
expect "SIGSEGV: systemd restarts ndsipd" within 30 restarted
expect "the accepted topology survives the crash" within 10 topology_kept

pid=$(prop MainPID); restarts=$(prop NRestarts)
expect "SIGSTOP sent to ndsipd's main process" signal_main STOP
expect "SIGSTOP: the watchdog (30 s) restarts ndsipd" within 75 restarted
expect "the watchdog said so (journal)" journal_has 'Watchdog timeout'
expect "the accepted topology survives the watchdog restart" within 10 topology_kept

# Metrics (docs/metrics.md): the unit opens no IP socket, so metrics-listen alone stops the
# start, saying why; the shipped drop-in opens IP for the listener and, with IPAddressAllow,
# to the allowed scrapers alone.
set_metrics_listen() {
  sed -i '/^metrics-listen/d' "$root/etc/ndsip/ndsipd.conf" && echo "metrics-listen = $1" >> "$root/etc/ndsip/ndsipd.conf"
}
not_active() { ! active ndsipd.service; }
scrape() { inside curl -sf --max-time 5 "http://$1:9474/metrics" | grep -q '^ndsip_tunnel_up{'; }
not_scraped() { ! inside curl -s --max-time 3 -o /dev/null "http://$1:9474/metrics"; }
set_metrics_listen 0.0.0.0:9474
inside systemctl restart ndsipd >/dev/null 2>&1
expect "metrics-listen without the drop-in: ndsipd does not start" within 15 not_active
expect "... and says why (address family, the drop-in)" within 15 journal_has 'Address family not supported by protocol (under systemd'
mkdir -p "$root/etc/systemd/system/ndsipd.service.d"
sed 's/^IPAddressAllow=.*/IPAddressAllow=localhost/' "$root$prefix/share/doc/ndsip/ndsipd-metrics.conf.example" \
  > "$root/etc/systemd/system/ndsipd.service.d/metrics.conf"
inside systemctl daemon-reload
inside systemctl reset-failed ndsipd >/dev/null 2>&1
inside systemctl restart ndsipd >/dev/null 2>&1
expect "with ndsipd-metrics.conf.example (IPAddressAllow=localhost): active" within 30 active ndsipd.service
expect "a scraper on an allowed address (127.0.0.1) reads the metrics" within 10 scrape 127.0.0.1
expect "a scraper on another address (192.0.2.10) is not let in" not_scraped 192.0.2.10
# ... because the firewall is there at all: a unit with IPAddressDeny=any reaches nothing.
ip_firewall() { ! inside systemd-run --wait -q -p IPAddressDeny=any curl -s -m 3 -o /dev/null http://127.0.0.1:9474/metrics; }
expect "systemd enforces IPAddressDeny here (a probe unit with it reaches nothing)" ip_firewall

# Certificate renewal over CMPv2 (cmp-server): the unit alone opens no IP socket and sees /etc
# read-only, so a renewal fails there, saying why, and the service and its credentials stay;
# the shipped drop-in (ndsipd-cmp.conf.example) lets it reach the CA and write the files.
# The CA is OpenSSL's mock CMP server in the container, answering the key update with a
# certificate made here: the pre-staged key (cmp-new-key), a longer life, and the current
# certificate's serial (OpenSSL 3.0's mock answers a key update only with a certificate of
# the old one's issuer and serial). Run without the metrics drop-in (the unit as shipped),
# then with both drop-ins, which add up.
conf=$root/etc/ndsip/ndsipd.conf
cert=$(sed -n 's/^cert = //p' "$conf"); key=$(sed -n 's/^key = //p' "$conf"); ca=$(sed -n 's/^ca = //p' "$conf")
mock=/srv/ndsip-cmp-mock   # inside the container
(
  set -e
  umask 077; mkdir -p "$root$mock"
  pki --gen --type ecdsa --size 256 --outform pem > "$root/etc/ndsip/next.key.pem"
  serial=$(openssl x509 -noout -serial -in "$root$cert" | sed 's/^serial=//')
  pki --issue --in "$root/etc/ndsip/next.key.pem" --type priv --cacert "$root$ca" --cakey "$work/ca.key" \
    --dn "C=DE, O=Operator A, CN=gms-a.operator-a.example" --san gms-a.operator-a.example \
    --serial "$serial" --lifetime 730 --outform pem > "$root$mock/next.pem"
  pki --gen --type ecdsa --size 256 --outform pem > "$root$mock/signer.key"
  pki --issue --in "$root$mock/signer.key" --type priv --cacert "$root$ca" --cakey "$work/ca.key" \
    --dn "C=DE, O=Operator A, CN=cmp.operator-a.example" --lifetime 30 --outform pem > "$root$mock/signer.pem"
) 2> "$work/cmp-pki.log" || { log "pki could not make the CMP credentials:"; cat "$work/cmp-pki.log"; exit 1; }
inside systemd-run -q --unit=ndsip-cmp-mock openssl cmp -config "" -port 8829 -srv_cert "$mock/signer.pem" \
  -srv_key "$mock/signer.key" -srv_trusted "$ca" -rsp_cert "$mock/next.pem"
mock_listens() { inside ss -Hltn 'sport = :8829' | grep -q .; }
expect "OpenSSL's mock CMP server listens in the container (:8829)" within 15 mock_listens

mv "$root/etc/systemd/system/ndsipd.service.d/metrics.conf" "$work/metrics.conf"
sed -i '/^metrics-listen/d' "$conf"
{ echo "cmp-server = http://127.0.0.1:8829/pkix/"; echo "cmp-trusted = $ca"; echo "cmp-new-key = /etc/ndsip/next.key.pem"; } >> "$conf"
inside systemctl daemon-reload
inside systemctl restart ndsipd >/dev/null 2>&1
same() { [ "$1" = "$2" ] || { printf 'is:        %s\nshould be: %s\n' "$1" "$2"; false; }; }
credentials() { sha256sum "$root$cert" "$root$key" | cut -d' ' -f1; }
before=$(credentials)
# ndsipctl renew's exit status and what it printed, in $work/renew.out.
renew() { inside ndsipctl renew > "$work/renew.out" 2>&1; }
renew_refused() {
  local rc=0; renew || rc=$?
  cat "$work/renew.out"; [ "$rc" = 1 ] && grep -q 'Address family not supported' "$work/renew.out"
}
last_attempt() { ctl certs --json | tr -d '\n' | grep -o '"last_attempt": *{[^}]*}'; }
attempt_says() { local a; a=$(last_attempt) && grep -q '"result": *"failed"' <<<"$a" && grep -q "$1" <<<"$a" || { echo "$a"; false; }; }
expect "cmp-server, unit alone: ndsipd active with the credentials loaded" within 30 certs_loaded
pid=$(prop MainPID)
expect "... ndsipctl renew fails (exit 1): no IP socket (Address family not supported)" renew_refused
expect "... the reason is in ndsipctl certs (own.renewal.last_attempt)" attempt_says 'Address family not supported'
expect "... the certificate and key files are unchanged" same "$(credentials)" "$before"
same_process() { active ndsipd.service && [ "$(prop MainPID)" = "$pid" ]; }
expect "... ndsipd still active, not restarted" same_process

# The shipped drop-in, with the CA's address and the directories of cert and key of this
# configuration; the metrics drop-in back beside it.
sed -e 's/^IPAddressAllow=.*/IPAddressAllow=localhost/' \
    -e "s|^ReadWritePaths=.*|ReadWritePaths=$(dirname "$cert") $(dirname "$key")|" \
  "$root$prefix/share/doc/ndsip/ndsipd-cmp.conf.example" > "$root/etc/systemd/system/ndsipd.service.d/cmp.conf"
mv "$work/metrics.conf" "$root/etc/systemd/system/ndsipd.service.d/metrics.conf"
set_metrics_listen 0.0.0.0:9474
inside systemctl daemon-reload
inside systemctl restart ndsipd >/dev/null 2>&1
renewed() {
  local rc=0; renew || rc=$?
  cat "$work/renew.out"; [ "$rc" = 0 ] || { inside journalctl -u ndsip-cmp-mock -b -o cat | tail -20; false; }
}
fingerprint() { openssl x509 -noout -fingerprint -sha256 -in "$1"; }
public_key() { openssl pkey -pubout -in "$1"; }
mode() { stat -c %a "$1"; }
# `ndsipctl certs`: own certificate ok, with the new one's life (730 days) left.
renewed_in_use() { local o; o=$(ctl certs); awk '$1 == "own" && $(NF-2) > 700 && $NF == "ok" {f=1} END {exit !f}' <<<"$o" || { echo "$o"; false; }; }
expect "with ndsipd-cmp.conf.example (IPAddressAllow=localhost, ReadWritePaths) beside metrics.conf: active" \
  within 30 certs_loaded
expect "... ndsipctl renew exits 0" renewed
expect "... the certificate file is the CA's new certificate" same "$(fingerprint "$root$cert")" "$(fingerprint "$root$mock/next.pem")"
expect "... the key file holds the pre-staged new key" same "$(public_key "$root$key")" "$(public_key "$root/etc/ndsip/next.key.pem")"
expect "... the key file is mode 600" same "$(mode "$root$key")" 600
expect "... ndsipd rolls over: ndsipctl certs shows the new certificate, ok" within 15 renewed_in_use
expect "... and the metrics are still served (both drop-ins add up)" within 10 scrape 127.0.0.1
inside systemctl stop ndsip-cmp-mock
mock_gone() { ! mock_listens; }
expect "the mock CMP server stopped" mock_gone

expect "ndsipd's journal has no EPERM, EACCES or seccomp denial" journal_clean

log "$([ $failed = 0 ] && echo 'all checks passed' || echo 'some checks FAILED')"
exit $failed
