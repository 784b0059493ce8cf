#!/usr/bin/env bash
#  Lateral checks (issue 17) with real processes: the front door asks two partners whether a
#  child is known to their service, with a reply-by time two days on (on the broker's simulated
#  clock). One answers at once; the other is reminded at 75% of the time, and when the reply-by
#  time passes both sides are alerted; its late answer still closes the check, and a second
#  answer is refused. A response is the front door's only: relaying it to a partner is refused
#  (typed, audited), to the board (whose rule says onward: true) it is allowed. The auditor's
#  tools show and reproduce each step.
source "$(dirname "$0")/lib.sh"
top=$(cd "$(dirname "$0")/../.." && pwd)

agencies=(police-gwent:POLICE:newport health-abb:HEALTH:newport la-newport:LA_FRONT_DOOR:newport
          gwent-board:GOVERNANCE)
make_pki "${agencies[@]}"
rm -f "$work"/agreements/*
cp "$top/tests/integration/agreements/lateral.yaml" "$work/agreements/"
sign_agreements
start_broker
for spec in "${agencies[@]}"; do start_agent "${spec%%:*}"; done
for spec in "${agencies[@]}"; do wait_connected "${spec%%:*}" || bad "${spec%%:*} did not connect"; done

send () { "$bin/rhannu-agent" send -f "$work/$1/agent.yaml" "$2" >/dev/null; }
inbox () { echo "$work/$1/inbox"; }
alerts () { grep -l "\"alert_kind\": \"$2\"" "$(inbox $1)"/*.json 2>/dev/null | wc -l; }
wait_alerts () {    # wait_alerts AGENCY ALERT_KIND N
    local deadline=$((SECONDS + 10))
    until [ "$(alerts $1 $2)" -ge "$3" ]; do [ $SECONDS -lt $deadline ] || return 1; sleep 0.05; done
}
failed_count () { count_files "$work/$1/failed" "*.error"; }
last_error () { cat "$(ls -t "$work/$1"/failed/*.error | head -1)"; }
msg_id () { grep -h '"msg_id"' "$1" | head -1 | cut -d'"' -f4; }
response () {    # response FILE REQUEST-ID KNOWN
    cat > "$1" <<EOF
{"kind": "INFO_RESPONSE", "case_id": "L1", "purpose": "SAFEGUARDING_CHILD", "in_reply_to": "$2",
 "author": {"practitioner_id": "RESP-1"},
 "body": {"original_msg_id": "$2", "known_to_service": $3, "content": "seen at clinic in May"}}
EOF
}
relay () {    # relay FILE TO RESPONSE-ID
    cat > "$1" <<EOF
{"kind": "TRANSFER", "to": [{"agency_id": "$2"}], "case_id": "L1", "purpose": "SAFEGUARDING_CHILD",
 "in_reply_to": "$3", "author": {"practitioner_id": "SW-2"},
 "body": {"reason": "passing on what health said"}}
EOF
}

echo "== the front door asks two partners, reply by two days on"
reply_by=$(($(date +%s%3N) + 2 * 86400000))
cat > "$work/request.json" <<EOF
{"kind": "INFO_REQUEST", "to": [{"agency_id": "health-abb"}, {"agency_id": "police-gwent"}],
 "case_id": "L1", "purpose": "SAFEGUARDING_CHILD", "author": {"practitioner_id": "SW-2"},
 "body": {"question": "Is this child known to your service?", "fields_requested": ["contacts"],
          "reply_by_ms": $reply_by,
          "subjects": [{"kind": "CHILD", "home_la": "newport", "name": "Child L1", "date_of_birth": "2016-01-01"}]}}
EOF
send la-newport "$work/request.json"
wait_kind "$(inbox health-abb)" INFO_REQUEST 1 10 && ok "health receives the request" || bad "no request at health"
wait_kind "$(inbox police-gwent)" INFO_REQUEST 1 10 && ok "police receive the request" || bad "no request at police"
request=$(msg_id "$(newest_kind "$(inbox health-abb)" INFO_REQUEST)")
expect_match "the request has an id" "$request" "^[0-9a-f-]{36}$"

echo "== health answers at once: linked to the request, to the front door only"
response "$work/health-response.json" "$request" true
send health-abb "$work/health-response.json"
wait_kind "$(inbox la-newport)" INFO_RESPONSE 1 10 && ok "the front door receives health's response" || bad "no response at the front door"
health_response=$(msg_id "$(newest_kind "$(inbox la-newport)" INFO_RESPONSE)")
expect_match "it answers the request" "$(cat "$(newest_kind "$(inbox la-newport)" INFO_RESPONSE)")" "\"in_reply_to\": \"$request\""
expect "police do not see it" "$(count_kind "$(inbox police-gwent)" INFO_RESPONSE)" 0

echo "== day 1.6: police, not yet answered, are reminded; health is not"
set_clock 1.6
wait_alerts police-gwent INFO_REQUEST_REMINDER 1 && ok "police get a reminder" || bad "no reminder"
a=$(cat $(grep -l '"alert_kind": "INFO_REQUEST_REMINDER"' "$(inbox police-gwent)"/*.json | head -1))
expect_match "naming the requester, the case and the reply-by time" "$a" '"summary_en": "Reminder: a reply to the information request from la-newport about case L1 is due by '
expect_match "in Welsh too" "$a" '"summary_cy": "Nodyn atgoffa: mae ateb i.r cais am wybodaeth gan la-newport'
expect_match "and the request to answer" "$(echo "$a" | tr -d ' \n')" "\"related_msg_ids\":\\[\"$request\"\\]"
sleep 0.5
expect "health, who answered, is not reminded" "$(alerts health-abb INFO_REQUEST_REMINDER)" 0
expect "nothing is overdue yet" "$(alerts la-newport INFO_REQUEST_OVERDUE)" 0

echo "== day 2.1: the reply-by time passed; the front door and police are alerted"
set_clock 2.1
wait_alerts la-newport INFO_REQUEST_OVERDUE 1 && ok "the front door is told police's reply is overdue" || bad "no overdue alert to the requester"
wait_alerts police-gwent INFO_REQUEST_OVERDUE 1 && ok "police are told too" || bad "no overdue alert to the partner"
expect_match "the alert names who has not replied" "$(cat $(grep -l '"alert_kind": "INFO_REQUEST_OVERDUE"' "$(inbox la-newport)"/*.json | head -1))" '"summary_en": "The reply from police-gwent to the information request from la-newport about case L1 was due by .* and has not come."'
sleep 0.5
expect "health's answered check does not go overdue" "$(alerts health-abb INFO_REQUEST_OVERDUE)" 0
expect "one overdue alert to the front door" "$(alerts la-newport INFO_REQUEST_OVERDUE)" 1
lateral_status () { tr -d ' \n' < "$work/$1/data/status.json" | grep -o '"lateral_checks":{[^}]*}'; }
wait_status () {    # wait_status AGENCY REGEX: the agent's status.json shows it (written as it goes)
    local deadline=$((SECONDS + 10))
    until lateral_status $1 | grep -qE "$2"; do [ $SECONDS -lt $deadline ] || return 1; sleep 0.1; done
}
wait_status police-gwent "\"reminders\":1,\"overdue\":1,\"last_request\":\"$request\"" \
    && ok "police's agent status shows the reminder and the overdue request" || bad "police status: $(lateral_status police-gwent)"
wait_status la-newport '"reminders":0,"overdue":1' \
    && ok "the front door's agent status shows its request overdue" || bad "front door status: $(lateral_status la-newport)"
expect_match "rhannu-agent status prints it" "$("$bin/rhannu-agent" status -f "$work/la-newport/agent.yaml" 2>&1)" "lateral_checks +\{\"reminders\": 0, \"overdue\": 1"

echo "== police answer late: still linked; a second answer is refused"
response "$work/police-response.json" "$request" false
send police-gwent "$work/police-response.json"
wait_kind "$(inbox la-newport)" INFO_RESPONSE 2 10 && ok "the late response reaches the front door" || bad "late response lost"
response "$work/police-again.json" "$request" true
send police-gwent "$work/police-again.json"
wait_count "$work/police-gwent/failed" 1 10 "*.error" && ok "a second answer is refused" || bad "second answer accepted"
expect_match "typed" "$(last_error police-gwent)" "missing: lateral_open"

echo "== the response is not shared onward, unless the agreement says so"
relay "$work/relay-police.json" police-gwent "$health_response"
send la-newport "$work/relay-police.json"
wait_count "$work/la-newport/failed" 1 10 "*.error" && ok "relaying health's response to police is refused" || bad "relay to police accepted"
expect_match "typed: onward" "$(last_error la-newport)" "missing: onward"
expect_match "naming the rule that does not allow it" "$(last_error la-newport)" "rule L3 does not allow sharing it onward to police-gwent"
sleep 0.3
expect "police received no transfer" "$(count_kind "$(inbox police-gwent)" TRANSFER)" 0
relay "$work/relay-board.json" gwent-board "$health_response"
send la-newport "$work/relay-board.json"
wait_kind "$(inbox gwent-board)" TRANSFER 1 10 && ok "to the board, whose rule says onward: true, it goes" || bad "onward transfer to the board lost"
expect "nothing else was refused" "$(failed_count la-newport)" 1
! grep -q "seen at clinic" "$work/broker/broker.log" && ok "the broker log keeps no response content" || bad "response content in the broker log"

echo "== the auditor's tools"
stop_broker
audit () { "$bin/rhannu-audit" "$@" --data "$work/broker/data" --pki "$work/pki"; }
r=$(audit replay); rc=$?
expect "rhannu-audit replay reproduces every decision" "$rc" 0
expect_match "the lateral checks included" "$r" "lateral checks: 2 partners asked, 2 answered \(1 late\), 1 went overdue; reproduced from the log: 2 answers, 1 onward share, 0 do not"
c=$(audit chronology --case L1)
expect_match "the L1 chronology shows the request tracked" "$c" "LATERAL_REQUESTED .*la-newport"
expect_match "police's reply overdue" "$c" "LATERAL_OVERDUE .*police-gwent"
expect_match "each answer linked" "$c" "LATERAL_ANSWERED .*health-abb"
expect_match "the onward share refused" "$c" "REJECTED .*la-newport"
j=$(audit report --json --html "$work/report.html" | tr -d ' \n')
expect_match "the report counts the lateral checks" "$j" '"lateral_checks":\{"requests":1,"partners_asked":2,"answered_in_time":1,"answered_late":1,"overdue":1,"unanswered":0,"known_to_service":1,"onward_refused":1\}'
expect_match "the report page says so in words" "$(cat "$work/report.html")" "1 information requests to 2 partners: 1 answered in time, 1 late, 0 unanswered; 1 went overdue\. 1 partners knew the person\. 1 onward shares were refused\."

finish
