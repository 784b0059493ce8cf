#!/usr/bin/env bash
#  Federated regions (issue 16): two boards, two CAs, one federation agreement that both sign.
#  It covers the agreement as each board signs and checks it (rhannu-ca
#  sign-agreement as its own region only; rhannu-broker check-agreement --pki with the other
#  region's CA under PKI/peers/REGION/ca.pem; one signature, a tampered file, a swapped CA).
source "$(dirname "$0")/lib.sh"

fingerprint () { openssl x509 -in "$1" -outform DER | sha256sum | cut -d' ' -f1; }

echo "== two regions, two board CAs"
#  East is the region of lib.sh's broker ($work/pki, $work/agreements); west has its own CA.
make_pki la1-fd:LA_FRONT_DOOR:la1 police-east:POLICE:la1 school-east:EDUCATION:la1
mkdir -p "$work/west" "$work/north"
mkdir -p "$work/east"; ln -s "$work/pki" "$work/east/pki"
"$bin/rhannu-ca" init "$work/west/pki" >/dev/null || { bad "rhannu-ca init west"; finish; exit; }
"$bin/rhannu-ca" issue "$work/west/pki" broker --type BROKER >/dev/null
"$bin/rhannu-ca" issue "$work/west/pki" la2-fd --type LA_FRONT_DOOR --la la2 >/dev/null
#  Each board gives the other its CA certificate (public), kept under peers/REGION.
mkdir -p "$work/east/pki/peers/west" "$work/west/pki/peers/east"
cp "$work/west/pki/ca.pem" "$work/east/pki/peers/west/ca.pem"
cp "$work/east/pki/ca.pem" "$work/west/pki/peers/east/ca.pem"
claim_port; west_port=$claimed_port
fed="$work/fed-east-west.yaml"
cat > "$fed" <<YAML
# scenario 6: a youth living in la2 (west) is referred to la1's front door (east)
federation:
  id: fed-east-west
  version: 1
  title: East and West cross-border safeguarding
  valid_from: 2020-01-01
  valid_to: 2099-12-31
regions:
  - region: east
    ca_sha256: $(fingerprint "$work/east/pki/ca.pem")
    broker_endpoint: $endpoint
    broker_cn: broker
    front_doors: [ { la: la1, agency: la1-fd } ]
  - region: west
    ca_sha256: $(fingerprint "$work/west/pki/ca.pem")
    broker_endpoint: tcp://127.0.0.1:$west_port
    broker_cn: broker
    front_doors: [ { la: la2, agency: la2-fd } ]
crossings:
  - from: east
    to: west
    agencies: [la1-fd]
    kinds: [TRANSFER, REFERRAL]
    purposes: [SAFEGUARDING_CHILD]
    categories: [CCE, CSE, MISSING]
  - from: west
    to: east
    las: [la2]
    kinds: [RECEIPT, OUTCOME, STATUS_UPDATE]
    purposes: [SAFEGUARDING_CHILD]
YAML

echo "== check-agreement explains a federation agreement"
out=$("$bin/rhannu-broker" check-agreement "$fed" 2>&1)
expect "a valid federation agreement checks with exit 0" "$?" 0
expect_match "it names the agreement" "$out" "federation agreement fed-east-west version 1"
expect_match "it names the directory" "$out" "front door of la2: la2-fd"
expect_match "it says what may cross, and which way" "$out" "may cross from east to west:"
expect_match "and that the rest stays" "$out" "anything else stays at the border"
sed 's/^    las: \[la2\]/    lass: [la2]/' "$fed" > "$work/broken.yaml"
out=$("$bin/rhannu-broker" check-agreement "$work/broken.yaml" 2>&1); rc=$?
[ $rc -ne 0 ] && ok "a broken federation agreement exits non-zero" || bad "broken file accepted"
expect_match "the problem is named with its line" "$out" "broken.yaml:[0-9]+: unknown key 'lass'"

