#!/usr/bin/env bash
#  The audit log seen from outside: agents receive the broker's signed checkpoints, check each
#  new one extends the last with a consistency proof, and say so loudly when the broker's
#  history was rewritten (here: its log wiped and started again). rhannu-audit checks a copy.
source "$(dirname "$0")/lib.sh"
make_pki police-gwent:POLICE:newport la-newport:LA_FRONT_DOOR:newport health-abb:HEALTH:newport
BROKER_EXTRA="audit:
  checkpoint_every: 5
  checkpoint_ms: 300"
start_broker
for a in police-gwent la-newport health-abb; do start_agent $a; done
for a in police-gwent la-newport health-abb; do wait_connected $a || bad "$a did not connect"; done

audit_state () { grep -o "\"state\": \"[A-Z_]*\"" "$work/$1/data/status.json" 2>/dev/null | tail -1 | cut -d'"' -f4; }
audit_size () { tr -d '\n ' < "$work/$1/data/status.json" 2>/dev/null | grep -o '"audit_log":{[^}]*}' | grep -o '"checkpoint_size":[0-9]*' | cut -d: -f2; }
wait_size_above () {    # wait_size_above AGENCY N
    local deadline=$((SECONDS + 15))
    until [ "$(audit_size $1 || echo 0)" -gt "$2" ] 2>/dev/null; do [ $SECONDS -lt $deadline ] || return 1; sleep 0.1; done
}
wait_state () {    # wait_state AGENCY STATE
    local deadline=$((SECONDS + 15))
    until [ "$(audit_state $1)" = "$2" ]; do [ $SECONDS -lt $deadline ] || return 1; sleep 0.1; done
}
send_referrals () {    # send_referrals FIRST LAST
    for n in $(seq $1 $2); do referral_json newport "audit-$n" "$n" > "$work/police-gwent/outbox/a$n.json"; done
}

echo "== agents follow the broker's signed checkpoints"
send_referrals 1 10
wait_count "$work/la-newport/inbox" 10 15 || bad "referrals lost"
wait_size_above police-gwent 0 && ok "the police agent holds a checkpoint the broker signed" || bad "no checkpoint at police"
expect "and finds the log consistent" "$(audit_state police-gwent)" CONSISTENT
first=$(audit_size la-newport)
send_referrals 11 30
wait_count "$work/la-newport/inbox" 30 15 || bad "referrals lost"
wait_size_above la-newport "$first" && ok "a later checkpoint is proved to extend the first (size $first -> $(audit_size la-newport))" || bad "checkpoint did not move on"
expect "still consistent" "$(audit_state la-newport)" CONSISTENT
stop_agent health-abb    #  away while the broker's history is rewritten, twice over
trusted_by_health=$(audit_size health-abb)    #  its last status, written as it stopped

echo "== the auditor checks a copy"
stop_broker
cp -r "$work/broker/data" "$work/copy"
out=$("$bin/rhannu-audit" verify --data "$work/copy" --pki "$work/pki"); rc=$?
expect "rhannu-audit verify passes" "$rc" 0
expect_match "with signed checkpoints" "$out" "audit log verified: [0-9]+ records, [1-9][0-9]* signed checkpoints"
"$bin/rhannu-audit" verify --data "$work/copy" --pki "$work/pki" --json | grep -q '"valid": true' \
    && ok "--json says valid" || bad "--json"

echo "== the broker's log is wiped and started again: the agents notice"
mv "$work/broker/data" "$work/old-data"
start_broker
wait_connected police-gwent
send_referrals 31 33
wait_state police-gwent HISTORY_REWRITTEN && ok "the police agent reports the rewritten history" || bad "police did not notice"
expect_match "and says how" "$(tr -d '\n' < "$work/police-gwent/data/status.json")" '"alarm": "the broker.s log shrank from [0-9]+ records \(signed before\) to [0-9]+'
[ -n "$(ls "$work"/police-gwent/inbox/audit-alarm-*.json 2>/dev/null)" ] && ok "an alert file lands in its inbox for the case system" || bad "no alert file"
grep -q "THE BROKER'S AUDIT LOG WAS REWRITTEN" "$work/police-gwent/agent.log" && ok "and its log says it loudly" || bad "not logged"
wait_state la-newport HISTORY_REWRITTEN && ok "so does the front door's agent" || bad "la-newport did not notice"
send_referrals 34 80
wait_count "$work/la-newport/inbox" 80 20 || bad "referrals after the rewrite lost"
start_agent health-abb
wait_connected health-abb
deadline=$((SECONDS + 15))
until [ "$(audit_state health-abb)" = HISTORY_REWRITTEN ] || [ $SECONDS -ge $deadline ]; do sleep 0.1; done
expect "an agent away during the rewrite finds the new, longer log does not extend what it trusted" \
    "$(audit_state health-abb)" HISTORY_REWRITTEN
expect_match "it says which sizes" "$(tr -d '\n' < "$work/health-abb/data/status.json")" "does not extend the $trusted_by_health it signed before"
finish
