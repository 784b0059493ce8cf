#!/usr/bin/env bash
#  Cross-witnessing (issue 16): the federation agreement names each region's log (log_origin),
#  and each region's broker witnesses the other's over their link, as a c2sp.org/tlog-witness:
#  it cosigns a checkpoint only if a consistency proof shows it extends the one it cosigned
#  before, with its own BROKER key. An auditor counts those cosignatures with rhannu-audit
#  verify --quorum. The witness's state outlives a restart. A broker restored from an old
#  backup, whose log then grows differently, is caught: the other region refuses to cosign,
#  typed (RH_E_FORK) and audited on both sides.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/fed_lib.sh"

FED_EAST_ORIGIN=rhannu.test/east
FED_WEST_ORIGIN=rhannu.test/west
claim_port; metrics_port=$claimed_port
EAST_EXTRA="witness:
  origin: rhannu.test/east
audit:
  checkpoint_ms: 200
metrics:
  listen: 127.0.0.1:$metrics_port"
WEST_EXTRA="witness:
  origin: rhannu.test/west
audit:
  checkpoint_ms: 200"

echo "== two regions whose federation agreement names both logs"
fed_regions
out=$("$bin/rhannu-broker" check-agreement "$fed" 2>&1)
expect_match "check-agreement explains which logs are cross-witnessed" "$out" \
    "its log: origin rhannu.test/east, witnessed \(cosigned\) by the other regions' brokers"

#  A running broker's audit log, read from a backup (a consistent copy of its store).
audit_of () {    # audit_of CONFIG
    local copy="$work/audit-copy"
    rm -rf "$copy"
    "$bin/rhannu-broker" backup -f "$1" "$copy" >/dev/null 2>&1 || return
    sed "s|^  dir: .*/data\$|  dir: $copy|" "$1" > "$copy.yaml"
    "$bin/rhannu-broker" log -f "$copy.yaml" 2>&1
}
elog () { audit_of "$work/broker/broker.yaml"; }
wlog () { audit_of "$work/west/broker/broker.yaml"; }
referral () {    # referral FROM LA N
    cat > "$work/r$3.json" <<JSON
{"kind": "REFERRAL", "to": [{"front_door_la": "$2"}], "case_id": "W$3", "purpose": "SAFEGUARDING_CHILD",
 "body": {"referral_kind": "PPN", "categories": ["CCE"], "narrative": "witnessing test $3",
          "subjects": [{"kind": "CHILD", "home_la": "$2", "name": "Child $3", "date_of_birth": "2012-01-01"}],
          "consent": {"state": "NOT_REQUIRED_SIGNIFICANT_HARM", "family_aware": true}}}
JSON
    send "$1" "$work/r$3.json"
}
send_some () {    # send_some FROM LA FIRST COUNT: referrals within a region, then waits for them
    local n have inbox="$work/$2-fd/inbox"
    have=$(count_kind "$inbox" REFERRAL)
    for n in $(seq "$3" $(($3 + $4 - 1))); do referral "$1" "$2" "$n"; done
    wait_kind "$inbox" REFERRAL $((have + $4)) 30
}
elines="$work/broker/broker.log" wlines="$work/west/broker.log"

echo "== east's log grows; west witnesses it, and east west's"
send_some police-east la1 1 3 || bad "the referrals did not arrive"
wait_lines "$wlines" "log rhannu.test/east: cosigned size" 1 30 && ok "west cosigns east's checkpoint" \
    || bad "west never cosigned east's log"
send_some police-west la2 4 1 || bad "west's referral did not arrive"
wait_lines "$elines" "log rhannu.test/west: cosigned size" 1 30 && ok "and east cosigns west's" \
    || bad "east never cosigned west's log"
w=$(wlog)
expect_match "west's audit log records it as PEER_COSIGNED: size, root and the size it extends" "$w" \
    "PEER_COSIGNED +RH_OK .*region east's log rhannu.test/east: cosigned size [0-9]+, root [0-9a-f]{64}, extending size [0-9]+ \(consistency proof verified\)"
