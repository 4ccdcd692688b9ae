# Turns docs/topology.md into the body of ndsip-topology(5), for go-md2man. Only the layout
# changes; every sentence of the doc is kept, so the man page cannot drift from it:
#   - the doc's title ("# ...") becomes the DESCRIPTION section, "## X" becomes "# X" (a man
#     section, upper case) and "### X" stays (a subsection);
#   - numbered lists become definition lists that keep the doc's numbers (see below);
#   - tables become definition lists ("`key` (type; required: ...)" then the meaning): man
#     pages are read at 80 columns, and go-md2man's tables overflow them.
# Other files given on the command line (the page's head and tail) are copied unchanged.

function flush_blank() { if (blank_pending) print ""; blank_pending = 0 }

function trim(s) { sub(/^[ \t]+/, "", s); sub(/[ \t]+$/, "", s); return s }

# "| a | b |" -> cells[1..n]; returns n.
function split_row(line, cells,    n, i, parts) {
  line = trim(line)
  sub(/^\|/, "", line); sub(/\|$/, "", line)
  n = split(line, parts, "|")
  for (i = 1; i <= n; i++) cells[i] = trim(parts[i])
  return n
}

FILENAME != body { print; next }

# Fenced code is copied as is: a "|" or "#" inside must not be taken for a table or heading.
/^```/ { in_code = !in_code; print; next }
in_code { print; next }

FNR == 1 && /^# / { print "# DESCRIPTION"; next }
/^## / { print "# " toupper(substr($0, 4)); next }

# A numbered list item ("37. text", continued by indented lines) becomes a definition, "37."
# then the text: go-md2man would number each list from 1 again, and the doc's text refers to
# rules by number. An indented paragraph after a blank line (a note on the item) joins it.
/^[0-9]+\. / {
  flush_blank()
  print ""
  print substr($0, 1, index($0, " ") - 1)
  print ": " substr($0, index($0, " ") + 1)
  in_item = 1
  next
}
in_item && /^[ \t]*$/ { blank_pending = 1; next }
in_item && /^[ \t]+/ { blank_pending = 0; print trim($0); next }
in_item { in_item = 0; flush_blank() }

# A table: a header row, a |---| row, then rows until a line that does not start with "|".
/^\|/ {
  if (!in_table) {
    in_table = 1; header_pending = 1
    ncols = split_row($0, head)
    next
  }
  if (header_pending) { header_pending = 0; next }   # the |---|---| line
  n = split_row($0, cell)
  term = cell[1] " (" cell[2]
  for (i = 3; i < n; i++) term = term "; " head[i] ": " cell[i]
  term = term ")"
  print term
  print ": " cell[n]
  print ""
  next
}
{ in_table = 0; print }
