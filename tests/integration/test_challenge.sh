#!/usr/bin/env bash
#  Professional challenge (the escalation protocol, issue 17, scenario 7) with real processes:
#  the school, brought into a case by the front door's outcome, challenges the decision; the
#  front door (level 1) does not answer in five days on the broker's simulated clock, so the
#  challenge is escalated to the board's safeguarding lead (level 2), who answers it. A
#  challenge by an agency not involved in the case is refused, typed; an answer from the wrong
#  level, or a second one, too. A second challenge runs out of levels: unresolved. The
#  auditor's chronology, replay and report show each step.
source "$(dirname "$0")/lib.sh"
top=$(cd "$(dirname "$0")/../.." && pwd)

agencies=(police-gwent:POLICE:newport school-newport:EDUCATION:newport health-abb:HEALTH:newport
          la-newport:LA_FRONT_DOOR:newport gwent-board:GOVERNANCE)
make_pki "${agencies[@]}"
rm -f "$work"/agreements/*
cp "$top/tests/integration/agreements/challenge.yaml" "$work/agreements/"
sign_agreements
expect_match "check-agreement lists the challenge levels" \
    "$("$bin/rhannu-broker" check-agreement "$work/agreements/challenge.yaml")" \
    "challenge level 1: holder answers within 5 days.*challenge level 2: safeguarding_lead answers within 5 days"
start_broker
for spec in "${agencies[@]}"; do start_agent "${spec%%:*}"; done
for spec in "${agencies[@]}"; do wait_connected "${spec%%:*}" || bad "${spec%%:*} did not connect"; done

send () { "$bin/rhannu-agent" send -f "$work/$1/agent.yaml" "$2" >/dev/null; }
inbox () { echo "$work/$1/inbox"; }
field () { grep -o "\"$2\": \"[^\"]*\"" "$1" | head -1 | cut -d'"' -f4; }
alerts () { grep -l "\"alert_kind\": \"$2\"" "$(inbox $1)"/*.json 2>/dev/null | wc -l; }
wait_alerts () {    # wait_alerts AGENCY ALERT_KIND N
    local deadline=$((SECONDS + 10))
    until [ "$(alerts $1 $2)" -ge "$3" ]; do [ $SECONDS -lt $deadline ] || return 1; sleep 0.05; done
}
failed () { count_files "$work/$1/failed" "*.error"; }
last_error () { cat "$(ls -t "$work/$1"/failed/*.error | head -1)"; }
#  The message id of the newest message of KIND about CASE in AGENCY's inbox.
newest_id () {    # newest_id AGENCY KIND CASE
    local file
    file=$(ls -t $(grep -l "\"case_id\": \"$3\"" $(grep -l "^  \"kind\": \"$2\"" "$(inbox $1)"/*.json)) | head -1)
    field "$file" msg_id
}
referral () {    # referral CASE
    cat > "$work/$1.json" <<EOF
{"kind": "REFERRAL", "to": [{"front_door_la": "newport"}], "case_id": "$1", "purpose": "SAFEGUARDING_CHILD",
 "author": {"practitioner_id": "PC-7"},
 "body": {"referral_kind": "PPN", "categories": ["NEGLECT"], "narrative": "about $1",
          "subjects": [{"kind": "CHILD", "home_la": "newport"}]}}
EOF
    send police-gwent "$work/$1.json"
}
outcome () {    # outcome CASE REFERRAL-ID: the front door's decision, copied to the school
    cat > "$work/$1-outcome.json" <<EOF
{"kind": "OUTCOME", "in_reply_to": "$2", "case_id": "$1", "purpose": "REFERRER_FEEDBACK",
 "to": [{"agency_id": "school-newport"}],
 "body": {"decision": "NO_FURTHER_ACTION", "rationale": "threshold not met"}}
EOF
    send la-newport "$work/$1-outcome.json"
}
challenge () {    # challenge FILE CASE DECISION-ID
    cat > "$1" <<EOF
{"kind": "CHALLENGE", "in_reply_to": "$3", "case_id": "$2", "purpose": "SAFEGUARDING_CHILD",
 "body": {"decision_msg_id": "$3", "grounds": "grounds for $2", "level": 1}}
EOF
}
answer () {    # answer FILE CASE CHALLENGE-ID OUTCOME
    cat > "$1" <<EOF
{"kind": "STATUS_UPDATE", "in_reply_to": "$3", "case_id": "$2", "purpose": "REFERRER_FEEDBACK",
 "body": {"update_kind": "CHALLENGE_RESPONDED", "challenge_outcome": "$4",
          "challenge_notes": "notes on $2"}}
EOF
}

echo "== a decision the school hears of"
referral C1
wait_kind "$(inbox la-newport)" REFERRAL 1 10 || bad "C1 lost"
outcome C1 "$(newest_id la-newport REFERRAL C1)"
wait_kind "$(inbox school-newport)" OUTCOME 1 10 && ok "the school receives the front door's outcome" || bad "no outcome at the school"
decision=$(newest_id school-newport OUTCOME C1)

echo "== a challenge by an agency not involved in the case is refused, typed"
challenge "$work/h1.json" C1 "$decision"
send health-abb "$work/h1.json"
wait_count "$work/health-abb/failed" 1 10 "*.error" && ok "health's challenge is refused" || bad "non-party challenge accepted"
expect_match "typed: RH_E_POLICY, missing case_party" "$(last_error health-abb)" "^RH_E_POLICY: only an agency involved in case C1.*missing: case_party"
challenge "$work/s0.json" C1 "no-such-outcome"
send school-newport "$work/s0.json"
wait_count "$work/school-newport/failed" 1 10 "*.error" && ok "a challenge naming no accepted outcome is refused" || bad "unanchored challenge accepted"
expect_match "naming the missing decision" "$(last_error school-newport)" "missing: decision"

echo "== the school challenges the decision: level 1, the front door"
challenge "$work/s1.json" C1 "$decision"
send school-newport "$work/s1.json"
wait_kind "$(inbox la-newport)" CHALLENGE 1 10 && ok "the challenge reaches the front door (level 1: the holder)" || bad "challenge lost"
challenge_id=$(newest_id la-newport CHALLENGE C1)
expect_match "with its grounds" "$(cat "$(newest_kind "$(inbox la-newport)" CHALLENGE)")" '"grounds": "grounds for C1"'
sleep 0.3
expect "the safeguarding lead is not told yet" "$(alerts gwent-board CHALLENGE_ESCALATED)" 0
! grep -q "grounds for C1" "$work/broker/broker.log" && ok "the broker log keeps no grounds" || bad "grounds in the broker log"

echo "== day 5: level 1 missed its deadline, escalated to the safeguarding lead"
set_clock 5.2
wait_alerts gwent-board CHALLENGE_ESCALATED 1 && ok "the safeguarding lead is alerted" || bad "no escalation alert"
a=$(cat "$(grep -l '"alert_kind": "CHALLENGE_ESCALATED"' "$(inbox gwent-board)"/*.json | head -1)")
expect_match "the alert names the case and the new level" "$a" '"summary_en": "A challenge of the decision on case C1 by Newport IAA was not answered at level 1 in time; it now stands at level 2: please respond by'
expect_match "in Welsh too" "$a" '"summary_cy": "Ni atebwyd her'
expect_match "naming the challenge to answer" "$(echo "$a" | tr -d " \n")" "\"related_msg_ids\":\\[\"$challenge_id\"\\]"
wait_alerts school-newport CHALLENGE_ESCALATED 1 && ok "the school is told its challenge moved up" || bad "challenger not told"
answer "$work/a-front.json" C1 "$challenge_id" CHALLENGE_NOT_UPHELD
send la-newport "$work/a-front.json"
wait_count "$work/la-newport/failed" 1 10 "*.error" && ok "the front door can no longer answer at level 2" || bad "level-1 answer accepted at level 2"
expect_match "typed: the level's responder" "$(last_error la-newport)" "stands at level 2: only safeguarding_lead answers it.*missing: challenge_responder"
answer "$work/a-none.json" C1 "$challenge_id" CHALLENGE_OUTCOME_UNSET
send gwent-board "$work/a-none.json"
wait_count "$work/gwent-board/failed" 1 10 "*.error" && ok "an answer without an outcome is refused" || bad "outcome-less answer accepted"
expect_match "naming the missing outcome" "$(last_error gwent-board)" "missing: challenge_outcome"

echo "== the safeguarding lead answers: not upheld"
answer "$work/a-lead.json" C1 "$challenge_id" CHALLENGE_NOT_UPHELD
send gwent-board "$work/a-lead.json"
wait_kind "$(inbox school-newport)" STATUS_UPDATE 1 10 && ok "the school receives the answer" || bad "answer lost"
r=$(cat "$(newest_kind "$(inbox school-newport)" STATUS_UPDATE)")
expect_match "with its outcome" "$r" '"challenge_outcome": "CHALLENGE_NOT_UPHELD"'
expect_match "bound to the challenge it answers" "$r" "\"in_reply_to\": \"$challenge_id\""
answer "$work/a-again.json" C1 "$challenge_id" CHALLENGE_UPHELD
send gwent-board "$work/a-again.json"
wait_count "$work/gwent-board/failed" 2 10 "*.error" && ok "a challenge is answered once" || bad "second answer accepted"
expect_match "typed" "$(last_error gwent-board)" "missing: challenge_open"

echo "== another challenge, answered at level 1 by the front door itself: upheld"
referral C3
wait_kind "$(inbox la-newport)" REFERRAL 2 10 || bad "C3 lost"
outcome C3 "$(newest_id la-newport REFERRAL C3)"
wait_kind "$(inbox school-newport)" OUTCOME 2 10 || bad "no C3 outcome"
challenge "$work/s3.json" C3 "$(newest_id school-newport OUTCOME C3)"
send school-newport "$work/s3.json"
wait_kind "$(inbox la-newport)" CHALLENGE 2 10 || bad "C3 challenge lost"
answer "$work/a-c3.json" C3 "$(newest_id la-newport CHALLENGE C3)" CHALLENGE_UPHELD
send la-newport "$work/a-c3.json"
wait_kind "$(inbox school-newport)" STATUS_UPDATE 2 10 && ok "the holder answers at level 1: the school hears it is upheld" || bad "C3 answer lost"
expect_match "with its outcome" "$(cat "$(newest_kind "$(inbox school-newport)" STATUS_UPDATE)")" '"challenge_outcome": "CHALLENGE_UPHELD"'

set_clock 10.4
sleep 0.3
expect "an answered challenge does not go unresolved" "$(alerts school-newport CHALLENGE_UNRESOLVED)" 0

echo "== a second challenge, by the referrer, runs out of levels: unresolved"
referral C2
wait_kind "$(inbox la-newport)" REFERRAL 3 10 || bad "C2 lost"
outcome C2 "$(newest_id la-newport REFERRAL C2)"
wait_kind "$(inbox school-newport)" OUTCOME 3 10 || bad "no C2 outcome"
wait_kind "$(inbox police-gwent)" NOTICE 3 10 || bad "no C2 notice for the referrer"
challenge "$work/p2.json" C2 "$(newest_id school-newport OUTCOME C2)"
send police-gwent "$work/p2.json"
wait_kind "$(inbox la-newport)" CHALLENGE 3 10 && ok "the referrer's challenge reaches the front door" || bad "C2 challenge lost"
set_clock 15.6
wait_alerts gwent-board CHALLENGE_ESCALATED 2 && ok "day 15: escalated to level 2" || bad "C2 not escalated"
set_clock 20.8
wait_alerts police-gwent CHALLENGE_UNRESOLVED 1 && ok "day 20: the last level missed too; the referrer is told it is unresolved" || bad "no unresolved alert"
wait_alerts gwent-board CHALLENGE_UNRESOLVED 1 && ok "and so is the last level's role" || bad "last level not told"

echo "== the auditor's tools"
stop_broker
audit () { "$bin/rhannu-audit" "$@" --data "$work/broker/data" --pki "$work/pki"; }
r=$(audit replay); rc=$?
expect "rhannu-audit replay reproduces every decision, the challenges included" "$rc" 0
expect_match "and walks each challenge's steps through its lifecycle" "$r" "replayed 3 professional challenges \(8 steps\): 8 follow the challenge lifecycle and their deadlines, 0 do not"
c=$(audit chronology --case C1)
expect_match "the C1 chronology shows the challenge raised" "$c" "CHALLENGE_RAISED .*school-newport .*level 1 \(holder\)"
expect_match "escalated to level 2" "$c" "CHALLENGE_ESCALATED .*broker .*level 2 \(safeguarding_lead\) of 2; level 1 missed its deadline"
expect_match "the safeguarding lead's alert" "$c" "NOTICE +ALERT +broker +-> gwent-board"
expect_match "and the answer with its outcome" "$c" "CHALLENGE_RESPONDED .*gwent-board .*level 2; CHALLENGE_NOT_UPHELD"
j=$(audit report --json --html "$work/report.html" | tr -d ' \n')
expect_match "the report counts the challenges" "$j" '"challenges":\{"raised":3,"answered":2,"unresolved":1,"open":0,"escalations":2,'
expect_match "by the level they reached" "$j" '"by_level_reached":\{"1":1,"2":2\}'
expect_match "and their outcomes" "$j" '"outcomes":\{[^}]*"CHALLENGE_NOT_UPHELD":1'
expect_match "upheld among them" "$j" '"outcomes":\{[^}]*"CHALLENGE_UPHELD":1'
expect "no longer says challenges are not recorded" "$(grep -c not_recorded_by_this_version <<< "$j")" 0
expect_match "the report page says so in words" "$(cat "$work/report.html")" "3 professional challenges raised: 2 answered, 1 unresolved after the last level.s deadline\. Answers: 1 upheld, 1 not upheld, 0 resolved between the agencies\. 0 still open; 2 escalations to a further level\. Reached level 1: 1\. Reached level 2: 2\."
finish
