#!/usr/bin/env bash
#  Federated regions linked (issue 16, scenario 6 of the domain brief): two regions on loopback,
#  each with its own board CA, broker and agents. A youth living in la2 (west) is referred to
#  la1's front door (east); la1 transfers the case to la2's front door across the link; the
#  referrer hears where it went and, later, la2's outcome, which comes back across the link.
#  Nobody else receives anything. The link down for a simulated day: crossings queue at east
#  and arrive in order once west is back. Refusals at the border stay typed and audited.
source "$(dirname "$0")/lib.sh"

source "$(dirname "$0")/fed_lib.sh"

echo "== two regions: east (la1) and west (la2), each its own board CA and broker"
fed_regions
echo "== scenario 6: a youth living in la2 is referred to la1's front door"
cat > "$work/s6-referral.json" <<JSON
{"kind": "REFERRAL", "to": [{"front_door_la": "la1"}], "case_id": "S6", "purpose": "SAFEGUARDING_CHILD",
 "author": {"practitioner_id": "PC-6"},
 "body": {"referral_kind": "PPN", "categories": ["CCE"], "narrative": "county lines, lives in la2",
          "subjects": [{"kind": "CHILD", "home_la": "la2", "name": "Youth Six", "date_of_birth": "2009-06-06"}],
          "consent": {"state": "NOT_REQUIRED_SIGNIFICANT_HARM", "family_aware": true}}}
JSON
send police-east "$work/s6-referral.json"
wait_kind "$work/la1-fd/inbox" REFERRAL 1 15 && ok "la1's front door has the referral" || bad "the referral did not reach la1"
rid=$(msg_id_of "$(newest_kind "$work/la1-fd/inbox" REFERRAL)")
cat > "$work/s6-transfer.json" <<JSON
{"kind": "TRANSFER", "to": [{"front_door_la": "la2", "alias": "SPOC"}], "in_reply_to": "$rid", "case_id": "S6",
 "purpose": "SAFEGUARDING_CHILD",
 "body": {"to": {"front_door_la": "la2", "alias": "SPOC"}, "reason": "the youth lives in la2",
          "cross_border": true, "from_la": "la1", "to_la": "la2"}}
JSON
send la1-fd "$work/s6-transfer.json"
wait_kind "$work/la2-fd/inbox" TRANSFER 1 20 && ok "la1's transfer crosses the link to la2's front door" \
    || bad "the transfer did not reach la2"
t=$(cat "$(newest_kind "$work/la2-fd/inbox" TRANSFER)" 2>/dev/null)
expect_match "it is la1's own message, its signature verified at la2's end" "$t" '"sender": "la1-fd"'
expect "la1's agent holds nothing back" "$(count_files "$work/la1-fd/failed" "*.error")" 0
cat > "$work/s6-told.json" <<JSON
{"kind": "OUTCOME", "in_reply_to": "$rid", "case_id": "S6", "purpose": "REFERRER_FEEDBACK",
 "body": {"decision": "TRANSFERRED", "rationale": "transferred to LA2 IAA",
          "better_placed": {"front_door_la": "la2", "alias": "IAA"}, "better_placed_reason": "transferred to LA2 IAA"}}
JSON
send la1-fd "$work/s6-told.json"
has_notice () {    # has_notice AGENCY TEXT N
    local deadline=$((SECONDS + 20))
    while [ "$(grep -l "$2" "$work/$1/inbox"/*.json 2>/dev/null | wc -l)" -lt "$3" ]; do
        [ $SECONDS -lt $deadline ] || return 1
        sleep 0.1
    done
}
has_notice police-east '"decision": "TRANSFERRED"' 1 && ok "the referrer is told where it went" || bad "the referrer was not told"
expect_match "in so many words" "$(cat $(grep -l '"decision": "TRANSFERRED"' "$work"/police-east/inbox/*.json | head -1))" "transferred to LA2 IAA"

echo "== la2's receipt of the transfer, a reply without address, goes back to la1"
tid=$(msg_id_of "$(newest_kind "$work/la2-fd/inbox" TRANSFER)")
cat > "$work/s6-receipt.json" <<JSON
{"kind": "RECEIPT", "in_reply_to": "$tid", "case_id": "S6", "purpose": "REFERRER_FEEDBACK",
 "body": {"original_msg_id": "$tid", "case_id": "S6", "held_by": "la2-fd", "held_by_label": "LA2 IAA",
          "summary_en": "LA2 IAA holds the transfer"}}
