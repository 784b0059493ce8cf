#  The broker-only benchmarks' network and habits (bench_broker.sh, bench_history.sh). Source
#  it after tests/integration/lib.sh: it writes a PKI of four sending agencies and the front
#  door of newport, the realistic agreements of rh-bench-policy, and defines fresh_broker,
#  wait_quiet and note. No agents: rh-bench-broker plays the agencies.
client="$build_dir/tests/rh-bench-broker"
#  The broker's own default: a front door that acknowledges at once is never redelivered to
#  merely because a saturated broker is slow to read the acknowledgement (that would be dup=).
export REDELIVER_MS=${REDELIVER_MS:-30000}
note () { echo "# $*"; }
in_peers () { [ -n "${PEERS_RUN_DIR:-}" ]; }

#  The machine is shared: before each run, wait (BENCH_QUIET_WAIT seconds in all, default 90;
#  0 under run-peers.sh, which waited already) until other work uses at most BENCH_QUIET_PCT
#  (default 15) % of one core, and say so when it did not.
quiet_left=${BENCH_QUIET_WAIT:-$(in_peers && echo 0 || echo 90)}
ticks_of () { local f; read -r -a f <<< "$(sed 's/.*) //' "/proc/$1/stat" 2>/dev/null)"; echo $((${f[11]:-0} + ${f[12]:-0})); }
others_pct () {    # CPU busy over 1 s, but the broker's (idle between runs), in % of one core
    local a b pa pb ta=0 tb=0 i busy
    pa=$(ticks_of "$broker_pid"); read -r -a a < /proc/stat
    sleep 1
    pb=$(ticks_of "$broker_pid"); read -r -a b < /proc/stat
    for i in 1 2 3 4 5 6 7 8; do ta=$((ta + a[i])); tb=$((tb + b[i])); done
    busy=$(((tb - ta) - (b[4] + b[5] - a[4] - a[5]) - (pb - pa)))
    echo $((100 * $(nproc) * (busy > 0 ? busy : 0) / (tb - ta > 0 ? tb - ta : 1)))
}
wait_quiet () {    # wait_quiet LABEL
    local pct start=$SECONDS
    pct=$(others_pct)
    while [ "$pct" -gt "${BENCH_QUIET_PCT:-15}" ] && [ $((SECONDS - start)) -lt "$quiet_left" ]; do
        pct=$(others_pct)
    done
    quiet_left=$((quiet_left - (SECONDS - start)))
    [ $quiet_left -gt 0 ] || quiet_left=0
    if [ "$pct" -gt "${BENCH_QUIET_PCT:-15}" ]; then
        note "machine NOT quiet before $1: others use $pct % of one core; expect contaminated figures"
    elif [ $((SECONDS - start)) -gt 1 ]; then
        note "machine quiet before $1 after waiting $((SECONDS - start)) s for other work"
    fi
}

network=(police-gwent:POLICE:newport health-abb:HEALTH:newport education-newport:EDUCATION:newport
         probation-gwent:PROBATION:newport la-newport:LA_FRONT_DOOR:newport)
senders4=(police-gwent health-abb education-newport probation-gwent)
make_pki "${network[@]}"
rm -f "$work"/agreements/*
"$build_dir/tests/rh-bench-policy" write "$work/agreements" "${network[@]}"
sign_agreements

#  A broker on an empty store (the one before, if any, stopped first).
fresh_broker () {
    [ -n "$broker_pid" ] && stop_broker
    rm -rf "$work/broker/data"
    start_broker
    kill -0 "$broker_pid" 2>/dev/null || { note "the broker did not start: $(tail -3 "$work/broker/broker.log")"; exit 1; }
}

#  field NAME LINE: the value of NAME= in a result line.
field () { grep -o " $1=[^ ]*" <<< " $2" | head -1 | cut -d= -f2; }
