#!/usr/bin/env bash
#  make bench (through the C API): one sending case system and one front door, each linking
#  librhannu-agent (rh-bench-api), a broker under the realistic agreements of rh-bench-policy.
#  BENCH_API_N referrals of ~1 KiB (default 10000) submitted BENCH_API_BATCH at a time (default
#  100), timed from the first submit until the front door's callback has the last and until
#  the sender has verified the last receipt: the whole path, whose crypto is 2 signatures and
#  3 verifications per referral (sender signs, broker verifies, front door verifies, broker
#  signs the receipt, sender verifies it). Prints msgs/s, CPU per message per process, and the
#  figures as ratios of tests/bench/baseline.txt. PERF=sender|receiver|broker records a profile
#  of that process and prints its top symbols.
source "$(dirname "$0")/../integration/lib.sh"
source "$(dirname "$0")/bench_ratio.sh"
#  As bench_broker.sh: a front door that takes deliveries at once is not redelivered to merely
#  because a busy broker is slow to read the acknowledgement.
export REDELIVER_MS=${REDELIVER_MS:-30000}
bench_api="$build_dir/tests/rh-bench-api"
n=${BENCH_API_N:-10000}
batch=${BENCH_API_BATCH:-100}
network=(police-gwent:POLICE:newport health-abb:HEALTH:newport
         education-newport:EDUCATION:newport la-newport:LA_FRONT_DOOR:newport)
make_pki "${network[@]}"
if [ "${BENCH_AGREEMENTS:-realistic}" = realistic ]; then
    rm -f "$work"/agreements/*
    "$build_dir/tests/rh-bench-policy" write "$work/agreements" "${network[@]}"
    sign_agreements
fi
start_broker
for a in police-gwent la-newport; do
    mkdir -p "$work/$a"
    cat > "$work/$a/agent.yaml" <<EOF
agency:
  id: $a
pki:
  dir: $work/pki
broker:
  endpoint: $endpoint
spool:
  dir: $work/$a
data:
  dir: $work/$a/data
EOF
done
#  The machine is shared: CPU busy (every core, in ticks) from /proc/stat, to say how much other
#  work ran beside the measurement. Waits up to BENCH_QUIET_WAIT s (default 60) for a machine
#  whose other work uses at most BENCH_QUIET_PCT (default 15) % of one core.
busy_ticks () { awk '$1 == "cpu" { print $2 + $3 + $4 + $7 + $8 + $9 }' /proc/stat; }
quiet_start=$SECONDS
while :; do
    a=$(busy_ticks); sleep 1; others=$(( $(busy_ticks) - a ))
    [ "$others" -gt "${BENCH_QUIET_PCT:-15}" ] && [ $((SECONDS - quiet_start)) -lt "${BENCH_QUIET_WAIT:-60}" ] || break
done
[ "$others" -gt "${BENCH_QUIET_PCT:-15}" ] \
    && echo "# machine NOT quiet: others use $others % of one core; expect contaminated figures"
RH_LOG_LEVEL=warn "$bench_api" receive "$work/la-newport/agent.yaml" "$n" \
    > "$work/receive.out" 2> "$work/la-newport/api.log" &
receiver=$!
wait_connected la-newport || { echo "bench api: the front door did not connect"; exit 1; }
RH_LOG_LEVEL=warn "$bench_api" send "$work/police-gwent/agent.yaml" "$n" "$batch" \
    > "$work/send.out" 2> "$work/police-gwent/api.log" &
sender=$!
if [ -n "${PERF:-}" ]; then
    case $PERF in sender) target=$sender ;; receiver) target=$receiver ;; *) target=$broker_pid ;; esac
    sleep 0.3
    perf record ${PERF_OPTS:--g} -o "$work/perf.data" -p "$target" 2>/dev/null &
    perf_pid=$!
fi
broker_cpu_start=$(awk '{print $14 + $15}' /proc/$broker_pid/stat)
machine_start=$(busy_ticks)
wait $sender; sender_rc=$?
broker_cpu_end=$(awk '{print $14 + $15}' /proc/$broker_pid/stat)
machine_end=$(busy_ticks)
wait $receiver; receiver_rc=$?
if [ -n "${PERF:-}" ]; then
    kill -INT $perf_pid 2>/dev/null; wait $perf_pid
    perf report -i "$work/perf.data" --no-children --sort dso --stdio 2>/dev/null | grep -E '^ +[0-9]+\.[0-9]+%' | head -12
    perf report -i "$work/perf.data" --no-children --stdio 2>/dev/null | grep -E '^ +[0-9]+\.[0-9]+%' | head -25
fi
[ $sender_rc = 0 ] && [ $receiver_rc = 0 ] \
    || echo "bench api: an incomplete run (sender exited $sender_rc, receiver $receiver_rc): $(cat "$work"/*/api.log | tail -3 | tr '\n' ' ')"
