#!/usr/bin/env bash
#  Replies bound to what they answer: the front door's agent puts the SHA-256 of the referral's
#  signed header into its outcome (in_reply_sha256); the broker refuses, typed and audited, a
#  reply whose digest is not that of the message it names.
source "$(dirname "$0")/lib.sh"

start_network police-gwent:POLICE:newport la-newport:LA_FRONT_DOOR:newport

referral_json newport bound-1 > "$work/r1.json"
send police-gwent "$work/r1.json"
wait_kind "$work/la-newport/inbox" REFERRAL 1 10 || bad "referral lost"
r1=$(newest_kind "$work/la-newport/inbox" REFERRAL)
rid1=$(json_field "$r1" msg_id)
hash1=$(json_field "$r1" header_sha256)
expect_match "the delivery shows its header digest" "$hash1" '^[0-9a-f]{64}$'

echo "== the outcome is bound to the referral by the agent"
cat > "$work/o1.json" <<EOF2
{"kind": "OUTCOME", "in_reply_to": "$rid1", "case_id": "bound-1",
 "body": {"decision": "NO_FURTHER_ACTION", "rationale": "no role"}}
EOF2
send la-newport "$work/o1.json"
wait_kind "$work/police-gwent/inbox" NOTICE 1 10 && ok "the outcome is accepted" || bad "no outcome notice"
notice=$(newest_kind "$work/police-gwent/inbox" NOTICE)
expect "the outcome carries the referral's header digest" "$(json_field "$notice" in_reply_sha256)" "$hash1"

echo "== a reply carrying another message's digest is refused"
referral_json newport bound-2 > "$work/r2.json"
send police-gwent "$work/r2.json"
wait_kind "$work/la-newport/inbox" REFERRAL 2 10 || bad "second referral lost"
rid2=$(json_field "$(newest_kind "$work/la-newport/inbox" REFERRAL)" msg_id)
cat > "$work/o2.json" <<EOF2
{"kind": "OUTCOME", "in_reply_to": "$rid2", "in_reply_sha256": "$hash1", "case_id": "bound-2",
 "body": {"decision": "NO_FURTHER_ACTION", "rationale": "written against the first referral"}}
EOF2
send la-newport "$work/o2.json"
wait_count "$work/la-newport/failed" 1 10 "*.error" && ok "the mismatched reply is refused" || bad "mismatched reply accepted"
expect_match "with a typed reason" "$(cat "$work"/la-newport/failed/*.error 2>/dev/null)" "^RH_E_REPLY_MISMATCH"
sleep 1
expect "the referrer heard nothing of it" "$(count_kind "$work/police-gwent/inbox" NOTICE)" 1

stop_broker
log=$("$bin/rhannu-broker" log -f "$work/broker/broker.yaml")
expect "the refusal is audited" "$(echo "$log" | grep -cE 'REJECTED +RH_E_REPLY_MISMATCH')" 1
audit () { "$bin/rhannu-audit" "$@" --data "$work/broker/data" --pki "$work/pki"; }
r=$(audit replay); rc=$?
expect "rhannu-audit replay reproduces every decision" "$rc" 0
expect_match "and checks the accepted reply's binding again" "$r" "checked 1 replies bound to their referral's header: 1 bound to it"
c=$(audit chronology --case bound-2)
expect_match "the chronology shows the refused reply" "$c" "REJECTED .*la-newport .*in_reply_sha256 is not the digest"
start_broker
finish
