#!/usr/bin/env bash
#  A crossing the other region cannot take yet is waited for, not given up on (issue 16): west's
#  board has not yet given west's broker la1-fd's certificate, so west refuses la1's transfer
#  (RH_E_CERT_UNKNOWN). East keeps it queued and sends it again; once the certificate is there
#  (a reload), it arrives, once. (A refusal that lasts, such as west's agreements refusing it,
#  still ends at once: test_federation_link.sh.)
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/fed_lib.sh"

echo "== two regions; west's broker does not have la1-fd's certificate yet"
fed_regions
mv "$work/west/pki/peers/east/la1-fd" "$work/la1-fd-cert"
kill -HUP $west_pid
wait_lines "$work/west/broker.log" "reloading the agreements and the PKI" 1 20 || bad "west did not reload"
cat > "$work/transfer.json" <<JSON
{"kind": "TRANSFER", "to": [{"front_door_la": "la2"}], "case_id": "WAIT-1", "purpose": "SAFEGUARDING_CHILD",
 "body": {"to": {"front_door_la": "la2"}, "reason": "the youth lives in la2", "cross_border": true,
          "from_la": "la1", "to_la": "la2"}}
JSON
send la1-fd "$work/transfer.json"
wait_lines "$work/broker/broker.log" "region west cannot take .* yet \(RH_E_CERT_UNKNOWN\): it stays queued" 2 40 \
    && ok "west cannot verify it yet: east keeps it queued and sends it again" \
    || bad "east did not retry the crossing"
expect "la2's front door has nothing yet" "$(count_kind "$work/la2-fd/inbox" TRANSFER)" 0
expect "east did not give up on it (no FORWARD_REFUSED in its operator log)" \
    "$(grep -c "region west refused" "$work/broker/broker.log")" 0
non_delivery () { grep -l '"alert_kind": "NON_DELIVERY"' "$work"/la1-fd/inbox/*.json 2>/dev/null | wc -l; }
expect "la1-fd was not told it could not be delivered" "$(non_delivery)" 0

echo "== west's board gives the certificate; west reloads"
mv "$work/la1-fd-cert" "$work/west/pki/peers/east/la1-fd"
kill -HUP $west_pid
wait_kind "$work/la2-fd/inbox" TRANSFER 1 40 && ok "the waiting crossing arrives at la2's front door" \
    || bad "the crossing never arrived"
sleep 1
expect "once" "$(count_kind "$work/la2-fd/inbox" TRANSFER)" 1
expect "and la1-fd still had no non-delivery notice" "$(non_delivery)" 0

echo "== west restarts: east's checkpoint it already recorded is not recorded again"
stop_west
start_west
link_up "$work/broker/broker.log" 2 || bad "east's link did not come back"
sleep 2
stop_west; stop_broker
sizes=$("$bin/rhannu-broker" log -f "$work/west/broker/broker.yaml" 2>&1 | grep PEER_CHECKPOINT \
        | sed -n 's/.*its log at size \([0-9]*\),.*/\1/p')
[ -n "$sizes" ] && ok "west recorded east's checkpoints" || bad "west recorded no checkpoint of east's"
expect "each size once, across the restart (kept in west's store)" \
    "$(echo "$sizes" | sort | uniq -d | wc -l)" 0
elog=$("$bin/rhannu-broker" log -f "$work/broker/broker.yaml" 2>&1)
expect "east's audit log has no FORWARD_REFUSED: it never gave up on it" \
    "$(echo "$elog" | grep -c FORWARD_REFUSED)" 0
expect "the waiting crossing left east's queue only when west stored it: no dead letter" \
    "$(echo "$elog" | grep -c DEAD_LETTER)" 0
finish