send=$(cat "$work/send.out")
receive=$(cat "$work/receive.out")
field () { grep -o " $1=[^ ]*" <<< " $2" | head -1 | cut -d= -f2; }
start=$(field start_ms "$send")
delivered_s=$(echo "($(field last_ms "$receive") - $start) / 1000" | bc -l)
receipts_s=$(echo "($(field receipts_ms "$send") - $start) / 1000" | bc -l)
got=$(field n "$receive")
bench_rate=$(echo "$got / $delivered_s" | bc -l)
receipt_rate=$(echo "$n / $receipts_s" | bc -l)
sender_us=$(echo "$(field cpu_us "$send") / $n" | bc -l)
submit_us=$(echo "$(field submit_us "$send") / $n" | bc -l)
receiver_us=$(echo "$(field cpu_us "$receive") / $got" | bc -l)
#  The broker's CPU while the sender ran (its receipts included), in clock ticks of 10 ms.
broker_us=$(echo "($broker_cpu_end - $broker_cpu_start) * 10000 / $n" | bc -l)
total_us=$(echo "$sender_us + $receiver_us + $broker_us" | bc -l)
#  How many cores our three processes kept busy, and how much of one core other work took.
ours_ticks=$(echo "($broker_cpu_end - $broker_cpu_start) + ($(field cpu_us "$send") + $(field cpu_us "$receive")) / 10000" | bc -l)
cores_used=$(echo "$ours_ticks / 100 / $receipts_s" | bc -l)
other_cpu_pct=$(echo "(($machine_end - $machine_start) - $ours_ticks) / $receipts_s" | bc -l)
#  The path's crypto ceiling on this machine's cores: 2 signatures and 3 verifications.
cores=$(nproc)
sign_us=${BENCH_SIGN_US:-38}
verify_us=${BENCH_VERIFY_US:-103}
crypto_us=$((2 * sign_us + 3 * verify_us))
ceiling=$(echo "$cores * 1000000 / $crypto_us" | bc -l)
printf 'bench api: %d referrals of ~1 KiB through the C API, %d per submit: %.0f messages/s delivered to the front door'"'"'s callback (%.2f s), %.0f messages/s with every receipt verified by the sender (%.2f s)\n' \
    "$n" "$batch" "$bench_rate" "$delivered_s" "$receipt_rate" "$receipts_s"
printf 'bench api: CPU per message: sender %.1f us (of which submit %.1f us), front door %.1f us, broker %.1f us; %.1f us in all (the path'"'"'s crypto is %d us)\n' \
    "$sender_us" "$submit_us" "$receiver_us" "$broker_us" "$total_us" "$crypto_us"
printf 'bench api: the crypto ceiling on %d cores is %.0f messages/s; delivered %.2f x of it (target 0.8); at %.1f us of CPU per message these %d cores allow %.0f messages/s\n' \
    "$cores" "$ceiling" "$(echo "$bench_rate / $ceiling" | bc -l)" "$total_us" "$cores" \
    "$(echo "$cores * 1000000 / $total_us" | bc -l)"
#  A stall shows here: messages the sender sent again because the broker did not answer in
#  time (send/resend_ms), and deliveries the front door saw twice.
resent=$(sed -n 's/.*"resent": \([0-9]*\).*/\1/p' "$work/police-gwent/data/status.json")
dups=$(sed -n 's/.*"duplicates_dropped": \([0-9]*\).*/\1/p' "$work/la-newport/data/status.json")
echo "bench api: the sender sent ${resent:-?} messages again for want of an answer; the front door dropped ${dups:-?} duplicate deliveries"
printf 'bench api: the three processes kept %.2f of %d cores busy; other work used %.0f %% of one core (other_cpu_pct)\n' \
    "$cores_used" "$cores" "$other_cpu_pct"
bench_ratio api msgs_per_s "$bench_rate"
bench_ratio api receipts_msgs_per_s "$receipt_rate"
bench_ratio api cpu_us_per_msg "$total_us"
bench_ratio api broker_us_per_msg "$broker_us"
finish >/dev/null
bench_ratio_verdict
