#!/usr/bin/env bash
#  make bench (latency): p50/p99 end to end at a steady offered rate (BENCH_RATE, default 1000/s).
source "$(dirname "$0")/../integration/lib.sh"
senders=("${bench_senders[@]}")
start_bench_network
"$(cd "$build" && pwd)/tests/rh-bench-latency" "${BENCH_RATE:-1000}" "${BENCH_LATENCY_N:-10000}" \
    "$work/la-newport/inbox" "$work/police-gwent/outbox" "$work/health-abb/outbox" "$work/education-newport/outbox"
cpu () { awk '{printf "%.2f", ($14 + $15) / 100}' /proc/$1/stat; }
echo "cpu seconds: broker $(cpu $broker_pid)$(for a in "${senders[@]}" la-newport; do printf ', %s %s' $a $(cpu ${agent_pids[$a]}); done)"
