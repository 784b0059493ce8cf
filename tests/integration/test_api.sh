#!/usr/bin/env bash
#  The agent as a library (rhannu_agent.h, librhannu-agent.a), driven by rh-api-example, a small
#  case system that links it: real broker, real agents, real certificates. Submissions through
#  the API reach a front door's agent (its callback, or a spool inbox); a declined delivery is
#  offered again, not lost; a submit that returned survives a kill -9; invalid JSON is a typed
#  refusal with a reason; a message id sent twice is delivered once.
source "$(dirname "$0")/lib.sh"
example="$build_dir/tests/rh-api-example"

make_pki police-gwent:POLICE:newport la-newport:LA_FRONT_DOOR:newport \
    la-cardiff:LA_FRONT_DOOR:cardiff
start_broker

#  write_config AGENCY: the agent's YAML, as start_agent writes it (the API reads the same file).
write_config () {
    mkdir -p "$work/$1"
    cat > "$work/$1/agent.yaml" <<EOF
agency:
  id: $1
pki:
  dir: $work/pki
broker:
  endpoint: $endpoint
spool:
  dir: $work/$1
  scan_ms: 50
data:
  dir: $work/$1/data
send:
  resend_ms: 2000
EOF
}
declare -A api_pids=()
trap 'for p in "${api_pids[@]}"; do kill -9 "$p" 2>/dev/null; done; cleanup' EXIT
#  start_api AGENCY [ARGS...]: rh-api-example run, its lines in $work/AGENCY/api.out.
start_api () {
    local a=$1
    shift
    RH_LOG_LEVEL=warn "$example" run "$work/$a/agent.yaml" "$@" >> "$work/$a/api.out" \
        2>> "$work/$a/api.log" &
    api_pids[$a]=$!
}
stop_api () { kill -TERM "${api_pids[$1]}" 2>/dev/null; wait "${api_pids[$1]}" 2>/dev/null; unset "api_pids[$1]"; }
wait_line () { wait_lines "$1" "$2" 1 "$3"; }    # wait_line FILE REGEX SECONDS
for a in police-gwent la-newport la-cardiff; do write_config $a; done
: > "$work/la-newport/api.out"
: > "$work/police-gwent/api.out"

echo "== a referral submitted through the API reaches a front door that takes it by callback"
start_api la-newport -d 1    # declines the first delivery
start_agent la-cardiff       # the spool agent: deliveries into la-cardiff/inbox/
referral_json newport api-1 "first" > "$work/r1.json"
referral_json cardiff api-2 "to a spool inbox" > "$work/r2.json"
start_api police-gwent "$work/r1.json" "$work/r2.json"
for a in police-gwent la-newport la-cardiff; do
    wait_connected $a && ok "$a connects" || bad "$a did not connect"
done
wait_line "$work/police-gwent/api.out" "^submitted .*" 10
id1=$(grep '^submitted' "$work/police-gwent/api.out" | sed -n 1p | cut -d' ' -f2)
id2=$(grep '^submitted' "$work/police-gwent/api.out" | sed -n 2p | cut -d' ' -f2)
expect_match "submit_batch gives each message its id" "$id1 $id2" "^[A-Za-z0-9_.:-]+ [A-Za-z0-9_.:-]+$"
wait_line "$work/la-newport/api.out" "^received $id1 REFERRAL" 15 \
    && ok "the front door's receive callback got the referral" || bad "no delivery by callback"
expect "the callback's first refusal left it with the broker: declined once" \
    "$(grep -c "^declined $id1" "$work/la-newport/api.out")" 1
expect "then it was offered again and taken once" "$(grep -c "^received $id1" "$work/la-newport/api.out")" 1
expect "nothing was written to la-newport's inbox/ (the callback took it)" \
    "$(count_files "$work/la-newport/inbox")" 0
wait_count "$work/la-cardiff/inbox" 1 10 && ok "the other referral reached a spool inbox" \
    || bad "not in la-cardiff/inbox"
expect_match "it is the one submitted" "$(cat "$work"/la-cardiff/inbox/*.json 2>/dev/null)" "\"msg_id\": \"$id2\""

echo "== the outcome callback hears what became of it"
wait_line "$work/police-gwent/api.out" "^outcome ACCEPTED $id1" 10 \
    && ok "ACCEPTED when the broker stored it" || bad "no ACCEPTED outcome"
wait_line "$work/police-gwent/api.out" "^outcome RECEIPT $id1 " 10 \
    && ok "RECEIPT when the front door's agency took it" || bad "no RECEIPT outcome"
expect "the police's receipts went to its callback too, not inbox/" \
    "$(count_files "$work/police-gwent/inbox")" 0
expect_match "the receipts reached police's receive callback" \
    "$(grep -c '^received .* RECEIPT' "$work/police-gwent/api.out")" "^[12]$"

echo "== a message the broker refuses is told by the outcome callback"
echo '{"kind": "REFERRAL", "to": [{"front_door_la": "atlantis"}], "body": {"narrative": "x"}}' \
    > "$work/nowhere.json"
