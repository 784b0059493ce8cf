#!/usr/bin/env bash
#  make bench (queue): the broker's memory with BENCH_QUEUE_N (default 1,000,000) messages
#  queued for an agency that is offline, and the time from a restart to serving again.
source "$(dirname "$0")/../integration/lib.sh"
n=${BENCH_QUEUE_N:-1000000}
make_pki police-gwent:POLICE:newport la-newport:LA_FRONT_DOOR:newport
start_broker
tc () { "$testclient" "$endpoint" "$work/pki" "$@"; }
tc police-gwent flood "$n" la-newport 1
rss=$(grep VmRSS /proc/$broker_pid/status | awk '{print $2}')
hwm=$(grep VmHWM /proc/$broker_pid/status | awk '{print $2}')
anon=$(grep RssAnon /proc/$broker_pid/status | awk '{print $2}')
file=$(grep RssFile /proc/$broker_pid/status | awk '{print $2}')
echo "bench queue: $n messages queued for an offline agency: broker RSS $((rss / 1024)) MiB (anonymous $((anon / 1024)) MiB, file-backed $((file / 1024)) MiB; peak $((hwm / 1024)) MiB); data on disk $(du -sm "$work/broker/data" | cut -f1) MiB"
kill_broker
[ -n "${STOP_AFTER_FLOOD:-}" ] && exit 0
referral_json newport restart-probe > "$work/probe.json"
: > "$work/broker/broker.log"
start=$(date +%s%N)
start_broker
ready=$(date +%s%N)
tc police-gwent submit "$work/probe.json" police-gwent $((n + 10)) > "$work/probe.out"
end=$(date +%s%N)
echo "bench queue: restart after kill -9 with $n queued: ready in $(( (ready - start) / 1000000 )) ms, first new message accepted after $(( (end - start) / 1000000 )) ms ($(cat "$work/probe.out"))"
start=$(date +%s%N)
start_agent la-newport
wait_count "$work/la-newport/inbox" 1 30
end=$(date +%s%N)
echo "bench queue: offline agency connects: first queued message in its inbox after $(( (end - start) / 1000000 )) ms"
rss=$(grep VmRSS /proc/$broker_pid/status | awk '{print $2}')
echo "bench queue: broker RSS while it starts draining the queue: $((rss / 1024)) MiB"
