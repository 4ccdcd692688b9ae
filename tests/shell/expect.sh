# Sourced by the shell tests (tests/systemd, tests/package): one check, printed PASS or FAIL
# with the command's output when it fails. The caller defines log() and failed=0.
expect() {
  local what=$1; shift
  local out
  if out=$("$@" 2>&1); then
    log "PASS: $what"
  else
    log "FAIL: $what"; printf '%s\n' "$out" | sed 's/^/    /'; failed=1
  fi
}
