#!/usr/bin/env bash
#  make demo-federation: two regions on loopback, each with its own board CA, broker and agents,
#  and scenario 6 of the domain brief across the border between them. A youth living in
#  Cardiff is referred by Gwent Police to Newport's front door; Newport transfers the case to
#  Cardiff's front door over the link between the two regions' brokers; the officer is told
#  where it went and later hears Cardiff's outcome. Then the link goes down and comes back.
#  Everything stays in demo/run-federation/ for inspection; running again starts afresh.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
bin="$top/build/bin"
run="$top/demo/run-federation"
gwent_port=${DEMO_PORT:-5670}
cardiff_port=$((gwent_port + 1))
pids=()
declare -A broker_pid=()

source "$top/deploy/demo_lib.sh"
short () { sed "s|$run/|demo/run-federation/|g; s|$top/||g; s/^/  /"; }
field () { grep -o "\"$2\": *\"[^\"]*\"" "$1" | head -1 | sed 's/.*: *"\(.*\)"/\1/'; }
#  Waits up to $3 seconds for a file in $1 holding the text $2; prints its path.
wait_for () {
    local deadline=$((SECONDS + $3)) f
    while [ $SECONDS -lt $deadline ]; do
        f=$(grep -l -- "$2" "$1"/*.json 2>/dev/null | head -1)
        [ -n "$f" ] && { echo "$f"; return 0; }
        sleep 0.1
    done
    echo "demo: nothing with $2 arrived in $1 within $3 s" >&2
    return 1
}
fingerprint () { openssl x509 -in "$1" -outform DER | sha256sum | cut -d' ' -f1; }

rm -rf "$run"
mkdir -p "$run"

#  region, its agencies (id type la), its port
declare -A port=([gwent]=$gwent_port [cardiff]=$cardiff_port)
declare -A members=(
    [gwent]="police-gwent:POLICE:newport la-newport:LA_FRONT_DOOR:newport"
    [cardiff]="police-south-wales:POLICE:cardiff la-cardiff:LA_FRONT_DOOR:cardiff"
)

say "1. Two regional boards, two throwaway CAs: demo/run-federation/{gwent,cardiff}/pki"
for region in gwent cardiff; do
    mkdir -p "$run/$region"
    "$bin/rhannu-ca" init "$run/$region/pki" --name "${region^} Safeguarding Board demo CA" >/dev/null
    "$bin/rhannu-ca" issue "$run/$region/pki" broker --type BROKER --region "$region" >/dev/null
    for spec in ${members[$region]}; do
        IFS=: read -r id type la <<< "$spec"
        "$bin/rhannu-ca" issue "$run/$region/pki" "$id" --type "$type" --la "$la" --region "$region" >/dev/null
    done
    note "$region: broker and $(echo ${members[$region]} | sed 's/:[^ ]*//g')"
done
note "each board gives the other its CA, its CRL and the certificates it issued (public, no keys),"
note "kept under pki/peers/REGION: what the other region's messages are verified against"
give () {    # give FROM TO
    local agency
    mkdir -p "$run/$2/pki/peers/$1"
    cp "$run/$1/pki/ca.pem" "$run/$1/pki/crl.pem" "$run/$2/pki/peers/$1/"
    for agency in "$run/$1/pki"/*/cert.pem; do
        agency=$(basename "$(dirname "$agency")")
        mkdir -p "$run/$2/pki/peers/$1/$agency"
        cp "$run/$1/pki/$agency/cert.pem" "$run/$2/pki/peers/$1/$agency/"
    done
}
give gwent cardiff
give cardiff gwent

say "2. Each board signs its own sharing agreement, naming the other region's front door"
write_agreement () {    # write_agreement REGION OTHER-FRONT-DOOR
    mkdir -p "$run/$1/agreements"
    {
        echo "id: ${1^^}-DEMO"
        echo "version: 1"
        echo "valid_from: 2020-01-01"
        echo "valid_to: 2099-12-31"
        echo "purposes: [SAFEGUARDING_CHILD, REFERRER_FEEDBACK]"
        echo "parties:"
        for spec in ${members[$1]}; do
            IFS=: read -r id type la <<< "$spec"
            if [ "$type" = LA_FRONT_DOOR ]; then
                echo "  - {id: $id, roles: [member], front_door_for: [$la], aliases: [IAA, SPOC, MASH]}"
            else
                echo "  - {id: $id, roles: [member]}"
            fi
        done
        echo "  - {id: $2, roles: [member]}"
        echo "rules:"
        echo "  - {id: OPEN, description: \"demo: everything between members\", fields: all}"
    } > "$run/$1/agreements/$1-demo.yaml"
    "$bin/rhannu-ca" sign-agreement "$run/$1/pki" "$run/$1/agreements/$1-demo.yaml" | short
}
write_agreement gwent la-cardiff
write_agreement cardiff la-newport

say "3. Both boards sign one federation agreement: who may send what across, in which direction"
fed="$run/federation.yaml"
cat > "$fed" <<YAML
federation:
  id: gwent-cardiff
  version: 1
  title: Gwent and Cardiff cross-border safeguarding (demo)
  valid_from: 2020-01-01
  valid_to: 2099-12-31
regions:
  - region: gwent
    ca_sha256: $(fingerprint "$run/gwent/pki/ca.pem")
    broker_endpoint: tcp://127.0.0.1:$gwent_port
    broker_cn: broker
    log_origin: rhannu.demo/gwent
    front_doors: [ { la: newport, agency: la-newport } ]
  - region: cardiff
    ca_sha256: $(fingerprint "$run/cardiff/pki/ca.pem")
    broker_endpoint: tcp://127.0.0.1:$cardiff_port
    broker_cn: broker
    log_origin: rhannu.demo/cardiff
    front_doors: [ { la: cardiff, agency: la-cardiff } ]
crossings:
  - from: gwent
    to: cardiff
    agencies: [la-newport]
    kinds: [TRANSFER, REFERRAL]
    purposes: [SAFEGUARDING_CHILD]
    categories: [CCE, CSE, MISSING]
  - from: cardiff
    to: gwent
    las: [cardiff]
    kinds: [RECEIPT, OUTCOME, STATUS_UPDATE]
    purposes: [SAFEGUARDING_CHILD, REFERRER_FEEDBACK]
YAML
"$bin/rhannu-ca" sign-agreement "$run/gwent/pki" "$fed" | short
"$bin/rhannu-ca" sign-agreement "$run/cardiff/pki" "$fed" | short
"$bin/rhannu-broker" check-agreement "$fed" --pki "$run/gwent/pki" | short

say "4. Start both brokers (gwent on :$gwent_port, cardiff on :$cardiff_port) and their agents"
start_broker () {    # start_broker REGION
    local region=$1 deadline
    mkdir -p "$run/$region/broker"
    cat > "$run/$region/broker/broker.yaml" <<EOF
bind:
  endpoint: tcp://127.0.0.1:${port[$region]}
pki:
  dir: $run/$region/pki
data:
  dir: $run/$region/broker/data
policy:
  dir: $run/$region/agreements
delivery:
  redeliver_ms: 2000
federation:
  file: $fed
  region: $region
witness:
  origin: rhannu.demo/$region
EOF
    RH_LOG_LEVEL=${RH_LOG_LEVEL:-info} "$bin/rhannu-broker" -f "$run/$region/broker/broker.yaml" \
        2>> "$run/$region/broker/broker.log" &
    broker_pid[$region]=$!
    pids+=($!)
}
start_broker gwent
start_broker cardiff
for region in gwent cardiff; do
    for spec in ${members[$region]}; do
        id=${spec%%:*}
        mkdir -p "$run/$id"
        cat > "$run/$id/agent.yaml" <<EOF
agency:
  id: $id
pki:
  dir: $run/$region/pki
broker:
  endpoint: tcp://127.0.0.1:${port[$region]}
spool:
  dir: $run/$id
  scan_ms: 100
data:
  dir: $run/$id/data
EOF
        "$bin/rhannu-agent" -f "$run/$id/agent.yaml" 2> "$run/$id/agent.log" &
        pids+=($!)
    done
done
for id in police-gwent la-newport police-south-wales la-cardiff; do
    deadline=$((SECONDS + 15))
    until grep -q '"connected": true' "$run/$id/data/status.json" 2>/dev/null; do
        [ $SECONDS -lt $deadline ] || { echo "demo: $id did not connect"; cat "$run/$id/agent.log"; exit 1; }
        sleep 0.1
    done
done
link_up () {    # link_up REGION N: the Nth time REGION's broker had its link up
    local deadline=$((SECONDS + 20))
    until [ "$(grep -c "link to region .* is up" "$run/$1/broker/broker.log")" -ge "${2:-1}" ]; do
        [ $SECONDS -lt $deadline ] || { echo "demo: $1's link did not come up"; exit 1; }
        sleep 0.1
    done
}
link_up gwent; link_up cardiff
note "four agents connected; each broker is linked to the other as a client, admitted by its"
note "BROKER certificate through the federation agreement:"
grep -h "link to region" "$run"/*/broker/broker.log | sed 's/^[^ ]* //' | short

say "5. PC-7 of Gwent Police refers a youth who lives in Cardiff to Newport's front door"
cat > "$run/referral.json" <<JSON
{"kind": "REFERRAL", "to": [{"front_door_la": "newport", "alias": "IAA"}], "case_id": "GW-S6",
 "purpose": "SAFEGUARDING_CHILD", "author": {"practitioner_id": "PC-7"},
 "body": {"referral_kind": "PPN", "categories": ["CCE"], "narrative": "found running drugs; lives in Cardiff",
          "subjects": [{"kind": "CHILD", "home_la": "cardiff", "name": "Demo Youth", "date_of_birth": "2009-06-06"}],
          "consent": {"state": "NOT_REQUIRED_SIGNIFICANT_HARM", "family_aware": true}}}
JSON
"$bin/rhannu-agent" send -f "$run/police-gwent/agent.yaml" "$run/referral.json" | short
referral=$(wait_for "$run/la-newport/inbox" '"kind": "REFERRAL"' 15)
rid=$(field "$referral" msg_id)
note "Newport's front door has it: demo/run-federation/la-newport/inbox/$(basename "$referral")"

say "6. Newport transfers the case to Cardiff's front door (SPOC): it crosses the border"
cat > "$run/transfer.json" <<JSON
{"kind": "TRANSFER", "to": [{"front_door_la": "cardiff", "alias": "SPOC"}], "in_reply_to": "$rid",
 "case_id": "GW-S6", "purpose": "SAFEGUARDING_CHILD",
 "body": {"to": {"front_door_la": "cardiff", "alias": "SPOC"}, "reason": "the youth lives in Cardiff",
          "cross_border": true, "from_la": "newport", "to_la": "cardiff"}}
JSON
"$bin/rhannu-agent" send -f "$run/la-newport/agent.yaml" "$run/transfer.json" | short
transfer=$(wait_for "$run/la-cardiff/inbox" '"kind": "TRANSFER"' 20)
note "gwent's broker decided the border (federation gwent-cardiff), stored the transfer in its"
note "queue for cardiff, answered Newport, and forwarded Newport's own signed bytes over the link;"
note "cardiff's broker verified Newport's signature against Gwent's CA, decided the border in its"
note "direction and its own agreement, stored it, and delivered it:"
note "  demo/run-federation/la-cardiff/inbox/$(basename "$transfer")"
note "  kind $(field "$transfer" kind), from $(field "$transfer" sender), case $(field "$transfer" case_id)"

say "7. Newport tells the officer where it went"
cat > "$run/told.json" <<JSON
{"kind": "OUTCOME", "in_reply_to": "$rid", "case_id": "GW-S6", "purpose": "REFERRER_FEEDBACK",
 "body": {"decision": "TRANSFERRED", "rationale": "transferred to Cardiff IAA",
          "better_placed": {"front_door_la": "cardiff", "alias": "IAA"}, "better_placed_reason": "the youth lives in Cardiff"}}
JSON
"$bin/rhannu-agent" send -f "$run/la-newport/agent.yaml" "$run/told.json" | short
told=$(wait_for "$run/police-gwent/inbox" '"decision": "TRANSFERRED"' 15)
note "demo/run-federation/police-gwent/inbox/$(basename "$told"):"
note "  decision $(field "$told" decision): $(field "$told" rationale)"

say "8. Later Cardiff records its outcome; it travels back over the link to Newport and the officer"
cat > "$run/outcome.json" <<JSON
{"kind": "OUTCOME", "to": [{"agency_id": "la-newport"}], "in_reply_to": "$rid", "case_id": "GW-S6",
 "purpose": "REFERRER_FEEDBACK",
 "body": {"decision": "STRATEGY_DISCUSSION", "rationale": "strategy discussion held in Cardiff"}}
JSON
"$bin/rhannu-agent" send -f "$run/la-cardiff/agent.yaml" "$run/outcome.json" | short
back=$(wait_for "$run/police-gwent/inbox" '"decision": "STRATEGY_DISCUSSION"' 20)
note "the officer: decision $(field "$back" decision): $(field "$back" rationale)"
note "  (a notice from gwent's broker carrying Cardiff's own signed outcome, both signatures checked)"

say "9. The link goes down: cardiff's broker stops; a second transfer waits in gwent's queue"
kill -TERM "${broker_pid[cardiff]}"; wait "${broker_pid[cardiff]}" 2>/dev/null || true
sed 's/"case_id": "GW-S6"/"case_id": "GW-S6B"/; s/ "in_reply_to": "[^"]*",$//' "$run/transfer.json" > "$run/transfer2.json"
"$bin/rhannu-agent" send -f "$run/la-newport/agent.yaml" "$run/transfer2.json" | short
sleep 2
grep -h "accepted for forwarding\|is down" "$run/gwent/broker/broker.log" | tail -2 | sed 's/^[^ ]* //' | short
start_broker cardiff
link_up gwent 2
second=$(wait_for "$run/la-cardiff/inbox" '"case_id": "GW-S6B"' 30)
note "cardiff's broker is back; the link came up again and the queued transfer arrived:"
note "  demo/run-federation/la-cardiff/inbox/$(basename "$second")"

say "10. Nothing went anywhere else"
for id in police-gwent la-newport police-south-wales la-cardiff; do
    n=$(find "$run/$id/inbox" -maxdepth 1 -name '*.json' | wc -l)
    f=$(find "$run/$id/failed" -maxdepth 1 -type f | wc -l)
    note "$(printf '%-20s inbox %d  failed %d' "$id" "$n" "$f")"
done
sleep 0.5
stop_all
trap - EXIT

say "11. Each broker audited its own side: the chronology of case GW-S6 on either side"
for region in gwent cardiff; do
    note "$region:"
    "$bin/rhannu-audit" chronology --case GW-S6 --data "$run/$region/broker/data" --pki "$run/$region/pki" | short
done
say "12. Each broker witnessed the other's log: it cosigned only checkpoints that extend what it cosigned before"
for region in gwent cardiff; do
    n=$(grep -c "cosigned size" "$run/$region/broker/broker.log")
    last=$(grep "cosigned size" "$run/$region/broker/broker.log" | tail -1 | sed 's/.*witness: //')
    note "$region: checkpoints of the other region cosigned: $n; the last: $last"
done
say "Done. Inspect demo/run-federation/: one folder per region (pki, agreements, broker), one per agency."
