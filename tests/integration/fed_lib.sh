#  Helpers for the federated-region tests (test_federation_link.sh, test_federation_crash.sh):
#  two regions on loopback, east (la1: la1-fd, police-east, school-east; lib.sh's broker and
#  PKI) and west (la2: la2-fd, police-west; its own board CA, broker and port), the boards'
#  exchange of public certificates under pki/peers/REGION, a federation agreement both boards
#  signed, and each region's sharing agreement naming the other's front door. Source after
#  lib.sh; fed_regions sets everything up and starts both brokers and every agent.
#  FED_EAST_ORIGIN / FED_WEST_ORIGIN name each region's log_origin in the federation agreement
#  (cross-witnessing); EAST_EXTRA / WEST_EXTRA are added to each broker's configuration.

fingerprint () { openssl x509 -in "$1" -outform DER | sha256sum | cut -d' ' -f1; }
send () { "$bin/rhannu-agent" send -f "$work/$1/agent.yaml" "$2" >/dev/null; }
msg_id_of () { grep -o '"msg_id": "[^"]*"' "$1" | head -1 | cut -d'"' -f4; }

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

west_pid=""    #  west's broker
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
#  link_up LOG [N]: waits for the Nth time a link came up (again) in a broker's log
link_up () {    # link_up LOG: waits for a link to come up (again)
    local deadline=$((SECONDS + 20))
    until [ "$(grep -c "link to region .* is up" "$1")" -ge "${2:-1}" ]; do
        [ $SECONDS -lt $deadline ] || return 1
        sleep 0.1
    done
}

fed_regions () {
make_pki la1-fd:LA_FRONT_DOOR:la1 police-east:POLICE:la1 school-east:EDUCATION:la1
mkdir -p "$work/west"
"$bin/rhannu-ca" init "$work/west/pki" >/dev/null || { bad "rhannu-ca init west"; finish; exit; }
for spec in broker:BROKER: la2-fd:LA_FRONT_DOOR:la2 police-west:POLICE:la2; do
    IFS=: read -r id type la <<< "$spec"
    "$bin/rhannu-ca" issue "$work/west/pki" "$id" --type "$type" ${la:+--la "$la"} >/dev/null
done
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
${FED_EAST_ORIGIN:+    log_origin: $FED_EAST_ORIGIN}
    front_doors: [ { la: la1, agency: la1-fd } ]
  - region: west
    ca_sha256: $(fingerprint "$work/west/pki/ca.pem")
    broker_endpoint: $west_endpoint
    broker_cn: broker
${FED_WEST_ORIGIN:+    log_origin: $FED_WEST_ORIGIN}
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
verify:
  created_window_hours: 1    # east's is 24: a crossing that waited in east's queue is still taken
federation:
  file: $fed
  region: west
${WEST_EXTRA:-}
YAML
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
  region: east
${EAST_EXTRA:-}" start_broker
start_west
for a in la1-fd police-east school-east la2-fd police-west; do start_agent "$a"; done
for a in la1-fd police-east school-east la2-fd police-west; do wait_connected "$a" || bad "$a did not connect"; done
link_up "$work/broker/broker.log" && ok "east's link to west's broker is up (CURVE, trusted through the federation)" \
    || bad "east's link did not come up"
link_up "$work/west/broker.log" && ok "and west's to east's" || bad "west's link did not come up"
}
