#!/usr/bin/env bash
#  What an operator watches: the broker's and an agent's /metrics (Prometheus text format, read
#  by promtool when it is installed and by tests/integration/prom_check.py always), /healthz and
#  /readyz; rhannu-broker status; and what systemd is told (READY, STATUS, WATCHDOG, STOPPING).
#  The figures are checked as they move: a queue grows while its recipient is stopped and
#  drains when it is back, a refusal is counted by its code, an agent's outbox grows while the
#  broker is down, and /readyz turns 503 when the CRL has expired or the store's disk is full.
source "$(dirname "$0")/lib.sh"

make_pki police-gwent:POLICE:newport la-newport:LA_FRONT_DOOR:newport health-abb:HEALTH
claim_port; broker_port=$claimed_port
claim_port; agent_port=$claimed_port
broker_url="http://127.0.0.1:$broker_port"
agent_url="http://127.0.0.1:$agent_port"
tc () { "$testclient" "$endpoint" "$work/pki" "$@"; }
http () { curl -s --max-time 5 "$@"; }
#  metric URL SAMPLE: the value of one sample line ("name" or 'name{label="value"}'), or "".
metric () { http "$1/metrics" | awk -v n="$2" '$1 == n { print $2 }'; }
#  wait_metric URL SAMPLE VALUE SECONDS: until the sample reads VALUE.
wait_metric () {
    local deadline=$((SECONDS + $4))
    until [ "$(metric "$1" "$2")" = "$3" ]; do
        [ $SECONDS -lt $deadline ] || return 1
        sleep 0.2
    done
}
status () { "$bin/rhannu-broker" status -f "$work/broker/broker.yaml" "$@" 2>&1; }

#  systemd's side of sd_notify: a datagram socket whose messages are written to a file, one
#  assignment a line.
notify_pids=()
listen_notify () {    # listen_notify NAME
    python3 -c '
import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(sys.argv[1])
with open(sys.argv[2], "a") as out:
    while True:
        out.write(s.recv(4096).decode() + "\n")
        out.flush()
' "$work/$1.sock" "$work/$1.notify" &
    notify_pids+=($!)
    local deadline=$((SECONDS + 10))
    until [ -S "$work/$1.sock" ] || [ $SECONDS -ge $deadline ]; do sleep 0.05; done
}
on_exit () {
    for pid in "${notify_pids[@]}"; do kill "$pid" 2>/dev/null; done
    [ -n "${small_fs_kind:-}" ] && unmount_small_fs
    cleanup
}
trap on_exit EXIT

#  The broker's store on a small file system of its own, to fill it at the end (skipped where
#  this machine cannot mount one).
small_fs_mounts=()
mount_small_fs "$work/broker/data" 16384 || echo "  (no small file system here: the full-disk check is skipped)"
trap on_exit EXIT

echo "== metrics are off by default; systemd hears READY, STATUS, WATCHDOG and STOPPING"
listen_notify broker
NOTIFY_SOCKET="$work/broker.sock" WATCHDOG_USEC=400000 start_broker
sleep 1.5
expect "READY=1 once the broker serves" "$(grep -c '^READY=1$' "$work/broker.notify")" 1
expect_match "a STATUS= line for systemctl status" "$(grep '^STATUS=' "$work/broker.notify" | head -1)" \
    '^STATUS=0 agencies connected, 0 queued, 0 dead letters$'
n=$(grep -c '^WATCHDOG=1$' "$work/broker.notify")
expect_match "WATCHDOG=1 from the loop, every half interval (200 ms): $n in ~1.5 s" "$n" '^([3-9]|1[0-9])$'
http -o /dev/null "$broker_url/metrics"; rc=$?
expect "nothing listens for HTTP without metrics/listen (curl exit $rc)" "$([ $rc -ne 0 ] && echo off)" off
expect_match "status says metrics/listen is not set" "$(status)" 'metrics/listen is not set'
stop_broker
expect "STOPPING=1 on the way out" "$(grep -c '^STOPPING=1$' "$work/broker.notify")" 1
expect_match "status of a stopped broker says it is not running" "$(status --metrics "$broker_url")" \
    '^rhannu-broker status: the broker is not running '

echo "== a listen address that is not loopback is refused unless allowed"
sed "s|^delivery:|metrics:\n  listen: 0.0.0.0:$broker_port\ndelivery:|" "$work/broker/broker.yaml" > "$work/remote.yaml"
timeout 20 "$bin/rhannu-broker" -f "$work/remote.yaml" 2> "$work/remote.log"; rc=$?
expect "the broker does not start (exit $rc)" "$([ $rc -ne 0 ] && [ $rc -ne 124 ] && echo refused)" refused
expect_match "and says why" "$(grep 'metrics/listen' "$work/remote.log")" 'not a loopback address.*metrics/allow_remote'

