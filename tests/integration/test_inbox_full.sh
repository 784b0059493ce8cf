#!/usr/bin/env bash
#  A recipient whose inbox file system is full: its agent must not acknowledge what it could not
#  write, must stop taking more and say why (status.json, once in its log), must not move the
#  messages to failed/, and must resume by itself when space returns, after which every held
#  message arrives exactly once. The broker must wait for the stalled agent rather than
#  dead-letter its messages (it redelivers here every half second).
source "$(dirname "$0")/lib.sh"
N=${N:-50}
REDELIVER_MS=${REDELIVER_MS:-500}

make_pki police-gwent:POLICE:newport la-newport:LA_FRONT_DOOR:newport
start_broker
start_agent police-gwent

#  The front door's spool (inbox/, outbox/, failed/) on a small file system of its own; its
#  database and status.json stay outside it.
spool="$work/la-newport/spool"
if ! mount_small_fs "$spool" 1024; then
    echo "skipped: cannot mount a small file system here (tmpfs or loop ext4; root needed)"
    exit 0
fi
echo "  (the front door's spool: $small_fs_kind, $(df -k --output=size "$spool" | tail -1 | tr -d ' ') KiB)"
cat > "$work/la-newport/agent.yaml" <<EOF2
agency:
  id: la-newport
pki:
  dir: $work/pki
broker:
  endpoint: $endpoint
spool:
  dir: $spool
  scan_ms: 50
data:
  dir: $work/la-newport/data
EOF2
start_agent la-newport
for a in police-gwent la-newport; do wait_connected $a || bad "$a did not connect"; done
status () { tr -d '\n' < "$work/la-newport/data/status.json"; }
field () { grep -o "\"$1\": [^,}]*" "$work/la-newport/data/status.json" | head -1 | cut -d' ' -f2- | tr -d '"'; }

echo "== with room, a referral arrives as usual"
referral_json newport full-0 "before" > "$work/stage.json"
mv "$work/stage.json" "$work/police-gwent/outbox/r0.json"
wait_count "$spool/inbox" 1 10 && ok "delivered" || bad "the first referral did not arrive"
expect "status says receiving is active" "$(field receiving)" active

