#!/usr/bin/env bash
#  Strategy meetings (issue 17, scenario 7) with real processes: the front door holding a case
#  invites Police, Health, Education, the VCS working with the child and CAMHS to a Section 47
#  strategy meeting; the invitations reach the invitees and nobody else. It records the meeting
#  (CAMHS invited but absent, the person took part, actions, minutes, a summary for the
#  referrer) by answering the invitation: the record goes to the invitees only, a recipient
#  outside the invitation is refused, and the referrer gets the summary, not the minutes or the
#  actions. A meeting whose record is not in on time alerts the holder on the broker's clock.
#  The auditor's tools show each step.
source "$(dirname "$0")/lib.sh"
top=$(cd "$(dirname "$0")/../.." && pwd)

invitees=(police-sw health-cav school-ysgol vcs-plant camhs-cav)
agencies=(housing-tai:HOUSING:cardiff police-sw:POLICE:cardiff health-cav:HEALTH:cardiff
          school-ysgol:EDUCATION:cardiff vcs-plant:VCS:cardiff camhs-cav:HEALTH:cardiff
          fire-swfrs:FIRE:cardiff la-cardiff:LA_FRONT_DOOR:cardiff)
make_pki "${agencies[@]}"
rm -f "$work"/agreements/*
cp "$top/tests/integration/agreements/strategy.yaml" "$work/agreements/"
sign_agreements
start_broker
for spec in "${agencies[@]}"; do start_agent "${spec%%:*}"; done
for spec in "${agencies[@]}"; do wait_connected "${spec%%:*}" || bad "${spec%%:*} did not connect"; done

send () { "$bin/rhannu-agent" send -f "$work/$1/agent.yaml" "$2" >/dev/null; }
inbox () { echo "$work/$1/inbox"; }
failed () { count_files "$work/$1/failed" "*.error"; }
last_error () { cat "$(ls -t "$work/$1"/failed/*.error | head -1)"; }
msg_id () { grep -m1 '"msg_id"' "$1" | cut -d'"' -f4; }
#  meeting FILE BODY [IN_REPLY_TO] [TO]: a STRATEGY_MEETING from the front door about case S7
meeting () {
    cat > "$1" <<EOF
{"kind": "STRATEGY_MEETING", "case_id": "S7", "purpose": "SAFEGUARDING_CHILD",
 "in_reply_to": "${3:-$referral}", "to": [${4:-}], "body": $2}
EOF
}
invited_json () {
    local a list=""
    for a in "$@"; do list+="${list:+, }{\"agency_id\": \"$a\"}"; done
    echo "[$list]"
}
when_ms=$(( $(date +%s) * 1000 + 86400000 ))    #  tomorrow, on the real clock

echo "== a referral, then the front door invites five agencies to a strategy meeting"
cat > "$work/r.json" <<EOF
{"kind": "REFERRAL", "to": [{"front_door_la": "cardiff"}], "case_id": "S7",
 "purpose": "SAFEGUARDING_CHILD", "author": {"practitioner_id": "HO-2"},
 "body": {"referral_kind": "PROFESSIONAL", "categories": ["PHYSICAL_ABUSE"], "narrative": "about S7",
          "requested_route": "CHILD_PROTECTION",
          "subjects": [{"kind": "CHILD", "home_la": "cardiff", "name": "Child S7", "date_of_birth": "2015-03-01"}]}}
EOF
send housing-tai "$work/r.json"
wait_kind "$(inbox la-cardiff)" REFERRAL 1 10 && ok "the referral reaches the front door" || bad "referral lost"
referral=$(msg_id "$(newest_kind "$(inbox la-cardiff)" REFERRAL)")
meeting "$work/m1.json" "{\"route\": \"CHILD_PROTECTION\", \"when_ms\": $when_ms, \"invited\": $(invited_json "${invitees[@]}")}"
send la-cardiff "$work/m1.json"
for a in "${invitees[@]}"; do
    wait_kind "$(inbox $a)" STRATEGY_MEETING 1 10 && ok "$a gets the invitation" || bad "$a has no invitation"
done
invitation=$(msg_id "$(newest_kind "$(inbox police-sw)" STRATEGY_MEETING)")
sleep 0.3
expect "the fire service, not invited, gets nothing" "$(count_files "$(inbox fire-swfrs)")" 0
expect "the referrer, not invited, gets no invitation" "$(count_kind "$(inbox housing-tai)" STRATEGY_MEETING)" 0
meeting "$work/m1b.json" "{\"route\": \"CHILD_PROTECTION\", \"when_ms\": $when_ms, \"invited\": $(invited_json police-sw)}"
send la-cardiff "$work/m1b.json"
wait_count "$work/la-cardiff/failed" 1 10 "*.error" && ok "a second invitation while the meeting is open is refused" || bad "second invitation accepted"
expect_match "typed: the meeting is still open" "$(last_error la-cardiff)" "missing: meeting_closed"

echo "== the record: refused when it reaches outside the invitation"
record_body () {    # record_body ATTENDED...
    echo "{\"attended\": $(invited_json "$@"), \"person_participated\": true,
      \"actions\": [\"ACTION-police: joint visit by Friday\", \"ACTION-school: daily check-in\"],
      \"minutes\": \"MINUTES-S7: concerns discussed in full\",
      \"summary_for_referrer\": \"SUMMARY-S7: Section 47 enquiries will proceed; keep the tenancy officer in touch\"}"
}
meeting "$work/x1.json" "$(record_body police-sw health-cav school-ysgol vcs-plant)" "$invitation" '{"agency_id": "fire-swfrs"}'
send la-cardiff "$work/x1.json"
wait_count "$work/la-cardiff/failed" 2 10 "*.error" && ok "a record addressed to an agency not invited is refused" || bad "record to a non-invitee accepted"
expect_match "typed, naming the agency" "$(last_error la-cardiff)" "missing: invitee"
expect_match "and why" "$(last_error la-cardiff)" "fire-swfrs is not invited to the strategy meeting"
meeting "$work/x2.json" "$(record_body police-sw fire-swfrs)" "$invitation"
send la-cardiff "$work/x2.json"
wait_count "$work/la-cardiff/failed" 3 10 "*.error" && ok "a record naming a non-invitee as attending is refused" || bad "outsider attendance accepted"
expect_match "typed" "$(last_error la-cardiff)" "missing: attended"
sleep 0.3
expect "the fire service still has nothing" "$(count_files "$(inbox fire-swfrs)")" 0

echo "== the record: CAMHS absent; actions and minutes to every invitee, the summary to the referrer"
meeting "$work/rec.json" "$(record_body police-sw health-cav school-ysgol vcs-plant)" "$invitation"
send la-cardiff "$work/rec.json"
for a in "${invitees[@]}"; do
    wait_kind "$(inbox $a)" STRATEGY_MEETING 2 10 && ok "$a gets the record" || bad "$a has no record"
done
rec=$(cat "$(ls -t $(grep -l MINUTES-S7 "$(inbox camhs-cav)"/*.json) | head -1)")
expect_match "CAMHS, absent, still gets the actions" "$rec" "ACTION-police: joint visit by Friday"
expect_match "and the minutes" "$rec" "MINUTES-S7"
expect_match "the record is bound to the invitation's header" "$rec" '"in_reply_sha256": "[0-9a-f]{64}"'
wait_kind "$(inbox housing-tai)" NOTICE 1 10 && ok "the referrer gets a notice of the meeting" || bad "no notice to the referrer"
n=$(cat "$(newest_kind "$(inbox housing-tai)" NOTICE)")
expect_match "a strategy meeting notice" "$n" '"notice_kind": "NOTICE_STRATEGY_MEETING"'
expect_match "naming the meeting in words" "$n" '"summary_en": "Cardiff IAA held a strategy meeting on referral S7'
expect_match "with the summary for the referrer" "$n" "SUMMARY-S7: Section 47 enquiries will proceed"
! grep -q "MINUTES-S7" <<< "$n" && ok "and not the minutes" || bad "the referrer got the minutes"
! grep -q "ACTION-" <<< "$n" && ok "nor the actions" || bad "the referrer got the actions"
! grep -q '"attended": \[' <<< "$n" && ok "nor the attendance" || bad "the referrer got the attendance"
expect_match "the notice says what was withheld" "$(tr -d ' \n' <<< "$n")" '"withheld":\["attended","person_participated","actions","minutes"\]'
deadline=$((SECONDS + 10))
until "$bin/rhannu-agent" status -f "$work/housing-tai/agent.yaml" 2>&1 | grep -q STRATEGY_MEETING_HELD \
      || [ $SECONDS -ge $deadline ]; do sleep 0.1; done
expect_match "the referrer's agent follows it" "$("$bin/rhannu-agent" status -f "$work/housing-tai/agent.yaml" 2>&1)" "S7 +ACKNOWLEDGED +Cardiff IAA +STRATEGY_MEETING_HELD"
sleep 0.3
expect "the fire service, not invited, received nothing at all" "$(count_files "$(inbox fire-swfrs)")" 0
! grep -rq "MINUTES-S7\|SUMMARY-S7\|ACTION-" "$work/broker/broker.log" && ok "the broker log keeps no meeting text" || bad "meeting text in the broker log"
meeting "$work/rec2.json" "$(record_body police-sw)" "$invitation"
send la-cardiff "$work/rec2.json"
wait_count "$work/la-cardiff/failed" 4 10 "*.error" && ok "a meeting is recorded once" || bad "second record accepted"
expect_match "typed" "$(last_error la-cardiff)" "missing: meeting_invited"

echo "== a meeting left unrecorded: the holder is alerted on the broker's clock; then cancelled"
meeting "$work/m2.json" "{\"route\": \"CHILD_PROTECTION\", \"when_ms\": $when_ms, \"invited\": $(invited_json police-sw camhs-cav)}"
send la-cardiff "$work/m2.json"
wait_kind "$(inbox camhs-cav)" STRATEGY_MEETING 3 10 && ok "a second meeting may be invited once the first is held" || bad "no second invitation"
second=$(msg_id "$(ls -t $(grep -l '"kind": "STRATEGY_MEETING"' "$(inbox camhs-cav)"/*.json) | head -1)")
cat > "$work/o.json" <<EOF
{"kind": "OUTCOME", "case_id": "S7", "purpose": "REFERRER_FEEDBACK", "in_reply_to": "$referral",
 "body": {"decision": "STRATEGY_DISCUSSION", "rationale": "significant harm"}}
EOF
send la-cardiff "$work/o.json"
wait_kind "$(inbox housing-tai)" NOTICE 2 10 && ok "the outcome (a strategy discussion) reaches the referrer" || bad "no outcome notice"
set_clock 2.5
sleep 0.5
expect "day 2.5: not yet overdue (due two days after tomorrow's meeting)" "$(grep -l MEETING_RECORD_OVERDUE "$(inbox la-cardiff)"/*.json 2>/dev/null | wc -l)" 0
set_clock 3.2
deadline=$((SECONDS + 10))
until grep -q MEETING_RECORD_OVERDUE "$(inbox la-cardiff)"/*.json 2>/dev/null || [ $SECONDS -ge $deadline ]; do sleep 0.1; done
a=$(cat $(grep -l MEETING_RECORD_OVERDUE "$(inbox la-cardiff)"/*.json 2>/dev/null | head -1) 2>/dev/null)
expect_match "day 3.2: the holder is told the record is overdue, the outcome notwithstanding" "$a" '"alert_kind": "MEETING_RECORD_OVERDUE"'
expect_match "naming the meeting's invitation" "$(echo "$a" | tr -d ' \n')" "\"related_msg_ids\":\\[\"$second\"\\]"
expect_match "in Welsh too" "$a" '"summary_cy": "Roedd cofnod cyfarfod strategaeth'
#  The cancellation goes as the front door's agent would send it, twice, as after a lost answer
#  (rh-testclient with the front door's keys, bound to the invitation's header by hand): the
#  second is a duplicate, not a refusal of a meeting already cancelled. Its sequence number is
#  past any the front door's agent used: nothing else is sent from la-cardiff after it.
tc () { "$testclient" "$endpoint" "$work/pki" "$@"; }
bound=$(grep -m1 '"header_sha256"' "$(grep -l "\"msg_id\": \"$second\"" "$(inbox camhs-cav)"/*.json)" | cut -d'"' -f4)
cat > "$work/c2.json" <<EOF
{"kind": "STRATEGY_MEETING", "case_id": "S7", "purpose": "SAFEGUARDING_CHILD", "to": [],
 "in_reply_to": "$second", "in_reply_sha256": "$bound",
 "body": {"cancelled": true, "cancel_reason": "superseded by the child protection conference"}}
EOF
tc la-cardiff seal "$work/c2.json" la-cardiff 100000 "$work/c2.sealed" >/dev/null
expect_match "the cancellation is accepted" "$(tc la-cardiff resend "$work/c2.sealed")" "^ACCEPTED [^ ]+$"
expect_match "sent again, it is a duplicate, not a refusal" "$(tc la-cardiff resend "$work/c2.sealed")" "^ACCEPTED [^ ]+ duplicate$"
wait_kind "$(inbox police-sw)" STRATEGY_MEETING 4 10 && ok "the cancellation reaches the invitees" || bad "cancellation lost"
#  And they can read it: a body field the agreement shares must be numbered below 64 (the
#  agreements' field masks), or every recipient gets it withheld.
expect_match "an invitee reads that it is cancelled, and why" "$(cat "$(newest_kind "$(inbox police-sw)" STRATEGY_MEETING)")" '"cancelled": true'
expect_match "and the reason" "$(cat "$(newest_kind "$(inbox police-sw)" STRATEGY_MEETING)")" '"cancel_reason": "superseded by the child protection conference"'
sleep 0.3
expect "the referrer hears nothing of a cancelled meeting" "$(count_kind "$(inbox housing-tai)" NOTICE)" 2
expect "the agencies not invited to it hear nothing" "$(count_kind "$(inbox health-cav)" STRATEGY_MEETING)" 2

echo "== the auditor's tools"
stop_broker
audit () { "$bin/rhannu-audit" "$@" --data "$work/broker/data" --pki "$work/pki"; }
r=$(audit replay); rc=$?
expect "rhannu-audit replay reproduces every decision" "$rc" 0
expect_match "re-deciding each, the referrer's cut included" "$r" "re-decided [1-9][0-9]* policy decisions against the agreement versions they name: [0-9]+ reproduce, 0 do not"
expect_match "and each meeting went to its invitees only" "$r" "checked 2 strategy meeting records and cancellations against their invitations: 2 went to the invitees only"
c=$(audit chronology --case S7)
expect_match "the chronology shows the invitation" "$c" "STRATEGY_INVITED .*invited 5: police-sw,health-cav,school-ysgol,vcs-plant,camhs-cav"
expect_match "the invitation step" "$c" "STRATEGY_MEETING .*strategy meeting invitation"
expect_match "the attendance, CAMHS absent by agency" "$c" "STRATEGY_HELD .*attended 4 of 5 invited; absent: camhs-cav; the person participated: yes"
expect_match "the actions delivered to every invitee" "$c" "STRATEGY_ACTIONS_DELIVERED .*actions delivered to all 5 invitees"
expect_match "the refusal of the record to a non-invitee" "$c" "REFUSED for fire-swfrs .*missing invitee"
expect_match "the overdue alert" "$c" "NOTICE +ALERT +broker +-> la-cardiff"
expect_match "and the cancellation" "$c" "STRATEGY_CANCELLED"
j=$(audit report --json --html "$work/report.html" --csv "$work/csv" | tr -d ' \n')
expect_match "the report counts the meetings" "$j" '"strategy_meetings":\{"invited":2,"held":1,"cancelled":1,"actions_delivered":1,"record_overdue":1,"invitees":5,"invitees_absent":1,"person_participated":1'
expect_match "attendance by agency" "$j" '"camhs-cav":\{"invited":1,"absent":1\}'
expect_match "and in the CSV, by agency" "$(tr -d '\r' < "$work/csv/strategy_meetings_by_agency.csv")" "camhs-cav,camhs-cav,1,1"
expect_match "the report page says so in words" "$(cat "$work/report.html")" "2 strategy meetings invited, 1 held, 1 cancelled"

finish
