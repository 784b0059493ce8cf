#!/usr/bin/env bash
#  Federated regions under kill -9 (issue 16): la1's front door sends N cross-border referrals
#  to la2's front door at once; west's broker is killed mid-flow and started again, then east's.
#  Every crossing arrives exactly once: lost 0, unexpected 0, duplicated 0 (west's broker
#  stores each message id once; what east sends again is dropped there by its id).
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/fed_lib.sh"
N=${FED_CRASH_N:-300}

echo "== two regions linked"
fed_regions

echo "== $N crossings; kill -9 of west's broker, then of east's, mid-flow"
mkdir -p "$work/stage"
for n in $(seq 1 $N); do
    cat > "$work/stage/c$n.json" <<JSON
{"kind": "REFERRAL", "to": [{"front_door_la": "la2"}], "case_id": "X$n", "purpose": "SAFEGUARDING_CHILD",
 "body": {"referral_kind": "PPN", "categories": ["CCE"], "narrative": "crossing $n",
          "subjects": [{"kind": "CHILD", "home_la": "la2"}]}}
JSON
done
find "$work/stage" -name '*.json' -exec mv -t "$work/la1-fd/outbox/" {} +
inbox=$work/la2-fd/inbox
wait_count "$inbox" 5 60 || true
kill_west
at_west=$(count_files "$inbox")
start_west
wait_count "$inbox" $((at_west + N / 4)) 60 || true
kill_broker
at_east=$(count_files "$inbox")
BROKER_EXTRA="federation:
  file: $fed
  region: east" start_broker
echo "  (west killed with $at_west in la2's inbox, east with $at_east)"
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
