#!/usr/bin/env bash
#  Issue 16: a transfer that crossed the border opens the case on the receiving side. la1 (east)
#  transfers referrals to la2's front door (west); on west each transfer opens a case held by
#  la2-fd, under west's agreement and its deadlines. la2's answers that name no recipient, to
#  the original referral or to the transfer, go back across the link: the referrer in east
#  hears la2's progress and outcome. West moves its case on with them: a decided case owes
#  nothing more, an undecided one reminds la2 and falls overdue on west's clock, and a close
#  before any outcome is refused at west, typed and audited. West's chronology shows it all.
source "$(dirname "$0")/lib.sh"

source "$(dirname "$0")/fed_lib.sh"

echo "== two regions; west's agreement with la1 gives its cases deadlines, on west's own clock"
fed_regions
#  East's agreement works with west's police too (a transfer to it joins the case below).
sed -i 's/^version: 1$/version: 2/; s/^rules:/  - {id: police-west, roles: [member]}\nrules:/' "$work/agreements/test-open.yaml"
sign_agreements
reloads=$(grep -c "reloaded PKI" "$work/broker/broker.log")
kill -HUP $broker_pid
deadline=$((SECONDS + 10))
until [ "$(grep -c "reloaded PKI" "$work/broker/broker.log")" -gt "$reloads" ] || [ $SECONDS -ge $deadline ]; do sleep 0.1; done
stop_west
sed -i 's/^version: 1$/version: 2/' "$work/west/agreements/test-open.yaml"
cat >> "$work/west/agreements/test-open.yaml" <<YAML
obligations:
  acknowledge_hours: 24
  outcome_days: {default: 5}
  reminder_hours_before: 24
YAML
"$bin/rhannu-ca" sign-agreement "$work/west/pki" "$work/west/agreements/test-open.yaml" >/dev/null
printf 'clock:\n  offset_file: %s\n' "$work/west/clock" >> "$work/west/broker/broker.yaml"
echo 0 > "$work/west/clock"
start_west
link_up "$work/broker/broker.log" 2 && link_up "$work/west/broker.log" 2 || bad "the links did not come back"
wait_connected la2-fd || bad "la2-fd did not reconnect"