JSON
send la2-fd "$work/s6-receipt.json"
wait_kind "$work/la1-fd/inbox" RECEIPT 1 20 && ok "la1 gets la2's receipt across the link" || bad "la2's receipt did not reach la1"

echo "== la2's outcome travels back across the link to la1 and the referrer"
cat > "$work/s6-outcome.json" <<JSON
{"kind": "OUTCOME", "to": [{"agency_id": "la1-fd"}], "in_reply_to": "$rid", "case_id": "S6",
 "purpose": "REFERRER_FEEDBACK",
 "body": {"decision": "SECTION_47", "rationale": "strategy discussion held in la2"}}
JSON
send la2-fd "$work/s6-outcome.json"
wait_kind "$work/la1-fd/inbox" OUTCOME 1 20 && ok "la1 hears la2's outcome across the link" || bad "la2's outcome did not reach la1"
has_notice police-east '"decision": "SECTION_47"' 1 && ok "and so does the referrer, later, from la2" \
    || bad "the referrer did not hear la2's outcome"
expect "la2's agent holds nothing back" "$(count_files "$work/la2-fd/failed" "*.error")" 0
sleep 1
expect "non-parties get nothing: school-east" "$(count_files "$work/school-east/inbox")" 0
expect "non-parties get nothing: police-west" "$(count_files "$work/police-west/inbox")" 0

echo "== the border still refuses what the federation agreement does not cover"
sed 's/"in_reply_to": "[^"]*", //' "$work/s6-transfer.json" > "$work/s6-police.json"
send police-east "$work/s6-police.json"
wait_count "$work/police-east/failed" 1 10 "*.error" && ok "police-east may not send across" || bad "no refusal at the border"
expect_match "typed: border:not_covered" "$(cat "$work"/police-east/failed/*.error 2>/dev/null)" "border:not_covered"

echo "== east trusts west's broker for west's agencies only, and decides the border its own way"
#  A client holding west's broker key (what a link is), with east's broker as its server.
mkdir -p "$work/as-west"
cp -r "$work/pki/broker" "$work/as-west/broker"
cp -r "$work/west/pki/broker" "$work/as-west/west-broker"
cp -r "$work/west/pki/police-west" "$work/west/pki/la2-fd" "$work/pki/la1-fd" "$work/as-west/"
cat > "$work/w-referral.json" <<JSON
{"kind": "REFERRAL", "to": [{"front_door_la": "la1"}], "case_id": "W1", "purpose": "SAFEGUARDING_CHILD",
 "body": {"referral_kind": "PPN", "categories": ["CCE"], "subjects": [{"kind": "CHILD", "home_la": "la1"}]}}
JSON
referrals=$(count_kind "$work/la1-fd/inbox" REFERRAL)
out=$("$testclient" "$endpoint" "$work/as-west" west-broker submit "$work/w-referral.json" police-west 1 2>&1)
expect_match "a kind that may not cross from west to east is refused on arrival: border:not_allowed" "$out" \
    "REJECTED .* RH_E_POLICY border:not_allowed"
out=$("$testclient" "$endpoint" "$work/as-west" west-broker submit "$work/s6-outcome.json" la1-fd 1000 2>&1)
expect_match "an east agency's message coming from west's broker does not verify there" "$out" \
    "REJECTED .* RH_E_CERT_UNKNOWN"
out=$("$testclient" "$endpoint" "$work/as-west" la2-fd hold 1 2>&1)
expect_match "a west agency's own key is no client of east's broker" "$out" "AUTH_FAILED"
sleep 1
expect "and la1 received none of it" "$(count_kind "$work/la1-fd/inbox" REFERRAL)" "$referrals"

echo "== the link down for a simulated day: crossings queue, then arrive in order"
stop_west
set_clock 1
for n in 1 2 3 4 5; do
    sed "s/\"case_id\": \"S6\"/\"case_id\": \"Q$n\"/; s/\"in_reply_to\": \"[^\"]*\", //" "$work/s6-transfer.json" > "$work/q$n.json"
    send la1-fd "$work/q$n.json"
    sleep 0.3    #  one after the other, as a practitioner would
done
deadline=$((SECONDS + 20))
until [ "$(grep -c "accepted for forwarding to region west" "$work/broker/broker.log")" -ge 6 ] || [ $SECONDS -ge $deadline ]; do sleep 0.1; done
expect "east accepts all five for forwarding while west is down" \
    "$(grep -c "accepted for forwarding to region west" "$work/broker/broker.log")" 6
