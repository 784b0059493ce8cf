#!/usr/bin/env bash
#  Federated regions linked (issue 16, scenario 6 of the domain brief): two regions on loopback,
#  each with its own board CA, broker and agents. A youth living in la2 (west) is referred to
#  la1's front door (east); la1 transfers the case to la2's front door across the link; the
#  referrer hears where it went and, later, la2's outcome, which comes back across the link.
#  Nobody else receives anything. The link down for a simulated day: crossings queue at east
#  and arrive in order once west is back. Refusals at the border stay typed and audited.
source "$(dirname "$0")/lib.sh"

fingerprint () { openssl x509 -in "$1" -outform DER | sha256sum | cut -d' ' -f1; }
send () { "$bin/rhannu-agent" send -f "$work/$1/agent.yaml" "$2" >/dev/null; }
msg_id_of () { grep -o '"msg_id": "[^"]*"' "$1" | head -1 | cut -d'"' -f4; }

echo "== two regions: east (la1) and west (la2), each its own board CA and broker"
make_pki la1-fd:LA_FRONT_DOOR:la1 police-east:POLICE:la1 school-east:EDUCATION:la1
mkdir -p "$work/west"
"$bin/rhannu-ca" init "$work/west/pki" >/dev/null || { bad "rhannu-ca init west"; finish; exit; }
for spec in broker:BROKER: la2-fd:LA_FRONT_DOOR:la2 police-west:POLICE:la2; do
    IFS=: read -r id type la <<< "$spec"
    "$bin/rhannu-ca" issue "$work/west/pki" "$id" --type "$type" ${la:+--la "$la"} >/dev/null
