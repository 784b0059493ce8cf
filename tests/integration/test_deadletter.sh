#!/usr/bin/env bash
#  Messages that cannot be delivered: a recipient that never acknowledges, and one that stays
#  offline past the message's expiry. Both end in the dead-letter queue, and the sender is told.
source "$(dirname "$0")/lib.sh"

make_pki police-gwent:POLICE:newport la-newport:LA_FRONT_DOOR:newport health-abb:HEALTH
REDELIVER_MS=300 BROKER_EXTRA="  max_attempts: 2" start_broker
start_agent police-gwent
wait_connected police-gwent || bad "police did not connect"
tc () { "$testclient" "$endpoint" "$work/pki" "$@"; }

echo "== a recipient that takes deliveries but never acknowledges them"
echo '{"kind": "REFERRAL", "to": [{"agency_id": "health-abb"}], "case_id": "dl-1", "body": {"narrative": "never acked"}}' \
    > "$work/stage.json"
mv "$work/stage.json" "$work/police-gwent/outbox/never-acked.json"
out=$(tc health-abb hold 4)
n=$(echo "$out" | grep -c '^DELIVER ')
expect_match "it was delivered and then redelivered ($n times)" "$n" "^[2-9]$"
wait_count "$work/police-gwent/inbox" 1 10 && ok "the sender received a notice" || bad "no notice"
f=$(ls "$work"/police-gwent/inbox/*.json 2>/dev/null | head -1)
expect_match "it is a non-delivery alert from the broker" "$(cat "$f" 2>/dev/null)" '"sender": "broker"'
expect_match "saying why, in English" "$(cat "$f" 2>/dev/null)" 'could not be delivered: it was delivered repeatedly without acknowledgement'
expect_match "and in Welsh" "$(cat "$f" 2>/dev/null)" 'Nid oedd modd danfon eich neges'
expect_match "naming the message" "$(cat "$f" 2>/dev/null)" '"alert_kind": "NON_DELIVERY"'

echo "== a recipient that stays offline past the message's expiry"
expires=$(( $(date +%s) * 1000 + 1000 ))
echo "{\"kind\": \"REFERRAL\", \"to\": [{\"agency_id\": \"la-newport\"}], \"case_id\": \"dl-2\", \"expires_ms\": $expires, \"body\": {\"narrative\": \"too late\"}}" \
    > "$work/stage.json"
mv "$work/stage.json" "$work/police-gwent/outbox/expires.json"
sleep 2.5
start_agent la-newport
wait_connected la-newport || bad "la did not connect"
wait_count "$work/police-gwent/inbox" 2 10 && ok "the sender was told it expired" || bad "no expiry notice"
expect_match "the notice says it expired" "$(cat "$work"/police-gwent/inbox/*.json)" 'it expired before delivery'
sleep 1
expect "the expired message was not delivered" "$(count_files "$work/la-newport/inbox")" 0

stop_broker
log=$("$bin/rhannu-broker" log -f "$work/broker/broker.yaml")
expect "both are in the dead-letter queue of the audit log" "$(echo "$log" | grep -c DEAD_LETTER)" 2
expect "both notices are audited" "$(echo "$log" | grep -c ' NOTICE ')" 2
expect_match "the chain verifies" "$(echo "$log" | tail -1)" "Merkle tree intact"
finish
