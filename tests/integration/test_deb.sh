#!/usr/bin/env bash
#  The Debian packages (make deb; make check-deb runs this, make check does not: building them
#  takes minutes). lintian (errors fail, warnings are listed), the contents of each package
#  (dpkg -c), then the packages unpacked into a throw-away root: the programs run, the sysusers
#  file makes the rhannu user there, the units are sandboxed. Nothing on this system changes.
#
#  --install (make deb-smoke): also installs them on this system with apt, runs the broker as
#  its unit would (user rhannu, /etc/rhannu/broker.yaml, /var/lib/rhannu/broker), takes a
#  backup, then purges everything and checks nothing is left. It changes the system while it
#  runs: never part of make check.
set -u
deb_dir=${DEB_DIR:-build/deb}
passed=0
failed=0
ok () { passed=$((passed + 1)); echo "  ok: $*"; }
bad () { failed=$((failed + 1)); echo "  FAILED: $*"; }
install=no
[ "${1:-}" = --install ] && install=yes

if [ "$(id -u)" != 0 ] && ! command -v dpkg-buildpackage >/dev/null; then
    echo "test_deb: SKIP: not root and no dpkg-buildpackage: the packaging tools cannot be installed"
    exit 0
fi
if ! ls "$deb_dir"/rhannu-broker_*.deb >/dev/null 2>&1; then
    echo "== make deb"
    make --no-print-directory deb DEB_DIR="$deb_dir" || { echo "test_deb: make deb failed"; exit 1; }
fi
work=$(mktemp -d /tmp/rhannu-deb-XXXXXX)
trap 'rm -rf "$work"' EXIT
packages=(rhannu-common rhannu-broker rhannu-agent librhannu-agent-dev rhannu-tools rhannu-witness)
deb () { ls "$deb_dir"/"$1"_*.deb 2>/dev/null | head -1; }

