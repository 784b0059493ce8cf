#!/usr/bin/env bash
#  Consent override with review ("break-glass", issue 17) with real processes: a referral
#  without consent goes to the front door only where the rule allows an override and the
#  officer records a justification and the authorising manager; the board's reviewer is
#  alerted, the review is due on the broker's simulated clock, and its outcome is recorded.
#  Without a justification the consent refusal stands. The auditor's tools show each step.
source "$(dirname "$0")/lib.sh"
top=$(cd "$(dirname "$0")/../.." && pwd)

agencies=(police-gwent:POLICE:newport health-abb:HEALTH:newport la-newport:LA_FRONT_DOOR:newport
          gwent-board:GOVERNANCE)
make_pki "${agencies[@]}"
rm -f "$work"/agreements/*
cp "$top/tests/integration/agreements/override.yaml" "$work/agreements/"
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
referral () {    # referral FILE CASE CONSENT-JSON
    cat > "$1" <<EOF
{"kind": "REFERRAL", "to": [{"front_door_la": "newport"}], "case_id": "$2",
 "purpose": "SAFEGUARDING_CHILD", "author": {"practitioner_id": "PC-7"},
 "body": {"referral_kind": "PROFESSIONAL", "categories": ["NEGLECT"], "narrative": "about $2",
          "requested_route": "CARE_AND_SUPPORT",
          "subjects": [{"kind": "CHILD", "home_la": "newport", "name": "Child $2", "date_of_birth": "2016-01-01"}],
          "consent": $3}}
EOF
}
referral_id () {    # referral_id CASE: the referral's message id, as the front door received it
    grep -h '"msg_id"' $(grep -l "\"case_id\": \"$1\"" "$(inbox la-newport)"/*.json) | head -1 | cut -d'"' -f4
}
review () {    # review FILE CASE OUTCOME [REFERRAL MSG ID]: answers the referral it reviews
    cat > "$1" <<EOF
{"kind": "STATUS_UPDATE", "case_id": "$2", "purpose": "REFERRER_FEEDBACK", "to": [{"agency_id": "la-newport"}],
 "in_reply_to": "${4-$(referral_id $2)}",
 "body": {"update_kind": "OVERRIDE_REVIEWED", "review_outcome": "$3",
          "review_notes": "notes on $2"}}
EOF
}
failed () { count_files "$work/$1/failed" "*.error"; }
last_error () { cat "$(ls -t "$work/$1"/failed/*.error | head -1)"; }

echo "== without consent and without an override: refused, naming consent"
referral "$work/n1.json" N1 '{"state": "NOT_SOUGHT"}'
send police-gwent "$work/n1.json"
wait_count "$work/police-gwent/failed" 1 10 "*.error" && ok "a referral without consent is refused" || bad "N1 not refused"
expect_match "the missing condition is consent" "$(last_error police-gwent)" "missing: consent"

echo "== an override without a justification: the consent refusal stands"
referral "$work/n2.json" N2 '{"state": "NOT_SOUGHT", "override_authorised_by": "DI-3"}'
send police-gwent "$work/n2.json"
wait_count "$work/police-gwent/failed" 2 10 "*.error" && ok "an override naming only the manager is refused" || bad "N2 not refused"
expect_match "typed: the justification is what is missing" "$(last_error police-gwent)" "missing: override_justification"
expect_match "the reason says an override needs both" "$(last_error police-gwent)" "needs both a justification and the authorising manager"
referral "$work/n3.json" N3 '{"state": "NOT_SOUGHT", "override_justification": "the family would move the child if told"}'
send health-abb "$work/n3.json"
wait_count "$work/health-abb/failed" 1 10 "*.error" && ok "a rule that allows no override refuses even a justified one" || bad "N3 not refused"
expect_match "with the plain consent refusal" "$(last_error health-abb)" "missing: consent"
sleep 0.3
expect "no reviewer was alerted for any refusal" "$(alerts gwent-board CONSENT_OVERRIDE)" 0

echo "== an override with justification and manager: allowed, audited, the reviewer alerted"
referral "$work/o1.json" O1 '{"state": "NOT_SOUGHT", "override_justification": "the family would move the child if told", "override_authorised_by": "DI-3"}'
send police-gwent "$work/o1.json"
wait_kind "$(inbox la-newport)" REFERRAL 1 10 && ok "the justified override reaches the front door" || bad "O1 lost"
expect_match "which sees the signed justification" "$(cat "$(newest_kind "$(inbox la-newport)" REFERRAL)")" '"override_justification": "the family would move the child if told"'
wait_alerts gwent-board CONSENT_OVERRIDE 1 && ok "the board's reviewer is alerted" || bad "no override alert"
a=$(cat $(grep -l '"alert_kind": "CONSENT_OVERRIDE"' "$(inbox gwent-board)"/*.json | head -1))
expect_match "the alert names the case and the review deadline" "$a" '"summary_en": "Referral O1 to Newport IAA was sent without consent under a recorded override; please review it by'
expect_match "in Welsh too" "$a" '"summary_cy": "Anfonwyd yr atgyfeiriad O1'
expect_match "due in five days" "$a" '"due_ms": [0-9]{13}'
expect_match "naming the referral to answer" "$(echo "$a" | tr -d " \n")" "\"related_msg_ids\":\\[\"$(referral_id O1)\"\\]"
review "$work/x-review.json" O1 OVERRIDE_UPHELD ""
send gwent-board "$work/x-review.json"
wait_count "$work/gwent-board/failed" 1 10 "*.error" && ok "a review naming no referral is refused" || bad "unanchored review accepted"
expect_match "typed" "$(last_error gwent-board)" "missing: override_pending"
! grep -q "the family would move" "$work/broker/broker.log" && ok "the broker log keeps no justification text" || bad "justification in the broker log"

echo "== a review that is not due is refused; an override left unreviewed goes overdue"
referral "$work/o2.json" O2 '{"state": "NOT_SOUGHT", "override_justification": "risk of flight", "override_authorised_by": "DI-4"}'
send police-gwent "$work/o2.json"
wait_alerts gwent-board CONSENT_OVERRIDE 2 || bad "no O2 override alert"
referral "$work/g1.json" G1 '{"state": "GIVEN", "given_by": "parent"}'
send police-gwent "$work/g1.json"
wait_kind "$(inbox la-newport)" REFERRAL 3 10 || bad "G1 lost"
review "$work/g1-review.json" G1 OVERRIDE_UPHELD
send gwent-board "$work/g1-review.json"
wait_count "$work/gwent-board/failed" 2 10 "*.error" && ok "a review of a case with no override is refused" || bad "G1 review accepted"
expect_match "naming the missing override" "$(last_error gwent-board)" "missing: override_pending"
review "$work/o1-bad.json" O1 OVERRIDE_REVIEW_PENDING
send gwent-board "$work/o1-bad.json"
wait_count "$work/gwent-board/failed" 3 10 "*.error" && ok "a review without an outcome is refused" || bad "outcome-less review accepted"
expect_match "naming the missing outcome" "$(last_error gwent-board)" "missing: review_outcome"
review "$work/o1-front.json" O1 OVERRIDE_UPHELD
send la-newport "$work/o1-front.json"
wait_count "$work/la-newport/failed" 1 10 "*.error" && ok "the front door cannot review the override itself" || bad "holder reviewed"
review "$work/o1-review.json" O1 OVERRIDE_UPHELD
send gwent-board "$work/o1-review.json"
wait_kind "$(inbox la-newport)" STATUS_UPDATE 1 10 && ok "the reviewer's review of O1 is accepted and reaches the front door" || bad "O1 review lost"
wait_kind "$(inbox police-gwent)" NOTICE 1 10 && ok "the referrer hears the override was reviewed" || bad "no review notice"
expect_match "with the outcome" "$(cat "$(newest_kind "$(inbox police-gwent)" NOTICE)")" '"review_outcome": "OVERRIDE_UPHELD"'
set_clock 5.2
wait_alerts gwent-board OVERRIDE_REVIEW_OVERDUE 1 && ok "day 5: the unreviewed O2 override is overdue and the reviewer told" || bad "no overdue review alert"
sleep 0.5
expect "the reviewed O1 override does not go overdue" "$(grep -l '"case_id": "O1"' $(grep -l '"alert_kind": "OVERRIDE_REVIEW_OVERDUE"' "$(inbox gwent-board)"/*.json) 2>/dev/null | wc -l)" 0
review "$work/o2-review.json" O2 OVERRIDE_NOT_UPHELD
send gwent-board "$work/o2-review.json"
wait_kind "$(inbox la-newport)" STATUS_UPDATE 2 10 && ok "a late review is still recorded: not upheld" || bad "O2 review lost"
review "$work/o2-again.json" O2 OVERRIDE_UPHELD
send gwent-board "$work/o2-again.json"
wait_count "$work/gwent-board/failed" 4 10 "*.error" && ok "an override is reviewed once" || bad "second review accepted"

echo "== the auditor's tools"
stop_broker
audit () { "$bin/rhannu-audit" "$@" --data "$work/broker/data" --pki "$work/pki"; }
r=$(audit replay); rc=$?
expect "rhannu-audit replay reproduces every decision, the overrides included" "$rc" 0
expect_match "re-deciding each" "$r" "re-decided [1-9][0-9]* policy decisions against the agreement versions they name: [0-9]+ reproduce, 0 do not"
c=$(audit chronology --case O1)
expect_match "the O1 chronology shows the override" "$c" "CONSENT_OVERRIDE .*police-gwent"
expect_match "the reviewer's alert" "$c" "NOTICE +ALERT +broker +-> gwent-board"
expect_match "and the review" "$c" "ACCEPTED +STATUS_UPDATE +gwent-board"
j=$(audit report --json --html "$work/report.html" | tr -d ' \n')
expect_match "the report counts the overrides" "$j" '"consent_overrides":\{"count":2,"upheld":1,"not_upheld":1,"unreviewed":0,"review_deadline_missed":1'
expect_match "and lists each with its rule and review" "$j" '"case":"O2","rule":"R1","at_ms":[0-9]+,"review":"OVERRIDE_NOT_UPHELD"'
expect_match "the report page says so in words" "$(cat "$work/report.html")" "2 consent overrides: 1 upheld on review, 1 not upheld\. 0 awaiting review; 1 reviews were not made by their deadline\."

finish
