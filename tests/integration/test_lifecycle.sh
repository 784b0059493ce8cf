#!/usr/bin/env bash
#  The referrer feedback loop with real processes: scenarios 1, 4, 5, 9 and 10 of
#  shared/domain.md (c), deadlines on the broker's simulated clock (reminder, overdue,
#  escalation, a broker down across a deadline), a restart in the middle of a lifecycle, and
#  a case that may not close before its outcome notice.
source "$(dirname "$0")/lib.sh"
top=$(cd "$(dirname "$0")/../.." && pwd)

agencies=(police-gwent:POLICE:newport health-abb:HEALTH:newport education-newport:EDUCATION:newport
          vcs-da:VCS:newport la-newport:LA_FRONT_DOOR:newport la-newport-eh:LA_EARLY_HELP:newport
          gwent-board:GOVERNANCE)
make_pki "${agencies[@]}"
rm -f "$work"/agreements/*
cp "$top/tests/integration/agreements/lifecycle.yaml" "$work/agreements/"
sign_agreements
#  The region's subject secret: every agent holds it, the broker does not.
head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n' > "$work/region.key"
chmod 600 "$work/region.key"
AGENT_EXTRA="subjects:
  secret_file: $work/region.key"
start_broker
for spec in "${agencies[@]}"; do start_agent "${spec%%:*}"; done
for spec in "${agencies[@]}"; do wait_connected "${spec%%:*}" || bad "${spec%%:*} did not connect"; done

send () { "$bin/rhannu-agent" send -f "$work/$1/agent.yaml" "$2" >/dev/null; }
inbox () { echo "$work/$1/inbox"; }
has_notice () {    # has_notice AGENCY NOTICE_KIND N: waits for N notices of that kind
    local deadline=$((SECONDS + 10))
    while [ "$(grep -l "\"notice_kind\": \"$2\"" "$(inbox $1)"/*.json 2>/dev/null | wc -l)" -lt "$3" ]; do
        [ $SECONDS -lt $deadline ] || return 1
        sleep 0.05
    done
}
newest_notice () { ls -t $(grep -l "\"notice_kind\": \"$2\"" "$(inbox $1)"/*.json 2>/dev/null) | head -1; }
alerts () { grep -l "\"alert_kind\": \"$2\"" "$(inbox $1)"/*.json 2>/dev/null | wc -l; }
wait_alerts () {    # wait_alerts AGENCY ALERT_KIND N
    local deadline=$((SECONDS + 10))
    until [ "$(alerts $1 $2)" -ge "$3" ]; do [ $SECONDS -lt $deadline ] || return 1; sleep 0.05; done
}
referral () {    # referral FILE CASE NAME DOB [EXTRA BODY JSON]
    cat > "$1" <<EOF
{"kind": "REFERRAL", "to": [{"front_door_la": "newport", "alias": "${ALIAS:-IAA}"}], "case_id": "$2",
 "purpose": "SAFEGUARDING_CHILD", "author": {"practitioner_id": "${AUTHOR:-PC-1}", "supervisor_id": "DS-9"},
 "body": {"referral_kind": "${KIND:-PPN}", "categories": ["DOMESTIC_ABUSE"], "narrative": "about $2",
          "subjects": [{"kind": "CHILD", "home_la": "newport", "name": "$3", "date_of_birth": "$4"}],
          "consent": {"state": "NOT_REQUIRED_SIGNIFICANT_HARM", "family_aware": true}${5:+, $5}}}
EOF
}
outcome () {    # outcome FILE CASE DECISION [EXTRA BODY JSON]
    cat > "$1" <<EOF
{"kind": "OUTCOME", "case_id": "$2", "purpose": "REFERRER_FEEDBACK",
 "body": {"decision": "$3", "rationale": "rationale for $2", "key_directions": "screeners notes $2",
          "rag": "AMBER"${4:+, $4}}}
EOF
}
update () {    # update FILE CASE UPDATE_KIND [EXTRA BODY JSON]
    cat > "$1" <<EOF
{"kind": "STATUS_UPDATE", "case_id": "$2", "purpose": "REFERRER_FEEDBACK",
 "body": {"update_kind": "$3", "detail": "$3 on $2"${4:+, $4}}}
EOF
}

echo "== scenario 1: a PPN, a receipt naming who holds it, the outcome to the officer and supervisor"
referral "$work/s1.json" S1 "Child One" 2016-01-01 '"children_present": true, "requested_route": "DA_HUB"'
ALIAS="DA hub" referral "$work/s1.json" S1 "Child One" 2016-01-01 '"children_present": true, "requested_route": "DA_HUB"'
send police-gwent "$work/s1.json"
wait_kind "$(inbox la-newport)" REFERRAL 1 10 && ok "the PPN reached the front door by its alias" || bad "S1 referral lost"
wait_kind "$(inbox police-gwent)" RECEIPT 1 10 && ok "the officer gets a receipt once the front door has it" || bad "no receipt"
r=$(cat "$(newest_kind "$(inbox police-gwent)" RECEIPT)")
expect_match "signed by the broker" "$r" '"sender": "broker"'
expect_match "it names who holds the referral" "$r" '"held_by_label": "Newport IAA"'
expect_match "and when the outcome is due" "$r" '"outcome_due_ms": [0-9]{13}'
expect_match "with a summary in English" "$r" '"summary_en": "Newport IAA has referral S1; an outcome is due by'
expect_match "and in Welsh" "$r" '"summary_cy": "Mae.r atgyfeiriad S1 gan Newport IAA; disgwylir canlyniad erbyn'
outcome "$work/s1-outcome.json" S1 STEP_DOWN_EARLY_HELP \
    '"better_placed": {"agency_id": "la-newport-eh"}, "better_placed_reason": "Early Help can offer the programme", "referrer_role": "none"'
send la-newport "$work/s1-outcome.json"
has_notice police-gwent NOTICE_OUTCOME 1 && ok "the officer hears the outcome; nobody at the LA addressed it" || bad "no S1 notice"
n=$(cat "$(newest_notice police-gwent NOTICE_OUTCOME)")
expect_match "the summary says what was decided" "$n" '"summary": "Newport IAA decided on referral S1: stepped down to early help\."'
expect_match "for the officer who referred" "$n" '"for_practitioner": "PC-1"'
expect_match "with a copy to the supervisor" "$n" '"supervisor:DS-9"'
expect_match "the front door's own outcome is inside" "$n" '"better_placed_reason": "Early Help can offer the programme"'
expect_match "the screeners' notes and RAG are withheld" "$n" '"withheld": \[[^]]*"rag"[^]]*"key_directions"'
[[ "$n" != *"screeners notes"* ]] && ok "no assessment text reaches the police" || bad "assessment leaked"

echo "== a case may not close before its outcome notice went out"
referral "$work/c0.json" C0 "Child Zero" 2017-02-02
send police-gwent "$work/c0.json"
wait_kind "$(inbox la-newport)" REFERRAL 2 10 || bad "C0 referral lost"
update "$work/c0-close.json" C0 CLOSED '"closure_reason": "duplicate"'
send la-newport "$work/c0-close.json"
wait_count "$work/la-newport/failed" 1 10 "*.error" && ok "closing C0 without an outcome is refused" || bad "C0 closed"
expect_match "because no outcome went to the referrer" "$(cat "$work"/la-newport/failed/*.error)" "case C0 cannot be closed: no outcome has gone to the referrer police-gwent yet"
expect_match "the missing condition is named" "$(cat "$work"/la-newport/failed/*.error)" "missing: outcome_notice"

echo "== scenario 5: allocation and worker change reach everyone involved; an NFA'd referrer hears the step-up"
AUTHOR=HV-5 KIND=PROFESSIONAL referral "$work/s5.json" S5 "Child Five" 2023-05-05
send health-abb "$work/s5.json"
wait_kind "$(inbox la-newport)" REFERRAL 3 10 || bad "S5 referral lost"
outcome "$work/s5-outcome.json" S5 CARE_AND_SUPPORT_ASSESSMENT
send la-newport "$work/s5-outcome.json"
has_notice health-abb NOTICE_OUTCOME 1 && ok "the health visitor hears: care and support assessment" || bad "no S5 outcome"
update "$work/s5-alloc.json" S5 ALLOCATED '"new_owner": {"agency_id": "la-newport-eh"}, "lead_professional": "social worker, Newport East"'
send la-newport "$work/s5-alloc.json"
has_notice health-abb NOTICE_UPDATE 1 && ok "the health visitor hears a worker was allocated" || bad "no ALLOCATED"
expect_match "it says who leads" "$(cat "$(newest_notice health-abb NOTICE_UPDATE)")" '"lead_professional": "social worker, Newport East"'
update "$work/s5-change.json" S5 WORKER_CHANGED '"lead_professional": "social worker, Newport West"'
send la-newport "$work/s5-change.json"
has_notice health-abb NOTICE_UPDATE 2 && ok "the worker change reaches the referrer" || bad "no WORKER_CHANGED at health"
has_notice la-newport-eh NOTICE_UPDATE 1 && ok "and the newly involved team" || bad "no WORKER_CHANGED at early help"
expect_match "which hears it as involved, not as referrer" "$(cat "$(newest_notice la-newport-eh NOTICE_UPDATE)")" '"role": "involved"'
referral "$work/s5b.json" S5B "Child Fivebee" 2014-04-04
send police-gwent "$work/s5b.json"
wait_kind "$(inbox la-newport)" REFERRAL 4 10 || bad "S5B referral lost"
outcome "$work/s5b-outcome.json" S5B NO_FURTHER_ACTION
send la-newport "$work/s5b-outcome.json"
has_notice police-gwent NOTICE_OUTCOME 2 && ok "the police hear NFA" || bad "no S5B outcome"
update "$work/s5b-reopen.json" S5B REOPENED
update "$work/s5b-up.json" S5B STEPPED_UP
send la-newport "$work/s5b-reopen.json"
send la-newport "$work/s5b-up.json"
has_notice police-gwent NOTICE_UPDATE 2 && ok "after NFA the police still hear the reopening and the step-up" || bad "no step-up notice"
expect "one is the reopening" "$(grep -l '"update_kind": "REOPENED"' "$(inbox police-gwent)"/*.json | wc -l)" 1
expect "and one the step-up" "$(grep -l '"update_kind": "STEPPED_UP"' "$(inbox police-gwent)"/*.json | wc -l)" 1

echo "== scenario 9: step-down, an introduction within consent, the person's feedback, closure with what matters"
referral "$work/s9.json" S9 "Child Nine" 2019-09-09 '"what_matters": {"conducted": true, "summary": "Mum wants the children to feel safe at home"}'
send police-gwent "$work/s9.json"
wait_kind "$(inbox la-newport)" REFERRAL 5 10 || bad "S9 referral lost"
outcome "$work/s9-outcome.json" S9 STEP_DOWN_EARLY_HELP
send la-newport "$work/s9-outcome.json"
has_notice police-gwent NOTICE_OUTCOME 3 || bad "no S9 outcome"
intro () {    # intro FILE SCOPE-JSON
    cat > "$1" <<EOF
{"kind": "TRANSFER", "to": [{"agency_id": "vcs-da"}], "case_id": "S9", "purpose": "SAFEGUARDING_CHILD",
 "body": {"to": {"agency_id": "vcs-da"}, "reason": "support group introduction",
          "consent": {"state": "GIVEN", "given_by": "parent", "family_aware": true, "scope": $2}}}
EOF
}
intro "$work/s9-intro-bad.json" '["LA_EARLY_HELP"]'
send la-newport "$work/s9-intro-bad.json"
wait_count "$work/la-newport/failed" 2 10 "*.error" && ok "an introduction outside the consent scope is refused" || bad "intro not refused"
intro "$work/s9-intro.json" '["LA_EARLY_HELP", "VCS"]'
send la-newport "$work/s9-intro.json"
wait_kind "$(inbox vcs-da)" TRANSFER 1 10 && ok "within the consent scope the VCS is introduced" || bad "intro lost"
cat > "$work/s9-feedback.json" <<EOF
{"kind": "USER_FEEDBACK", "to": [{"agency_id": "la-newport"}], "case_id": "S9", "purpose": "EARLY_HELP",
 "body": {"distance_travelled_start": 3, "distance_travelled_end": 7, "felt_listened_to": 5,
          "views_respected": 4, "told_what_next": 5, "respondent": "parent"}}
EOF
send la-newport-eh "$work/s9-feedback.json"
wait_kind "$(inbox la-newport)" USER_FEEDBACK 1 10 && ok "the family's feedback reaches the front door, on case S9" || bad "feedback lost"
update "$work/s9-close.json" S9 CLOSED '"closure_reason": "12-week programme completed", "final_what_matters": {"conducted": true, "summary": "Mum wants the children to feel safe at home: achieved"}'
send la-newport "$work/s9-close.json"
wait_kind "$(inbox police-gwent)" NOTICE 6 10 || true
c=$(grep -l '"update_kind": "CLOSED"' "$(inbox police-gwent)"/*.json 2>/dev/null | head -1)
[ -n "$c" ] && ok "the referrer is told the case closed" || bad "no closure notice"
expect_match "with what mattered to the family, carried to closure" "$(cat "$c" 2>/dev/null)" '"summary": "Mum wants the children to feel safe at home: achieved"'
sleep 0.6
st=$("$bin/rhannu-agent" status -f "$work/police-gwent/agent.yaml")
expect_match "rhannu-agent status lists the officer's open referrals" "$st" "S1 +DECIDED +Newport IAA +STEP_DOWN_EARLY_HELP"
[[ "$st" != *"S9 "* ]] && ok "a closed case is no longer listed as open" || bad "S9 still listed"

echo "== scenario 4: three referrals about one child, each NFA: the front door and Families First are alerted"
AUTHOR=PC-4 referral "$work/s4a.json" S4-POL "Rhys Bevan" 2015-06-01
AUTHOR=DSL-4 referral "$work/s4b.json" S4-EDU "BEVAN, Rhys" 2015-06-01
AUTHOR=HV-4 referral "$work/s4c.json" S4-HEA "rhys  bevan" 2015-06-01
send police-gwent "$work/s4a.json"; send education-newport "$work/s4b.json"; send health-abb "$work/s4c.json"
wait_kind "$(inbox la-newport)" REFERRAL 8 10 && ok "three referrals arrive" || bad "S4 referrals lost"
ids=$(grep -l '"case_id": "S4-' "$(inbox la-newport)"/*.json | xargs grep -h '"subject_key"' | sort -u | wc -l)
expect "all three carry the same pseudonymous subject key" "$ids" 1
grep -q '"name": "Rhys Bevan"' $(grep -l '"case_id": "S4-POL"' "$(inbox la-newport)"/*.json) && \
    ! grep -rq "Rhys" "$work/broker/broker.log" && ok "the broker log never names the child" || bad "name in broker log"
for c in S4-POL S4-EDU; do outcome "$work/o-$c.json" $c NO_FURTHER_ACTION; send la-newport "$work/o-$c.json"; done
sleep 0.5
expect "two NFAs raise no alert" "$(alerts la-newport REPEAT_REFERRALS)" 0
stop_agent la-newport-eh    #  Families First is offline: its copy of the alert waits
outcome "$work/s4-third.json" S4-HEA NO_FURTHER_ACTION
send la-newport "$work/s4-third.json"
wait_alerts la-newport REPEAT_REFERRALS 1 && ok "the third NFA alerts the front door" || bad "no repeat alert at the front door"
a=$(cat $(grep -l '"alert_kind": "REPEAT_REFERRALS"' "$(inbox la-newport)"/*.json | head -1))
expect_match "naming three referrals" "$a" '"count": 3'
expect_match "within the 90-day window" "$a" '"window_days": 90'
for c in S4-POL S4-EDU S4-HEA; do expect_match "including $c" "$a" "\"$c\""; done
update "$work/s4-close.json" S4-HEA CLOSED '"closure_reason": "no role"'
send la-newport "$work/s4-close.json"
wait_count "$work/la-newport/failed" 3 10 "*.error" && ok "closing before Families First took the alert in is refused" || bad "S4 closed with the alert pending"
expect_match "and says why" "$(cat $(ls -t "$work"/la-newport/failed/*.error | head -1))" "repeat-referral alert .* has not been taken in yet"
start_agent la-newport-eh
wait_alerts la-newport-eh REPEAT_REFERRALS 1 && ok "Families First gets the alert when it is back" || bad "no repeat alert at early help"
sleep 0.5
update "$work/s4-close-again.json" S4-HEA CLOSED '"closure_reason": "reviewed with the repeat alert"'
send la-newport "$work/s4-close-again.json"
sleep 1
expect "once everyone alerted has it, the case closes" "$(count_files "$work/la-newport/failed" "*.error")" 3
wait_kind "$(inbox health-abb)" NOTICE 4 10 && ok "and the referrer is told it closed" || bad "no S4 closure notice"

echo "== deadlines on the simulated clock: reminder, overdue, escalation"
referral "$work/d1.json" D1 "Child Dee" 2012-12-12
send police-gwent "$work/d1.json"
wait_kind "$(inbox la-newport)" REFERRAL 9 10 || bad "D1 referral lost"
set_clock 4.1    # past "due in 5 days, remind 24 h before"
wait_alerts la-newport OUTCOME_DUE_SOON 1 && ok "day 4: the front door is reminded" || bad "no reminder"
expect "the referrer is not bothered yet" "$(alerts police-gwent OUTCOME_OVERDUE)" 0
set_clock 5.1
wait_alerts police-gwent OUTCOME_OVERDUE 2 && ok "day 5: the referrer is told the outcome is overdue (D1, and C0 still undecided)" || bad "no overdue notice"
o=$(cat $(grep -l '"case_id": "D1"' $(grep -l '"alert_kind": "OUTCOME_OVERDUE"' "$(inbox police-gwent)"/*.json) | head -1))
expect_match "an overdue notice names the case and holder" "$o" "The outcome of referral D1 held by Newport IAA was due by"
expect_match "the front door was connected: not put down to an outage" "$o" '"summary_en": "[^"]*is not recorded\."'
wait_alerts la-newport OUTCOME_OVERDUE 1 && ok "and so is the front door" || bad "holder not told"
set_clock 7.2
wait_alerts gwent-board ESCALATION 1 && ok "day 7: escalated to the safeguarding lead the agreement names" || bad "no escalation"
sleep 0.6
expect_match "the officer's status shows D1 overdue" "$("$bin/rhannu-agent" status -f "$work/police-gwent/agent.yaml")" "D1 +ACKNOWLEDGED .* overdue"

echo "== a restart in the middle of a lifecycle"
referral "$work/r1.json" R1 "Child Arr" 2011-11-11
send police-gwent "$work/r1.json"
wait_kind "$(inbox police-gwent)" RECEIPT 8 10 || true
kill_broker
start_broker
wait_connected la-newport
outcome "$work/r1-outcome.json" R1 SIGNPOSTED '"better_placed": {"agency_id": "vcs-da"}, "better_placed_reason": "DA support"'
send la-newport "$work/r1-outcome.json"
deadline=$((SECONDS + 15))
until grep -l '"case_id": "R1"' $(grep -l '"notice_kind": "NOTICE_OUTCOME"' "$(inbox police-gwent)"/*.json) >/dev/null 2>&1; do
    [ $SECONDS -lt $deadline ] || break; sleep 0.1; done
grep -l '"case_id": "R1"' $(grep -l '"notice_kind": "NOTICE_OUTCOME"' "$(inbox police-gwent)"/*.json) >/dev/null 2>&1 \
    && ok "after kill -9 and restart the case is still known: the outcome reaches the referrer" || bad "R1 lost across restart"

echo "== a broker down across a deadline catches up"
referral "$work/b1.json" B1 "Child Bee" 2010-10-10
send police-gwent "$work/b1.json"
wait_kind "$(inbox la-newport)" REFERRAL 11 10 || bad "B1 referral lost"
before=$(alerts police-gwent OUTCOME_OVERDUE)
stop_broker
set_clock 13.5    # B1 was sent on day 7.2 of the simulated clock: due day 12.2
start_broker
wait_alerts police-gwent OUTCOME_OVERDUE $((before + 1)) && ok "started after the deadline, the broker sends the overdue notice" || bad "no catch-up"
expect "the reminder that was due while it was down is not sent late" "$(grep -l '"case_id": "B1"' $(grep -l '"alert_kind": "OUTCOME_DUE_SOON"' "$(inbox la-newport)"/*.json) 2>/dev/null | wc -l)" 0

echo "== scenario 10: the front door offline for 9 days; breaches put down to the outage, then delivery in order"
stop_agent la-newport
for n in 1 2 3; do referral "$work/t$n.json" T10-$n "Child Ten$n" 2013-03-0$n; send police-gwent "$work/t$n.json"; sleep 0.1; done
wait_kind "$(inbox police-gwent)" RECEIPT 10 2 && bad "receipts while the front door is offline" || ok "no receipt while the front door is offline"
set_clock 23
wait_alerts police-gwent ACKNOWLEDGEMENT_OVERDUE 3 && ok "after a day the officer hears the referrals were not taken in" || bad "no acknowledgement alerts"
t=$(cat $(grep -l '"alert_kind": "ACKNOWLEDGEMENT_OVERDUE"' "$(inbox police-gwent)"/*.json | head -1))
expect_match "put down to the outage" "$t" '"outage_attributed": true'
expect_match "saying so in the summary" "$t" "the front door was not connected"
start_agent la-newport
wait_connected la-newport
wait_kind "$(inbox la-newport)" REFERRAL 14 15 && ok "the front door gets all three when it is back" || bad "T10 not delivered"
stop_broker
log=$("$bin/rhannu-broker" log -f "$work/broker/broker.yaml")
order=$(echo "$log" | grep -E "DELIVERED .*police-gwent +la-newport" | tail -3 | awk '{print $4}')
sent=$(echo "$log" | grep -E "ACCEPTED .*police-gwent +la-newport +REFERRAL" | tail -3 | awk '{print $4}')
expect "in the order they were sent" "$order" "$sent"
expect_match "the audit log verifies" "$log" "Merkle tree intact"
expect_match "notices are audited" "$log" "NOTICE .*outcome notice"

echo "== the auditor's tools on a copy of the broker's data"
cp -r "$work/broker/data" "$work/audit-copy"
audit () { "$bin/rhannu-audit" "$@" --data "$work/audit-copy" --pki "$work/pki"; }
v=$(audit verify); rc=$?
expect "rhannu-audit verify passes on the log the tests made" "$rc" 0
expect_match "checking the tree, the signed checkpoints and every message signature" "$v" "audit log verified: [0-9]+ records, [1-9][0-9]* signed checkpoints, [1-9][0-9]* message signatures"
s1=$(grep -l '"case_id": "S1"' "$(inbox la-newport)"/*.json | head -1)
p=$(audit proof --message "$(grep -o '"msg_id": "[^"]*"' "$s1" | head -1 | cut -d'"' -f4)" --json)
expect_match "an inclusion proof of the S1 referral verifies" "$p" '"verified": true'
c=$(audit chronology --case S1)
expect_match "the S1 chronology starts with the referral under its rule" "$c" "ACCEPTED +REFERRAL +police-gwent +-> la-newport"
expect_match "shows when the referrer was told" "$c" "NOTICE +NOTICE +broker +-> police-gwent"
expect_match "and what was withheld from the referrer" "$c" 'to police-gwent under TEST-LIFECYCLE v1 rule R3, withheld \["rag","key_directions"\]'
r=$(audit replay); rc=$?
expect "rhannu-audit replay reproduces every decision of this log" "$rc" 0
expect_match "re-deciding each against its agreement version" "$r" "re-decided [1-9][0-9]* policy decisions against the agreement versions they name: [0-9]+ reproduce, 0 do not"
expect_match "and rebuilds the lifecycles" "$r" "replayed 1[0-9] referrals from the log"
key=$(grep -h '"subject_key"' $(grep -l '"case_id": "S4-POL"' "$(inbox la-newport)"/*.json) | head -1 | cut -d'"' -f4)
d=$(audit disclosures --subject "$key")
expect "disclosures about the S4 child list its three referrals" "$(echo "$d" | grep -cE "ACCEPTED +REFERRAL")" 3
expect_match "and the repeat-referral alerts about it" "$d" "NOTICE +ALERT +broker +-> la-newport"
j=$(audit report --json --csv "$work/csv" --html "$work/report.html")
expect_match "the report counts the referrals" "$j" '"referrals": 1[0-9]'
expect_match "their outcomes and deadlines" "$j" '"within_deadline_percent": [0-9.]+'
expect_match "the overdue ones" "$j" '"outcome_overdue": [1-9]'
expect_match "and the people alerted about as repeat referrals" "$j" '"repeat_referral_people": [1-9]'
expect "the CSV files are written (strategy_meetings_by_agency among them)" "$(ls "$work/csv" | wc -l)" 12
expect_match "one per local authority, with its name" "$(cat "$work/csv/by_local_authority.csv")" 'newport,Newport,[0-9]+'
expect "the HTML page holds its month trend as inline SVG" "$(grep -c '<svg class="trend"' "$work/report.html")" 1
! grep -qE 'src="http|href="http|<script' "$work/report.html" && ok "and needs nothing from the network" || bad "the page loads something"
#  Rendered by a real browser, headless: the page with its charts, against an empty page.
echo '<!DOCTYPE html><html><body></body></html>' > "$work/blank.html"
for page in report blank; do
    chromium --headless --no-sandbox --disable-gpu --hide-scrollbars --window-size=800,2000 \
        --screenshot="$work/$page.png" "file://$work/$page.html" >/dev/null 2>&1
done
[ -s "$work/report.png" ] && ok "headless Chromium renders the report ($(stat -c %s "$work/report.png") bytes of PNG)" || bad "no screenshot"
[ "$(stat -c %s "$work/report.png" 2>/dev/null || echo 0)" -gt $(( 3 * $(stat -c %s "$work/blank.png" 2>/dev/null || echo 1) )) ] \
    && ok "with far more drawn on it than on an empty page" || bad "the screenshot looks empty"
cp "$work/report.png" "$top/build/report-screenshot.png" 2>/dev/null || true
finish