expect "none is refused" "$(count_files "$work/la1-fd/failed" "*.error")" 0
before=$(count_kind "$work/la2-fd/inbox" TRANSFER)
start_west
wait_kind "$work/la2-fd/inbox" TRANSFER $((before + 5)) 30 && ok "on reconnect all five arrive" || bad "queued crossings lost ($(count_kind "$work/la2-fd/inbox" TRANSFER))"

echo "== a crossing that waited longer than west's created window is still taken"
#  Created two hours ago: within east's window (24 h) when east took it, outside west's (1 h)
#  by the time it crosses: as after a link down for a while.
sed 's/"case_id": "S6"/"case_id": "OLD1"/; s/"in_reply_to": "[^"]*", //' "$work/s6-transfer.json" > "$work/old.json"
before=$(count_kind "$work/la2-fd/inbox" TRANSFER)
out=$(RH_TC_CREATED_MS=$(( $(date +%s%3N) - 7200000 )) "$testclient" "$endpoint" "$work/pki" la1-fd \
    submit "$work/old.json" la1-fd 1000000 2>&1)
expect_match "east accepts it for forwarding" "$out" "^ACCEPTED"
wait_kind "$work/la2-fd/inbox" TRANSFER $((before + 1)) 20 && ok "west stores and delivers it" \
    || bad "west did not take the crossing that waited"

echo "== a crossing the other region refuses on arrival: its sender is told, and the queue moves on"
#  Allowed at the border, but relying on an agreement west does not have: west refuses it.
sed 's/"case_id": "S6"/"case_id": "NOPE1", "agreement_id": "TEST-OPEN"/; s/"in_reply_to": "[^"]*", //' \
    "$work/s6-transfer.json" > "$work/nope.json"