done
#  The boards give each other their CA, CRL and the certificates they issued: public, no keys.
give () {    # give FROM-PKI TO-PKI REGION
    local agency
    mkdir -p "$2/peers/$3"
    cp "$1/ca.pem" "$1/crl.pem" "$2/peers/$3/"
    for agency in "$1"/*/cert.pem; do
        agency=$(basename "$(dirname "$agency")")
        [ "$agency" = peers ] && continue
        mkdir -p "$2/peers/$3/$agency"; cp "$1/$agency/cert.pem" "$2/peers/$3/$agency/"
    done
}
give "$work/pki" "$work/west/pki" east
give "$work/west/pki" "$work/pki" west
#  Each region's sharing agreement names the other region's front door it works with.
sed -i 's/^rules:/  - {id: la2-fd, roles: [member]}\nrules:/' "$work/agreements/test-open.yaml"
sign_agreements
mkdir -p "$work/west/agreements"
cat > "$work/west/agreements/test-open.yaml" <<YAML
id: WEST-OPEN
version: 1
valid_from: 2020-01-01
valid_to: 2099-12-31
purposes: [SAFEGUARDING_CHILD, SAFEGUARDING_ADULT, REFERRER_FEEDBACK]
parties:
  - {id: la2-fd, roles: [member], front_door_for: [la2], aliases: [IAA, SPOC, MASH]}
  - {id: police-west, roles: [member]}
  - {id: la1-fd, roles: [member]}
rules:
  - {id: OPEN, description: "transport tests: everything between members", fields: all}
YAML
"$bin/rhannu-ca" sign-agreement "$work/west/pki" "$work/west/agreements/test-open.yaml" >/dev/null
claim_port; west_port=$claimed_port
west_endpoint="tcp://127.0.0.1:$west_port"
fed="$work/fed-east-west.yaml"
cat > "$fed" <<YAML
federation:
  id: fed-east-west
  version: 1
  title: East and West cross-border safeguarding
  valid_from: 2020-01-01
  valid_to: 2099-12-31
regions:
  - region: east
    ca_sha256: $(fingerprint "$work/pki/ca.pem")
    broker_endpoint: $endpoint
    broker_cn: broker
    front_doors: [ { la: la1, agency: la1-fd } ]
  - region: west
    ca_sha256: $(fingerprint "$work/west/pki/ca.pem")
    broker_endpoint: $west_endpoint
    broker_cn: broker
    front_doors: [ { la: la2, agency: la2-fd } ]
crossings:
  - from: east
    to: west
    agencies: [la1-fd]
    kinds: [TRANSFER, REFERRAL]
    purposes: [SAFEGUARDING_CHILD]
  - from: west
    to: east
    las: [la2]
    kinds: [RECEIPT, OUTCOME, STATUS_UPDATE]
    purposes: [SAFEGUARDING_CHILD, REFERRER_FEEDBACK]
YAML
"$bin/rhannu-ca" sign-agreement "$work/pki" "$fed" >/dev/null
"$bin/rhannu-ca" sign-agreement "$work/west/pki" "$fed" >/dev/null

mkdir -p "$work/west/broker"
cat > "$work/west/broker/broker.yaml" <<YAML
bind:
  endpoint: $west_endpoint
pki:
  dir: $work/west/pki
data:
  dir: $work/west/broker/data
policy:
  dir: $work/west/agreements
delivery:
  redeliver_ms: 2000
federation:
  file: $fed
  region: west
YAML
west_pid=""
start_west () {
    local readies
    readies=$(grep -c "ready" "$work/west/broker.log" 2>/dev/null)
    RH_LOG_LEVEL=info "$bin/rhannu-broker" -f "$work/west/broker/broker.yaml" 2>> "$work/west/broker.log" &
    west_pid=$!; extra_pids+=($west_pid)
    local deadline=$((SECONDS + 60))
    until [ "$(grep -c "ready" "$work/west/broker.log" 2>/dev/null)" -gt "${readies:-0}" ] \
        || ! kill -0 $west_pid 2>/dev/null; do
        [ $SECONDS -lt $deadline ] || break
        sleep 0.05
    done
}
stop_west () { kill -TERM $west_pid 2>/dev/null; wait $west_pid 2>/dev/null || true; }
kill_west () { kill -9 $west_pid 2>/dev/null; wait $west_pid 2>/dev/null || true; }
#  west's agents: their own PKI folder and broker
for a in la2-fd police-west; do
    mkdir -p "$work/$a"
    cat > "$work/$a/agent.yaml" <<YAML
agency:
  id: $a
pki:
  dir: $work/west/pki
broker:
  endpoint: $west_endpoint
spool:
  dir: $work/$a
  scan_ms: 50
data:
  dir: $work/$a/data
send:
  resend_ms: 2000
YAML
done

BROKER_EXTRA="federation:
  file: $fed
  region: east" start_broker
start_west
for a in la1-fd police-east school-east la2-fd police-west; do start_agent "$a"; done
for a in la1-fd police-east school-east la2-fd police-west; do wait_connected "$a" || bad "$a did not connect"; done
link_up () {    # link_up LOG: waits for a link to come up (again)
    local deadline=$((SECONDS + 20))
    until [ "$(grep -c "link to region .* is up" "$1")" -ge "${2:-1}" ]; do
        [ $SECONDS -lt $deadline ] || return 1
        sleep 0.1
    done
}
link_up "$work/broker/broker.log" && ok "east's link to west's broker is up (CURVE, trusted through the federation)" \
    || bad "east's link did not come up"
link_up "$work/west/broker.log" && ok "and west's to east's" || bad "west's link did not come up"

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
stop_broker
stop_west
wlog=$("$bin/rhannu-broker" log -f "$work/west/broker/broker.yaml" 2>&1)
elog=$("$bin/rhannu-broker" log -f "$work/broker/broker.yaml" 2>&1)
expect "west stored each crossing once" \
    "$(echo "$wlog" | grep -cE 'ACCEPTED .*TRANSFER from region east')" 6
sent=$(echo "$elog" | grep -E 'ACCEPTED .*TRANSFER forwarded to region west' | awk '{print $5}' | tail -5 | tr '\n' ' ')
stored=$(echo "$wlog" | grep -E 'ACCEPTED .*TRANSFER from region east' | awk '{print $5}' | tail -5 | tr '\n' ' ')
expect "in the order la1 sent them" "$stored" "$sent"
expect_match "west's audit record names the region and broker it came through" "$wlog" "TRANSFER from region east \(broker broker\)"
expect_match "east's audit record names the crossing" "$elog" "TRANSFER forwarded to region west for la2-fd"
expect_match "east's refusal at the border is audited, typed" "$elog" "REJECTED +RH_E_POLICY .*border:not_covered"
expect_match "west's audit chain verifies" "$(echo "$wlog" | tail -1)" "Merkle tree intact"
expect_match "east's audit chain verifies" "$(echo "$elog" | tail -1)" "Merkle tree intact"
finish
