#!/usr/bin/env bash
#  Scenario 7 of the domain digest end to end with real processes (issue 17): housing refers a
#  child to Cardiff's front door, which decides on Section 47 enquiries and tells the school. It
#  invites Police, Health, Education, the VCS working with the child and CAMHS to a strategy
#  meeting and records it with CAMHS absent, the person taking part, actions, minutes and a
#  summary for the referrer: the actions and minutes reach the invitees only (the fire service,
#  a partner the rules would allow, gets nothing), and the referrer the summary, not the minutes.
#  The school challenges the decision; the front door misses level 1's deadline on the broker's
#  clock, the challenge is escalated to the board's safeguarding lead, who answers it. The
#  auditor's replay reproduces every decision, the chronology shows each step in order and the
#  report counts the meeting and the challenge.
source "$(dirname "$0")/lib.sh"
top=$(cd "$(dirname "$0")/../.." && pwd)

invitees=(police-sw health-cav school-ysgol vcs-plant camhs-cav)
all_invitees="camhs-cav health-cav police-sw school-ysgol vcs-plant"    #  the same, sorted: what to expect
agencies=(housing-tai:HOUSING:cardiff police-sw:POLICE:cardiff health-cav:HEALTH:cardiff
          school-ysgol:EDUCATION:cardiff vcs-plant:VCS:cardiff camhs-cav:HEALTH:cardiff
          fire-swfrs:FIRE:cardiff la-cardiff:LA_FRONT_DOOR:cardiff cardiff-board:GOVERNANCE)