alerts=$(grep -l '"alert_kind": "NON_DELIVERY"' "$work"/la1-fd/inbox/*.json 2>/dev/null | wc -l)
out=$("$testclient" "$endpoint" "$work/pki" la1-fd submit "$work/nope.json" la1-fd 1000001 2>&1)
expect_match "east accepts it for forwarding" "$out" "^ACCEPTED"
deadline=$((SECONDS + 20))
until [ "$(grep -l '"alert_kind": "NON_DELIVERY"' "$work"/la1-fd/inbox/*.json 2>/dev/null | wc -l)" -gt "$alerts" ] \
    || [ $SECONDS -ge $deadline ]; do sleep 0.1; done
a=$(grep -l '"alert_kind": "NON_DELIVERY"' "$work"/la1-fd/inbox/*.json 2>/dev/null | head -1)
expect_match "la1 is told it was not delivered, and why" "$(cat "$a" 2>/dev/null)" "region west refused it \(RH_E_POLICY"
sed 's/"case_id": "S6"/"case_id": "AFTER1"/; s/"in_reply_to": "[^"]*", //' "$work/s6-transfer.json" > "$work/after.json"
before=$(count_kind "$work/la2-fd/inbox" TRANSFER)
"$testclient" "$endpoint" "$work/pki" la1-fd submit "$work/after.json" la1-fd 1000002 >/dev/null 2>&1
wait_kind "$work/la2-fd/inbox" TRANSFER $((before + 1)) 20 && ok "and the next crossing goes through" \
    || bad "the queue to west is stuck behind the refused crossing"

echo "== west's broker moves: both boards sign the new endpoint, east reloads, the link follows"
stop_west
claim_port; moved="tcp://127.0.0.1:$claimed_port"
sed -i "s|broker_endpoint: $west_endpoint|broker_endpoint: $moved|; s/^  version: 1$/  version: 2/" "$fed"
"$bin/rhannu-ca" sign-agreement "$work/pki" "$fed" >/dev/null
"$bin/rhannu-ca" sign-agreement "$work/west/pki" "$fed" >/dev/null
sed -i "s|endpoint: $west_endpoint|endpoint: $moved|" "$work/west/broker/broker.yaml" "$work/la2-fd/agent.yaml"
kill -HUP $broker_pid
deadline=$((SECONDS + 10))
until grep -q "linking to region west's broker at $moved" "$work/broker/broker.log" || [ $SECONDS -ge $deadline ]; do sleep 0.1; done
grep -q "link to region west stopped" "$work/broker/broker.log" && ok "east stops the link to the old endpoint on reload" \
    || bad "the old link was not stopped"
grep -q "linking to region west's broker at $moved" "$work/broker/broker.log" && ok "and starts one to the new one" \
    || bad "no link to the new endpoint"
start_west
stop_agent la2-fd; start_agent la2-fd
sed 's/"case_id": "S6"/"case_id": "MOVED1"/; s/"in_reply_to": "[^"]*", //' "$work/s6-transfer.json" > "$work/moved.json"
before=$(count_kind "$work/la2-fd/inbox" TRANSFER)
"$testclient" "$endpoint" "$work/pki" la1-fd submit "$work/moved.json" la1-fd 1000003 >/dev/null 2>&1
wait_kind "$work/la2-fd/inbox" TRANSFER $((before + 1)) 30 && ok "a crossing reaches west at its new endpoint" \
    || bad "nothing crossed to the moved broker"

stop_broker
stop_west
wlog=$("$bin/rhannu-broker" log -f "$work/west/broker/broker.yaml" 2>&1)
elog=$("$bin/rhannu-broker" log -f "$work/broker/broker.yaml" 2>&1)
expect "west stored each crossing once" \
    "$(echo "$wlog" | grep -cE 'ACCEPTED .*TRANSFER from region east')" 9
#  the first crossing is S6's transfer; the next five are the ones queued while west was down
sent=$(echo "$elog" | grep -E 'ACCEPTED .*TRANSFER forwarded to region west' | awk '{print $5}' | sed -n 2,6p | tr '\n' ' ')
stored=$(echo "$wlog" | grep -E 'ACCEPTED .*TRANSFER from region east' | awk '{print $5}' | sed -n 2,6p | tr '\n' ' ')
expect "in the order la1 sent them" "$stored" "$sent"
expect_match "west's audit record names the region and broker it came through, and where east's log stood" \
    "$wlog" "TRANSFER from region east \(broker broker; its log at checkpoint [0-9]+\)"
expect_match "west keeps east's signed checkpoints, verified, as they come over the link" "$wlog" \
    "PEER_CHECKPOINT +RH_OK .*region east's broker broker: its log at size [0-9]+, root [0-9a-f]{64}"
expect_match "and east keeps west's" "$elog" \
    "PEER_CHECKPOINT +RH_OK .*region west's broker broker: its log at size [0-9]+, root [0-9a-f]{64}"
expect_match "east's audit record names the crossing" "$elog" "TRANSFER forwarded to region west for la2-fd"
expect_match "east's refusal at the border is audited, typed" "$elog" "REJECTED +RH_E_POLICY .*border:not_covered"
expect_match "and west's refusal of a crossing, naming the region" "$elog" "FORWARD_REFUSED +RH_E_POLICY .*region west refused it"
chron=$("$bin/rhannu-audit" chronology --case S6 --data "$work/broker/data" --pki "$work/pki" 2>&1)
expect_match "east's chronology of S6 shows the hand-over to west" "$chron" \
    "TRANSFER +la1-fd +-> region:west .*
      forwarded to region west for la2-fd under federation fed-east-west"
expect_match "and la2's outcome, which came from west" "$chron" "OUTCOME +la2-fd +-> la1-fd,police-east"
chron=$("$bin/rhannu-audit" chronology --case S6 --data "$work/west/broker/data" --pki "$work/west/pki" 2>&1)
expect_match "west's chronology of S6 shows what came from east, and through which broker" "$chron" \
    "TRANSFER +la1-fd +-> la2-fd .*
      from region east \(broker broker; its log at checkpoint [0-9]+\)"
expect_match "and la2's outcome going back" "$chron" "OUTCOME +la2-fd +-> region:east"
out=$("$bin/rhannu-audit" verify --data "$work/broker/data" --pki "$work/pki" 2>&1)
expect_match "an auditor verifies east's log, crossings from west included" "$out" "audit log verified: [0-9]+ records"
out=$("$bin/rhannu-audit" verify --data "$work/west/broker/data" --pki "$work/west/pki" 2>&1)
expect_match "and west's, crossings from east included" "$out" "audit log verified: [0-9]+ records"
for side in east west; do
    data=$work/broker/data pki=$work/pki
    [ $side = west ] && data=$work/west/broker/data pki=$work/west/pki
    out=$("$bin/rhannu-audit" replay --data "$data" --pki "$pki" 2>&1)
    expect_match "an auditor's replay of $side's decisions reproduces them all, crossings included" \
        "$out" "re-decided [0-9]+ policy decisions against the agreement versions they name: [0-9]+ reproduce, 0 do not"
done
expect_match "west's audit chain verifies" "$(echo "$wlog" | tail -1)" "Merkle tree intact"
expect_match "east's audit chain verifies" "$(echo "$elog" | tail -1)" "Merkle tree intact"
finish
