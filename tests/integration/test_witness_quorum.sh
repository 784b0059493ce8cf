#!/usr/bin/env bash
#  The broker's checkpoints witnessed: a real rhannu-witness cosigns them, agents that require a
#  quorum trust only cosigned checkpoints, routing carries on while the witness is down (the
#  broker says so once, the agents say what they wait for), cosigning resumes when it is back,
#  and rhannu-audit verify checks the quorum on a copy.
source "$(dirname "$0")/lib.sh"
origin="rhannu.test/broker"
make_pki police-gwent:POLICE:newport la-newport:LA_FRONT_DOOR:newport health-abb:HEALTH:newport
#  The witness first: the broker checkpoints its start-up records at once.
witness_setup "$origin"
othervkey=$("$bin/rhannu-witness" keygen witness.test/never "$work/witness/never.key" 2>/dev/null)
expect_match "rhannu-broker vkey names the key its checkpoint notes are signed with" "$log_vkey" "^rhannu\.test/broker\+[0-9a-f]{8}\+A"
start_witness
start_broker
expect "the broker logs the same vkey at start" \
    "$(grep -o "checkpoints go to 1 witness(es) as [^ ]*" "$work/broker/broker.log" | head -1 | awk '{print $NF}')" "$log_vkey"
AGENT_EXTRA="witness:
  keys: \"$wvkey\"
  quorum: 1" start_agent police-gwent
AGENT_EXTRA="witness:
  keys: \"$wvkey\"
  quorum: 1" start_agent la-newport
AGENT_EXTRA="witness:
  keys: \"$othervkey\"
  quorum: 1" start_agent health-abb
for a in police-gwent la-newport health-abb; do wait_connected $a || bad "$a did not connect"; done

status () { tr -d '\n ' < "$work/$1/data/status.json" 2>/dev/null | grep -o '"audit_log":{[^}]*}'; }
field () { status $1 | grep -o "\"$2\":[^,}]*" | cut -d: -f2 | tr -d '"'; }
wait_field () {    # wait_field AGENCY FIELD VALUE SECONDS
    local deadline=$((SECONDS + $4))
    until [ "$(field $1 $2)" = "$3" ]; do [ $SECONDS -lt $deadline ] || return 1; sleep 0.1; done
}
wait_size_above () {    # wait_size_above AGENCY N SECONDS
    local deadline=$((SECONDS + $3))
    until [ "$(field $1 checkpoint_size || echo 0)" -gt "$2" ] 2>/dev/null; do [ $SECONDS -lt $deadline ] || return 1; sleep 0.1; done
}
send_referrals () {    # send_referrals FIRST LAST
    for n in $(seq $1 $2); do referral_json newport "wq-$n" "$n" > "$work/police-gwent/outbox/w$n.json"; done
}

echo "== with the witness up, checkpoints are cosigned and trusted"
send_referrals 1 10
wait_count "$work/la-newport/inbox" 10 20 || bad "referrals lost"
wait_size_above police-gwent 0 20 && ok "the police agent trusts a cosigned checkpoint" || bad "no checkpoint trusted at police"
#  Each new checkpoint reaches the agents before its cosignature does: AWAITING_WITNESSES for
#  a moment is the truth, so wait for the state to settle.
wait_field police-gwent state CONSISTENT 15 && ok "and finds the log consistent" || bad "police: $(status police-gwent)"
expect "with a quorum of 1" "$(field police-gwent witness_quorum)" 1
wait_size_above la-newport 0 20 && ok "so does the front door's agent" || bad "no checkpoint trusted at la-newport"
ls "$work/witness/state" 2>/dev/null | grep -q . && ok "the witness keeps state for the broker's log" || bad "the witness holds no state"
expect "the agent that requires an unknown witness trusts nothing" "$(field health-abb checkpoint_size)" 0
wait_field health-abb state AWAITING_WITNESSES 10 && ok "and says it awaits witnesses" || bad "health-abb: $(status health-abb)"
expect "the broker logged no witness trouble" "$(grep -c 'unreachable' "$work/broker/broker.log")" 0
#  A backup of the witness's state now, older than what it cosigns next: restored below.
cp -r "$work/witness/state" "$work/witness/state-backup"
early=$(field police-gwent checkpoint_size)
send_referrals 36 45
wait_count "$work/la-newport/inbox" 20 20 || bad "referrals lost"
wait_size_above police-gwent "$early" 20 && ok "the witness cosigns a larger checkpoint ($early -> $(field police-gwent checkpoint_size))" \
    || bad "police still at $early"