expect_match "and east's records its cosigning of west's" "$(elog)" \
    "PEER_COSIGNED +RH_OK .*region west's log rhannu.test/west: cosigned size"
expect "a witnessed log is recorded when cosigned, not as a bare PEER_CHECKPOINT" \
    "$(echo "$w" | grep -c PEER_CHECKPOINT)" 0

echo "== east's operator sees the link and its queue as a region's, not an agency's"
m=$(curl -s "http://127.0.0.1:$metrics_port/metrics")
expect_match "rhannu_broker_peer_link_up says the link to west is up" "$m" 'rhannu_broker_peer_link_up\{region="west"\} 1'
expect_match "west's queue has its own depth series" "$m" 'rhannu_broker_peer_queue_depth\{region="west"\} [0-9]+'
expect "and no agency series names it" "$(echo "$m" | grep -c 'agency="region:')" 0

echo "== an auditor counts west's cosignatures of east's log"
"$bin/rhannu-broker" vkey --cosignature -f "$work/west/broker/broker.yaml" > "$work/west-cosig.vkey"
expect_match "rhannu-broker vkey --cosignature prints west's cosignature key (log_origin as its name)" \
    "$(cat "$work/west-cosig.vkey")" "^rhannu.test/west\+[0-9a-f]{8}\+"
"$bin/rhannu-broker" vkey -f "$work/west/broker/broker.yaml" > "$work/west-note.vkey"
#  A backup is a consistent copy of the running store; its latest checkpoint must be cosigned.
deadline=$((SECONDS + 30)); rc=1
while [ $rc -ne 0 ] && [ $SECONDS -lt $deadline ]; do
    rm -rf "$work/ecopy"
    "$bin/rhannu-broker" backup -f "$work/broker/broker.yaml" "$work/ecopy" >/dev/null 2>&1
    out=$("$bin/rhannu-audit" verify --data "$work/ecopy" --pki "$work/pki" \
          --witness-keys "$work/west-cosig.vkey" --quorum 1 2>&1); rc=$?
    [ $rc -eq 0 ] || sleep 0.5
done
expect "east's latest checkpoint carries west's cosignature (verify --quorum 1 passes)" "$rc" 0
out=$("$bin/rhannu-audit" verify --data "$work/ecopy" --pki "$work/pki" \
      --witness-keys "$work/west-note.vkey" --quorum 1 2>&1)
expect "west's note key is not its cosignature key: verify with it fails" "$?" 1

echo "== an east agent that trusts only checkpoints west's broker cosigned"
stop_agent school-east
#  What it trusted without a quorum goes with its data; start_agent writes a new configuration.
rm -rf "$work/school-east/data" "$work/school-east/agent.yaml"
AGENT_EXTRA="witness:
  keys: \"$(cat "$work/west-cosig.vkey")\"
  quorum: 1" start_agent school-east
wait_connected school-east || bad "school-east did not reconnect"
audit_state () { tr -d '\n ' < "$work/school-east/data/status.json" 2>/dev/null | grep -o '"audit_log":{[^}]*}' \
                 | grep -o "\"$1\":[^,}]*" | cut -d: -f2 | tr -d '"'; }
send_some police-east la1 7 2 >/dev/null
deadline=$((SECONDS + 30))
until [ "$(audit_state checkpoint_size || echo 0)" -gt 0 ] 2>/dev/null && [ "$(audit_state state)" = CONSISTENT ]; do
    [ $SECONDS -lt $deadline ] || break; sleep 0.2
done
expect "trusts east's log at a checkpoint west's broker cosigned, and finds it consistent" \
    "$(audit_state state)" CONSISTENT
[ "$(audit_state checkpoint_size || echo 0)" -gt 0 ] 2>/dev/null && ok "at size $(audit_state checkpoint_size)" \
    || bad "school-east trusts no checkpoint"

