#!/usr/bin/env bash
#  The man pages in deploy/man: each is clean roff (groff -ww, man --warnings), each tool's page
#  names every option of its getopt_long table, and rhannu.yaml(5) names every key of each
#  program's configuration table (as the program's --help lists them).
source "$(dirname "$0")/lib.sh"

top=$(cd "$(dirname "$0")/../.." && pwd)
man_dir=$top/deploy/man

#  A page as plain text, one paragraph a line as far as it goes and never hyphenated, so that a
#  name is never split across lines.
render () { groff -man -Tascii -rLL=400n -rHY=0 -P-c -P-b -P-o -P-u "$1" 2>/dev/null; }
#  True if the text on stdin holds the word $1 (an option or key), not as part of a longer one.
has_word () { grep -qE -- "(^|[^A-Za-z0-9_/-])$(sed 's/[.[\*^$/]/\\&/g' <<< "$1")([^A-Za-z0-9_/-]|$)"; }

echo "== every page is clean roff"
pages=(rhannu-broker.8 rhannu-agent.8 rhannu-ca.1 rhannu-audit.1 rhannu-witness.8 rhannu.yaml.5
       rhannu-message.5)
for page in "${pages[@]}"; do
    if [ ! -f "$man_dir/$page" ]; then bad "$page is missing"; continue; fi
    out=$(groff -ww -z -man "$man_dir/$page" 2>&1)
    expect "$page: groff -ww finds nothing" "$out" ""
    out=$(man --warnings -l "$man_dir/$page" 2>&1 >/dev/null)
    expect "$page: man --warnings finds nothing" "$out" ""
    expect_match "$page: renders, its NAME first" \
        "$(render "$man_dir/$page" | sed -n '/^NAME$/{n;p;q}')" "^ +${page%.*} - "
done

echo "== every option of each tool's getopt table is in its page"
#  tool, its main source file, its page
for spec in rhannu-broker:broker/main.c:rhannu-broker.8 rhannu-agent:agent/main.c:rhannu-agent.8 \
            rhannu-ca:certs/rhannu_ca.c:rhannu-ca.1 rhannu-audit:broker/rhannu_audit.c:rhannu-audit.1 \
            rhannu-witness:witness/main.c:rhannu-witness.8; do
    IFS=: read -r tool source page <<< "$spec"
    text=$(render "$man_dir/$page")
    #  The long options: the rows of the struct option table.
    longs=$(sed -n '/struct option s_options/,/^};/p' "$top/$source" \
            | grep -oE '\{ "[a-z0-9-]+", (no|required|optional)_argument' | cut -d'"' -f2)
    expect "$tool: its getopt table was found ($(wc -w <<< "$longs") options)" \
        "$([ "$(wc -w <<< "$longs")" -ge 2 ] && echo yes)" yes
    missing=""
    for option in $longs; do has_word "--$option" <<< "$text" || missing+=" --$option"; done
    #  The short options: the letters of the option string given to getopt_long.
    shorts=$(grep -oE 'getopt_long \(argc, argv, "[^"]*"' "$top/$source" | cut -d'"' -f2 | tr -d ':')
    for ((i = 0; i < ${#shorts}; i++)); do
        has_word "-${shorts:i:1}" <<< "$text" || missing+=" -${shorts:i:1}"
    done
    expect "$tool: every option is in $page" "$missing" ""
done

echo "== every configuration key is in rhannu.yaml(5), in its program's section"
yaml=$(render "$man_dir/rhannu.yaml.5")
for spec in rhannu-broker:BROKER rhannu-agent:AGENT rhannu-witness:WITNESS; do
    IFS=: read -r tool section <<< "$spec"
    keys=$("$bin/$tool" --help | sed -n '/^Configuration keys/,$p' | awk 'NR > 1 {print $1}')
    expect "$tool --help lists its keys ($(wc -w <<< "$keys") keys)" \
        "$([ "$(wc -w <<< "$keys")" -ge 5 ] && echo yes)" yes
    part=$(awk -v s="$section KEYS" '$0 == s {on = 1; next} /^[A-Z][A-Z ]+$/ {on = 0} on' <<< "$yaml")
    missing=""
    for key in $keys; do has_word "$key" <<< "$part" || missing+=" $key"; done
    expect "$tool: every key is under $section KEYS in rhannu.yaml(5)" "$missing" ""
done

echo "== every page a page or the README refers to is one of ours, in its section"
refs=$(cat "$man_dir"/* "$top/README.md" | grep -oE '(\.BR )?rhannu[a-z.-]*( \(|\()[1-8]\)' \
       | sed -E 's/^\.BR //; s/ ?\(([1-8])\)$/.\1/' | sort -u)
missing=""
for ref in $refs; do [ -f "$man_dir/$ref" ] || missing+=" $ref"; done
expect "every reference ($(wc -w <<< "$refs") pages) names a page in deploy/man" "$missing" ""

finish