echo "== the witness stops: routing carries on, the broker says so once"
kill -TERM $witness_pid; wait $witness_pid 2>/dev/null; witness_pid=""
#  A checkpoint cosigned just before the stop may still be on its way (or awaiting its proof):
#  take the trusted size once it has held for a second.
trusted=$(field police-gwent checkpoint_size)
for i in $(seq 30); do
    sleep 1; now=$(field police-gwent checkpoint_size)
    [ "$now" = "$trusted" ] && break; trusted=$now
done
send_referrals 11 30
wait_count "$work/la-newport/inbox" 40 20 && ok "referrals still flow with the witness down" || bad "routing stopped with the witness"
wait_field police-gwent state AWAITING_WITNESSES 20 && ok "the police agent awaits witnesses for newer checkpoints" \
    || bad "police: $(status police-gwent)"
awaiting=$(field police-gwent awaiting_size)
[ "${awaiting:-0}" -gt "$trusted" ] && ok "for a checkpoint beyond the trusted one ($trusted -> $awaiting)" || bad "awaiting $awaiting, trusted $trusted"
expect "it still trusts only the cosigned one" "$(field police-gwent checkpoint_size)" "$trusted"
sleep 5    #  several resubmissions (backoff from 0.5 s)
send_referrals 31 35
wait_count "$work/la-newport/inbox" 45 20 || bad "referrals lost"
expect "the broker logged the outage once, not per attempt" "$(grep -c 'witness witness.test/w1 is unreachable' "$work/broker/broker.log")" 1

echo "== the witness is back, its state restored from the older backup: cosigning resumes"
rm -rf "$work/witness/state"; mv "$work/witness/state-backup" "$work/witness/state"
start_witness
wait_size_above police-gwent "$trusted" 60 && ok "the police agent trusts a newer checkpoint ($trusted -> $(field police-gwent checkpoint_size))" \
    || bad "police still at $trusted: $(status police-gwent)"
wait_field police-gwent state CONSISTENT 10 && ok "and no longer awaits witnesses" || bad "police: $(status police-gwent)"
grep -q "is not the cosigned" "$work/witness/witness.log" \
    && ok "the witness answered 409 (it holds an older size than the broker knew) and the broker sent again from there" \
    || bad "no 409 happened: the test did not test it"
expect "the broker saw no refusal" "$(grep -c 'refuses' "$work/broker/broker.log")" 0
expect "the broker logged the return once" "$(grep -c 'witness witness.test/w1 cosigns again' "$work/broker/broker.log")" 1
expect "the agent with an unknown witness's key still trusts nothing" "$(field health-abb checkpoint_size)" 0

echo "== the auditor checks the quorum on a copy"
for a in police-gwent la-newport health-abb; do stop_agent $a; done
stop_broker
cp -r "$work/broker/data" "$work/copy"
"$bin/rhannu-broker" log -f "$work/broker/broker.yaml" > "$work/log.txt" 2>/dev/null
expect "the outage is audited once" "$(grep -c WITNESS_UNREACHABLE "$work/log.txt")" 1
expect "and the return once" "$(grep -c WITNESS_BACK "$work/log.txt")" 1
echo "$wvkey" > "$work/witness-keys"
echo "$othervkey" > "$work/other-keys"
out=$("$bin/rhannu-audit" verify --data "$work/copy" --pki "$work/pki" --witness-keys "$work/witness-keys" --quorum 1); rc=$?
expect "verify with the witness's quorum passes (the last checkpoint was cosigned at the stop)" "$rc" 0
expect_match "and says the log verified" "$out" "audit log verified"
out=$("$bin/rhannu-audit" verify --data "$work/copy" --pki "$work/pki" --witness-keys "$work/other-keys" --quorum 1); rc=$?
expect "verify with a key that never cosigned fails" "$rc" 1
expect_match "saying how many cosignatures there are" "$out" "has 0 of the 1 cosignatures required"
"$bin/rhannu-audit" verify --data "$work/copy" --pki "$work/pki" --witness-keys "$work/witness-keys" --quorum 2 >/dev/null
expect "a quorum above the keys given is refused" "$?" 1
printf '%s\n%s\n' "$wvkey" "$wvkey" > "$work/twice-keys"
out=$("$bin/rhannu-audit" verify --data "$work/copy" --pki "$work/pki" --witness-keys "$work/twice-keys" --quorum 2); rc=$?
expect "one witness listed twice does not make a quorum of two" "$rc" 1
expect_match "and the keys file is named as the fault" "$out" "each once"
kill -TERM $witness_pid; wait $witness_pid 2>/dev/null; witness_pid=""
finish
