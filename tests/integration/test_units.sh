#!/usr/bin/env bash
#  The systemd units in deploy/systemd: each is sandboxed to an exposure of at most
#  UNITS_MAX_EXPOSURE in `systemd-analyze security` (offline: the unit files, not a running
#  system), and `systemd-analyze verify` accepts each with its ExecStart pointing at the built
#  binaries (as `make install` rewrites it). Prints every score.
set -u
build=${BUILD:-build}
bin="$(cd "$build" && pwd)/bin"
units_dir=${UNITS_DIR:-deploy/systemd}
max=${UNITS_MAX_EXPOSURE:-2.5}
passed=0
failed=0
ok () { passed=$((passed + 1)); echo "  ok: $*"; }
bad () { failed=$((failed + 1)); echo "  FAILED: $*"; }

if ! systemd-analyze security --help 2>/dev/null | grep -q -- '--offline'; then
    echo "test_units: SKIP: this systemd-analyze has no --offline (systemd < 250)"
    exit 0
fi
work=$(mktemp -d /tmp/rhannu-units-XXXXXX)
trap 'rm -rf "$work"' EXIT

echo "== systemd-analyze security --offline=true (exposure, at most $max)"
for unit in "$units_dir"/*.service; do
    name=$(basename "$unit")
    out=$(systemd-analyze security --offline=true --threshold=100 "$unit" 2>&1)
    score=$(printf '%s\n' "$out" | sed -n 's/.*Overall exposure level for [^:]*: \([0-9.]*\).*/\1/p')
    if [ -z "$score" ]; then
        bad "$name: no score ($(printf '%s' "$out" | tail -1))"
    elif awk -v s="$score" -v m="$max" 'BEGIN { exit !(s <= m) }'; then
        ok "$name: exposure $score"
    else
        bad "$name: exposure $score above $max"
        printf '%s\n' "$out" | grep '✗' | sed 's/^/      /'
    fi
    #  The same bound through systemd-analyze's own --threshold (exit status).
    if ! systemd-analyze security --offline=true --threshold=25 "$unit" >/dev/null 2>&1; then
        bad "$name: systemd-analyze --threshold=25 refused it"
    fi
done

echo "== systemd-analyze verify (ExecStart at the built binaries)"
for unit in "$units_dir"/*; do
    sed "s|/usr/bin/rhannu-|$bin/rhannu-|g" "$unit" > "$work/$(basename "$unit")"
done
for unit in "$work"/*.service "$work"/*.timer; do
    name=$(basename "$unit")
    out=$(cd "$work" && systemd-analyze verify --man=no "./$name" 2>&1)
    if [ $? -eq 0 ]; then ok "$name: verify"; else bad "$name: verify: $out"; fi
done

echo "== what the programs need is allowed"
for unit in "$units_dir"/*.service; do
    name=$(basename "$unit")
    case $name in rhannu-ca-refresh.service) continue ;; esac
    grep -q '^StateDirectory=rhannu/' "$unit" && ok "$name: a writable state folder" \
        || bad "$name: no StateDirectory under rhannu/"
    grep -q '^RestrictAddressFamilies=AF_UNIX AF_INET AF_INET6$' "$unit" && ok "$name: IPv4, IPv6, local sockets" \
        || bad "$name: address families"
    grep -q '^User=rhannu$' "$unit" && ok "$name: runs as rhannu" || bad "$name: not User=rhannu"
done
grep -q '^ReadWritePaths=-/var/spool/rhannu$' "$units_dir/rhannu-agent@.service" \
    && ok "the agent may write its spool" || bad "the agent may not write /var/spool/rhannu"

echo "test_units: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
