#!/usr/bin/env bash
# Bash completion for ndsipctl: commands (every one `ndsipctl --help` lists), their options,
# topology file names. Calls the completion function as bash would, without a terminal.
set -euo pipefail
build=$1 source=$2
scratch=$(mktemp -d /tmp/ndsip-completion-XXXXXX)
trap 'rm -rf "$scratch"' EXIT
touch "$scratch/fleet-topology.json"
export COMPLETION=$source/completion/ndsipctl.bash SCRATCH=$scratch
commands=$("$build/src/cli/ndsipctl" --help | sed -n '/^Commands:/,/^$/p' | sed -n 's/^  \([a-z][a-z-]*\) .*/\1/p' | sort -u)
[ -n "$commands" ] || { echo "FAIL: no commands in ndsipctl --help"; exit 1; }
export COMMANDS=$commands
exec bash --norc --noprofile -c '
  set -u
  source "$COMPLETION"
  fail=0
  # complete WORD...: COMPREPLY for the command line WORD... with the cursor on the last word.
  complete_line() { COMP_WORDS=("$@"); COMP_CWORD=$((${#COMP_WORDS[@]} - 1)); COMP_LINE="$*"; COMP_POINT=${#COMP_LINE}
                    COMPREPLY=(); _ndsipctl; echo "${COMPREPLY[*]}" | tr " " "\n" | sort | tr "\n" " " | sed "s/ $//"; }
  expect() { local want=$1; shift; local got; got=$(complete_line "$@")
             if [ "$got" = "$want" ]; then echo "ok: [$*] -> $got"; else echo "FAIL: [$*] -> \"$got\", want \"$want\""; fail=1; fi; }
  [ "$(complete -p ndsipctl)" = "complete -F _ndsipctl ndsipctl" ] || { echo "FAIL: not registered: $(complete -p ndsipctl)"; fail=1; }
  expect "status" ndsipctl st
  expect "publish push" ndsipctl pu
  expect "fleet-status" ndsipctl fl
  expect "--fresh" ndsipctl status --f
  expect "--node" ndsipctl plan t.json --n
  expect "--swanctl" ndsipctl plan t.json --node seg-a --s
  expect "--etcd-password-file --etcd-prefix" ndsipctl rollback --etcd http://e:2379 --etcd-p
  expect "--dry-run" ndsipctl publish t.json --d
  expect "$SCRATCH/fleet-topology.json" ndsipctl validate "$SCRATCH/fleet-t"
  expect "$SCRATCH/fleet-topology.json" ndsipctl publish "$SCRATCH/fl"
  all=" $(complete_line ndsipctl "") "
  for c in $COMMANDS; do
    [[ $all == *" $c "* ]] || { echo "FAIL: \"$c\" (from ndsipctl --help) is not completed"; fail=1; }
  done
  [ $fail = 0 ] && echo "ok: every command of ndsipctl --help completes"
  exit $fail
'
