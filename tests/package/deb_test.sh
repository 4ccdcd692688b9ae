#!/usr/bin/env bash
# The Debian package (cmake/Packaging.cmake, packaging/): builds it with cpack, checks its
# files and control data, runs lintian, then installs it into an isolated root and checks
# what an operator relies on:
#   - dpkg -i; the shipped /etc/ndsip/ndsipd.conf passes `ndsipd --check-config`; ndsipctl
#     finds the installed policies by itself; nothing enabled;
#   - dpkg -i again (an upgrade in place) keeps the operator's edit of the conffile;
#   - dpkg -r: binaries, unit and data gone, the conffile and the state directory kept;
#   - dpkg -P: /etc/ndsip, /var/lib/ndsip and the operator's enablement link gone, and dpkg
#     knows nothing of ndsip.
# Usage: deb_test.sh SOURCE_DIR PACKAGE_BUILD_DIR
# PACKAGE_BUILD_DIR is configured with -DNDSIP_PACKAGE=ON (made if missing; a later run only
# rebuilds what changed). It cannot be an ordinary build: the package's binaries have
# /usr/share/ndsip compiled in as their data directory.
#
# The isolated root is an overlay, as in tests/systemd/boot_test.sh: this host's / read-only
# below, a tmpfs above, so dpkg never changes the host. Each command runs chrooted into it in
# mount, PID, network, IPC and UTS namespaces of its own: the /dev, /proc, /run and /tmp
# mounted for it end with the command. Everything made here is removed at exit.
set -uo pipefail

src=$(cd "${1:?usage: deb_test.sh SOURCE_DIR PACKAGE_BUILD_DIR}" && pwd)
pkg_build=${2:?usage: deb_test.sh SOURCE_DIR PACKAGE_BUILD_DIR}
work=$(mktemp -d /tmp/ndsip-deb-XXXXXX)
root=$work/root       # the isolated /
upper=$work/upper     # the tmpfs holding the overlay's upper and work directories
failed=0