echo "== the inbox file system fills up; $N referrals are sent"
fill_fs "$spool"
expect "not one more byte fits" "$(head -c 1 /dev/zero > "$spool/one-byte" 2>/dev/null && echo fits || echo full)" full
rm -f "$spool/one-byte"
mkdir -p "$work/stage"
for i in $(seq 1 "$N"); do referral_json newport "full-$i" "$i" > "$work/stage/r$i.json"; done
mv "$work"/stage/*.json "$work/police-gwent/outbox/"
deadline=$((SECONDS + 15))
until [ "$(field receiving)" = paused ]; do [ $SECONDS -lt $deadline ] || break; sleep 0.1; done
expect "the receiver says it has paused receiving" "$(field receiving)" paused
expect "and why, without message content" "$(field receiving_reason)" "inbox not writable: no space left on device"
expect "with the error's name" "$(field receiving_error)" ENOSPC
expect "it asks the broker for nothing" "$(field receive_credit)" 0
#  Several of the broker's redelivery rounds.
sleep $((REDELIVER_MS > 500 ? 4 : 3))
kill -0 "${agent_pids[la-newport]}" 2>/dev/null && ok "the receiving agent is still running" || bad "the receiving agent died"
expect "nothing was written to the inbox meanwhile" "$(count_files "$spool/inbox")" 1
expect "nothing was moved to failed/" "$(find "$spool/failed" -type f | wc -l)" 0
expect "nothing is left half-written in inbox/.tmp" "$(find "$spool/inbox/.tmp" -type f | wc -l)" 0
expect "the reason is logged once, not per message" "$(grep -c 'inbox not writable' "$work/la-newport/agent.log")" 1
#  The broker honours the credit of 0: it keeps everything and sends nothing until asked again
#  (deliveries already on their way when the agent paused are declined and counted).
expect_match "the broker was asked for nothing" "$(grep -c 'la-newport connected and asks for nothing for now (credit 0)' "$work/broker/broker.log")" "^[1-9][0-9]*$"
expect_match "deliveries that arrived meanwhile were declined and counted" "$(field deliveries_declined)" "^[0-9]+$"
expect_match "the sender's messages were all accepted" "$(tr -d '\n' < "$work/police-gwent/data/status.json")" '"outbox_queued": 0'

echo "== space returns"
rm -f "$spool/filler" "$spool/filler-tail"
wait_count "$spool/inbox" $((N + 1)) 30 && ok "all $N held referrals arrived" \
    || bad "only $(grep -l '"case_id": "full-[1-9]' "$spool"/inbox/*.json | wc -l) of $N arrived"
sleep 1.5
expect "status says receiving is active again" "$(field receiving)" active
expect "with no reason left" "$(field receiving_reason)" ""
expect "each arrived exactly once ($((N + 1)) files)" "$(count_files "$spool/inbox")" $((N + 1))
expect "each case is in the inbox once" "$(grep -ho '"case_id": "full-[0-9]*"' "$spool"/inbox/*.json | sort | uniq -d | wc -l)" 0
expect "every case is there" "$(grep -ho '"case_id": "full-[0-9]*"' "$spool"/inbox/*.json | sort -u | wc -l)" $((N + 1))
expect "the receiver counted each message once" "$(field received)" $((N + 1))
expect "still nothing in failed/" "$(find "$spool/failed" -type f | wc -l)" 0
expect "the sender received no NON_DELIVERY alert" "$(grep -l NON_DELIVERY "$work"/police-gwent/inbox/*.json 2>/dev/null | wc -l)" 0

echo "== the inbox folder takes no new names (chattr +i): writes succeed, the publishing renames fail"
#  The messages are recorded as received before the rename; a rename that fails must undo that
#  record and not acknowledge, or the message is lost (acknowledged, and never in inbox/).
M=${M:-20}
held=$M
if chattr +i "$spool/inbox" 2>/dev/null; then
    for i in $(seq 1 "$M"); do referral_json newport "immutable-$i" "$i" > "$work/stage/i$i.json"; done
    mv "$work"/stage/*.json "$work/police-gwent/outbox/"
    deadline=$((SECONDS + 15))
    until [ "$(field receiving)" = paused ]; do [ $SECONDS -lt $deadline ] || break; sleep 0.1; done
    expect "the receiver pauses again" "$(field receiving)" paused
    expect "saying why" "$(field receiving_reason)" "inbox not writable: operation not permitted"
    sleep 2
    expect "nothing was acknowledged without being in inbox/ (none left in inbox/.tmp)" \
        "$(find "$spool/inbox/.tmp" -type f | wc -l)" 0
    chattr -i "$spool/inbox"
    wait_count "$spool/inbox" $((N + 1 + M)) 30 && ok "all $M arrived once the folder took names again" \
        || bad "only $(grep -l '"case_id": "immutable-' "$spool"/inbox/*.json | wc -l) of $M arrived"
    sleep 1.5
    expect "each arrived exactly once" "$(grep -ho '"case_id": "immutable-[0-9]*"' "$spool"/inbox/*.json | sort -u | wc -l)" "$M"
    expect "the receiver counted each message once" "$(field received)" $((N + 1 + M))
    expect "receiving is active again" "$(field receiving)" active
    expect "one log line per pause" "$(grep -c 'not writable' "$work/la-newport/agent.log")" 2
else
    held=0
    echo "  (skipped: chattr +i is not supported on this $small_fs_kind)"
fi
expect "the sender received no NON_DELIVERY alert at all" "$(grep -l NON_DELIVERY "$work"/police-gwent/inbox/*.json 2>/dev/null | wc -l)" 0

stop_broker
log=$("$bin/rhannu-broker" log -f "$work/broker/broker.yaml")
expect "the broker dead-lettered nothing" "$(echo "$log" | grep -c DEAD_LETTER)" 0
expect "every referral was acknowledged by the front door" "$(echo "$log" | grep ' ACKED ' | grep -c la-newport)" $((N + 1 + held))
finish