echo "== lintian"
lintian --tag-display-limit 0 "$deb_dir"/*.changes > "$work/lintian" 2>&1
errors=$(grep -c '^E: ' "$work/lintian")
warnings=$(grep -c '^W: ' "$work/lintian")
grep -E '^[EW]: ' "$work/lintian" | sed 's/^/      /'
[ "$errors" -eq 0 ] && ok "lintian: no errors ($warnings warnings, listed above)" \
    || bad "lintian: $errors errors"

echo "== contents (dpkg -c)"
expect_in () {    # expect_in PACKAGE PATH [MODE]
    local line
    line=$(dpkg -c "$(deb "$1")" | awk -v p="./$2" '$6 == p {print $1}')
    if [ -z "$line" ]; then bad "$1 lacks /$2"
    elif [ -n "${3:-}" ] && [ "$line" != "$3" ]; then bad "$1: /$2 is $line, not $3"
    else ok "$1: /$2"; fi
}
for p in "${packages[@]}"; do [ -n "$(deb "$p")" ] && ok "$p built" || bad "$p not built"; done
expect_in rhannu-common usr/lib/sysusers.d/rhannu-common.conf
expect_in rhannu-common etc/rhannu/
expect_in rhannu-broker usr/bin/rhannu-broker -rwxr-xr-x
expect_in rhannu-broker lib/systemd/system/rhannu-broker.service
expect_in rhannu-broker etc/rhannu/broker.yaml
expect_in rhannu-agent usr/bin/rhannu-agent -rwxr-xr-x
expect_in rhannu-agent lib/systemd/system/rhannu-agent@.service
expect_in librhannu-agent-dev "usr/lib/$(dpkg-architecture -qDEB_HOST_MULTIARCH)/librhannu-agent.a"
expect_in librhannu-agent-dev usr/include/rhannu_agent.h
expect_in rhannu-tools usr/bin/rhannu-ca -rwxr-xr-x
expect_in rhannu-tools usr/bin/rhannu-audit -rwxr-xr-x
expect_in rhannu-tools usr/lib/sysusers.d/rhannu-tools.conf
expect_in rhannu-tools lib/systemd/system/rhannu-ca-refresh.timer
expect_in rhannu-witness usr/bin/rhannu-witness -rwxr-xr-x
expect_in rhannu-witness etc/rhannu/witness.yaml
for page in deploy/man/*.[1-8]; do
    [ -f "$page" ] || continue
    found=$(for p in "${packages[@]}"; do dpkg -c "$(deb "$p")"; done | grep -c "/man${page##*.}/$(basename "$page").gz$")
    [ "$found" = 1 ] && ok "man page $(basename "$page") in one package" || bad "man page $(basename "$page") packaged $found times"
done
dpkg-deb -f "$(deb rhannu-broker)" Depends | grep -q 'libleveldb' && ok "rhannu-broker depends on its libraries" \
    || bad "rhannu-broker Depends: $(dpkg-deb -f "$(deb rhannu-broker)" Depends)"
[ "$(dpkg-deb --ctrl-tarfile "$(deb rhannu-broker)" | tar -xO ./conffiles 2>/dev/null)" = /etc/rhannu/broker.yaml ] \
    && ok "broker.yaml is a conffile" || bad "broker.yaml is not a conffile"

echo "== unpacked into a throw-away root"
root=$work/root
for p in "${packages[@]}"; do dpkg-deb -x "$(deb "$p")" "$root"; done
for tool in rhannu-broker rhannu-agent rhannu-ca rhannu-audit rhannu-witness; do
    #  Runs (its libraries are found) and prints its usage; the exit status of -h is the tool's.
    "$root/usr/bin/$tool" -h 2>&1 | grep -qi usage && ok "$tool runs from the package" \
        || bad "$tool does not run: $("$root/usr/bin/$tool" -h 2>&1 | head -2)"
done
mkdir -p "$root/etc"
: > "$root/etc/passwd"; : > "$root/etc/group"
if command -v systemd-sysusers >/dev/null; then
    systemd-sysusers --root="$root" "$root"/usr/lib/sysusers.d/rhannu-*.conf 2>"$work/sysusers.log" \
        && grep -q '^rhannu:' "$root/etc/passwd" && grep -q '^rhannu-ca:' "$root/etc/passwd" \
        && grep -q '^rhannu:.*:/usr/sbin/nologin$' "$root/etc/passwd" \
        && ok "systemd-sysusers makes the rhannu and rhannu-ca users (no login)" \
        || bad "sysusers: $(cat "$work/sysusers.log")"
fi
UNITS_DIR="$root/lib/systemd/system" BUILD=${BUILD:-build} bash tests/integration/test_units.sh > "$work/units" 2>&1 \
    && ok "the packaged units pass test_units ($(grep -o 'exposure [0-9.]*' "$work/units" | tr '\n' ' '))" \
    || bad "packaged units: $(grep FAILED "$work/units")"

if [ $install = yes ]; then
    echo "== apt install on this system (deb-smoke)"
    users_before=$(getent passwd rhannu rhannu-ca | cut -d: -f1 | tr '\n' ' ')
    debs=()
    for p in "${packages[@]}"; do debs+=("$(realpath "$(deb "$p")")"); done
    if DEBIAN_FRONTEND=noninteractive apt-get install -y -o DPkg::Lock::Timeout=300 "${debs[@]}" > "$work/apt" 2>&1; then
        ok "apt install ./rhannu-*.deb"
    else
        bad "apt install: $(tail -5 "$work/apt")"
    fi
    id rhannu > /dev/null 2>&1 && ok "the rhannu user exists" || bad "no rhannu user"
    expect_stat () { [ "$(stat -c '%a %U:%G' "$1" 2>/dev/null)" = "$2" ] && ok "$1 is $2" || bad "$1 is $(stat -c '%a %U:%G' "$1" 2>&1), not $2"; }
    expect_stat /etc/rhannu "750 root:rhannu"
    expect_stat /etc/rhannu/broker.yaml "640 root:rhannu"
    expect_stat /var/spool/rhannu "750 rhannu:rhannu"
    #  The broker as its unit runs it: user rhannu, the packaged configuration, the state folder
    #  systemd would make, keys the board would issue.
    rhannu-ca init /etc/rhannu/pki > /dev/null && rhannu-ca issue /etc/rhannu/pki broker --type BROKER > /dev/null
    rhannu-ca issue /etc/rhannu/pki police-gwent --type POLICE --la newport > /dev/null
    rhannu-ca issue /etc/rhannu/pki la-newport --type LA_FRONT_DOOR --la newport > /dev/null
    cat > /etc/rhannu/agreements/smoke.yaml <<'EOF2'
id: SMOKE
version: 1
valid_from: 2020-01-01
valid_to: 2099-12-31
purposes: [SAFEGUARDING_CHILD]
parties:
  - {id: police-gwent, roles: [member]}
  - {id: la-newport, roles: [member], front_door_for: [newport]}
rules:
  - {id: OPEN, description: "package smoke test", fields: all}
EOF2
    rhannu-ca sign-agreement /etc/rhannu/pki /etc/rhannu/agreements/smoke.yaml > /dev/null \
        || bad "cannot sign the smoke test's agreement"
    chown -R rhannu:rhannu /etc/rhannu/pki
    install -d -o rhannu -g rhannu -m 0700 /var/lib/rhannu/broker
    exec_start=$(sed -n 's/^ExecStart=//p' /lib/systemd/system/rhannu-broker.service)
    port=$((20000 + RANDOM % 10000))
    metrics_port=$((port + 1))
    sed -i "s|tcp://127.0.0.1:5670|tcp://127.0.0.1:$port|" /etc/rhannu/broker.yaml
    #  The packaged configuration has metrics off: turned on as an operator would, one line.
    sed -i "s|^  listen: \"\" |  listen: 127.0.0.1:$metrics_port |" /etc/rhannu/broker.yaml
    grep -q "^  listen: 127.0.0.1:$metrics_port " /etc/rhannu/broker.yaml \
        && ok "metrics/listen set in the packaged broker.yaml" || bad "cannot set metrics/listen"
    runuser -u rhannu -- $exec_start 2> "$work/broker.log" &
    pid=$!
    for _ in $(seq 100); do grep -q ready "$work/broker.log" && break; sleep 0.1; done
    grep -q ready "$work/broker.log" && ok "the broker starts as rhannu with its unit's command line" \
        || bad "the broker did not start: $(tail -3 "$work/broker.log")"
    url=http://127.0.0.1:$metrics_port
    code=""
    for _ in $(seq 50); do
        code=$(curl -s -o /dev/null -w '%{http_code}' "$url/readyz" 2>/dev/null)
        [ "$code" = 200 ] && break
        sleep 0.1
    done
    [ "$code" = 200 ] && ok "/readyz answers 200" || bad "/readyz answers '$code': $(curl -s "$url/readyz")"
    code=$(curl -s -o /dev/null -w '%{http_code}' "$url/healthz")
    [ "$code" = 200 ] && ok "/healthz answers 200" || bad "/healthz answers '$code'"
    curl -s "$url/metrics" > "$work/metrics.prom"
    missing=""
    for series in rhannu_broker_agency_connected rhannu_broker_queue_depth \
            rhannu_broker_queue_oldest_age_seconds rhannu_broker_submissions_total \
            rhannu_broker_commit_batch_size rhannu_broker_commit_duration_seconds \
            rhannu_broker_verify_backlog rhannu_broker_dead_letters rhannu_broker_audit_records \
            rhannu_broker_audit_checkpoint_age_seconds rhannu_broker_crl_expiry_seconds \
            rhannu_broker_trust_bundle_expiry_seconds rhannu_broker_ready \
            process_resident_memory_bytes process_open_fds process_cpu_seconds_total \
            process_start_time_seconds; do
        grep -q "^# TYPE $series " "$work/metrics.prom" || missing+=" $series"
    done
    [ -z "$missing" ] && ok "/metrics serves every series ($(grep -c '^# TYPE ' "$work/metrics.prom") families, $(grep -vc '^#' "$work/metrics.prom") samples)" \
        || bad "/metrics lacks:$missing"
    here=$(dirname "$0")
    python3 "$here/prom_check.py" < "$work/metrics.prom" > "$work/prom_check" 2>&1 \
        && ok "the exposition is well formed" || bad "exposition: $(head -3 "$work/prom_check")"
    runuser -u rhannu -- rhannu-broker status -f /etc/rhannu/broker.yaml > "$work/status" 2>&1 \
        && ok "rhannu-broker status asks the running broker" || bad "status: $(head -3 "$work/status")"
    page=$(MANPAGER=cat MANWIDTH=200 man rhannu-broker 2>&1)
    [[ "$page" == *"rhannu-broker - the regional broker"* ]] && ok "man rhannu-broker works" \
        || bad "man rhannu-broker: $(head -3 <<< "$page")"
    for ref in "5 rhannu.yaml" "5 rhannu-message" "8 rhannu-agent" "1 rhannu-ca" "1 rhannu-audit" \
               "8 rhannu-witness"; do
        man -w $ref > /dev/null 2>&1 || missing_pages+=" $ref"
    done
    [ -z "${missing_pages:-}" ] && ok "man finds every page by section" || bad "man cannot find:$missing_pages"
    install -d -o rhannu -g rhannu -m 0700 "$work/backups"
    chmod 0711 "$work"
    runuser -u rhannu -- rhannu-broker backup -f /etc/rhannu/broker.yaml "$work/backups/now" > /dev/null 2>&1 \
        && ok "rhannu-broker backup of the running broker" || bad "backup of the running broker failed"
    kill -TERM $pid 2>/dev/null; wait $pid 2>/dev/null
    rhannu-audit verify --data "$work/backups/now" --pki /etc/rhannu/pki > /dev/null 2>&1 \
        && ok "the backup verifies" || bad "the backup does not verify"
    rm -rf /etc/rhannu/pki/* /etc/rhannu/agreements/* /var/lib/rhannu/broker
    echo "== apt purge"
    files=$(for p in "${packages[@]}"; do dpkg -L "$p" 2>/dev/null; done | sort -u)
    DEBIAN_FRONTEND=noninteractive apt-get purge -y -o DPkg::Lock::Timeout=300 "${packages[@]}" > "$work/apt" 2>&1 \
        && ok "apt purge" || bad "apt purge: $(tail -5 "$work/apt")"
    left=""
    for f in $files; do [ -f "$f" ] && left="$left $f"; done
    [ -z "$left" ] && ok "no packaged file is left" || bad "left after purge:$left"
    stray=$(find /etc /usr /lib /var -name '*rhannu*' -not -path "$work/*" 2>/dev/null | head -20)
    [ -z "$stray" ] && ok "nothing named rhannu is left in /etc, /usr, /lib or /var" \
        || bad "stray after purge: $(tr '\n' ' ' <<< "$stray")"
    man -w rhannu-broker > /dev/null 2>&1 && bad "man still finds rhannu-broker" \
        || ok "man no longer finds rhannu-broker"
    [ ! -e /etc/rhannu ] && [ ! -e /var/spool/rhannu ] && [ ! -e /var/lib/rhannu ] \
        && ok "/etc/rhannu, /var/lib/rhannu and the spool, emptied, are gone" \
        || bad "left: $(ls -d /etc/rhannu /var/spool/rhannu /var/lib/rhannu 2>/dev/null)"
    #  The packages leave the users (Debian does not remove system users: files may still belong
    #  to them); this test removes those it made, to leave the machine as it found it.
    for user in rhannu rhannu-ca; do
        case " $users_before " in *" $user "*) ;; *) userdel "$user" 2>/dev/null; groupdel "$user" 2>/dev/null ;; esac
    done
    getent passwd rhannu >/dev/null && [ -z "$users_before" ] && bad "the rhannu user could not be removed"
fi

echo "test_deb: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