echo "== both boards sign; each only as its own region"
out=$("$bin/rhannu-broker" check-agreement "$fed" --pki "$work/east/pki" 2>&1); rc=$?
[ $rc -ne 0 ] && ok "unsigned: refused" || bad "an unsigned federation agreement passed"
expect_match "and each region is named as not signed" "$out" "region west: not signed"
"$bin/rhannu-ca" sign-agreement "$work/east/pki" "$fed" >/dev/null
expect "east's board writes FILE.sig.east" "$(stat -c %s "$fed.sig.east" 2>/dev/null)" 64
out=$("$bin/rhannu-broker" check-agreement "$fed" --pki "$work/east/pki" 2>&1); rc=$?
[ $rc -ne 0 ] && ok "one board's signature is not enough" || bad "one signature was enough"
expect_match "check-agreement says how many signed" "$out" "signed by 1 of 2 boards"
"$bin/rhannu-ca" init "$work/north/pki" >/dev/null
out=$("$bin/rhannu-ca" sign-agreement "$work/north/pki" "$fed" 2>&1); rc=$?
[ $rc -ne 0 ] && [ ! -e "$fed.sig.north" ] && ok "a CA the agreement does not name cannot sign it" \
    || bad "a stranger CA signed"
"$bin/rhannu-ca" sign-agreement "$work/west/pki" "$fed" >/dev/null
for region in east west; do
    out=$("$bin/rhannu-broker" check-agreement "$fed" --pki "$work/$region/pki" 2>&1)
    expect "signed by both: valid as $region checks it" "$?" 0
done
expect_match "each signature is checked against its own board" "$out" "region east: signed by its board CA"
#  Stock openssl verifies a board's signature: the domain prefix, then the file.
{ printf 'rhannu.federation.v1\0'; cat "$fed"; } > "$work/signed-message"
openssl x509 -in "$work/west/pki/ca.pem" -pubkey -noout > "$work/west-pub.pem"
openssl pkeyutl -verify -pubin -inkey "$work/west-pub.pem" -rawin -in "$work/signed-message" \
    -sigfile "$fed.sig.west" >/dev/null 2>&1 \
    && ok "openssl verifies west's signature" || bad "openssl does not verify west's signature"

echo "== tampering and swapped certificates are caught"
cp "$fed" "$work/fed.orig"
sed -i 's/agencies: \[la1-fd\]/agencies: [la1-fd, police-east]/' "$fed"
out=$("$bin/rhannu-broker" check-agreement "$fed" --pki "$work/east/pki" 2>&1); rc=$?
[ $rc -ne 0 ] && ok "a file changed after signing is refused" || bad "a tampered file passed"
expect_match "both signatures fail" "$out" "signed by 0 of 2 boards"
cp "$work/fed.orig" "$fed"
cp "$work/north/pki/ca.pem" "$work/east/pki/peers/west/ca.pem"
out=$("$bin/rhannu-broker" check-agreement "$fed" --pki "$work/east/pki" 2>&1); rc=$?
[ $rc -ne 0 ] && ok "a peer CA certificate that is not the one named is refused" || bad "swapped CA passed"
expect_match "and the region is named" "$out" "region west: no CA certificate with its ca_sha256"
cp "$work/west/pki/ca.pem" "$work/east/pki/peers/west/ca.pem"

echo "== the broker loads the federation agreement, and keeps it over a bad reload"
BROKER_EXTRA="federation:
  file: $fed
  region: east" start_broker
grep -q "federation agreement fed-east-west version 1 in force as region east" "$work/broker/broker.log" \
    && ok "east's broker has the federation agreement in force" || bad "the federation agreement is not in force"
cp "$fed" "$work/fed.orig"
sed -i 's/agencies: \[la1-fd\]/agencies: [la1-fd, police-east]/' "$fed"
kill -HUP $broker_pid; sleep 1
kill -0 $broker_pid 2>/dev/null && ok "a reload with a file changed after signing keeps the broker up" \
    || bad "the broker stopped on a bad reload"
grep -q "federation reload failed; the federation agreement in force stays" "$work/broker/broker.log" \
    && ok "and the agreement in force stays" || bad "the bad reload was not refused"
