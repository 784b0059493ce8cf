#!/usr/bin/env bash
#  Federated regions under kill -9 (issue 16): la1's front door sends N cross-border referrals
#  to la2's front door while west's broker is down, so east's queue for west holds them all.
#  East's broker is killed then; west comes back, east's broker is killed while its link
#  forwards, then west's while east's link sends again.
#  Every crossing arrives exactly once: lost 0, unexpected 0, duplicated 0 (west's broker
#  stores each message id once; what east sends again is dropped there by its id).
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/fed_lib.sh"
N=${FED_CRASH_N:-300}

echo "== two regions linked"
fed_regions

echo "== $N crossings queued at east; kill -9 of east's broker, then of west's, mid-flow"
mkdir -p "$work/stage"
for n in $(seq 1 $N); do
    cat > "$work/stage/c$n.json" <<JSON
{"kind": "REFERRAL", "to": [{"front_door_la": "la2"}], "case_id": "X$n", "purpose": "SAFEGUARDING_CHILD",
 "body": {"referral_kind": "PPN", "categories": ["CCE"], "narrative": "crossing $n",
          "subjects": [{"kind": "CHILD", "home_la": "la2"}]}}
JSON
done
inbox=$work/la2-fd/inbox
#  West down first, so that east's queue for west holds them all: the kills then come while the
#  link is busy forwarding from it.
stop_west
find "$work/stage" -name '*.json' -exec mv -t "$work/la1-fd/outbox/" {} +
deadline=$((SECONDS + 60))
until [ "$(grep -c "accepted for forwarding to region west" "$work/broker/broker.log")" -ge "$N" ] \
    || [ $SECONDS -ge $deadline ]; do sleep 0.1; done
expect "east accepted all $N for forwarding while west was down" \
    "$(grep -c "accepted for forwarding to region west" "$work/broker/broker.log")" "$N"
#  East's queue for west is durable: kill -9 with all of them waiting.
kill_broker
start_east () { BROKER_EXTRA="federation:
  file: $fed
  region: east" start_broker; }
start_east
#  West back: east's link forwards at once; east is killed while it does, then west while the
#  next link resends (each right after the other came up, so mid-flow).
stored_at_west () { grep -c "came across from region east" "$work/west/broker.log"; }
until_stored () {    # until_stored N: west's broker has stored N crossings (polled often)
    local deadline=$((SECONDS + 60))
    until [ "$(stored_at_west)" -ge "$1" ] || [ $SECONDS -ge $deadline ]; do sleep 0.01; done
}
start_west
until_stored $((N / 5))
kill_broker
at_east=$(stored_at_west)
start_east
until_stored $((at_east + N / 5))
kill_west
at_west=$(stored_at_west)
start_west
echo "  (east killed when west had stored $at_east of $N, then west at $at_west)"
[ "$at_east" -lt "$N" ] && [ "$at_west" -lt "$N" ] && ok "both kills came while crossings were under way" \
    || bad "a kill came after the last crossing was stored ($at_east, $at_west of $N)"
wait_count "$inbox" $N 90 && ok "every crossing arrived" || bad "only $(count_files "$inbox") of $N arrived"
sleep 2    #  anything extra would arrive now
got=$(grep -h -o '"narrative": "crossing [0-9]*"' "$inbox"/*.json 2>/dev/null | sort -u | wc -l)
expect "lost 0" "$((N - got))" 0
expect "unexpected 0: la2's inbox holds these crossings only" "$(count_files "$inbox")" "$got"
expect "unexpected 0: la2-fd's neighbour police-west got nothing" "$(count_files "$work/police-west/inbox")" 0
expect "la1's agent holds nothing back" "$(count_files "$work/la1-fd/failed" "*.error")" 0
stop_broker
stop_west
wlog=$("$bin/rhannu-broker" log -f "$work/west/broker/broker.yaml" 2>&1)
stored=$(echo "$wlog" | grep -E 'ACCEPTED .*REFERRAL from region east' | awk '{print $5}')
expect "west's broker stored $N crossings" "$(echo "$stored" | grep -c .)" "$N"
expect "duplicated 0: each message id once" "$(echo "$stored" | sort | uniq -d | wc -l)" 0
echo "  (sent again across the link and dropped by id at west: $(echo "$wlog" | grep -c ' DUPLICATE '))"
expect_match "west's audit chain verifies" "$(echo "$wlog" | tail -1)" "Merkle tree intact"
finish
