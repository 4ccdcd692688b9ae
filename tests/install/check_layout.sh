#!/usr/bin/env bash
# Installs the build into a scratch DESTDIR and checks that everything the systemd unit and
# the example configuration name is where they say: the daemon the unit starts, the
# policies and templates the configuration points at, and bash completion for ndsipctl.
set -euo pipefail
build=$1
dest=$(mktemp -d /tmp/ndsip-install-XXXXXX)
trap 'rm -rf "$dest"' EXIT
DESTDIR=$dest cmake --install "$build" >/dev/null
unit=$(find "$dest" -name ndsipd.service)
conf=$(find "$dest" -name ndsipd.conf.example)
[ -n "$unit" ] || { echo "no ndsipd.service installed"; exit 1; }
[ -n "$conf" ] || { echo "no ndsipd.conf.example installed"; exit 1; }
fail=0
for exe in $(sed -n 's/^Exec\(Start\|StartPre\)=\([^ ]*\).*/\2/p' "$unit"); do
  if [ -x "$dest$exe" ]; then echo "ok: unit runs $exe"; else echo "missing: $exe (named by the unit)"; fail=1; fi
done
for key in policies templates; do
  dir=$(sed -n "s/^$key = //p" "$conf")
  if ls "$dest$dir"/*.json >/dev/null 2>&1; then echo "ok: $key in $dir"; else echo "missing: $dir"; fail=1; fi
done
completion=$(find "$dest" -path '*/share/bash-completion/completions/ndsipctl')
[ -n "$completion" ] && echo "ok: bash completion in ${completion#"$dest"}" || { echo "missing: bash completion for ndsipctl"; fail=1; }
grep -q '^Type=notify' "$unit" && grep -q '^WatchdogSec=' "$unit" || { echo "unit is not Type=notify with a watchdog"; fail=1; }
exit $fail
