#!/usr/bin/env bash
#  The front door's progress: "received, under screening" and "on hold, waiting for
#  information" (FHIR Task accepted / on-hold) reach the referrer as notices, the referrer's
#  agent follows the state, the chronology shows each step, replay decides them again. On hold
#  does not pause the deadlines (README).
source "$(dirname "$0")/lib.sh"

start_network police-gwent:POLICE:newport la-newport:LA_FRONT_DOOR:newport
progress () {    # progress UPDATE_KIND DETAIL
    cat > "$work/p-$1.json" <<EOF2
{"kind": "STATUS_UPDATE", "in_reply_to": "$rid", "case_id": "H1", "purpose": "REFERRER_FEEDBACK",
 "body": {"update_kind": "$1", "detail": "$2"}}
EOF2
    send la-newport "$work/p-$1.json"
}

referral_json newport H1 > "$work/r.json"
send police-gwent "$work/r.json"
wait_kind "$work/la-newport/inbox" REFERRAL 1 10 || bad "referral lost"
rid=$(json_field "$(newest_kind "$work/la-newport/inbox" REFERRAL)" msg_id)
progress UNDER_SCREENING "screening by the duty team"
wait_kind "$work/police-gwent/inbox" NOTICE 1 10 && ok "the referrer hears it is under screening" || bad "no screening notice"
expect_match "in words" "$(cat "$(newest_kind "$work/police-gwent/inbox" NOTICE)")" '"summary": "Update from la-newport on referral H1: received, under screening\.'
progress ON_HOLD "waiting for the school's attendance record"
wait_kind "$work/police-gwent/inbox" NOTICE 2 10 && ok "the referrer hears it is on hold" || bad "no on-hold notice"
n=$(newest_kind "$work/police-gwent/inbox" NOTICE)
expect_match "and what for" "$(cat "$n")" "waiting for the school's attendance record"
expect_match "in words" "$(cat "$n")" 'on hold, waiting for information'
sleep 0.5
expect_match "the referrer's agent follows the state" "$("$bin/rhannu-agent" status -f "$work/police-gwent/agent.yaml" 2>&1)" "H1 +ON_HOLD +la-newport"

stop_broker
audit () { "$bin/rhannu-audit" "$@" --data "$work/broker/data" --pki "$work/pki"; }
c=$(audit chronology --case H1)
expect_match "the chronology shows screening" "$c" "STATUS_UPDATE +la-newport .*received, under screening"
expect_match "and on hold" "$c" "STATUS_UPDATE +la-newport .*on hold, waiting for information"
r=$(audit replay); rc=$?
expect "rhannu-audit replay reproduces every decision" "$rc" 0
start_broker
finish
