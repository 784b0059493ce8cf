#  Shared helpers for integration tests: real binaries, real sockets on 127.0.0.1, real
#  LevelDB on disk, real certificates. Source it; call finish at the end.
set -u
build=${BUILD:-build}
bin="$(cd "$build" && pwd)/bin"
build_dir="$(cd "$build" && pwd)"
testclient="$(cd "$build" && pwd)/tests/rh-testclient"
work=$(mktemp -d /tmp/rhannu-it-XXXXXX)
#  A port below the kernel's ephemeral range (agents' own outgoing ports come from there, so a
#  port inside it can be taken by a connection before the broker binds it), not in use now.
ephemeral_low=$(awk '{print $1}' /proc/sys/net/ipv4/ip_local_port_range 2>/dev/null || echo 32768)
[ "${ephemeral_low:-0}" -gt 21000 ] 2>/dev/null || ephemeral_low=32768
#  Tests run side by side (make check), so a port is also claimed in $port_claims (a file created
#  only if absent, holding our pid) between picking it and binding it: two tests never pick the
#  same one. A claim whose test is gone is taken over.
port_claims=${TMPDIR:-/tmp}/rhannu-ports
mkdir -p "$port_claims" 2>/dev/null
while :; do
    port=$((20000 + RANDOM % (ephemeral_low - 20000)))
    ss -Htan 2>/dev/null | awk '{print $4}' | grep -q ":$port\$" && continue
    (set -C; echo $$ > "$port_claims/$port") 2>/dev/null && break
    owner=$(cat "$port_claims/$port" 2>/dev/null)
    [ -n "$owner" ] && ! kill -0 "$owner" 2>/dev/null && rm -f "$port_claims/$port"
done
endpoint="tcp://127.0.0.1:$port"
extra_ports=()
extra_pids=()    #  other processes a test started: killed on exit
#  claim_port: claims one more port as above, into $claimed_port (released on exit).
claim_port () {
    local p owner
    while :; do
        p=$((20000 + RANDOM % (ephemeral_low - 20000)))
        [ "$p" != "$port" ] || continue
        ss -Htan 2>/dev/null | awk '{print $4}' | grep -q ":$p\$" && continue
        (set -C; echo $$ > "$port_claims/$p") 2>/dev/null && break
        owner=$(cat "$port_claims/$p" 2>/dev/null)
        [ -n "$owner" ] && ! kill -0 "$owner" 2>/dev/null && rm -f "$port_claims/$p"
    done
    extra_ports+=("$p")
    claimed_port=$p
}
passed=0
failed=0
broker_pid=""
witness_pid=""
declare -A agent_pids=()

cleanup () {
    exec 2>/dev/null    #  no "Killed" job notices for processes we stop on purpose
    for pid in "${agent_pids[@]}" $broker_pid $witness_pid "${extra_pids[@]}"; do kill -9 "$pid" 2>/dev/null || true; done
    wait 2>/dev/null || true
    for p in "${extra_ports[@]}"; do rm -f "$port_claims/$p"; done
    if [ "$failed" -eq 0 ] && [ -z "${KEEP:-}" ]; then rm -rf "$work"; else echo "  (kept $work)"; fi
    rm -f "$port_claims/$port"
}
trap cleanup EXIT

ok () { passed=$((passed + 1)); echo "  ok: $*"; }
bad () { failed=$((failed + 1)); echo "  FAILED: $*"; }
expect () {    # expect "description" actual expected
    if [ "$2" = "$3" ]; then ok "$1"; else bad "$1 (got '$2', expected '$3')"; fi
}
expect_match () {    # expect_match "description" actual regex
    if [[ "$2" =~ $3 ]]; then ok "$1"; else bad "$1 (got '$2', expected /$3/)"; fi
}
finish () {
    #  Stop every process cleanly so that sanitizer builds report leaks, then read their logs.
    for a in "${!agent_pids[@]}"; do stop_agent "$a"; done
    [ -n "$broker_pid" ] && stop_broker
    if grep -l -E "ERROR: (Address|Leak)Sanitizer|runtime error:" "$work"/*/*.log >/dev/null 2>&1; then
        bad "a sanitizer reported an error in $(grep -l -E "ERROR: (Address|Leak)Sanitizer|runtime error:" "$work"/*/*.log | tr '\n' ' ')"
    fi
    echo "$(basename "$0" .sh): $passed passed, $failed failed"
    [ "$failed" -eq 0 ]
}