echo "== a broker and two agents with metrics on"
BROKER_EXTRA="metrics:
  listen: 127.0.0.1:$broker_port" start_broker
listen_notify agent
AGENT_EXTRA="metrics:
  listen: 127.0.0.1:$agent_port" NOTIFY_SOCKET="$work/agent.sock" start_agent police-gwent
start_agent la-newport
wait_connected police-gwent || bad "police did not connect"
wait_connected la-newport || bad "la-newport did not connect"
expect "the agent told systemd READY=1" "$(grep -c '^READY=1$' "$work/agent.notify" 2>/dev/null)" 1
expect "/healthz: the broker's loop answers" "$(http "$broker_url/healthz")" alive
expect "/readyz: store writable, agreements in force, CRL current" \
    "$(http -w ' %{http_code}' "$broker_url/readyz")" "ready
 200"
wait_metric "$broker_url" rhannu_broker_agencies_connected 2 10
expect "two agencies connected" "$(metric "$broker_url" rhannu_broker_agencies_connected)" 2
http "$broker_url/metrics" > "$work/broker.prom"
http "$agent_url/metrics" > "$work/agent.prom"
for what in broker agent; do
    out=$(python3 "$(dirname "$0")/prom_check.py" < "$work/$what.prom"); rc=$?
    expect "the $what's exposition is well formed ${out:+($out)}" "$rc" 0
    if command -v promtool >/dev/null; then
        out=$(promtool check metrics < "$work/$what.prom" 2>&1); rc=$?
        expect "promtool check metrics accepts the $what's ${out:+($out)}" "$rc" 0
    fi
done
for series in rhannu_broker_queue_depth rhannu_broker_queue_oldest_age_seconds \
        rhannu_broker_submissions_total rhannu_broker_commit_batch_size \
        rhannu_broker_commit_duration_seconds rhannu_broker_verify_backlog \
        rhannu_broker_dead_letters rhannu_broker_audit_records \
        rhannu_broker_audit_checkpoint_age_seconds rhannu_broker_crl_expiry_seconds \
        rhannu_broker_trust_bundle_expiry_seconds process_resident_memory_bytes \
        process_open_fds process_cpu_seconds_total process_start_time_seconds; do
    grep -q "^# TYPE $series " "$work/broker.prom" || bad "the broker has no $series"
done
for series in rhannu_agent_connected rhannu_agent_outbox_depth \
        rhannu_agent_oldest_unanswered_seconds rhannu_agent_inbox_backlog \
        rhannu_agent_last_accepted_timestamp_seconds rhannu_agent_trust_bundle_age_seconds; do
    grep -q "^# TYPE $series " "$work/agent.prom" || bad "the agent has no $series"
done
expect "the agent is connected" "$(metric "$agent_url" rhannu_agent_connected)" 1
expect "the broker's process figures are there" \
    "$(awk '$1 == "process_open_fds" && $2 > 3 { print "yes" }' "$work/broker.prom")" yes
expect "its queue figures name the agencies" \
    "$(grep -c '^rhannu_broker_queue_depth{agency="\(la-newport\|police-gwent\)"} 0$' "$work/broker.prom")" 2

echo "== the figures move as messages flow"
referral_json newport metrics-1 > "$work/stage.json"
mv "$work/stage.json" "$work/police-gwent/outbox/r1.json"
wait_count "$work/la-newport/inbox" 1 15 || bad "the first referral did not arrive"
wait_metric "$broker_url" 'rhannu_broker_submissions_total{result="RH_OK"}' 1 10
expect "one submission accepted" "$(metric "$broker_url" 'rhannu_broker_submissions_total{result="RH_OK"}')" 1
wait_metric "$agent_url" rhannu_agent_accepted_total 1 10
expect "the agent counts it accepted" "$(metric "$agent_url" rhannu_agent_accepted_total)" 1
expect_match "and when" "$(metric "$agent_url" rhannu_agent_last_accepted_timestamp_seconds)" '^1[0-9]{9}'
stop_agent la-newport
for n in 2 3 4; do
    referral_json newport "metrics-$n" > "$work/stage.json"
    mv "$work/stage.json" "$work/police-gwent/outbox/r$n.json"
done
wait_metric "$broker_url" 'rhannu_broker_queue_depth{agency="la-newport"}' 3 15
expect "three wait for the stopped front door" \
    "$(metric "$broker_url" 'rhannu_broker_queue_depth{agency="la-newport"}')" 3