stop_api police-gwent
start_api police-gwent "$work/nowhere.json"
wait_line "$work/police-gwent/api.out" "^outcome REFUSED .*RH_E_POLICY" 15 \
    && ok "REFUSED with the broker's code" || bad "no REFUSED outcome"
stop_api police-gwent

echo "== invalid JSON is refused up front, with a reason, and nothing is taken"
echo '{"kind": "REFERRAL", "body": {"narrative": "unterminated' > "$work/broken.json"
echo '{"kind": "REFERRAL", "to": [{"front_door_la": "newport"}], "body": {"subjects": [{"kind": "KID"}]}}' \
    > "$work/typo.json"
out=$("$example" send "$work/police-gwent/agent.yaml" "$work/broken.json" 2>>"$work/police-gwent/api.log")
rc=$?
expect "rh_agent_submit returns RH_AGENT_E_INVALID (the example exits 1)" "$rc" 1
expect_match "the reason says where the JSON breaks" "$out" "^invalid line 1 column [0-9]+: not valid JSON"
out=$("$example" send "$work/police-gwent/agent.yaml" "$work/r1.json" "$work/typo.json" 2>>"$work/police-gwent/api.log")
expect_match "a batch names its invalid message by index, and the field" "$out" \
    "^invalid message 1: value not allowed for field body.subjects\[0\].kind; allowed: "
referrals=$(grep -c "^received .* REFERRAL" "$work/la-newport/api.out")
sleep 1
expect "the refused batch's valid message was not taken either" \
    "$(grep -c "^received .* REFERRAL" "$work/la-newport/api.out")" "$referrals"

echo "== a submit that returned survives a kill -9 at once"
referral_json newport api-crash "survives" > "$work/r3.json"
out=$("$example" crash "$work/police-gwent/agent.yaml" "$work/r3.json" 2>>"$work/police-gwent/api.log")
expect "the process died by SIGKILL right after submit returned" "$?" 137
id3=$(echo "$out" | sed -n 's/^submitted //p')
expect_match "it had printed the message id" "$id3" "^[A-Za-z0-9_.:-]+$"
#  The spool agent opens the same outbox database: one path for both.
start_agent police-gwent
wait_line "$work/la-newport/api.out" "^received $id3 REFERRAL" 15 \
    && ok "the spool agent sent it from the durable outbox, and it arrived" || bad "lost after kill -9"
stop_agent police-gwent

echo "== a message id sent twice is delivered once"
cat > "$work/dup.json" <<EOF
{"kind": "REFERRAL", "msg_id": "api-dup-0001", "to": [{"front_door_la": "newport"}], "case_id": "dup",
 "purpose": "SAFEGUARDING_CHILD",
 "body": {"referral_kind": "PPN", "categories": ["DOMESTIC_ABUSE"], "narrative": "twice",
          "subjects": [{"kind": "CHILD", "home_la": "newport"}]}}
EOF
out=$("$example" send "$work/police-gwent/agent.yaml" "$work/dup.json" 2>>"$work/police-gwent/api.log")
expect "the first submit takes the message id it carries" "$out" "submitted api-dup-0001"
out=$("$example" send "$work/police-gwent/agent.yaml" "$work/dup.json" 2>>"$work/police-gwent/api.log")
expect "the second is taken too (the agent does not keep every id it ever sent)" "$out" \
    "submitted api-dup-0001"
referral_json newport after-dup "after" > "$work/r4.json"
before=$(grep -c '^submitted' "$work/police-gwent/api.out")
start_api police-gwent "$work/r4.json"
deadline=$((SECONDS + 10))
until [ "$(grep -c '^submitted' "$work/police-gwent/api.out")" -gt "$before" ] || [ $SECONDS -ge $deadline ]; do
    sleep 0.05
done
id4=$(grep '^submitted' "$work/police-gwent/api.out" | tail -1 | cut -d' ' -f2)
wait_line "$work/la-newport/api.out" "^received $id4 REFERRAL" 15 && ok "a later message arrived" \
    || bad "later message not delivered"
sleep 0.5
expect "the duplicate died by message id: delivered once" \
    "$(grep -c '^received api-dup-0001 ' "$work/la-newport/api.out")" 1
wait_line "$work/police-gwent/api.out" "^outcome REFUSED api-dup-0001 RH_E_REPLAY" 10 \
    && ok "the broker refused the second as a replay, and the outcome callback said so" \
    || bad "no RH_E_REPLAY refusal for the duplicate"

echo "== status.json is kept by the library's agent as by rhannu-agent"
expect_match "la-newport's status counts what its callback took" \
    "$(tr -d '\n ' < "$work/la-newport/data/status.json")" '"received":[4-9]'

stop_api police-gwent
stop_api la-newport
if grep -l -E "ERROR: (Address|Leak)Sanitizer|runtime error:" "$work"/*/api.log >/dev/null 2>&1; then
    bad "a sanitizer reported an error in $(grep -l -E "ERROR: (Address|Leak)Sanitizer|runtime error:" "$work"/*/api.log | tr '\n' ' ')"
fi
finish
