#!/usr/bin/env bash
#  The broker against hostile and broken traffic from outside and from enrolled agencies: frames
#  that used to crash it, replies that must stay parseable, clocks far off, floods of refused
#  handshakes and malformed frames, idle connections hoarding descriptors. The broker stays up,
#  answers every good agency throughout, and its audit log grows by summaries, not per frame.
source "$(dirname "$0")/lib.sh"

make_pki police-gwent:POLICE:newport la-newport:LA_FRONT_DOOR:newport health-abb:HEALTH
start_broker
#  A small descriptor limit for the broker, as a unit's LimitNOFILE sets, so that hoarding shows.
limit_fds () { prlimit --nofile=${HOSTILE_NOFILE:-512}:${HOSTILE_NOFILE:-512} --pid $broker_pid; }
limit_fds
tc () { "$testclient" "$endpoint" "$work/pki" "$@"; }
alive () { kill -0 $broker_pid 2>/dev/null; }
#  count_records PATTERN: sets $records to the records of the log that match; read with the
#  broker stopped (the log is the broker's while it runs). A log that cannot be read fails the
#  test rather than counting as none.
count_records () {
    local text
    if text=$("$bin/rhannu-broker" log -f "$work/broker/broker.yaml" 2>&1); then
        records=$(grep -c "$1" <<< "$text")
    else
        bad "the audit log could not be read: ${text##*$'\n'}"; records=0
    fi
}
rss_kb () { awk '/^VmRSS/ {print $2}' /proc/$broker_pid/status; }
referral_json newport hostile-1 > "$work/r.json"

echo "== a Submit holding no signed envelope is refused, not fatal"
out=$(tc police-gwent frame 1200)
expect_match "Submit with an empty body (12 00): RH_E_MALFORMED" "$out" "^REJECTED .* RH_E_MALFORMED"
alive && ok "the broker is still running" || { bad "the broker died"; start_broker; }
out=$(tc police-gwent frame 12030a016d)
expect_match "Submit with a message id and no bytes (12 03 0a 01 6d): RH_E_MALFORMED" "$out" "^REJECTED .* RH_E_MALFORMED"
alive && ok "the broker is still running" || { bad "the broker died"; start_broker; }

echo "== what the broker echoes stays valid UTF-8"
out=$(tc police-gwent frame 12090a02fffe1203616263)
expect_match "a message id that is not UTF-8 is refused" "$out" "REJECTED"
echo "$out" | grep -q BAD_UTF8 && bad "the reply is not valid UTF-8" || ok "and the reply is valid UTF-8"

echo "== a created time far from the broker's clock is refused with its own code"
out=$(RH_TC_CREATED_MS=4102444800000 tc police-gwent submit "$work/r.json" police-gwent 1000000)
expect_match "created in 2100: RH_E_CLOCK" "$out" "^REJECTED [0-9a-f-]+ RH_E_CLOCK"
out=$(RH_TC_CREATED_MS=31536000000 tc police-gwent submit "$work/r.json" police-gwent 1000001)
expect_match "created in 1971: RH_E_CLOCK" "$out" "^REJECTED [0-9a-f-]+ RH_E_CLOCK"
out=$(RH_TC_CREATED_MS=$(( $(date +%s) * 1000 - 3600000 )) tc police-gwent submit "$work/r.json" police-gwent 1000002)
expect_match "created an hour ago: accepted" "$out" "^ACCEPTED"

echo "== refused handshakes are summarised, not one audit record each"
stop_broker
count_records HANDSHAKE_REFUSED; before=$records
start_broker; limit_fds
out=$(tc random randomkeys 2000)
expect "2,000 handshakes with unknown keys are all refused" "$out" "randomkeys: 2000 of 2000 refused"
alive && ok "the broker is still running" || bad "the broker died"
out=$(tc police-gwent submit "$work/r.json" police-gwent 1000003)
expect_match "a good agency is still served" "$out" "^ACCEPTED"
stop_broker
count_records HANDSHAKE_REFUSED; after=$records
grown=$((after - before))
[ "$grown" -le 10 ] && ok "the audit log grew by $grown refusal records for 2,000 refusals" \
    || bad "the audit log grew by $grown refusal records for 2,000 refusals"
