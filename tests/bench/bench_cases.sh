#!/usr/bin/env bash
#  make bench (cases): BENCH_CASES (1,000,000) open referral cases with deadlines in the broker's
#  database. Figures: memory against an empty broker, CPU while idle (finding due timers reads
#  the due-time index, never the cases), time to fire the timers that come due, and end-to-end
#  throughput with the cases present.
source "$(dirname "$0")/../integration/lib.sh"
cases=${BENCH_CASES:-1000000}
start_bench_network
sleep 3
empty_rss=$(grep VmRSS /proc/$broker_pid/status | awk '{print $2}')
bench_throughput 10000
empty_rate=$bench_rate
stop_broker
"$build_dir/tests/rh-bench-cases" "$work/broker/data" $cases BENCH-4 la-newport police-gwent
echo "bench cases: database $(du -sm "$work/broker/data" | cut -f1) MiB on disk"
started=$(date +%s.%N)
start_broker
echo "bench cases: broker ready in $(echo "$(date +%s.%N) - $started" | bc -l | cut -c1-5) s with $cases open cases"
for a in "${bench_senders[@]}" la-newport; do wait_connected $a; done
sleep 3
cpu () { awk '{print $14 + $15}' /proc/$broker_pid/stat; }
before=$(cpu); sleep 10; after=$(cpu)
rss=$(grep VmRSS /proc/$broker_pid/status | awk '{print $2}')
printf 'bench cases: broker RSS %d KiB with the cases, %d KiB empty: %+d KiB (target <= 65536); idle CPU %.1f %% of a core\n' \
    $rss $empty_rss $((rss - empty_rss)) "$(echo "($after - $before) / 10" | bc -l)"
#  Move the clock four days on: the reminders of ~0.1 % of the filled cases come due at once, and
#  those of the 10,000 referrals sent above (more follow at ~2/s as real time passes: 1,000,000
#  outcomes spread over 5 days). Timed until that first burst has fired.
lines=$(grep -c "deadline:" "$work/broker/broker.log")
burst=$((cases / 1000 + 10000))
start=$(date +%s.%N)
awk 'BEGIN { printf "%d\n", 4.005 * 86400000 }' > "$work/clock"
deadline=$((SECONDS + 300))
while [ $(( $(grep -c "deadline:" "$work/broker/broker.log") - lines )) -lt $burst ] && [ $SECONDS -lt $deadline ]; do
    sleep 0.05
done
secs=$(echo "$(date +%s.%N) - $start" | bc -l)
printf 'bench cases: %d deadlines fired (each a reminder the broker signs and queues) in %.2f s: %.0f/s\n' \
    $burst $secs "$(echo "$burst / $secs" | bc -l)"
sleep 5    # let the reminders reach la-newport before counting its inbox
already=$(count_files "$work/la-newport/inbox")
echo 0 > "$work/clock"    # back to real time: no more reminders during the throughput run
sleep 1
already=$(count_files "$work/la-newport/inbox")
bench_throughput 10000 $already
printf 'bench cases: end to end %.0f messages/s with %d open cases, %.0f messages/s with none\n' \
    $bench_rate $cases $empty_rate
