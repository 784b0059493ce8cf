#!/usr/bin/env bash
#  Spool intake keeps up with a full outbox: a drop of thousands of files is taken in at once,
#  not 512 per scan tick, and status.json stays right (and cheap) as the referrals pile up.
source "$(dirname "$0")/lib.sh"
N=${INTAKE_N:-5000}

make_pki police-gwent:POLICE:newport la-newport:LA_FRONT_DOOR:newport
status () { jq -r "$2" "$work/$1/data/status.json" 2>/dev/null; }
wait_status () {    # wait_status AGENCY JQ VALUE SECONDS
    local deadline=$((SECONDS + $4))
    until [ "$(status "$1" "$2")" = "$3" ]; do [ $SECONDS -lt $deadline ] || return 1; sleep 0.1; done
}

#  The scan tick is a minute: only change notifications and the agent's own "look again while
#  files remain" can take the drop in within the time allowed.
mkdir -p "$work/police-gwent"
cat > "$work/police-gwent/agent.yaml" <<EOF2
agency:
  id: police-gwent
pki:
  dir: $work/pki
broker:
  endpoint: $endpoint
spool:
  dir: $work/police-gwent
  scan_ms: 60000
data:
  dir: $work/police-gwent/data
EOF2

echo "== $N files dropped at once into the outbox of an agent whose broker is down"
start_agent police-gwent
wait_status police-gwent .connection broker_not_reachable 10 || bad "the agent did not start"
mkdir -p "$work/stage"
for n in $(seq -f '%05g' 1 $N); do referral_json newport "intake-$n" > "$work/stage/m$n.json"; done
start=$SECONDS
find "$work/stage" -name '*.json' -exec mv -t "$work/police-gwent/outbox/" {} +
wait_status police-gwent .outbox_queued $N 20 && ok "all $N taken into the durable outbox within 20 s (scan tick 60 s)" \
    || bad "taken in: $(status police-gwent .outbox_queued) of $N ($(count_files "$work/police-gwent/outbox") still in outbox/)"
expect "outbox/ is empty" "$(count_files "$work/police-gwent/outbox")" 0
expect "nothing went to failed/" "$(count_files "$work/police-gwent/failed")" 0
expect "status lists $N referrals as sent" "$(status police-gwent .referrals.by_state.SENT)" $N
echo "  (intake took $((SECONDS - start)) s)"

echo "== the broker comes up: every one is accepted, delivered and acknowledged"
start_broker
start_agent la-newport
wait_count "$work/la-newport/inbox" $N 120 && ok "all $N arrived at the front door" \
    || bad "arrived: $(count_files "$work/la-newport/inbox") of $N"
wait_status police-gwent .accepted $N 30 && ok "all $N accepted" || bad "accepted: $(status police-gwent .accepted)"
wait_status police-gwent .outbox_queued 0 10 && ok "the outbox database is empty again" \
    || bad "still queued: $(status police-gwent .outbox_queued)"

echo "== status.json after $N referrals: counts, the latest and their states"
wait_status police-gwent .referrals.by_state.ACKNOWLEDGED $N 30 && ok "all $N acknowledged by the front door" \
    || bad "by_state: $(status police-gwent -c .referrals.by_state)"
expect "none still counted as sent" "$(status police-gwent '.referrals.by_state.SENT // 0')" 0
expect "$N open" "$(status police-gwent .referrals.open)" $N
expect "it lists the latest 50" "$(status police-gwent '.referrals.latest | length')" 50
expect "with their holder" "$(status police-gwent '.referrals.latest[-1].holder')" la-newport
expect "and state" "$(status police-gwent '.referrals.latest[-1].state')" ACKNOWLEDGED
expect "none overdue" "$(status police-gwent .referrals.overdue)" 0
before=$(status police-gwent -c .referrals)

echo "== after a restart the figures are the same"
stop_agent police-gwent
start_agent police-gwent
wait_connected police-gwent || bad "no reconnection"
expect "status.json shows the same referrals" "$(status police-gwent -c .referrals)" "$before"

echo "== 60 more, dropped while the agent is stopped (so taken in name order): the latest are these"
stop_agent police-gwent
for n in $(seq -f '%05g' $((N + 1)) $((N + 60))); do referral_json newport "intake-$n" > "$work/police-gwent/outbox/m$n.json"; done
start_agent police-gwent
wait_status police-gwent .referrals.by_state.ACKNOWLEDGED $((N + 60)) 60 && ok "all acknowledged" \
    || bad "by_state: $(status police-gwent -c .referrals.by_state)"
expect "$((N + 60)) open" "$(status police-gwent .referrals.open)" $((N + 60))
expect "newest last" "$(status police-gwent '.referrals.latest[-1].case_id')" "intake-$(printf %05d $((N + 60)))"
expect "oldest of the latest 50 first" "$(status police-gwent '.referrals.latest[0].case_id')" "intake-$(printf %05d $((N + 11)))"

echo "== stopped in the middle of a large intake: the stop is prompt and nothing is lost or sent twice"
M=${INTAKE_STOP_N:-3000}
mkdir -p "$work/stage2"
for n in $(seq -f '%05g' 1 $M); do referral_json newport "stop-$n" > "$work/stage2/s$n.json"; done
total=$(( $(count_files "$work/la-newport/inbox") + M ))
find "$work/stage2" -name '*.json' -exec mv -t "$work/police-gwent/outbox/" {} +
deadline=$((SECONDS + 20))
until [ "$(count_files "$work/police-gwent/outbox")" -lt $M ]; do [ $SECONDS -lt $deadline ] || break; sleep 0.02; done
started=$(date +%s%N)
stop_agent police-gwent
took=$(( ($(date +%s%N) - started) / 1000000 ))
[ $took -lt 3000 ] && ok "the agent stopped in $took ms" || bad "the agent took $took ms to stop"
left=$(count_files "$work/police-gwent/outbox")
[ "$left" -gt 0 ] && echo "  ($left files still in outbox/ when it stopped)"
start_agent police-gwent
wait_count "$work/la-newport/inbox" $total 120 && ok "after a restart all $M arrived" \
    || bad "arrived: $(( $(count_files "$work/la-newport/inbox") - total + M )) of $M"
sleep 2
expect "each once (no file taken twice)" "$(grep -h '"case_id": "stop-' "$work/la-newport/inbox"/*.json | sort | uniq -d | wc -l)" 0
expect "none in failed/" "$(count_files "$work/police-gwent/failed")" 0

finish
