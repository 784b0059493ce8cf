#!/usr/bin/env bash
#  make bench (broker alone), measured the way ../shared/peers measures Mosquitto and RabbitMQ:
#  a broker under the realistic agreements of rh-bench-policy and no agents; rh-bench-broker
#  plays the agencies (each sender its own connection, windows of 100 unanswered submissions,
#  the front door taking deliveries with credit 100 and the senders their receipts). Runs
#    broker-pub1      BENCH_BROKER_N referrals (default 10000) from police-gwent, at max
#    broker-pub4      the same from four sending agencies
#    broker-rate1000  1,000 warm-up then 10,000 measured at 1,000/s offered (latency)
#  each against a fresh broker on an empty store, so runs compare. Prints one line per run
#  in the peers' format, what the broker wrote per referral ("#" lines), then every figure
#  against tests/bench/baseline.txt. BENCH_REPS (default 1) runs each throughput mode that
#  many times, each on a fresh store, and shows the median by msgs_per_s as peers does.
#
#  As PEERS_EXTRA_CMD of ../shared/peers/run-peers.sh (make bench-peers) it takes the peers'
#  parameters from the environment (PEERS_MSGS, PEERS_WINDOW, PEERS_PREFETCH, PEERS_RATE,
#  PEERS_LAT_MSGS, PEERS_LAT_WARMUP) and prints everything but its result lines after "#". It runs
#  each mode once, not PEERS_REPS times: three repetitions of 50,000 at today's rate would not fit
#  the 300 s the harness gives its extra command (BENCH_REPS still applies).
source "$(dirname "$0")/../integration/lib.sh"
source "$(dirname "$0")/bench_ratio.sh"
source "$(dirname "$0")/bench_net.sh"
n=${BENCH_BROKER_N:-${PEERS_MSGS:-10000}}
window=${PEERS_WINDOW:-100}
credit=${PEERS_PREFETCH:-100}
rate=${PEERS_RATE:-1000}
lat_n=${PEERS_LAT_MSGS:-10000}
lat_warmup=${PEERS_LAT_WARMUP:-1000}
timeout_s=${BENCH_BROKER_TIMEOUT:-120}
reps=${BENCH_REPS:-1}
comment () { if in_peers; then sed 's/^/# /'; else cat; fi; }

#  run_once LINE-FILE MODE -n N ARGS...: one run on a fresh broker; appends its line, with
#  what the broker wrote per referral added as fields, to LINE-FILE.
run_once () {
    local file=$1 mode=$2 line rc disk store handed delivered
    shift 2
    fresh_broker
    wait_quiet "$mode"
    line=$(timeout -k 5 $((timeout_s + 120)) "$client" -S "$broker_pid" -w "$window" -c "$credit" \
               -T "$timeout_s" -M "$mode" "$@" 2> "$work/client.err")
    rc=$?
    if [ $rc != 0 ]; then
        incomplete=$((incomplete + 1))
        note "rh-bench-broker exited $rc (an incomplete run: see lost= and rejected=): $(tail -n 2 "$work/client.err" | tr '\n' ' ')"
    fi
    #  The write budget: bytes that reached the disk (the kernel's count: LevelDB's log and
    #  compactions included), what the broker handed LevelDB (its own count, logged when it
    #  stops) and what the store holds after a clean stop, per referral sent.
    disk=$(awk '/^write_bytes/ {print $2}' "/proc/$broker_pid/io" 2>/dev/null)
    stop_broker
    handed=$(grep 'db writes: total' "$work/broker/broker.log" | tail -1 | sed 's/.*db writes: //' | awk '{print $6}')
    store=$(du -sb "$work/broker/data" | cut -f1)
    [ -n "$line" ] || return 0
    #  Per referral delivered (all of them, warm-up included, in a complete run).
    delivered=$(($2 - $(field lost "$line")))
    [ "$delivered" -gt 0 ] || delivered=1
    line="$line$(awk -v d="${disk:-}" -v h="${handed:-}" -v s="$store" -v m="$delivered" '
        BEGIN { if (d != "") printf " disk_bytes_per_msg=%.0f", d / m
                if (h != "") printf " db_bytes_per_msg=%.0f", h / m
                printf " store_bytes_per_msg=%.0f", s / m }')"
    echo "$line" >> "$file"
}

#  measure REPS MODE -n N ARGS...: REPS runs; prints the one with the median throughput (the lower
#  middle), with every run's throughput in rep_msgs_per_s when there is more than one.
results=()
incomplete=0
measure () {
    local reps=$1 mode=$2 file="$work/reps.txt" rates line
    shift 2
    : > "$file"
    for ((i = 1; i <= reps; i++)); do run_once "$file" "$mode" "$@"; done
    [ -s "$file" ] || return 0
    if [ "$reps" -gt 1 ]; then
        sed 's/^/# rep: /' "$file"
        rates=$(grep -o ' msgs_per_s=[0-9]*' "$file" | cut -d= -f2 | paste -sd/)
        line=$(sort -t= -k5,5n "$file" | awk -v n="$(wc -l < "$file")" 'NR == int((n + 1) / 2)')
        line="$line reps=$reps rep_msgs_per_s=$rates"
    else
        line=$(cat "$file")
    fi
    echo "$line"
    results+=("$line")
}

note "rh-bench-broker: $n referrals per throughput run, window $window, front door credit $credit; $(nproc) cores; $(date -u +%Y-%m-%dT%H:%M:%SZ)"
measure "$reps" broker-pub1 -n "$n" "$endpoint" "$work/pki" la-newport police-gwent
measure "$reps" broker-pub4 -n "$n" "$endpoint" "$work/pki" la-newport "${senders4[@]}"
measure 1 "broker-rate$rate" -n $((lat_n + lat_warmup)) -W "$lat_warmup" -r "$rate" \
    "$endpoint" "$work/pki" la-newport police-gwent
#  In this shell, not a pipe's: bench_ratio counts the figures that got worse.
{
    for line in "${results[@]}"; do bench_ratio_line "$line"; done
    bench_ratio_verdict
} > "$work/ratios.txt"
verdict=$?
comment < "$work/ratios.txt"
#  Figures, not pass/fail: but a run that did not deliver everything is a failure to measure.
[ "$incomplete" = 0 ] || { note "$incomplete run(s) incomplete"; exit 1; }
exit $verdict
