#!/usr/bin/env bash
#  Withdrawal of a referral by its referrer (the author or the author's supervisor), with a
#  reason, before and after the decision: the holder and the agencies involved are told by a
#  broker notice, the case is WITHDRAWN, the chronology shows it, the report counts it, and
#  replay decides it again. Anyone else's withdrawal, or a second one, is refused.
source "$(dirname "$0")/lib.sh"

start_network police-gwent:POLICE:newport la-newport:LA_FRONT_DOOR:newport health-abb:HEALTH:newport
withdrawn () { grep -l '"update_kind": "WITHDRAWN"' "$work/$1"/inbox/*.json 2>/dev/null | wc -l; }
wait_withdrawn () {    # wait_withdrawn AGENCY N
    local deadline=$((SECONDS + 10))
    until [ "$(withdrawn $1)" -ge "$2" ]; do [ $SECONDS -lt $deadline ] || return 1; sleep 0.05; done
}
referral () {    # referral CASE
    cat > "$work/$1.json" <<EOF2
{"kind": "REFERRAL", "to": [{"front_door_la": "newport"}], "case_id": "$1", "purpose": "SAFEGUARDING_CHILD",
 "author": {"practitioner_id": "PC-1", "supervisor_id": "DS-9"},
 "body": {"referral_kind": "PPN", "categories": ["DOMESTIC_ABUSE"], "narrative": "about $1",
          "subjects": [{"kind": "CHILD", "home_la": "newport"}]}}
EOF2
    send police-gwent "$work/$1.json"
}
withdraw () {    # withdraw FILE REFERRAL CASE AUTHOR
    cat > "$1" <<EOF2
{"kind": "STATUS_UPDATE", "in_reply_to": "$2", "case_id": "$3", "purpose": "REFERRER_FEEDBACK",
 "author": {"practitioner_id": "$4"},
 "body": {"update_kind": "WITHDRAWN", "detail": "the family moved out of the area"}}
EOF2
}

echo "== withdrawn before the decision, by the referring officer"
referral W1
wait_kind "$work/la-newport/inbox" REFERRAL 1 10 || bad "W1 lost"
w1=$(json_field "$(newest_kind "$work/la-newport/inbox" REFERRAL)" msg_id)
withdraw "$work/x1.json" "$w1" W1 PC-1
send police-gwent "$work/x1.json"
wait_withdrawn la-newport 1 && ok "the holder is told of the withdrawal" || bad "holder not told"
n=$(grep -l '"update_kind": "WITHDRAWN"' "$work"/la-newport/inbox/*.json | head -1)
expect_match "by a broker notice naming the referrer" "$(cat "$n")" '"summary": "police-gwent withdrew referral W1\.'
expect_match "carrying the reason" "$(cat "$n")" 'the family moved out of the area'

echo "== a second withdrawal, and one by the holder, are refused"
withdraw "$work/x1b.json" "$w1" W1 PC-1
send police-gwent "$work/x1b.json"
wait_count "$work/police-gwent/failed" 1 10 "*.error" && ok "withdrawn already: refused" || bad "second withdrawal accepted"
expect_match "naming what is missing" "$(cat "$work"/police-gwent/failed/*.error)" "withdrawn already"
withdraw "$work/x1c.json" "$w1" W1 SW-1
send la-newport "$work/x1c.json"
wait_count "$work/la-newport/failed" 1 10 "*.error" && ok "the holder cannot withdraw" || bad "holder's withdrawal accepted"
expect_match "typed" "$(cat "$work"/la-newport/failed/*.error)" "^RH_E_POLICY: only the referrer"

echo "== withdrawn after the decision, by the officer's supervisor; involved agencies told"
referral W2
wait_kind "$work/la-newport/inbox" REFERRAL 2 10 || bad "W2 lost"
w2=$(json_field "$(newest_kind "$work/la-newport/inbox" REFERRAL)" msg_id)
cat > "$work/o2.json" <<EOF2
{"kind": "OUTCOME", "in_reply_to": "$w2", "case_id": "W2", "to": [{"agency_id": "health-abb"}],
 "body": {"decision": "SIGNPOSTED", "rationale": "health visitor to follow up"}}
EOF2
send la-newport "$work/o2.json"
wait_kind "$work/police-gwent/inbox" NOTICE 1 10 || bad "no outcome notice"
withdraw "$work/x2.json" "$w2" W2 PC-7
send police-gwent "$work/x2.json"
wait_count "$work/police-gwent/failed" 2 10 "*.error" && ok "another officer cannot withdraw it" || bad "another officer withdrew it"
withdraw "$work/x3.json" "$w2" W2 DS-9
send police-gwent "$work/x3.json"
wait_withdrawn la-newport 2 && ok "the supervisor's withdrawal reaches the holder" || bad "holder not told"
wait_withdrawn health-abb 1 && ok "and the agency involved" || bad "involved agency not told"

stop_broker
audit () { "$bin/rhannu-audit" "$@" --data "$work/broker/data" --pki "$work/pki"; }
c=$(audit chronology --case W2)
expect_match "the chronology shows the withdrawal" "$c" "ACCEPTED +STATUS_UPDATE +police-gwent .*withdrawn by the referrer"
r=$(audit replay); rc=$?
expect "rhannu-audit replay reproduces every decision" "$rc" 0
expect_match "none differs" "$r" "[0-9]+ reproduce, 0 do not"
j=$(audit report --json --html "$work/report.html")
expect_match "the report counts the withdrawals" "$(echo "$j" | tr -d ' \n')" '"withdrawals":\{"total":2,"before_decision":1,"after_decision":1\}'
expect_match "and says so on the page" "$(cat "$work/report.html")" "withdrawn by their referrer: 2 \(1 before the decision, 1 after it\)"
start_broker
finish