make_pki "${agencies[@]}"
rm -f "$work"/agreements/*
cp "$top/tests/integration/agreements/scenario7.yaml" "$work/agreements/"
sign_agreements
start_broker
for spec in "${agencies[@]}"; do start_agent "${spec%%:*}"; done
for spec in "${agencies[@]}"; do wait_connected "${spec%%:*}" || bad "${spec%%:*} did not connect"; done

inbox () { echo "$work/$1/inbox"; }
msg_id () { json_field "$1" msg_id; }
failed () { count_files "$work/$1/failed" "*.error"; }
alerts () { grep -l "\"alert_kind\": \"$2\"" "$(inbox $1)"/*.json 2>/dev/null | wc -l; }
wait_alerts () {    # wait_alerts AGENCY ALERT_KIND N
    local deadline=$((SECONDS + 10))
    until [ "$(alerts $1 $2)" -ge "$3" ]; do [ $SECONDS -lt $deadline ] || return 1; sleep 0.05; done
}
#  The agencies (sorted, space-separated) whose inbox holds a file containing TEXT.
holders_of () {
    local spec a list=()
    for spec in "${agencies[@]}"; do
        a=${spec%%:*}
        grep -lq -- "$1" "$(inbox $a)"/*.json 2>/dev/null && list+=("$a")
    done
    printf '%s\n' "${list[@]}" | sort | tr '\n' ' ' | sed 's/ $//'
}
agency_list () {    # agency_list ID...: [{"agency_id": ID}, ...]
    local a list=""
    for a in "$@"; do list+="${list:+, }{\"agency_id\": \"$a\"}"; done
    echo "[$list]"
}
when_ms=$(( $(date +%s) * 1000 + 86400000 ))    #  tomorrow, on the real clock

echo "== the referral: housing to Cardiff's front door, about a child"
cat > "$work/referral.json" <<EOF
{"kind": "REFERRAL", "to": [{"front_door_la": "cardiff"}], "case_id": "S7", "purpose": "SAFEGUARDING_CHILD",
 "author": {"practitioner_id": "HO-7"},
 "body": {"referral_kind": "PROFESSIONAL", "categories": ["PHYSICAL_ABUSE"], "narrative": "NARRATIVE-S7",
          "requested_route": "CHILD_PROTECTION",
          "subjects": [{"kind": "CHILD", "home_la": "cardiff", "name": "Child S7", "date_of_birth": "2015-03-01"}]}}
EOF
send housing-tai "$work/referral.json"
wait_kind "$(inbox la-cardiff)" REFERRAL 1 10 && ok "the referral reaches the front door" || bad "referral lost"
referral=$(msg_id "$(newest_kind "$(inbox la-cardiff)" REFERRAL)")

echo "== the front door decides: Section 47 enquiries, the school told"
cat > "$work/outcome.json" <<EOF
{"kind": "OUTCOME", "in_reply_to": "$referral", "case_id": "S7", "purpose": "REFERRER_FEEDBACK",
 "to": [{"agency_id": "school-ysgol"}],
 "body": {"decision": "SECTION_47", "rationale": "significant harm: a strategy discussion follows"}}
EOF
send la-cardiff "$work/outcome.json"
wait_kind "$(inbox school-ysgol)" OUTCOME 1 10 && ok "the school receives the decision" || bad "no outcome at the school"
decision=$(msg_id "$(newest_kind "$(inbox school-ysgol)" OUTCOME)")
expect_match "a Section 47 decision" "$(cat "$(newest_kind "$(inbox school-ysgol)" OUTCOME)")" '"decision": "SECTION_47"'
wait_kind "$(inbox housing-tai)" NOTICE 1 10 && ok "the referrer hears the outcome" || bad "no outcome notice to the referrer"

echo "== the invitation: Police, Health, Education, the VCS and CAMHS; nobody else"
cat > "$work/invite.json" <<EOF
{"kind": "STRATEGY_MEETING", "case_id": "S7", "purpose": "SAFEGUARDING_CHILD", "in_reply_to": "$referral",
 "to": [], "body": {"route": "CHILD_PROTECTION", "when_ms": $when_ms, "invited": $(agency_list "${invitees[@]}")}}
EOF
send la-cardiff "$work/invite.json"
for a in "${invitees[@]}"; do
    wait_kind "$(inbox $a)" STRATEGY_MEETING 1 10 && ok "$a is invited" || bad "$a has no invitation"
done
invitation=$(msg_id "$(newest_kind "$(inbox camhs-cav)" STRATEGY_MEETING)")
sleep 0.3
expect "the invitation reached the invitees only" "$(holders_of "\"msg_id\": \"$invitation\"")" \
    "$all_invitees"

echo "== the record: CAMHS absent, the person took part; actions and minutes to the invitees"
cat > "$work/record.json" <<EOF
{"kind": "STRATEGY_MEETING", "case_id": "S7", "purpose": "SAFEGUARDING_CHILD", "in_reply_to": "$invitation",
 "to": [], "body": {"attended": $(agency_list police-sw health-cav school-ysgol vcs-plant),
  "person_participated": true,
  "actions": ["ACTION-S7-police: joint visit within 24 hours", "ACTION-S7-school: daily check-in"],
  "minutes": "MINUTES-S7: concerns discussed; Section 47 enquiries to proceed",
  "summary_for_referrer": "SUMMARY-S7: Section 47 enquiries will proceed; please stay in touch"}}
EOF
send la-cardiff "$work/record.json"
for a in "${invitees[@]}"; do
    wait_kind "$(inbox $a)" STRATEGY_MEETING 2 10 && ok "$a gets the record" || bad "$a has no record"
done
wait_kind "$(inbox housing-tai)" NOTICE 2 10 && ok "the referrer gets a notice of the meeting" || bad "no meeting notice"
sleep 0.3
expect "the minutes reach the invitees, CAMHS (absent) included, and no one else" "$(holders_of MINUTES-S7)" "$all_invitees"
expect "so do the actions" "$(holders_of ACTION-S7-police)" "$all_invitees"
rec=$(cat "$(ls -t $(grep -l MINUTES-S7 "$(inbox camhs-cav)"/*.json) | head -1)")
expect_match "the record names who attended" "$(tr -d ' \n' <<< "$rec")" '"attended":\[\{"agency_id":"police-sw"\},\{"agency_id":"health-cav"\},\{"agency_id":"school-ysgol"\},\{"agency_id":"vcs-plant"\}\]'
expect_match "and that the person took part" "$rec" '"person_participated": true'
n=$(cat "$(newest_kind "$(inbox housing-tai)" NOTICE)")
expect_match "the referrer's notice is of the strategy meeting" "$n" '"notice_kind": "NOTICE_STRATEGY_MEETING"'
expect_match "with the summary for the referrer" "$n" "SUMMARY-S7: Section 47 enquiries will proceed"
expect "the referrer has neither the minutes nor the actions, in any message" \
    "$(grep -l "MINUTES-S7\|ACTION-S7" "$(inbox housing-tai)"/*.json 2>/dev/null | wc -l)" 0
expect "the summary reached the referrer and the invitees only" "$(holders_of SUMMARY-S7)" "camhs-cav health-cav housing-tai police-sw school-ysgol vcs-plant"

echo "== the school challenges the decision: level 1, the front door, has 5 days"
cat > "$work/challenge.json" <<EOF
{"kind": "CHALLENGE", "in_reply_to": "$decision", "case_id": "S7", "purpose": "SAFEGUARDING_CHILD",
 "body": {"decision_msg_id": "$decision", "grounds": "GROUNDS-S7: the school holds more information", "level": 1}}
EOF
send school-ysgol "$work/challenge.json"
wait_kind "$(inbox la-cardiff)" CHALLENGE 1 10 && ok "the challenge reaches the front door" || bad "challenge lost"
challenge=$(msg_id "$(newest_kind "$(inbox la-cardiff)" CHALLENGE)")
set_clock 4.5
sleep 0.3
expect "day 4.5: level 1's deadline is not past, the safeguarding lead is not told" "$(alerts cardiff-board CHALLENGE_ESCALATED)" 0

echo "== day 5.2: the front door missed level 1's deadline; escalated to the safeguarding lead"
set_clock 5.2
wait_alerts cardiff-board CHALLENGE_ESCALATED 1 && ok "the safeguarding lead is alerted" || bad "no escalation alert"
a=$(cat "$(grep -l '"alert_kind": "CHALLENGE_ESCALATED"' "$(inbox cardiff-board)"/*.json | head -1)")
expect_match "naming the challenge to answer" "$(tr -d ' \n' <<< "$a")" "\"related_msg_ids\":\\[\"$challenge\"\\]"
wait_alerts school-ysgol CHALLENGE_ESCALATED 1 && ok "the school is told its challenge moved up" || bad "the school is not told"
cat > "$work/answer.json" <<EOF
{"kind": "STATUS_UPDATE", "in_reply_to": "$challenge", "case_id": "S7", "purpose": "REFERRER_FEEDBACK",
 "body": {"update_kind": "CHALLENGE_RESPONDED", "challenge_outcome": "CHALLENGE_RESOLVED",
          "challenge_notes": "NOTES-S7: the school's information is added to the enquiries"}}
EOF
send cardiff-board "$work/answer.json"
wait_kind "$(inbox school-ysgol)" STATUS_UPDATE 1 10 && ok "the school receives the safeguarding lead's answer" || bad "answer lost"
r=$(cat "$(newest_kind "$(inbox school-ysgol)" STATUS_UPDATE)")
expect_match "with its outcome" "$r" '"challenge_outcome": "CHALLENGE_RESOLVED"'
expect_match "bound to the challenge" "$r" "\"in_reply_to\": \"$challenge\""
sleep 0.3
expect "the fire service, a partner not invited, received nothing at all" "$(count_files "$(inbox fire-swfrs)")" 0
expect "the meeting record was in on time: no overdue alert" "$(alerts la-cardiff MEETING_RECORD_OVERDUE)" 0
expect "no agency had a message refused" \
    "$(for s in "${agencies[@]}"; do failed "${s%%:*}"; done | paste -sd+ | bc)" 0
! grep -q "MINUTES-S7\|ACTION-S7\|SUMMARY-S7\|GROUNDS-S7\|NOTES-S7\|NARRATIVE-S7\|Child S7" "$work/broker/broker.log" \
    && ok "the broker log keeps no message text" || bad "message text in the broker log"

echo "== the auditor's tools"
stop_broker
audit () { "$bin/rhannu-audit" "$@" --data "$work/broker/data" --pki "$work/pki"; }
r=$(audit replay); rc=$?
expect "rhannu-audit replay reproduces every decision" "$rc" 0
expect_match "every policy decision re-decided, none differing" "$r" "re-decided [1-9][0-9]* policy decisions against the agreement versions they name: [0-9]+ reproduce, 0 do not"
expect_match "the meeting's record went to its invitees only" "$r" "checked 1 strategy meeting records and cancellations against their invitations: 1 went to the invitees only"
expect_match "the challenge followed its lifecycle" "$r" "replayed 1 professional challenges \([0-9]+ steps\): ([0-9]+) follow the challenge lifecycle and their deadlines, 0 do not"
c=$(audit chronology --case S7)
#  Each step, then that they come in this order.
steps=("REFERRAL .*housing-tai"
       "OUTCOME .*la-cardiff"
       "STRATEGY_INVITED .*invited 5: police-sw,health-cav,school-ysgol,vcs-plant,camhs-cav"
       "STRATEGY_HELD .*attended 4 of 5 invited; absent: camhs-cav; the person participated: yes"
       "STRATEGY_ACTIONS_DELIVERED .*actions delivered to all 5 invitees"
       "CHALLENGE_RAISED .*school-ysgol .*level 1 \(holder\)"
       "CHALLENGE_ESCALATED .*broker .*level 2 \(safeguarding_lead\) of 2; level 1 missed its deadline"
       "CHALLENGE_RESPONDED .*cardiff-board .*level 2; CHALLENGE_RESOLVED")
last=0
in_order=yes
for step in "${steps[@]}"; do
    line=$(grep -n -E -m1 "$step" <<< "$c" | cut -d: -f1)
    if [ -z "$line" ]; then
        bad "the chronology shows /$step/"
        in_order=no
        continue
    fi
    ok "the chronology shows /$step/"
    [ "$line" -gt "$last" ] || in_order="no: /$step/ at line $line, before line $last"
    last=$line
done
expect "the chronology shows the steps in order" "$in_order" yes
j=$(audit report --json | tr -d ' \n')
expect_match "the report counts the meeting" "$j" '"strategy_meetings":\{"invited":1,"held":1,"cancelled":0,"actions_delivered":1,"record_overdue":0,"invitees":5,"invitees_absent":1,"person_participated":1'
expect_match "CAMHS absent, by agency" "$j" '"camhs-cav":\{"invited":1,"absent":1\}'
expect_match "and the challenge, escalated once" "$j" '"challenges":\{"raised":1,"answered":1,"unresolved":0,"open":0,"escalations":1,'
expect_match "answered at level 2" "$j" '"by_level_reached":\{"2":1\}'
expect_match "resolved" "$j" '"outcomes":\{[^}]*"CHALLENGE_RESOLVED":1'
finish
