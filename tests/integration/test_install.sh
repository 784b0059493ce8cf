#!/usr/bin/env bash
#  `make install` into a staging folder, as the Debian packages use it (PREFIX=/usr) and as
#  everyone else does (PREFIX=/usr/local): every program, the agent library and header, the
#  units with ExecStart under PREFIX, the examples; every path deploy/debian/*.install names is
#  there (so `make deb` cannot miss one); `make uninstall` leaves nothing behind. Seconds: the
#  packages themselves are built and checked by make check-deb (test_deb).
set -u
build=${BUILD:-build}
passed=0
failed=0
ok () { passed=$((passed + 1)); echo "  ok: $*"; }
bad () { failed=$((failed + 1)); echo "  FAILED: $*"; }
work=$(mktemp -d /tmp/rhannu-install-XXXXXX)
trap 'rm -rf "$work"' EXIT

echo "== make install PREFIX=/usr (what the packages take)"
stage=$work/usr-stage
if make --no-print-directory -s install BUILD="$build" PREFIX=/usr DESTDIR="$stage" > "$work/install.log" 2>&1; then
    ok "make install succeeds"
else
    bad "make install failed: $(tail -5 "$work/install.log")"
fi
for tool in rhannu-broker rhannu-agent rhannu-ca rhannu-audit rhannu-witness; do
    [ -x "$stage/usr/bin/$tool" ] && ok "/usr/bin/$tool" || bad "no /usr/bin/$tool"
done
[ -f "$stage/usr/lib/librhannu-agent.a" ] && [ -f "$stage/usr/include/rhannu_agent.h" ] \
    && ok "the agent library and its header" || bad "no agent library or header"
for unit in deploy/systemd/*; do
    [ -f "$stage/lib/systemd/system/$(basename "$unit")" ] && ok "unit $(basename "$unit")" \
        || bad "unit $(basename "$unit") not installed"
done
grep -q '^ExecStart=/usr/bin/rhannu-broker ' "$stage/lib/systemd/system/rhannu-broker.service" \
    && ok "the broker unit runs /usr/bin/rhannu-broker" || bad "broker unit ExecStart"
[ -f "$stage/usr/share/doc/rhannu/examples/broker.yaml" ] && ok "examples under share/doc/rhannu" \
    || bad "no examples"
for page in deploy/man/*.[1-8]; do
    [ -f "$page" ] || continue
    [ -f "$stage/usr/share/man/man${page##*.}/$(basename "$page")" ] && ok "man page $(basename "$page")" \
        || bad "man page $(basename "$page") not installed"
done

echo "== every path the packages take is installed or in the tree"
for list in deploy/debian/*.install; do
    while read -r path _; do
        case $path in ''|'#'*) continue ;; esac
        if compgen -G "$stage/$path" >/dev/null || compgen -G "$path" >/dev/null; then
            ok "$(basename "$list" .install): $path"
        else
            bad "$(basename "$list" .install): $path is neither installed nor in the tree"
        fi
    done < "$list"
done
#  ...and everything installed is taken by a package (or listed as installed another way).
while read -r file; do
    rel=${file#"$stage"/}
    claimed=no
    for list in deploy/debian/*.install deploy/debian/not-installed; do
        while read -r path _; do
            case $path in ''|'#'*) continue ;; esac
            # shellcheck disable=SC2053
            [[ $rel == $path ]] && claimed=yes
        done < "$list"
    done
    [ $claimed = yes ] || bad "$rel is installed but no package takes it"
done < <(find "$stage" -type f)
ok "every installed file has a package"

echo "== make install PREFIX=/usr/local, then make uninstall"
stage=$work/local-stage
make --no-print-directory -s install BUILD="$build" PREFIX=/usr/local DESTDIR="$stage" > "$work/install.log" 2>&1 \
    || bad "make install PREFIX=/usr/local failed"
grep -q "^ExecStart=/usr/local/bin/rhannu-agent " "$stage/usr/local/lib/systemd/system/rhannu-agent@.service" \
    && ok "units run the programs under /usr/local" || bad "units not rewritten for /usr/local"
make --no-print-directory -s uninstall BUILD="$build" PREFIX=/usr/local DESTDIR="$stage" > "$work/install.log" 2>&1 \
    || bad "make uninstall failed"
left=$(find "$stage" -type f | sed "s|$stage||")
[ -z "$left" ] && ok "make uninstall leaves no file" || bad "left after uninstall: $left"

echo "test_install: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