#  transfer CASE: police-east refers CASE to la1, la1 transfers it to la2; sets rid and tid.
transfer () {
    sed "s/\"case_id\": \"S6\"/\"case_id\": \"$1\"/" > "$work/$1-referral.json" <<JSON
{"kind": "REFERRAL", "to": [{"front_door_la": "la1"}], "case_id": "S6", "purpose": "SAFEGUARDING_CHILD",
 "author": {"practitioner_id": "PC-6"},
 "body": {"referral_kind": "PPN", "categories": ["CCE"], "narrative": "county lines, lives in la2",
          "subjects": [{"kind": "CHILD", "home_la": "la2", "name": "Youth Six", "date_of_birth": "2009-06-06"}],
          "consent": {"state": "NOT_REQUIRED_SIGNIFICANT_HARM", "family_aware": true}}}
JSON
    local n
    n=$(count_kind "$work/la1-fd/inbox" REFERRAL)
    send police-east "$work/$1-referral.json"
    wait_kind "$work/la1-fd/inbox" REFERRAL $((n + 1)) 15 || bad "$1: the referral did not reach la1"
    rid=$(msg_id_of "$(newest_kind "$work/la1-fd/inbox" REFERRAL)")
    cat > "$work/$1-transfer.json" <<JSON
{"kind": "TRANSFER", "to": [{"front_door_la": "la2", "alias": "SPOC"}], "in_reply_to": "$rid", "case_id": "$1",
 "purpose": "SAFEGUARDING_CHILD",
 "body": {"to": {"front_door_la": "la2", "alias": "SPOC"}, "reason": "the youth lives in la2",
          "cross_border": true, "from_la": "la1", "to_la": "la2"}}
JSON
    n=$(count_kind "$work/la2-fd/inbox" TRANSFER)
    send la1-fd "$work/$1-transfer.json"
    wait_kind "$work/la2-fd/inbox" TRANSFER $((n + 1)) 20 || bad "$1: the transfer did not reach la2"
    tid=$(msg_id_of "$(newest_kind "$work/la2-fd/inbox" TRANSFER)")
}
has () {    # has AGENCY TEXT N: waits until N files in AGENCY's inbox hold TEXT
    local deadline=$((SECONDS + 20))
    until [ "$(grep -l "$2" "$work/$1/inbox"/*.json 2>/dev/null | wc -l)" -ge "$3" ]; do
        [ $SECONDS -lt $deadline ] || return 1
        sleep 0.1
    done
}
alerts () { grep -l "\"alert_kind\": \"$2\"" "$work/$1/inbox"/*.json 2>/dev/null | xargs -r grep -l "\"case_id\": \"$3\"" | wc -l; }

echo "== S6: la2's answers to the original referral, without address, go back to the referrer"
transfer S6
s6=$rid
cat > "$work/s6-screening.json" <<JSON
{"kind": "STATUS_UPDATE", "in_reply_to": "$s6", "purpose": "REFERRER_FEEDBACK",
 "body": {"update_kind": "UNDER_SCREENING", "detail": "screening by la2's duty team"}}
JSON
send la2-fd "$work/s6-screening.json"
has police-east "screening by la2's duty team" 1 && ok "an update naming only the referral reaches the referrer in east" \
    || bad "la2's update did not come back across the link"
cat > "$work/s6-receipt.json" <<JSON
{"kind": "RECEIPT", "in_reply_to": "$s6", "case_id": "S6", "purpose": "REFERRER_FEEDBACK",
 "body": {"original_msg_id": "$s6", "case_id": "S6", "held_by": "la2-fd", "held_by_label": "LA2 IAA",
          "summary_en": "LA2 IAA holds the case now"}}
JSON
send la2-fd "$work/s6-receipt.json"
has police-east "LA2 IAA holds the case now" 1 && ok "so does la2's own receipt" || bad "la2's receipt did not reach the referrer"
cat > "$work/s6-outcome.json" <<JSON
{"kind": "OUTCOME", "in_reply_to": "$s6", "case_id": "S6", "purpose": "REFERRER_FEEDBACK",
 "body": {"decision": "SECTION_47", "rationale": "strategy discussion held in la2"}}
JSON
send la2-fd "$work/s6-outcome.json"
has police-east '"decision": "SECTION_47"' 1 && ok "and la2's outcome, as an outcome notice" || bad "the referrer did not hear la2's outcome"

echo "== S6 again: la1 hands it to west's police as well; that transfer joins west's case"
cat > "$work/s6-police.json" <<JSON
{"kind": "TRANSFER", "to": [{"agency_id": "police-west"}], "in_reply_to": "$s6", "case_id": "S6",
 "purpose": "SAFEGUARDING_CHILD",
 "body": {"to": {"agency_id": "police-west"}, "reason": "joint investigation in la2",
          "cross_border": true, "from_la": "la1", "to_la": "la2"}}
JSON
send la1-fd "$work/s6-police.json"
wait_kind "$work/police-west/inbox" TRANSFER 1 20 && ok "police-west has la1's transfer" \
    || bad "la1's second transfer did not reach police-west"
cat > "$work/s6-visit.json" <<JSON
{"kind": "STATUS_UPDATE", "in_reply_to": "$s6", "purpose": "REFERRER_FEEDBACK",
 "body": {"update_kind": "ALLOCATED", "detail": "joint visit arranged with la2"}}
JSON
send police-west "$work/s6-visit.json"
has police-east "joint visit arranged with la2" 1 && ok "and its update, naming only the referral, reaches the referrer" \
    || bad "police-west's update did not come back"
expect "la1's agent holds nothing back" "$(count_files "$work/la1-fd/failed" "*.error")" 0

echo "== T2: la2's outcome answering the transfer, without address, goes back to la1"
transfer T2
t2=$tid
cat > "$work/t2-outcome.json" <<JSON
{"kind": "OUTCOME", "in_reply_to": "$t2", "purpose": "REFERRER_FEEDBACK",
 "body": {"decision": "NO_FURTHER_ACTION", "rationale": "known to la2, no new concern"}}
JSON
n=$(count_kind "$work/la1-fd/inbox" OUTCOME)
send la2-fd "$work/t2-outcome.json"
wait_kind "$work/la1-fd/inbox" OUTCOME $((n + 1)) 20 && ok "la1 hears la2's outcome on its transfer" || bad "la2's outcome on the transfer was lost"

echo "== T3: nothing from la2; west's deadlines run on its own side of the case"
transfer T3
cat > "$work/t3-close.json" <<JSON
{"kind": "STATUS_UPDATE", "in_reply_to": "$rid", "case_id": "T3", "purpose": "REFERRER_FEEDBACK",
 "body": {"update_kind": "CLOSED", "closure_reason": "duplicate"}}
JSON
send la2-fd "$work/t3-close.json"
wait_count "$work/la2-fd/failed" 1 10 "*.error" && ok "la2 may not close T3 before any outcome went back" \
    || bad "a close before the outcome was not refused"
expect_match "refused at west, typed" "$(cat "$work"/la2-fd/failed/*.error 2>/dev/null)" \
    "case T3 cannot be closed: no outcome has gone to the referrer la1-fd yet"
expect "and nothing else la2 sent was refused" "$(count_files "$work/la2-fd/failed" "*.error")" 1
echo 345600000 > "$work/west/clock"    #  4 days on: the outcome is due in a day
sleep 0.5
has la2-fd '"alert_kind": "OUTCOME_DUE_SOON"' 1 && ok "day 4: west reminds la2 of T3's outcome" || bad "no reminder at west"
echo 475200000 > "$work/west/clock"    #  5.5 days on
has la2-fd '"alert_kind": "OUTCOME_OVERDUE"' 1 && ok "day 5: west tells la2 T3's outcome is overdue" || bad "no overdue alert at west"
sleep 1
expect "for T3" "$(alerts la2-fd OUTCOME_OVERDUE T3)" 1
expect "none for S6, decided" "$(alerts la2-fd OUTCOME_OVERDUE S6)" 0
expect "none for T2, decided on the transfer" "$(alerts la2-fd OUTCOME_OVERDUE T2)" 0
#  (its alert would go to la1, in east: west's log says whether one fell due)
expect "la2's agent took all three in: no acknowledgement fell overdue at west" \
    "$(grep -c "alert kind 7 " "$work/west/broker.log")" 0
expect "non-parties get nothing: school-east" "$(count_files "$work/school-east/inbox")" 0
expect "police-west gets its transfer only" "$(count_files "$work/police-west/inbox")" 1

stop_west
chron=$("$bin/rhannu-audit" chronology --case S6 --data "$work/west/broker/data" --pki "$work/west/pki" 2>&1)
expect_match "west's chronology of S6 shows the case opened for la2 on the transfer" "$chron" \
    "CASE_OPENED +- +la1-fd +-> - +case of referral $s6 opened here for la2-fd: transferred in from region east by la1-fd"
expect_match "la2's update naming only the referral, under the case" "$chron" "STATUS_UPDATE +la2-fd +-> region:east"
expect_match "and its outcome going back" "$chron" "OUTCOME +la2-fd +-> region:east"
expect_match "and la1's transfer to police-west joining the case" "$chron" \
    "CASE_JOINED +- +la1-fd +-> - +case of referral $s6 joined here for police-west"
chron=$("$bin/rhannu-audit" chronology --case T3 --data "$work/west/broker/data" --pki "$work/west/pki" 2>&1)
expect_match "T3's shows the close refused" "$chron" "REJECTED +- +la2-fd .*case T3 cannot be closed"
out=$("$bin/rhannu-audit" verify --data "$work/west/broker/data" --pki "$work/west/pki" 2>&1)
expect_match "west's log verifies" "$out" "audit log verified: [0-9]+ records"
out=$("$bin/rhannu-audit" replay --data "$work/west/broker/data" --pki "$work/west/pki" 2>&1)
expect_match "and its decisions replay" "$out" "[0-9]+ reproduce, 0 do not"
finish