log() { echo "deb_test: $*"; }
# expect WHAT CMD...: a check, PASS or FAIL with CMD's output.
. "$(dirname "${BASH_SOURCE[0]}")/../shell/expect.sh"
cleanup() {
  set +e
  mountpoint -q "$root" && umount "$root"
  mountpoint -q "$upper" && umount "$upper"
  rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

[ "$(id -u)" = 0 ] || { log "needs root"; exit 1; }
for tool in cpack dpkg-deb dpkg-shlibdeps lintian unshare setpriv; do
  command -v "$tool" >/dev/null || { log "needs $tool (scripts/install-deps)"; exit 1; }
done

# --- the package ----------------------------------------------------------------------------
start=$SECONDS
log "building the package in $pkg_build"
{
  cmake -S "$src" -B "$pkg_build" -G Ninja -DCMAKE_BUILD_TYPE=Release -DNDSIP_PACKAGE=ON \
    -DNDSIP_TESTS=OFF -DNDSIP_BENCH=OFF &&
    cmake --build "$pkg_build" -j"$(nproc)" &&
    rm -rf "$pkg_build/deb" &&
    (cd "$pkg_build" && cpack -G DEB -B "$pkg_build/deb")
} > "$work/build.log" 2>&1 || { log "building the package failed:"; tail -40 "$work/build.log"; exit 1; }
deb=$(echo "$pkg_build"/deb/ndsip_*.deb)
[ -f "$deb" ] || { log "cpack made no ndsip_*.deb:"; tail -20 "$work/build.log"; exit 1; }
log "built $(basename "$deb") in $((SECONDS - start)) s"

# --- what is in it --------------------------------------------------------------------------
contents=$(dpkg-deb -c "$deb" | awk '{print $6}' | sed 's|^\./|/|')
has_files() {
  local f missing=0
  for f in "$@"; do grep -qxF "$f" <<<"$contents" || { echo "missing: $f"; missing=1; }; done
  return $missing
}
shipped_json() { local f; for f in "$src/$1"/*.json; do echo "/usr/share/ndsip/$1/$(basename "$f")"; done; }
doc=/usr/share/doc/ndsip
expect "binaries: /usr/sbin/ndsipd, /usr/bin/ndsipctl" has_files /usr/sbin/ndsipd /usr/bin/ndsipctl
expect "the unit in /lib/systemd/system" has_files /lib/systemd/system/ndsipd.service
# shellcheck disable=SC2046  # one word per path
expect "every policy and template in /usr/share/ndsip" has_files $(shipped_json policies) $(shipped_json templates)
expect "/etc/ndsip/ndsipd.conf" has_files /etc/ndsip/ndsipd.conf
expect "docs, copyright, changelog.Debian.gz" has_files $doc/README.md $doc/topology.md $doc/ndsipd.conf.example \
  $doc/ndsipd-etcd.conf.example $doc/copyright $doc/changelog.Debian.gz
expect "man pages (gzip'ed)" has_files /usr/share/man/man8/ndsipd.8.gz /usr/share/man/man8/ndsipctl.8.gz \
  /usr/share/man/man5/ndsip-topology.5.gz
expect "bash completion" has_files /usr/share/bash-completion/completions/ndsipctl

conffiles() { dpkg-deb --ctrl-tarfile "$deb" | tar -xO ./conffiles; }
# Every file the package puts in /etc is a conffile, and /etc/ndsip/ndsipd.conf is one.
etc_all_conffiles() {
  local f bad=0
  for f in $(grep '^/etc/.*[^/]$' <<<"$contents"); do conffiles | grep -qxF "$f" || { echo "not a conffile: $f"; bad=1; }; done
  conffiles | grep -qxF /etc/ndsip/ndsipd.conf || { echo "conffiles: $(conffiles)"; bad=1; }
  return $bad
}
expect "/etc/ndsip/ndsipd.conf is a conffile (and nothing else in /etc is not)" etc_all_conffiles
depends_on() {
  local d p; d=$(dpkg-deb -f "$deb" Depends)
  for p in "$@"; do grep -qE "(^|, )$p( |,|$)" <<<"$d" || { echo "Depends: $d"; echo "no $p"; return 1; }; done
}
expect "Depends: charon and its plugins, and the libraries dpkg-shlibdeps found" depends_on \
  charon-systemd libstrongswan-standard-plugins libc6 libstdc\\+\\+6 libssl3 libsystemd0 \
  'libboost-program-options[0-9.]+' libnl-3-200 libnl-route-3-200 libnl-xfrm-3-200

# lintian: fails on any error or warning the package's overrides do not explain
# (packaging/lintian-overrides); info tags and overrides are shown, not failed on. Run as
# nobody (lintian advises against root) on a copy nobody can read.
chmod 0711 "$work" && mkdir -m 0755 "$work/lintian" && cp "$deb" "$work/lintian/" && chmod 0644 "$work"/lintian/*.deb
# (--fail-on would count the overridden tags --show-overrides shows: the verdict is the E:
# and W: lines instead, and lintian's own exit status.)
lintian_out=$(cd / && setpriv --reuid=nobody --regid=nogroup --clear-groups \
  lintian --fail-on none --display-info --show-overrides "$work/lintian/$(basename "$deb")" 2>&1)
lintian_rc=$?
printf '%s\n' "$lintian_out" | grep -v '^N:' | sed 's/^/deb_test: lintian: /'
lintian_clean() { [ "$lintian_rc" = 0 ] && ! grep -E '^[EW]: ' <<<"$lintian_out"; }
expect "lintian: no error or warning left (exit $lintian_rc)" lintian_clean

# --- installed, removed, purged in an isolated root ------------------------------------------
mkdir -p "$root" "$upper"
mount -t tmpfs -o mode=0755,size=1G ndsip-deb-upper "$upper" || exit 1
mkdir -p "$upper/upper" "$upper/work"
mount -t overlay -o "lowerdir=/,upperdir=$upper/upper,workdir=$upper/work" ndsip-deb-root "$root" || exit 1
mkdir -p "$root/srv/ndsip-deb-test"
cp "$deb" "$root/srv/ndsip-deb-test/ndsip.deb"
# The root's state of ndsip before anything is done must be "nothing" (no stale install).
[ ! -e "$root/etc/ndsip" ] && [ ! -e "$root/var/lib/ndsip" ] ||
  { log "this host has /etc/ndsip or /var/lib/ndsip already: the checks below would mean nothing"; exit 1; }

inside() {
  unshare --mount --pid --fork --net --ipc --uts -- /bin/sh -c '
    r=$1; shift
    mount --rbind /dev "$r/dev" && mount -t proc proc "$r/proc" &&
      mount -t tmpfs tmpfs "$r/run" && mount -t tmpfs tmpfs "$r/tmp" &&
      exec chroot "$r" /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin LC_ALL=C.UTF-8 "$@"' sh "$root" "$@"
}
status_is() { [ "$(inside dpkg-query -W -f='${Status}' ndsip 2>&1)" = "$1" ]; }
# (-L too: systemctl's links are absolute, so they dangle seen from the host.)
present() { local f; for f in "$@"; do [ -e "$root$f" ] || [ -L "$root$f" ] || { echo "missing: $f"; return 1; }; done; }
absent() {
  local f left=0
  for f in "$@"; do [ ! -e "$root$f" ] && [ ! -L "$root$f" ] || { echo "still there: $f"; left=1; }; done
  return $left
}
same_as_shipped() { dpkg-deb --fsys-tarfile "$deb" | tar -xO ./etc/ndsip/ndsipd.conf | cmp - "$root/etc/ndsip/ndsipd.conf"; }
wants=/etc/systemd/system/multi-user.target.wants/ndsipd.service

expect "dpkg -i" inside dpkg -i /srv/ndsip-deb-test/ndsip.deb
expect "dpkg: install ok installed" status_is "install ok installed"
expect "installed: binaries, unit, policies, conffile" present /usr/sbin/ndsipd /usr/bin/ndsipctl \
  /lib/systemd/system/ndsipd.service /usr/share/ndsip/policies/za.json /etc/ndsip/ndsipd.conf
expect "ndsipd --check-config passes on the shipped /etc/ndsip/ndsipd.conf" \
  inside ndsipd --check-config --config /etc/ndsip/ndsipd.conf
# ndsipctl with no --policies: its compiled-in data directory is the installed one.
cp "$src/examples/demo.json" "$root/srv/ndsip-deb-test/topology.json"
expect "ndsipctl validate finds /usr/share/ndsip by itself" inside ndsipctl validate /srv/ndsip-deb-test/topology.json
expect "the package enables nothing" absent $wants

# The operator's edit of the conffile survives an upgrade in place.
sed -i 's/^node = gms-a$/node = gms-b/' "$root/etc/ndsip/ndsipd.conf"
expect "dpkg -i again (upgrade in place)" inside dpkg -i /srv/ndsip-deb-test/ndsip.deb
expect "the operator's edit of the conffile kept" grep -qx 'node = gms-b' "$root/etc/ndsip/ndsipd.conf"
sed -i 's/^node = gms-b$/node = gms-a/' "$root/etc/ndsip/ndsipd.conf"

# What running ndsipd and the operator leave behind: state (StateDirectory), an enabled unit.
mkdir -m 0700 "$root/var/lib/ndsip" && echo state > "$root/var/lib/ndsip/journal"
expect "systemctl enable ndsipd (offline, in the root)" inside systemctl enable ndsipd.service
expect "enabled: $wants" present $wants

expect "dpkg -r" inside dpkg -r ndsip
expect "dpkg: deinstall ok config-files" status_is "deinstall ok config-files"
expect "removed: binaries, unit, policies, man pages" absent /usr/sbin/ndsipd /usr/bin/ndsipctl \
  /lib/systemd/system/ndsipd.service /usr/share/ndsip /usr/share/man/man8/ndsipd.8.gz
expect "the conffile kept, as shipped" same_as_shipped
expect "the state directory kept" present /var/lib/ndsip/journal

expect "dpkg -P" inside dpkg -P ndsip
expect "purged: /etc/ndsip, /var/lib/ndsip, the enablement link" absent /etc/ndsip /var/lib/ndsip $wants
not_known() { local out; ! out=$(inside dpkg -s ndsip 2>&1) && grep -q 'not installed' <<<"$out" || { echo "$out"; false; }; }
expect "dpkg -s: not installed" not_known

log "$([ $failed = 0 ] && echo 'all checks passed' || echo 'some checks FAILED') in $((SECONDS - start)) s"
exit $failed
