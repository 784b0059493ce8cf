#!/usr/bin/env bash
#  make bench (end to end): three sending agents, one receiving agent, a broker, on this machine.
#  Throughput: BENCH_N messages of ~1 KiB dropped into the senders' outboxes at once, timed from
#  the drop until the last file is in the recipient's inbox. Latency: see rh-bench-latency.
source "$(dirname "$0")/../integration/lib.sh"
total=${BENCH_N:-30000}
senders=("${bench_senders[@]}")
start_bench_network
pad=$(head -c 700 /dev/zero | tr '\0' 'x')
per=$((total / ${#senders[@]}))
for s in "${senders[@]}"; do
    mkdir -p "$work/stage-$s"
    for n in $(seq 1 $per); do
        printf '{"kind":"REFERRAL","to":[{"front_door_la":"newport"}],"case_id":"bench-%s-%d","purpose":"SAFEGUARDING_CHILD","body":{"referral_kind":"PPN","categories":["DOMESTIC_ABUSE"],"subjects":[{"kind":"CHILD","home_la":"newport"}],"consent":{"state":"NOT_REQUIRED_SIGNIFICANT_HARM","family_aware":true},"narrative":"%s"}}' \
            "$s" "$n" "$pad" > "$work/stage-$s/m$n.json"
    done
done
size=$(stat -c %s "$work/stage-police-gwent/m1.json")
total=$((per * ${#senders[@]}))
if [ -n "${PERF_AGENCY:-}" ]; then
    if [ "$PERF_AGENCY" = broker ]; then target=$broker_pid; else target=${agent_pids[$PERF_AGENCY]}; fi
    perf record -g -o "$work/perf.data" -p $target 2>/dev/null &
    perf_pid=$!
fi
start=$(date +%s.%N)
for s in "${senders[@]}"; do find "$work/stage-$s" -name '*.json' -exec mv -t "$work/$s/outbox/" {} + & done
wait_count "$work/la-newport/inbox" $total 600 || echo "timed out with $(count_files "$work/la-newport/inbox")"
end=$(date +%s.%N)
if [ -n "${PERF_AGENCY:-}" ]; then
    kill -INT $perf_pid; wait $perf_pid
    perf report -i "$work/perf.data" --no-children --stdio 2>/dev/null | grep -E '^ +[0-9]' | head -25
fi
rss=$(grep VmHWM /proc/$broker_pid/status | awk '{print $2}')
secs=$(echo "$end - $start" | bc -l)
cpu () { awk '{printf "%.2f", ($14 + $15) / 100}' /proc/$1/stat; }
echo "cpu seconds: broker $(cpu $broker_pid)$(for a in "${senders[@]}" la-newport; do printf ', %s %s' $a $(cpu ${agent_pids[$a]}); done)"
broker_us=$(awk -v n=$total '{printf "%.1f", ($14 + $15) * 10000 / n}' /proc/$broker_pid/stat)
policy=$("$build_dir/tests/rh-bench-policy" time "$work/agreements" "$work/pki" police-gwent la-newport 2>&1)
echo "$policy" | grep '^bench policy'
decision_us=$(echo "$policy" | sed -n 's/^decision_us=\([0-9.]*\).*/\1/p')
printf 'bench policy: broker CPU per message %s us; one agreement decision is %.1f %% of it (target < 5 %%)\n' \
    "$broker_us" "$(echo "100 * $decision_us / $broker_us" | bc -l)"
printf 'bench e2e: %d messages of %d bytes JSON (sealed ~1 KiB) from 3 agents in %.2f s: %.0f messages/s; broker peak RSS %d KiB\n' \
    $total $size $secs "$(echo "$total / $secs" | bc -l)" $rss