expect_match "the summary counts them" "$("$bin/rhannu-broker" log -f "$work/broker/broker.yaml" | grep HANDSHAKE_REFUSED | tail -1)" "[0-9]+ handshakes? refused"
start_broker; limit_fds

echo "== idle connections with one enrolled key cannot take every descriptor"
"$testclient" "$endpoint" "$work/pki" health-abb idle 600 20 > "$work/idle.out" &
idle_pid=$!
deadline=$((SECONDS + 60))
until [ -s "$work/idle.out" ] || [ $SECONDS -ge $deadline ]; do sleep 0.2; done
echo "  ($(cat "$work/idle.out"))"
alive && ok "the broker is still running" || bad "the broker died"
out=$(tc police-gwent submit "$work/r.json" police-gwent 1000004)
expect_match "another agency still gets in and is answered" "$out" "^ACCEPTED"
fds=$(ls /proc/$broker_pid/fd 2>/dev/null | wc -l)
[ "$fds" -lt 200 ] && ok "the broker holds $fds descriptors" || bad "the broker holds $fds descriptors"
kill $idle_pid 2>/dev/null; wait $idle_pid 2>/dev/null

echo "== ${HOSTILE_GARBAGE:-10000} malformed frames over a valid session (make soak: 100,000)"
start_agent police-gwent; start_agent la-newport
wait_connected police-gwent && wait_connected la-newport || bad "agents did not connect"
send_one () { referral_json newport "$1" > "$work/stage.json"; mv "$work/stage.json" "$work/police-gwent/outbox/$1.json"; }
send_one warmup; wait_count "$work/la-newport/inbox" 1 10 || bad "warm-up not delivered"
stop_broker
count_records ""; records_before=$records
start_broker; limit_fds
wait_connected police-gwent && wait_connected la-newport || bad "agents did not reconnect"
send_one warmup-2; wait_count "$work/la-newport/inbox" 2 10 || bad "second warm-up not delivered"
#  Growth is measured after the garbage path has run once (its tables and buffers exist then):
#  what matters is that more of it does not cost more.
"$testclient" "$endpoint" "$work/pki" health-abb garbage 2000 >/dev/null
rss_before=$(rss_kb)
"$testclient" "$endpoint" "$work/pki" health-abb garbage ${HOSTILE_GARBAGE:-10000} > "$work/garbage.out" &
garbage_pid=$!
sent=2
while kill -0 $garbage_pid 2>/dev/null; do
    sent=$((sent + 1)); send_one "during-$sent"; sleep ${HOSTILE_INTERVAL:-2}
done
wait $garbage_pid
echo "  ($(cat "$work/garbage.out"))"
wait_count "$work/la-newport/inbox" $sent 30 && ok "all $sent messages sent meanwhile were delivered" \
    || bad "$(count_files "$work/la-newport/inbox") of $sent messages delivered"
expect_match "the flooding session was dropped" "$(cat "$work/garbage.out")" "disconnections [1-9]"
alive && ok "the broker is still running" || bad "the broker died"
rss_after=$(rss_kb)
growth=$(( (rss_after - rss_before) * 100 / rss_before ))
echo "  (broker RSS ${rss_before} kB -> ${rss_after} kB: ${growth} %)"
[ "$growth" -lt 10 ] && ok "RSS grew less than 10 %" || bad "RSS grew by ${growth} %"
stop_agent police-gwent; stop_agent la-newport
stop_broker
count_records ""; records_after=$records
echo "  (audit records ${records_before} -> ${records_after})"
[ $((records_after - records_before)) -lt $((sent * 8 + 100)) ] && ok "the audit log grew by $((records_after - records_before)) records" \
    || bad "the audit log grew by $((records_after - records_before)) records"
expect_match "the chain verifies" "$("$bin/rhannu-broker" log -f "$work/broker/broker.yaml" | tail -1)" "Merkle tree intact"
finish