echo "== west restarts: what it cosigned is remembered"
before=$(grep -c "log rhannu.test/east: cosigned size" "$wlines")
stop_west
start_west
link_up "$work/broker/broker.log" 2 || bad "east's link did not come back"
send_some police-east la1 5 2 || bad "the referrals did not arrive"
wait_lines "$wlines" "log rhannu.test/east: cosigned size" $((before + 1)) 30 \
    && ok "west cosigns east's next checkpoint after its restart" || bad "west did not cosign after its restart"
expect "extending the size it cosigned before the restart (no request from size 0 accepted)" \
    "$(grep "log rhannu.test/east: cosigned size" "$wlines" | sed -n "$((before + 1))p" | grep -c "(was 0)")" 0

echo "== east is restored from an old backup and its log grows differently: a fork"
cosigned=$(grep "log rhannu.test/east: cosigned size" "$wlines" | tail -1 | sed -n 's/.*cosigned size \([0-9]*\) .*/\1/p')
old_size=$(sed -n 's/.*"audit_size": \([0-9]*\).*/\1/p' "$work/ecopy/rhannu-backup.json")
[ -n "$cosigned" ] && [ -n "$old_size" ] && [ "$old_size" -lt "$cosigned" ] \
    && ok "the backup ($old_size records) is older than what west cosigned ($cosigned)" \
    || bad "backup $old_size, cosigned $cosigned"
stop_broker
out=$("$bin/rhannu-audit" verify --data "$work/broker/data" --pki "$work/pki" \
      --witness-keys "$work/west-cosig.vkey" --quorum 1 2>&1)
expect "east stopped cleanly: its last checkpoint, signed at the stop, is cosigned by west too" "$?" 0
cosigned=$(grep "log rhannu.test/east: cosigned size" "$wlines" | tail -1 | sed -n 's/.*cosigned size \([0-9]*\) .*/\1/p')
rm -rf "$work/broker/data"
"$bin/rhannu-broker" restore -f "$work/broker/broker.yaml" "$work/ecopy" >/dev/null 2>&1 \
    || bad "restore failed"
EAST_EXTRA="$EAST_EXTRA" BROKER_EXTRA="federation:
  file: $fed
  region: east
$EAST_EXTRA" start_broker
n=10
until grep -q "is inconsistent with the cosigned" "$wlines" || [ $n -gt 80 ]; do
    send_some police-east la1 $n 5 >/dev/null; n=$((n + 5))
done
#  East asks again with backoff (0.5 s, 1 s, ...): wait for a second refusal.
wait_lines "$wlines" "is inconsistent with the cosigned size" 2 30
grep -q "log rhannu.test/east: checkpoint of size [0-9]* is inconsistent with the cosigned size $cosigned: refused" "$wlines" \
    && ok "west refuses to cosign east's forked log (its operator log says so)" \
    || bad "west did not notice the fork"
wait_lines "$elines" "witness rhannu.test/west refuses our checkpoints \(HTTP 422\)" 1 30 \
    && ok "east's operator log says west refuses its checkpoints" || bad "east did not log the refusal"
stop_west; stop_broker
refusals=$(grep -c "is inconsistent with the cosigned size $cosigned: refused" "$wlines")
w=$("$bin/rhannu-broker" log -f "$work/west/broker/broker.yaml" 2>&1)
expect "east asked again ($refusals refusals in west's operator log), west's audit log has one" \
    "$(echo "$w" | grep -c PEER_COSIGN_REFUSED)" 1
expect_match "west's audit log has the refusal, typed RH_E_FORK, naming the size it had cosigned" \
    "$w" \
    "PEER_COSIGN_REFUSED +RH_E_FORK .*region east's log rhannu.test/east: a checkpoint its broker signed does not extend size $cosigned that this broker cosigned"
expect_match "east's audit log records that west refuses its checkpoints" \
    "$("$bin/rhannu-broker" log -f "$work/broker/broker.yaml" 2>&1)" \
    "WITNESS_REFUSED .*witness rhannu.test/west refuses checkpoints \(HTTP 422\)"
finish