#  make_pki AGENCY:TYPE:LA ...  (the broker is always enrolled)
#  Also writes and signs an open agreement between exactly these agencies (every kind, every
#  field), for the tests of transport and storage; the agreement tests bring their own.
make_pki () {
    "$bin/rhannu-ca" init "$work/pki" >/dev/null
    "$bin/rhannu-ca" issue "$work/pki" broker --type BROKER >/dev/null
    local spec id type la
    mkdir -p "$work/agreements"
    {
        echo "id: TEST-OPEN"
        echo "version: 1"
        echo "valid_from: 2020-01-01"
        echo "valid_to: 2099-12-31"
        echo "purposes: [SAFEGUARDING_CHILD, SAFEGUARDING_ADULT, REFERRER_FEEDBACK]"
        echo "parties:"
    } > "$work/agreements/test-open.yaml"
    for spec in "$@"; do
        IFS=: read -r id type la <<< "$spec"
        "$bin/rhannu-ca" issue "$work/pki" "$id" --type "$type" ${la:+--la "$la"} >/dev/null
        echo "  - {id: $id, roles: [member]$([ "$type" = LA_FRONT_DOOR ] && echo ", front_door_for: [$la], aliases: [IAA, SPOC, MASH]")}" \
            >> "$work/agreements/test-open.yaml"
    done
    printf 'rules:\n  - {id: OPEN, description: "transport tests: everything between members", fields: all}\n' \
        >> "$work/agreements/test-open.yaml"
    sign_agreements
}

