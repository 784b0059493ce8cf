#!/usr/bin/env bash
#  Slow is not failed: a receiving agent that is stopped, or takes deliveries without
#  acknowledging them, is waited for; nothing is dead-lettered while it can still be delivered,
#  and nothing is both dead-lettered and delivered. Dead letters (expired messages) can be
#  listed and re-queued by the operator. The broker stops within seconds under load.
source "$(dirname "$0")/lib.sh"

make_pki police-gwent:POLICE:newport la-newport:LA_FRONT_DOOR:newport health-abb:HEALTH
#  A quick redelivery pace: an attempt limit (the old rule gave up after 10) would be reached in
#  seconds.
REDELIVER_MS=${SLOW_REDELIVER_MS:-300} start_broker    #  make soak: the default, 30 s
start_agent police-gwent; start_agent la-newport
wait_connected police-gwent && wait_connected la-newport || bad "agents did not connect"
tc () { "$testclient" "$endpoint" "$work/pki" "$@"; }
non_deliveries () { grep -l NON_DELIVERY "$work"/police-gwent/inbox/*.json 2>/dev/null | wc -l; }
drop () {    # drop PREFIX N TO-JSON
    local n
    mkdir -p "$work/stage"
    for n in $(seq 1 $2); do
        echo "{\"kind\": \"REFERRAL\", \"to\": [$3], \"case_id\": \"$1-$n\", \"body\": {\"narrative\": \"$1 $n\"}}" \
            > "$work/stage/$1-$n.json"
    done
    mv "$work/stage/$1"-*.json "$work/police-gwent/outbox/"
}

echo "== a receiving agent stopped with SIGSTOP is waited for"
kill -STOP "${agent_pids[la-newport]}"
drop stopped 50 '{"agency_id": "la-newport"}'
sleep ${SLOW_STOP_SECONDS:-20}    #  many redelivery periods, and past the heartbeat timeout (15 s)
kill -CONT "${agent_pids[la-newport]}"
wait_count "$work/la-newport/inbox" 50 60 && ok "after SIGCONT all 50 arrived" \
    || bad "$(count_files "$work/la-newport/inbox") of 50 arrived"
sleep 1
expect "each exactly once" "$(grep -h '"case_id"' "$work"/la-newport/inbox/*.json | sort | uniq -d | wc -l)" 0
expect "and nothing more" "$(count_files "$work/la-newport/inbox")" 50
expect "the sender was told of no non-delivery" "$(non_deliveries)" 0

echo "== a connected recipient that never acknowledges is not dead-lettered"
told=$(non_deliveries)
drop unacked 1 '{"agency_id": "health-abb"}'
out=$(tc health-abb hold $(( ${SLOW_REDELIVER_MS:-300} * 3 / 1000 + 5 )))
n=$(echo "$out" | grep -c '^DELIVER ')
expect_match "it was delivered, and again while unacknowledged ($n times)" "$n" "^([2-9]|[1-9][0-9]+)$"
sleep 0.5
expect "the sender was told of no non-delivery" "$(non_deliveries)" $told
start_agent health-abb
wait_count "$work/health-abb/inbox" 1 15 && ok "a real agent then takes it in" || bad "never delivered"
sleep 1
expect "once" "$(count_files "$work/health-abb/inbox")" 1
stop_agent health-abb

echo "== past its expiry a message is dead-lettered, and the operator can re-queue it"
stop_agent la-newport
told=$(non_deliveries)
expires=$(( $(date +%s) * 1000 + 1000 ))
echo "{\"kind\": \"REFERRAL\", \"to\": [{\"agency_id\": \"la-newport\"}], \"case_id\": \"expiring\", \"expires_ms\": $expires, \"body\": {\"narrative\": \"late\"}}" \
    > "$work/stage.json"
mv "$work/stage.json" "$work/police-gwent/outbox/expiring.json"
sleep 2
start_agent la-newport
wait_connected la-newport || bad "la did not reconnect"
deadline=$((SECONDS + 10))
until [ "$(non_deliveries)" -gt $told ] || [ $SECONDS -ge $deadline ]; do sleep 0.1; done
expect "the sender was told it expired" "$(non_deliveries)" $((told + 1))
already=$(count_files "$work/la-newport/inbox")
out=$("$bin/rhannu-broker" dead-letters -f "$work/broker/broker.yaml" 2>&1); rc=$?
expect "against the running broker the operator's command refuses (exit 2)" "$rc" 2
expect_match "saying why" "$out" "the broker is running \\(pid [0-9]+\\): stop it first"
stop_broker
list=$("$bin/rhannu-broker" dead-letters -f "$work/broker/broker.yaml")
expect_match "rhannu-broker dead-letters lists it" "$list" "la-newport +[0-9a-f-]+ +police-gwent .*expired"
id=$(echo "$list" | awk '$1 == "la-newport" {print $2; exit}')
out=$("$bin/rhannu-broker" dead-letters -f "$work/broker/broker.yaml" --requeue "$id")
expect_match "and re-queues it" "$out" "re-queued $id for la-newport"
[ -n "$id" ] && ! "$bin/rhannu-broker" dead-letters -f "$work/broker/broker.yaml" | grep -q -- "$id" \
    && ok "leaving no dead letter" || bad "the dead letter is still listed (or none was)"
start_broker
wait_count "$work/la-newport/inbox" $((already + 1)) 15 && ok "the re-queued message is delivered" \
    || bad "re-queued message not delivered"
stop_broker
log=$("$bin/rhannu-broker" log -f "$work/broker/broker.yaml")
expect_match "the re-queue is audited" "$log" "REQUEUED"
start_broker

echo "== a broker under load stops within seconds"
"$testclient" "$endpoint" "$work/pki" police-gwent flood 20000 la-newport 1000000 > "$work/flood.out" 2>&1 &
flood_pid=$!
sleep 3
started=$(date +%s%N)
kill -TERM $broker_pid
wait $broker_pid
stopped_ms=$(( ($(date +%s%N) - started) / 1000000 ))
broker_pid=""
echo "  (stopped in $stopped_ms ms)"
[ $stopped_ms -lt 5000 ] && ok "SIGTERM under load: stopped in $stopped_ms ms" \
    || bad "SIGTERM under load took $stopped_ms ms"
kill $flood_pid 2>/dev/null; wait $flood_pid 2>/dev/null
start_broker
finish
