#!/usr/bin/env bash
#  The broker against misbehaving clients: impersonation, unknown and revoked keys, replays,
#  oversize and malformed input. Every refusal comes back typed, and lands in the audit log.
source "$(dirname "$0")/lib.sh"

make_pki police-gwent:POLICE:newport la-newport:LA_FRONT_DOOR:newport health-abb:HEALTH
start_broker
tc () { "$testclient" "$endpoint" "$work/pki" "$@"; }
referral_json newport sec-1 > "$work/r.json"

echo "== a message signed by another agency than the connection is refused"
out=$(tc police-gwent submit "$work/r.json" health-abb 1)
expect_match "health's signature on police's connection: RH_E_IMPERSONATION" "$out" "^REJECTED [0-9a-f-]+ RH_E_IMPERSONATION"
out=$(tc police-gwent submit "$work/r.json" police-gwent 1)
expect_match "the same message signed by police is accepted" "$out" "^ACCEPTED [0-9a-f-]+$"

echo "== keys the board did not enrol never get past the handshake"
out=$(tc random hold 2)
expect_match "an unknown CURVE key is refused at the handshake" "$out" "AUTH_FAILED"
echo "$out" | grep -qx CONNECTED && bad "it connected" || ok "and never connects"
out=$(tc broker hold 2)
expect_match "the broker's own key cannot be used as a client" "$out" "AUTH_FAILED"

echo "== replays are refused, also after a restart"
out=$(tc police-gwent submit "$work/r.json" police-gwent 5 replay-original)
expect "sequence 5 accepted" "$out" "ACCEPTED replay-original"
out=$(tc police-gwent submit "$work/r.json" police-gwent 5)
expect_match "a new message reusing sequence 5 is a replay" "$out" "RH_E_REPLAY sequence number already used"
out=$(tc police-gwent submit "$work/r.json" police-gwent 9 replay-original)
expect_match "a different message reusing a message id is a replay" "$out" "RH_E_REPLAY message id already used"
tc police-gwent seal "$work/r.json" police-gwent 7 "$work/seq7.sealed" >/dev/null
out=$(tc police-gwent resend "$work/seq7.sealed")
expect_match "sequence 7 accepted" "$out" "^ACCEPTED [0-9a-f-]+$"
out=$(tc police-gwent resend "$work/seq7.sealed")
expect_match "the identical bytes again are a duplicate: acknowledged, stored once" "$out" "^ACCEPTED [0-9a-f-]+ duplicate$"
kill_broker
start_broker
out=$(tc police-gwent submit "$work/r.json" police-gwent 5)
expect_match "after a kill -9 and restart, sequence 5 is still a replay" "$out" "RH_E_REPLAY"
out=$(tc police-gwent resend "$work/seq7.sealed")
expect_match "and the earlier message is still known as a duplicate" "$out" "duplicate$"
out=$(tc police-gwent submit "$work/r.json" police-gwent 200)
expect_match "a fresh sequence is accepted" "$out" "^ACCEPTED"
out=$(tc police-gwent submit "$work/r.json" police-gwent 100)
expect_match "an unused, older sequence is fine (a late resend)" "$out" "^ACCEPTED"
out=$(RH_TC_FLOOR=150 tc police-gwent submit "$work/r.json" police-gwent 120)
expect_match "one below the floor the agency declared is a replay" "$out" "RH_E_REPLAY sequence number below those the agency has had answered"
stop_broker; start_broker
out=$(tc police-gwent submit "$work/r.json" police-gwent 149)
expect_match "and the floor survives a restart" "$out" "RH_E_REPLAY sequence number below"

echo "== oversize and malformed input is refused with a reason; the broker stays up"
out=$(tc police-gwent raw 1048700)
expect_match "a message over 1 MiB: RH_E_TOO_LARGE" "$out" "^REJECTED garbage-1 RH_E_TOO_LARGE"
out=$(tc police-gwent raw 3000000)
expect_match "a frame over the transport limit drops the connection, no reply" "$out" "TIMEOUT|DISCONNECTED"
out=$(tc police-gwent raw 600)
expect_match "random bytes as a message: RH_E_MALFORMED" "$out" "^REJECTED garbage-1 RH_E_MALFORMED"
out=$(tc police-gwent raw -600)
expect_match "random bytes as a frame: RH_E_MALFORMED" "$out" "^REJECTED - RH_E_MALFORMED"
kill -0 $broker_pid && ok "the broker is still running" || bad "the broker died"
out=$(tc police-gwent submit "$work/r.json" police-gwent 201)
expect_match "and still accepts good messages" "$out" "^ACCEPTED"

echo "== a revoked agency is cut off: its live connection closes on CRL reload"
tc health-abb hold 6 > "$work/hold.out" &
hold_pid=$!
deadline=$((SECONDS + 5))
until grep -q CONNECTED "$work/hold.out"; do [ $SECONDS -lt $deadline ] || break; sleep 0.05; done
expect "health is connected before" "$(head -1 "$work/hold.out")" "CONNECTED"
"$bin/rhannu-ca" revoke "$work/pki" health-abb --reason cessation >/dev/null
kill -HUP $broker_pid
wait $hold_pid || true
expect_match "after SIGHUP its connection was closed" "$(sed -n 2p "$work/hold.out")" "DISCONNECTED"
expect_match "and its reconnection refused" "$(sed -n 3p "$work/hold.out")" "AUTH_FAILED"
out=$(tc health-abb hold 2)
expect_match "a new connection is refused too" "$out" "AUTH_FAILED"
out=$(tc police-gwent submit "$work/r.json" police-gwent 202)
expect_match "other agencies carry on" "$out" "^ACCEPTED"

echo "== every refusal is in the audit log"
stop_broker
log=$("$bin/rhannu-broker" log -f "$work/broker/broker.yaml")
expect_match "the chain verifies" "$(echo "$log" | tail -1)" "Merkle tree intact"
for code in RH_E_IMPERSONATION RH_E_REPLAY RH_E_TOO_LARGE RH_E_MALFORMED; do
    n=$(echo "$log" | grep -c "REJECTED .*$code")
    [ "$n" -ge 1 ] && ok "audit has REJECTED $code ($n)" || bad "no audit record for $code"
done
expect_match "refused handshakes are audited" "$(echo "$log" | grep -c HANDSHAKE_REFUSED)" "^[1-9]"
expect_match "the revoked agency's disconnection is audited" "$(echo "$log" | grep DISCONNECTED)" "health-abb"
finish