#  Signs every agreement in $work/agreements with the test CA.
sign_agreements () {
    local file
    for file in "$work"/agreements/*.yaml; do
        "$bin/rhannu-ca" sign-agreement "$work/pki" "$file" >/dev/null || { echo "cannot sign $file"; exit 1; }
    done
}

#  Writes $work/broker/broker.yaml: the test's endpoint, PKI, data, agreements and clock, and
#  the lines in $BROKER_EXTRA.
broker_config () {
    mkdir -p "$work/broker"
    cat > "$work/broker/broker.yaml" <<EOF2
bind:
  endpoint: $endpoint
pki:
  dir: $work/pki
data:
  dir: $work/broker/data
policy:
  dir: $work/agreements
clock:
  offset_file: $work/clock
delivery:
  redeliver_ms: ${REDELIVER_MS:-2000}
${BROKER_EXTRA:-}
EOF2
}
#  Starts the broker on broker_config's configuration and waits until it is ready.
start_broker () {
    broker_config
    : >> "$work/broker/broker.log"    #  so that grep -c below counts 0 rather than failing
    local readies
    readies=$(grep -c "ready" "$work/broker/broker.log" 2>/dev/null)
    RH_LOG_LEVEL=${RH_LOG_LEVEL:-info} "$bin/rhannu-broker" -f "$work/broker/broker.yaml" \
        2>> "$work/broker/broker.log" &
    broker_pid=$!
    local deadline=$((SECONDS + 60))
    until [ "$(grep -c "ready" "$work/broker/broker.log" 2>/dev/null)" -gt "${readies:-0}" ] \
        || ! kill -0 $broker_pid 2>/dev/null; do
        [ $SECONDS -lt $deadline ] || break
        sleep 0.05
    done
}
#  Moves the broker's clock to DAYS (may be fractional) after real time; waits for a tick.
set_clock () {
    awk -v d="$1" 'BEGIN { printf "%.0f\n", d * 86400000 }' > "$work/clock"    #  not %d: 32 bits at most in mawk
    sleep 0.4
}

stop_broker () { kill -TERM $broker_pid 2>/dev/null; wait $broker_pid 2>/dev/null || true; broker_pid=""; }
kill_broker () { kill -9 $broker_pid 2>/dev/null; wait $broker_pid 2>/dev/null || true; broker_pid=""; }

start_agent () {    # start_agent AGENCY
    local a=$1
    mkdir -p "$work/$a"
    [ -f "$work/$a/agent.yaml" ] || cat > "$work/$a/agent.yaml" <<EOF2
agency:
  id: $a
pki:
  dir: $work/pki
broker:
  endpoint: $endpoint
spool:
  dir: $work/$a
  scan_ms: 50
data:
  dir: $work/$a/data
send:
  resend_ms: ${RESEND_MS:-2000}
${AGENT_EXTRA:-}
EOF2
    RH_LOG_LEVEL=${RH_LOG_LEVEL:-warn} "$bin/rhannu-agent" -f "$work/$a/agent.yaml" 2>> "$work/$a/agent.log" &
    agent_pids[$a]=$!
}
stop_agent () { kill -TERM "${agent_pids[$1]}" 2>/dev/null; wait "${agent_pids[$1]}" 2>/dev/null || true; unset "agent_pids[$1]"; }
kill_agent () { kill -9 "${agent_pids[$1]}" 2>/dev/null; wait "${agent_pids[$1]}" 2>/dev/null || true; unset "agent_pids[$1]"; }

wait_connected () {    # wait_connected AGENCY
    local deadline=$((SECONDS + 15))
    until grep -q '"connected": true' "$work/$1/data/status.json" 2>/dev/null; do
        [ $SECONDS -lt $deadline ] || return 1
        sleep 0.05
    done
}
#  The usual network: make_pki with these agencies (ID:TYPE:LA ...), the broker, and an agent
#  for each, all connected.
start_network () {
    local spec
    make_pki "$@"
    start_broker
    for spec in "$@"; do start_agent "${spec%%:*}"; done
    for spec in "$@"; do wait_connected "${spec%%:*}" || bad "${spec%%:*} did not connect"; done
}
#  A witness that cosigns the broker's checkpoints, on a port of its own ($wport). After
#  make_pki, witness_setup ORIGIN makes its key (vkey in $wvkey), asks the broker for the key of
#  its checkpoints of origin ORIGIN ($log_vkey), writes the witness's configuration and points
#  the broker at it (BROKER_EXTRA). start_witness starts it and waits until it answers.
witness_setup () {
    local origin=$1
    claim_port
    wport=$claimed_port
    mkdir -p "$work/witness" "$work/broker"
    wvkey=$("$bin/rhannu-witness" keygen witness.test/w1 "$work/witness/key" 2>/dev/null)
    printf 'pki:\n  dir: %s\ndata:\n  dir: %s\npolicy:\n  dir: %s\nwitness:\n  origin: %s\n' \
        "$work/pki" "$work/broker/data" "$work/agreements" "$origin" > "$work/broker/vkey.yaml"
    log_vkey=$("$bin/rhannu-broker" vkey -f "$work/broker/vkey.yaml")
    cat > "$work/witness/witness.yaml" <<YAML
witness:
  name: witness.test/w1
  key: $work/witness/key
  state: $work/witness/state
logs:
  vkeys: "$log_vkey"
http:
  port: $wport
YAML
    BROKER_EXTRA="audit:
  checkpoint_every: 5
  checkpoint_ms: 300
witness:
  urls: http://127.0.0.1:$wport
  keys: \"$wvkey\"
  origin: $origin"
}
start_witness () {
    RH_LOG_LEVEL=info "$bin/rhannu-witness" -f "$work/witness/witness.yaml" >>"$work/witness/witness.log" 2>&1 &
    witness_pid=$!
    local deadline=$((SECONDS + 15))
    until curl -s -o /dev/null "http://127.0.0.1:$wport/"; do
        [ $SECONDS -lt $deadline ] || { bad "the witness did not start"; return 1; }
        sleep 0.1
    done
}
#  send AGENCY FILE: hands a message to the agency's agent (rhannu-agent send).
send () { "$bin/rhannu-agent" send -f "$work/$1/agent.yaml" "$2" >/dev/null; }
#  json_field FILE NAME: the first string value of NAME in a message file of an inbox.
json_field () { grep -o "\"$2\": \"[^\"]*\"" "$1" | head -1 | cut -d'"' -f4; }
count_files () { find "$1" -maxdepth 1 -type f -name "${2:-*.json}" 2>/dev/null | wc -l; }
wait_count () {    # wait_count DIR N SECONDS [PATTERN]
    local deadline=$((SECONDS + $3))
    until [ "$(count_files "$1" "${4:-*.json}")" -ge "$2" ]; do
        [ $SECONDS -lt $deadline ] || return 1
        sleep 0.1
    done
}

#  Files of one message kind in an inbox: how many, the newest, and waiting for N of them.
wait_lines () {    # wait_lines FILE REGEX N SECONDS: until N lines of FILE match REGEX
    local deadline=$((SECONDS + $4))
    until [ "$(grep -cE "$2" "$1" 2>/dev/null)" -ge "$3" ]; do
        [ $SECONDS -lt $deadline ] || return 1
        sleep 0.1
    done
}
count_kind () { grep -l "^  \"kind\": \"$2\"" "$1"/*.json 2>/dev/null | wc -l; }
newest_kind () { ls -t $(grep -l "^  \"kind\": \"$2\"" "$1"/*.json 2>/dev/null) 2>/dev/null | head -1; }
wait_kind () {    # wait_kind DIR KIND N SECONDS
    local deadline=$((SECONDS + $4))
    while [ "$(count_kind "$1" "$2")" -lt "$3" ]; do
        [ $SECONDS -lt $deadline ] || return 1
        sleep 0.05
    done
}

#  referral JSON to the front door of LA $1 with case id $2
referral_json () {
    cat <<EOF2
{"kind": "REFERRAL", "to": [{"front_door_la": "$1"}], "case_id": "$2", "purpose": "SAFEGUARDING_CHILD",
 "body": {"referral_kind": "PPN", "categories": ["DOMESTIC_ABUSE"], "narrative": "test ${3:-}",
          "subjects": [{"kind": "CHILD", "home_la": "$1"}]}}
EOF2
}

#  A broker, three sending agencies and a front door, all connected: the benchmarks' network.
bench_senders=(police-gwent health-abb education-newport)
#  Drops N ~1 KiB referrals into the senders' outboxes at once and times them into la-newport's
#  inbox (which holds $2 files already: nothing else may arrive there meanwhile). Prints one
#  line; sets bench_rate (messages/s).
bench_throughput () {
    local total=$1 already=${2:-0} per s n start end secs
    local pad
    pad=$(head -c 700 /dev/zero | tr '\0' 'x')
    per=$((total / ${#bench_senders[@]}))
    for s in "${bench_senders[@]}"; do
        mkdir -p "$work/stage-$s"
        for n in $(seq 1 $per); do
            printf '{"kind":"REFERRAL","to":[{"front_door_la":"newport"}],"case_id":"bench-%s-%d-%d","purpose":"SAFEGUARDING_CHILD","body":{"referral_kind":"PPN","categories":["DOMESTIC_ABUSE"],"subjects":[{"kind":"CHILD","home_la":"newport"}],"consent":{"state":"NOT_REQUIRED_SIGNIFICANT_HARM","family_aware":true},"narrative":"%s"}}' \
                "$s" "$already" "$n" "$pad" > "$work/stage-$s/m$n.json"
        done
    done
    total=$((per * ${#bench_senders[@]}))
    start=$(date +%s.%N)
    for s in "${bench_senders[@]}"; do find "$work/stage-$s" -name '*.json' -exec mv -t "$work/$s/outbox/" {} + & done
    wait_count "$work/la-newport/inbox" $((already + total)) 900 \
        || echo "timed out with $(count_files "$work/la-newport/inbox")"
    end=$(date +%s.%N)
    secs=$(echo "$end - $start" | bc -l)
    bench_rate=$(echo "$total / $secs" | bc -l)
    printf 'bench e2e: %d messages of ~1 KiB from 3 agents in %.2f s: %.0f messages/s\n' \
        $total $secs $bench_rate
}

#  The broker runs under a realistic set of agreements (rh-bench-policy write: 5 agreements,
#  200 rules, 40 parties each), with the rule that allows the benchmark's referral last.
start_bench_network () {
    local network=(police-gwent:POLICE:newport health-abb:HEALTH:newport
                   education-newport:EDUCATION:newport la-newport:LA_FRONT_DOOR:newport)
    make_pki "${network[@]}"
    if [ "${BENCH_AGREEMENTS:-realistic}" = realistic ]; then    # BENCH_AGREEMENTS=open: one rule
        rm -f "$work"/agreements/*
        "$build_dir/tests/rh-bench-policy" write "$work/agreements" "${network[@]}"
        sign_agreements
    fi
    start_broker
    for a in "${bench_senders[@]}" la-newport; do start_agent $a; done
    for a in "${bench_senders[@]}" la-newport; do wait_connected $a || { echo "$a did not connect"; exit 1; }; done
}

#  mount_small_fs DIR KIB: gives DIR a small file system of its own (a tmpfs; else, or with
#  SMALL_FS=ext4, a loop-mounted ext4 image without reserved blocks), unmounted when the test
#  exits. Sets small_fs_kind. Returns 1 if this machine can mount neither (not root, no loop).
mount_small_fs () {
    local dir=$1 kib=$2 image
    mkdir -p "$dir"
    if [ "${SMALL_FS:-tmpfs}" = tmpfs ] && mount -t tmpfs -o "size=${kib}k" tmpfs "$dir" 2>/dev/null; then
        small_fs_kind=tmpfs
    else
        image="$work/small-fs-$RANDOM.img"
        truncate -s "$((kib < 2048 ? 2048 : kib))k" "$image" 2>/dev/null \
            && mkfs.ext4 -q -F -m 0 "$image" >/dev/null 2>&1 \
            && mount -o loop "$image" "$dir" 2>/dev/null || { rm -f "$image"; return 1; }
        small_fs_kind=ext4
    fi
    small_fs_mounts+=("$dir")
    trap 'unmount_small_fs; cleanup' EXIT
}
#  Stops what may still use the small file systems, then unmounts them (called on exit).
unmount_small_fs () {
    local pid dir
    exec 2>/dev/null    #  no "Killed" job notices
    for pid in "${agent_pids[@]}" $broker_pid; do kill -9 "$pid" 2>/dev/null || true; done
    wait 2>/dev/null || true
    for dir in "${small_fs_mounts[@]}"; do umount "$dir" 2>/dev/null || umount -l "$dir" 2>/dev/null; done
}
#  fill_fs DIR: fills the file system holding DIR (into DIR/filler) until no byte more fits.
fill_fs () {
    dd if=/dev/zero of="$1/filler" bs=64k 2>/dev/null
    dd if=/dev/zero of="$1/filler-tail" bs=512 2>/dev/null
    sync
}
