#!/usr/bin/env bash
#  Dead letters are for messages that cannot be delivered any more, never for slow recipients.
#  A recipient that takes deliveries without acknowledging them is sent them again, less and
#  less often, and nothing is given up on; a message whose recipient stays offline past its
#  expiry is dead-lettered, and its sender is told in English and Welsh.
source "$(dirname "$0")/lib.sh"

make_pki police-gwent:POLICE:newport la-newport:LA_FRONT_DOOR:newport health-abb:HEALTH
REDELIVER_MS=300 start_broker
start_agent police-gwent
wait_connected police-gwent || bad "police did not connect"
tc () { "$testclient" "$endpoint" "$work/pki" "$@"; }
notices () { grep -l NON_DELIVERY "$work"/police-gwent/inbox/*.json 2>/dev/null | wc -l; }

echo "== a recipient that takes deliveries but never acknowledges them"
echo '{"kind": "REFERRAL", "to": [{"agency_id": "health-abb"}], "case_id": "dl-1", "body": {"narrative": "never acked"}}' \
    > "$work/stage.json"
mv "$work/stage.json" "$work/police-gwent/outbox/never-acked.json"
out=$(tc health-abb hold 5)
n=$(echo "$out" | grep -c '^DELIVER ')
#  Every 300 ms would be 16 deliveries in 5 s; backing off (0.3, 0.6, 1.2, 2.4 s) gives 5.
expect_match "it was delivered, then again while unacknowledged ($n times)" "$n" "^[2-9]$"
expect_match "less and less often: not every redeliver_ms ($n times in 5 s)" "$n" "^[2-7]$"
sleep 1
expect "the sender was told of no non-delivery" "$(notices)" 0
start_agent health-abb
wait_count "$work/health-abb/inbox" 1 15 && ok "the recipient's agent then takes it in" \
    || bad "never delivered"
expect_match "it is the message held all along" "$(cat "$work"/health-abb/inbox/*.json 2>/dev/null)" '"case_id": "dl-1"'
sleep 1
expect "still no non-delivery notice" "$(notices)" 0

echo "== a recipient that stays offline past the message's expiry"
expires=$(( $(date +%s) * 1000 + 1000 ))
echo "{\"kind\": \"REFERRAL\", \"to\": [{\"agency_id\": \"la-newport\"}], \"case_id\": \"dl-2\", \"expires_ms\": $expires, \"body\": {\"narrative\": \"too late\"}}" \
    > "$work/stage.json"
mv "$work/stage.json" "$work/police-gwent/outbox/expires.json"
sleep 2.5
start_agent la-newport
wait_connected la-newport || bad "la did not connect"
deadline=$((SECONDS + 10))
until [ "$(notices)" -ge 1 ] || [ $SECONDS -ge $deadline ]; do sleep 0.1; done
expect "the sender was told it expired" "$(notices)" 1
f=$(grep -l NON_DELIVERY "$work"/police-gwent/inbox/*.json 2>/dev/null | head -1)
expect_match "it is a non-delivery alert from the broker" "$(cat "$f" 2>/dev/null)" '"sender": "broker"'
expect_match "saying why, in English" "$(cat "$f" 2>/dev/null)" 'could not be delivered: it expired before delivery'
expect_match "and in Welsh" "$(cat "$f" 2>/dev/null)" 'Nid oedd modd danfon eich neges'
expect_match "naming the message" "$(cat "$f" 2>/dev/null)" '"related_msg_ids": \[[^]]*"[0-9a-f-]+"'
sleep 1
expect "the expired message was not delivered" "$(count_files "$work/la-newport/inbox")" 0

stop_broker
log=$("$bin/rhannu-broker" log -f "$work/broker/broker.yaml")
expect "only the expired message is in the dead-letter queue of the audit log" "$(echo "$log" | grep -c DEAD_LETTER)" 1
expect "its non-delivery notice is audited" "$(echo "$log" | grep ' NOTICE ' | grep -c 'non-delivery notice')" 1
expect "the unacknowledged message was in the end acknowledged" "$(echo "$log" | grep ' ACKED ' | grep -c health-abb)" 1
list=$("$bin/rhannu-broker" dead-letters -f "$work/broker/broker.yaml")
expect_match "the operator's list names it" "$list" "^la-newport +[0-9a-f-]+ +police-gwent +[0-9T:Z-]+ +it expired before delivery$"
id=$(echo "$list" | awk '$1 == "la-newport" {print $2; exit}')
out=$("$bin/rhannu-broker" dead-letters -f "$work/broker/broker.yaml" --requeue-all)
expect "--requeue-all puts it back in its queue" "$out" "re-queued $id for la-newport"
expect "leaving none" "$("$bin/rhannu-broker" dead-letters -f "$work/broker/broker.yaml")" "no dead letters"
"$bin/rhannu-broker" dead-letters -f "$work/broker/broker.yaml" --requeue "$id" 2>/dev/null
expect "re-queueing it again finds nothing (exit 1)" "$?" 1
log=$("$bin/rhannu-broker" log -f "$work/broker/broker.yaml")
expect "the re-queue is audited once" "$(echo "$log" | grep -c ' REQUEUED ')" 1
expect_match "naming who did it" "$(echo "$log" | grep ' REQUEUED ')" "re-queued for la-newport by .*uid [0-9]+.* with rhannu-broker dead-letters"
expect_match "the chain verifies" "$(echo "$log" | tail -1)" "Merkle tree intact"
finish
