#!/usr/bin/env bash
# The man pages: installed where man looks (man8, man5), free of groff warnings, each named
# in its NAME section; ndsip-topology(5) made from docs/topology.md (every rule of the doc is
# in it), and ndsipctl(8) describing every command `ndsipctl --help` lists.
set -euo pipefail
build=$1 source=$2
dest=$(mktemp -d /tmp/ndsip-man-XXXXXX)
trap 'rm -rf "$dest"' EXIT
DESTDIR=$dest cmake --install "$build" >/dev/null
fail=0
bad() { echo "FAIL: $*"; fail=1; }

declare -A page
for p in man8/ndsipd.8 man8/ndsipctl.8 man5/ndsip-topology.5; do
  page[$(basename "$p")]=$(find "$dest" -path "*/man/$p" | head -1)
  [ -n "${page[$(basename "$p")]}" ] || { echo "FAIL: $p not installed"; exit 1; }
done

for name in ndsipd.8 ndsipctl.8 ndsip-topology.5; do
  f=${page[$name]} program=${name%.*}
  # tbl too (-t), in case a page ever has a table; -ww: every warning.
  warnings=$(groff -t -man -Tutf8 -ww -z "$f" 2>&1)
  [ -z "$warnings" ] && echo "ok: $name renders without warnings" || bad "$name: groff warns: $warnings"
  if command -v man >/dev/null; then
    warnings=$(MANWIDTH=80 man -l "$f" 2>&1 >/dev/null)
    [ -z "$warnings" ] || bad "$name: man -l warns: $warnings"
  fi
  # The first text line of the NAME section, as whatis/lexgrog read it: "program - what".
  name_line=$(awk '/^\.SH/ { in_name = ($2 == "NAME"); next } in_name && !/^\./ && NF { print; exit }' "$f")
  if [[ $name_line =~ ^$program\ (\\)?-\  ]]; then
    echo "ok: $name NAME section names $program"
  else
    bad "$name: NAME section is \"$name_line\", not \"$program - ...\""
  fi
done

# ndsip-topology(5) is docs/topology.md: its title's text and every numbered rule (the lines
# without inline markup, which the page keeps verbatim) are in the page.
topo=${page[ndsip-topology.5]}
grep -qF 'Every rule below is checked on every load, and every violation is reported' "$topo" ||
  bad "ndsip-topology.5 lacks the Rules section's text of docs/topology.md"
rules=0
while IFS= read -r line; do
  text=${line#*. }
  [[ $text == *[\`*\"\\]* ]] && continue
  rules=$((rules + 1))
  grep -qF -- "$text" "$topo" || bad "ndsip-topology.5 lacks docs/topology.md's \"$line\""
done < <(sed -n '/^## Rules/,/^## /p' "$source/docs/topology.md" | grep -E '^[0-9]+\. ')
[ "$rules" -ge 10 ] && echo "ok: ndsip-topology.5 has the $rules plain rule lines of docs/topology.md" ||
  bad "only $rules rule lines found in docs/topology.md"

# The rules keep the doc's numbers (its text refers to rules by number).
for n in $(sed -n '/^## Rules/,/^## /p' "$source/docs/topology.md" | sed -n 's/^\([0-9]*\)\. .*/\1/p'); do
  grep -qx "$n\." "$topo" || bad "ndsip-topology.5 lost rule number $n"
done

# ndsipctl(8) has a subsection per command of `ndsipctl --help`.
commands=$("$build/src/cli/ndsipctl" --help | sed -n '/^Commands:/,/^$/p' | sed -n 's/^  \([a-z][a-z-]*\) .*/\1/p' | sort -u)
[ -n "$commands" ] || bad "no commands in ndsipctl --help"
for c in $commands; do
  grep -qE "^\.SS $c( |$)" "${page[ndsipctl.8]}" && echo "ok: ndsipctl.8 describes $c" ||
    bad "ndsipctl.8 has no subsection for \"$c\" (listed by ndsipctl --help)"
done
exit $fail
