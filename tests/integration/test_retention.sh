#!/usr/bin/env bash
#  The agent forgets its per-message records in time (data/retention_days): with its clock moved
#  on (clock/offset_file, tests only), the header digest of a referral older than the retention
#  is forgotten and a reply to it goes unbound, while one to a recent referral is still bound;
#  the records of spool files go once the files are gone; over rounds of traffic what the store
#  keeps levels off at a retention's worth instead of growing; the log says how many were
#  forgotten, never which.
source "$(dirname "$0")/lib.sh"

day=86400000
#  The agents' retention clock, DAYS after now (both agents read the same file).
agent_clock () {
    awk -v d="$1" 'BEGIN { printf "%.0f\n", d * 86400000 }' > "$work/aclock"
    sleep 0.4
}
retention () { python3 -c 'import json, sys; print(json.load(open(sys.argv[1]))["retention"][sys.argv[2]])' \
                   "$work/$1/data/status.json" "$2" 2>/dev/null; }
#  wait_retention AGENCY FIELD MIN SECONDS: until status.json's retention FIELD is at least MIN.
wait_retention () {
    local deadline=$((SECONDS + $4)) value
    while :; do
        value=$(retention "$1" "$2")
        [ -n "$value" ] && [ "$value" -ge "$3" ] && return 0
        [ $SECONDS -lt $deadline ] || return 1
        sleep 0.1
    done
}
#  reply_notice RID: the referrer's notice of a reply to RID (not the broker's receipt of RID), once it is there (10 s at most).
reply_notice () {
    local deadline=$((SECONDS + 10)) found
    until found=$(grep -l "\"in_reply_to\": \"$1\"" $(grep -l '^  "kind": "NOTICE"' \
                      "$work"/police-gwent/inbox/*.json 2>/dev/null) /dev/null 2>/dev/null | head -1)
          [ -n "$found" ] || [ $SECONDS -ge $deadline ]; do
        sleep 0.1
    done
    echo "$found"
}
#  A pass that begins after everything so far, and its result: moves the clock on two hours (a
#  pass begins at most an hour after the last) and waits for it to end.
fresh_pass () {    # fresh_pass AGENCY DAYS
    sleep 1.2    #  status.json is written at most twice a second, after the loop turns
    local passes; passes=$(retention "$1" passes)
    agent_clock "$2"
    wait_retention "$1" passes $((passes + 1)) 15
}

echo 0 > "$work/aclock"
AGENT_EXTRA="clock:
  offset_file: $work/aclock"
RH_LOG_LEVEL=info
start_network police-gwent:POLICE:newport la-newport:LA_FRONT_DOOR:newport

echo "== the retention is a checked key: less than 30 days is refused at start"
sed 's/^data:$/data:\n  retention_days: 29/' "$work/la-newport/agent.yaml" > "$work/short.yaml"
out=$("$bin/rhannu-agent" -f "$work/short.yaml" 2>&1); rc=$?
expect "an agent with retention_days 29 does not start" "$([ $rc != 0 ] && echo refused)" refused
expect_match "and says which key" "$out" "data/retention_days"

stop_agent la-newport
sed -i 's/^data:$/data:\n  retention_days: 30/' "$work/la-newport/agent.yaml"
start_agent la-newport
wait_connected la-newport || bad "la-newport did not connect again"

echo "== a referral on day 0, another on day 20"
referral_json newport keep-1 > "$work/r1.json"
send police-gwent "$work/r1.json"
wait_kind "$work/la-newport/inbox" REFERRAL 1 10 || bad "first referral lost"
r1=$(newest_kind "$work/la-newport/inbox" REFERRAL)
rid1=$(json_field "$r1" msg_id)
agent_clock 20
referral_json newport keep-2 > "$work/r2.json"
send police-gwent "$work/r2.json"
wait_kind "$work/la-newport/inbox" REFERRAL 2 10 || bad "second referral lost"
r2=$(newest_kind "$work/la-newport/inbox" REFERRAL)
rid2=$(json_field "$r2" msg_id)
hash2=$(json_field "$r2" header_sha256)
expect_match "the second shows its header digest" "$hash2" '^[0-9a-f]{64}$'
fresh_pass la-newport 20.1 || bad "no pass on day 20"
expect "on day 20 nothing is forgotten" "$(retention la-newport forgotten)" 0
expect "and both arrivals are kept" "$(retention la-newport kept)" 2

echo "== on day 35 the first is past 30 days, the second is not"
fresh_pass la-newport 35 || bad "no pass on day 35"
expect "the first arrival's record is forgotten" "$(retention la-newport forgotten)" 1
expect "the second's is kept" "$(retention la-newport kept)" 1

echo "== a reply to the recent referral is still bound; one to the old referral goes unbound"
cat > "$work/o2.json" <<EOF2
{"kind": "OUTCOME", "in_reply_to": "$rid2", "case_id": "keep-2",
 "body": {"decision": "NO_FURTHER_ACTION", "rationale": "no role"}}
EOF2
send la-newport "$work/o2.json"
notice2=$(reply_notice "$rid2")
expect "the outcome to the recent referral is accepted" "$([ -n "$notice2" ] && echo yes)" yes
expect "and carries that referral's header digest" "$(json_field "$notice2" in_reply_sha256)" "$hash2"
cat > "$work/o1.json" <<EOF2
{"kind": "OUTCOME", "in_reply_to": "$rid1", "case_id": "keep-1",
 "body": {"decision": "NO_FURTHER_ACTION", "rationale": "months later"}}
EOF2
send la-newport "$work/o1.json"
notice1=$(reply_notice "$rid1")
expect "the outcome to the old referral is accepted" "$([ -n "$notice1" ] && echo yes)" yes
expect "and goes without a digest (forgotten)" "$(json_field "$notice1" in_reply_sha256)" ""
expect "nothing went to failed/" "$(count_files "$work/la-newport/failed" "*.error")" 0

echo "== the spool files' records go a day after the files were taken"
fresh_pass la-newport 35.1 || bad "no pass after the outcomes"
expect "the two outcome files are remembered" "$(retention la-newport kept)" 3
fresh_pass la-newport 36.5 || bad "no pass on day 36.5"
expect "a day later they are forgotten, the arrival is kept" "$(retention la-newport kept)" 1
expect "three records forgotten in all" "$(retention la-newport forgotten)" 3

echo "== over rounds of traffic every 20 days, what is kept levels off"
kept_rounds=""
for round in 1 2 3 4; do
    at=$((40 + round * 20))
    agent_clock $at
    have=$(count_kind "$work/la-newport/inbox" REFERRAL)
    for i in 1 2 3; do
        referral_json newport "round-$round-$i" > "$work/q.json"
        send police-gwent "$work/q.json"
    done
    wait_kind "$work/la-newport/inbox" REFERRAL $((have + 3)) 15 || bad "round $round lost referrals"
    fresh_pass la-newport "$at.1" || bad "no pass in round $round"
    kept_rounds="$kept_rounds $(retention la-newport kept)"
done
#  Day 60: its 3 (day 20's is past 30 days); from day 80 on, the round's and the last round's.
expect "kept after each round" "$kept_rounds" " 3 6 6 6"
forgotten=$(retention la-newport forgotten)
expect "and the older rounds forgotten" "$forgotten" 10

echo "== the log counts what was forgotten and names nothing"
log=$(grep 'retention' "$work/la-newport/agent.log")
expect_match "a pass that forgot something says how many" "$log" "retention: forgot 1 records"
leak=$(grep -cE "$rid1|$rid2|o1.json|o2.json|keep-1|keep-2" <<< "$log")
expect "no message id, spool file or case on those lines" "$leak" 0

echo "== after a restart, what is kept is kept and still binds"
stop_agent la-newport
start_agent la-newport
wait_connected la-newport || bad "la-newport did not connect after the restart"
wait_retention la-newport passes 1 15 || bad "no pass after the restart"
expect "the first pass after a restart keeps the same" "$(retention la-newport kept)" 6
r=$(newest_kind "$work/la-newport/inbox" REFERRAL)
rid=$(json_field "$r" msg_id)
cat > "$work/o3.json" <<EOF2
{"kind": "OUTCOME", "in_reply_to": "$rid", "case_id": "$(json_field "$r" case_id)",
 "body": {"decision": "NO_FURTHER_ACTION", "rationale": "after the restart"}}
EOF2
send la-newport "$work/o3.json"
notice3=$(reply_notice "$rid")
expect "the outcome after the restart is accepted" "$([ -n "$notice3" ] && echo yes)" yes
expect "a reply to the last round's referral carries its digest" \
    "$(json_field "$notice3" in_reply_sha256)" "$(json_field "$r" header_sha256)"
finish
