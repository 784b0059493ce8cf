#!/usr/bin/env bash
#  make bench (end to end): three sending agents, one receiving agent, a broker, on this machine.
#  Throughput: BENCH_N messages of ~1 KiB dropped into the senders' outboxes at once, timed from
#  the drop until the last file is in the recipient's inbox. Latency: see rh-bench-latency.
source "$(dirname "$0")/../integration/lib.sh"
senders=("${bench_senders[@]}")
start_bench_network
if [ -n "${PERF_AGENCY:-}" ]; then
    if [ "$PERF_AGENCY" = broker ]; then target=$broker_pid; else target=${agent_pids[$PERF_AGENCY]}; fi
    perf record ${PERF_OPTS:--g} -o "${PERF_OUT:-$work/perf.data}" -p $target 2>/dev/null &
    perf_pid=$!
fi
bench_throughput ${BENCH_N:-30000}
total=$(count_files "$work/la-newport/inbox")
if [ -n "${PERF_AGENCY:-}" ]; then
    kill -INT $perf_pid; wait $perf_pid
    perf report -i "${PERF_OUT:-$work/perf.data}" --no-children --stdio 2>/dev/null | grep -E '^ +[0-9]' | head -25
fi
rss=$(grep VmHWM /proc/$broker_pid/status | awk '{print $2}')
cpu () { awk '{printf "%.2f", ($14 + $15) / 100}' /proc/$1/stat; }
echo "cpu seconds: broker $(cpu $broker_pid)$(for a in "${senders[@]}" la-newport; do printf ', %s %s' $a $(cpu ${agent_pids[$a]}); done); broker peak RSS $rss KiB"
broker_us=$(awk -v n=$total '{printf "%.1f", ($14 + $15) * 10000 / n}' /proc/$broker_pid/stat)
policy=$("$build_dir/tests/rh-bench-policy" time "$work/agreements" "$work/pki" police-gwent la-newport 2>&1)
echo "$policy" | grep '^bench policy'
decision_us=$(echo "$policy" | sed -n 's/^decision_us=\([0-9.]*\).*/\1/p')
printf 'bench policy: broker CPU per message %s us (incl. its case and receipt); one agreement decision is %.1f %% of it (target < 5 %%)\n' \
    "$broker_us" "$(echo "100 * $decision_us / $broker_us" | bc -l)"
#  The write budget: what the broker handed LevelDB per message (its own count, logged when it
#  stops), what reached the disk (the kernel's count, LevelDB's log and compactions included)
#  and what the store holds.
disk_written=$(awk '/^write_bytes/ {print $2}' /proc/$broker_pid/io)
stop_broker
grep 'db writes:' "$work/broker/broker.log" | sed 's/.*db writes: //' | awk -v n=$total '
    $1 == "total" { printf "bench writes: the broker wrote %.0f bytes in %.1f puts and %.1f deletes per message to its store; %d commits, %d synchronous\n", $6 / n, $2 / n, $4 / n, $8, $10; next }
    { printf "bench writes:   %-6s %7.0f bytes %5.2f puts %5.2f deletes per message\n", $1, $6 / n, $2 / n, $4 / n }'
printf 'bench writes: %.0f bytes reached the disk per message (LevelDB log and compactions included); the store holds %.0f bytes per message\n' \
    "$(echo "$disk_written / $total" | bc -l)" "$(echo "$(du -sb "$work/broker/data" | cut -f1) / $total" | bc -l)"
#  Today's figures as ratios of the committed baseline (tests/bench/baseline.txt).
source "$(dirname "$0")/bench_ratio.sh"
bench_ratio e2e msgs_per_s "$bench_rate"
bench_ratio e2e broker_us_per_msg "$broker_us"
bench_ratio e2e disk_bytes_per_msg "$(echo "$disk_written / $total" | bc -l)"
bench_ratio e2e store_bytes_per_msg "$(echo "$(du -sb "$work/broker/data" | cut -f1) / $total" | bc -l)"
bench_ratio_verdict