cp "$work/fed.orig" "$fed"

echo "== the border: east's broker decides a crossing to west's front door before anything else"
kill -HUP $broker_pid; sleep 1
for a in la1-fd police-east school-east; do start_agent "$a"; done
for a in la1-fd police-east school-east; do wait_connected "$a"; done
send () { "$bin/rhannu-agent" send -f "$work/$1/agent.yaml" "$2" >/dev/null; }
cat > "$work/s6-police.json" <<JSON
{"kind": "TRANSFER", "to": [{"front_door_la": "la2"}], "case_id": "S6", "purpose": "SAFEGUARDING_CHILD",
 "body": {"to": {"front_door_la": "la2"}, "reason": "lives in la2", "cross_border": true,
          "from_la": "la1", "to_la": "la2"}}
JSON
send police-east "$work/s6-police.json"
wait_count "$work/police-east/failed" 1 10 "*.error" && ok "an agency the federation agreement does not cover is refused at the border" \
    || bad "no refusal at the border"
err=$(cat "$(ls -t "$work"/police-east/failed/*.error | head -1)" 2>/dev/null)
expect_match "the refusal is typed: the federation agreement and border:not_covered" "$err" "border:not_covered"
expect_match "and names the agreement" "$err" "fed-east-west"
send la1-fd "$work/s6-police.json"
#  Allowed at the border; west's board has not given east its broker's certificate here, so
#  no link runs: the transfer is accepted for forwarding and waits in west's queue at east
#  (test_federation_link.sh runs the link).
sleep 3
expect "la1's front door passes the border decision: not refused" "$(count_files "$work/la1-fd/failed" "*.error")" 0
grep -q "accepted for forwarding to region west" "$work/broker/broker.log" \
    && ok "the transfer is accepted for forwarding (stored in west's queue)" \
    || bad "the transfer was not accepted for forwarding"
grep -q "no valid BROKER certificate broker of region west" "$work/broker/broker.log" \
    && ok "and the operator is told why no link to west runs" || bad "no word on the missing link"
stop_agent la1-fd
stop_broker
log=$("$bin/rhannu-broker" log -f "$work/broker/broker.yaml" 2>&1)    #  read once stopped
expect_match "the refusal at the border is in the audit log, typed" "$log" "REJECTED +RH_E_POLICY .*border:not_covered"
expect_match "and the crossing, with where it waits" "$log" "ACCEPTED .*region:west +TRANSFER forwarded to region west for la2-fd"
expect_match "the audit chain verifies" "$(echo "$log" | tail -1)" "Merkle tree intact"
sed -i 's/agencies: \[la1-fd\]/agencies: [la1-fd, police-east]/' "$fed"
RH_LOG_LEVEL=info "$bin/rhannu-broker" -f "$work/broker/broker.yaml" 2>"$work/start.log" &
pid=$!; extra_pids+=($pid)
for _ in $(seq 1 100); do kill -0 $pid 2>/dev/null || break; sleep 0.1; done
kill -0 $pid 2>/dev/null && { bad "a broker started with a tampered federation agreement"; kill $pid; } \
    || ok "a broker does not start with a federation agreement the boards did not both sign"
grep -q "signed by 0 of 2 boards" "$work/start.log" && ok "and says why" || bad "no reason given at start"
cp "$work/fed.orig" "$fed"
sed -i 's/region: east$/region: west/' "$work/broker/broker.yaml"
RH_LOG_LEVEL=info "$bin/rhannu-broker" -f "$work/broker/broker.yaml" 2>"$work/start.log" &
pid=$!; extra_pids+=($pid)
for _ in $(seq 1 100); do kill -0 $pid 2>/dev/null || break; sleep 0.1; done
kill -0 $pid 2>/dev/null && { bad "east's broker started as region west"; kill $pid; } \
    || ok "a broker cannot claim the other region (its CA is not that region's)"
grep -q "region west's CA is not this broker's CA" "$work/start.log" && ok "and says so" || bad "no reason for the region"

finish
