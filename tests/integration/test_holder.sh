#!/usr/bin/env bash
#  Only the agency holding a case records its outcome and updates: another front door cannot
#  decide on (or close) a referral it does not hold, even under an agreement that lets it send
#  outcomes. The refusal is typed, audited, and reaches nobody.
source "$(dirname "$0")/lib.sh"

start_network police-gwent:POLICE:newport la-newport:LA_FRONT_DOOR:newport la-cardiff:LA_FRONT_DOOR:cardiff

referral_json newport held-1 > "$work/r.json"
send police-gwent "$work/r.json"
wait_kind "$work/la-newport/inbox" REFERRAL 1 10 && ok "the referral reached Newport" || bad "referral lost"
rid=$(json_field "$(newest_kind "$work/la-newport/inbox" REFERRAL)" msg_id)

echo "== another front door's outcome on it is refused"
cat > "$work/o.json" <<EOF2
{"kind": "OUTCOME", "in_reply_to": "$rid", "case_id": "held-1",
 "body": {"decision": "NO_FURTHER_ACTION", "rationale": "not ours"}}
EOF2
send la-cardiff "$work/o.json"
wait_count "$work/la-cardiff/failed" 1 10 "*.error" && ok "Cardiff's outcome is refused" || bad "Cardiff's outcome accepted"
expect_match "with a typed reason" "$(cat "$work"/la-cardiff/failed/*.error 2>/dev/null)" "^RH_E_NOT_HOLDER: .*la-newport"
cat > "$work/u.json" <<EOF2
{"kind": "STATUS_UPDATE", "in_reply_to": "$rid", "case_id": "held-1",
 "body": {"update_kind": "CLOSED", "detail": "closing someone else's case"}}
EOF2
send la-cardiff "$work/u.json"
wait_count "$work/la-cardiff/failed" 2 10 "*.error" && ok "and so is its update" || bad "Cardiff's update accepted"
sleep 1
expect "the referrer heard nothing from Cardiff" "$(grep -l la-cardiff "$work"/police-gwent/inbox/*.json 2>/dev/null | wc -l)" 0

echo "== the holder's own outcome goes through"
cat > "$work/o2.json" <<EOF2
{"kind": "OUTCOME", "in_reply_to": "$rid", "case_id": "held-1",
 "body": {"decision": "NO_FURTHER_ACTION", "rationale": "no role for children's services"}}
EOF2
send la-newport "$work/o2.json"
wait_kind "$work/police-gwent/inbox" NOTICE 1 10 && ok "the referrer hears Newport's outcome" || bad "no outcome"
expect_match "it is Newport's decision" "$(cat "$(newest_kind "$work/police-gwent/inbox" NOTICE)")" '"decision": "NO_FURTHER_ACTION"'
expect "and only that one" "$(count_kind "$work/police-gwent/inbox" NOTICE)" 1

echo "== a case transferred to another front door: both may speak for it, no one else"
referral_json newport held-2 > "$work/r2.json"
send police-gwent "$work/r2.json"
wait_kind "$work/la-newport/inbox" REFERRAL 2 10 || bad "second referral lost"
rid2=$(grep -o '"msg_id": "[^"]*"' "$(newest_kind "$work/la-newport/inbox" REFERRAL)" | head -1 | cut -d'"' -f4)
cat > "$work/t.json" <<EOF2
{"kind": "TRANSFER", "to": [{"agency_id": "la-cardiff"}], "in_reply_to": "$rid2", "case_id": "held-2",
 "body": {"to": {"agency_id": "la-cardiff"}, "reason": "the family moved to Cardiff"}}
EOF2
send la-newport "$work/t.json"
wait_kind "$work/la-cardiff/inbox" TRANSFER 1 10 && ok "Newport hands the case to Cardiff" || bad "transfer lost"
sed "s/$rid/$rid2/; s/held-1/held-2/; s/not ours/ours now/" "$work/o.json" > "$work/o4.json"
send la-cardiff "$work/o4.json"
wait_kind "$work/police-gwent/inbox" NOTICE 2 10 && ok "Cardiff's outcome reaches the referrer" || bad "Cardiff's outcome did not arrive"
expect_match "it carries Cardiff's decision" "$(cat "$(newest_kind "$work/police-gwent/inbox" NOTICE)")" 'ours now'

stop_broker
log=$("$bin/rhannu-broker" log -f "$work/broker/broker.yaml")
expect "both refusals are audited" "$(echo "$log" | grep -cE 'REJECTED +RH_E_NOT_HOLDER')" 2
start_broker
finish