expect "it is not connected" "$(metric "$broker_url" 'rhannu_broker_agency_connected{agency="la-newport"}')" 0
sleep 1.1
age=$(metric "$broker_url" 'rhannu_broker_queue_oldest_age_seconds{agency="la-newport"}')
expect "the oldest has waited a second or more ($age s)" "$(awk -v a="$age" 'BEGIN { print (a >= 1 && a < 60) ? "yes" : "no" }')" yes
out=$(status)
expect_match "status lists the queue" "$(echo "$out" | grep '^la-newport ')" \
    '^la-newport +no +3 +[0-9]+s +0$'
expect_match "and the connected sender" "$(echo "$out" | grep '^police-gwent ')" \
    '^police-gwent +yes +0 +- +0$'
expect_match "and says the broker is ready" "$(echo "$out" | head -1)" '^broker broker: running, ready$'
start_agent la-newport
wait_count "$work/la-newport/inbox" 4 20 || bad "the queue was not delivered"
wait_metric "$broker_url" 'rhannu_broker_queue_depth{agency="la-newport"}' 0 15
expect "the queue drains when the front door is back" \
    "$(metric "$broker_url" 'rhannu_broker_queue_depth{agency="la-newport"}')" 0

echo "== a refusal is counted by its code"
echo '{"kind": "REFERRAL", "to": [{"agency_id": "la-newport"}], "case_id": "imp-1", "body": {"narrative": "x"}}' > "$work/imp.json"
expect_match "a message signed as police on health's session is refused" \
    "$(tc health-abb submit "$work/imp.json" police-gwent 1)" 'REJECTED .* RH_E_IMPERSONATION'
wait_metric "$broker_url" 'rhannu_broker_submissions_total{result="RH_E_IMPERSONATION"}' 1 10
expect "it is counted as RH_E_IMPERSONATION" \
    "$(metric "$broker_url" 'rhannu_broker_submissions_total{result="RH_E_IMPERSONATION"}')" 1
expect "and nothing else was refused" \
    "$(http "$broker_url/metrics" | awk '/^rhannu_broker_submissions_total/ && !/RH_OK|IMPERSONATION/ { s += $2 } END { print s + 0 }')" 0

echo "== an agent's outbox grows while the broker is down"
stop_broker
referral_json newport metrics-5 > "$work/stage.json"
mv "$work/stage.json" "$work/police-gwent/outbox/r5.json"
wait_metric "$agent_url" rhannu_agent_outbox_depth 1 15
expect "one message waits in the outbox" "$(metric "$agent_url" rhannu_agent_outbox_depth)" 1
wait_metric "$agent_url" rhannu_agent_connected 0 15
expect "the agent is not connected" "$(metric "$agent_url" rhannu_agent_connected)" 0
expect "its /readyz says so" "$(http -w ' %{http_code}' "$agent_url/readyz")" "not connected to the broker
 503"
BROKER_EXTRA="metrics:
  listen: 127.0.0.1:$broker_port" start_broker
wait_metric "$agent_url" rhannu_agent_outbox_depth 0 20
expect "the outbox drains when the broker is back" "$(metric "$agent_url" rhannu_agent_outbox_depth)" 0
wait_count "$work/la-newport/inbox" 5 20 || bad "the fifth referral did not arrive"

echo "== /readyz: an expired CRL"
set_clock 31
sleep 1.1
expect_match "503 once the CRL is past its next update" \
    "$(http -w ' %{http_code}' "$broker_url/readyz")" '^CRL expired .*re-issue it and reload
 503$'
expect "rhannu_broker_ready says 0" "$(metric "$broker_url" rhannu_broker_ready)" 0
expect_match "the CRL's seconds to expiry are negative" "$(metric "$broker_url" rhannu_broker_crl_expiry_seconds)" '^-'
expect_match "status says it is not ready" "$(status | head -1)" 'NOT READY: CRL expired'
echo 0 > "$work/clock"
sleep 1.5
expect "200 again with the clock back" "$(http -o /dev/null -w '%{http_code}' "$broker_url/readyz")" 200

if [ -n "${small_fs_kind:-}" ]; then
    echo "== /readyz: the store's disk is full ($small_fs_kind)"
    fill_fs "$work/broker/data"
    sleep 1.1
    expect_match "503 while nothing more fits" "$(http -w ' %{http_code}' "$broker_url/readyz")" \
        '^store not writable: .*
 503$'
    rm -f "$work/broker/data/filler" "$work/broker/data/filler-tail"
    sleep 1.1
    expect "200 again with room" "$(http -o /dev/null -w '%{http_code}' "$broker_url/readyz")" 200
fi
finish
