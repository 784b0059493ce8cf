#!/usr/bin/env bash
#  The board's trust bundle, as agency IT teams and regional operators meet it: agents that hold
#  only their own keys, the board CA and the broker's transport key; a new agency enrolled with
#  one SIGHUP and no agent restarted; a rolled-back bundle refused; an expired one stopping an
#  agent until a new one comes.
source "$(dirname "$0")/lib.sh"

ca () { "$bin/rhannu-ca" "$@"; }
printf '#!/bin/sh\necho "$1" >> "%s/hook.log"\n' "$work" > "$work/hook.sh"
chmod +x "$work/hook.sh"

#  What an agency is handed at enrolment, and nothing else: its own folder, the CA, the
#  broker's transport key. The agent is pointed at this kit, never at the board's PKI folder.
kit_agent () {    # kit_agent AGENCY [extra yaml]
    local a=$1 kit="$work/$1/kit"
    mkdir -p "$kit/self" "$kit/broker"
    if [ -f "$kit/self/key.pem" ]; then
        cp "$work/pki/$a/cert.pem" "$kit/self/"    # its own keys: the board hands back the certificate
    else
        cp "$work/pki/$a/"{cert.pem,key.pem,curve.key,curve.pub} "$kit/self/"
    fi
    cp "$work/pki/ca.pem" "$kit/"
    cp "$work/pki/broker/curve.pub" "$kit/broker/"
    cat > "$work/$a/agent.yaml" <<EOF
agency:
  id: $a
  dir: $kit/self
pki:
  ca: $kit/ca.pem
broker:
  endpoint: $endpoint
  dir: $kit/broker
spool:
  dir: $work/$a
  scan_ms: 50
data:
  dir: $work/$a/data
hook:
  command: $work/hook.sh
${2:-}
EOF
    start_agent "$a"
}
trust_field () { python3 -c "import json,sys; print(json.load(open(sys.argv[1]))['trust'][sys.argv[2]])" "$work/$1/data/status.json" "$2" 2>/dev/null; }
wait_bundle () {    # wait_bundle AGENCY VERSION SECONDS
    local deadline=$((SECONDS + $3))
    until [ "$(trust_field "$1" bundle_version)" = "$2" ]; do
        [ $SECONDS -lt $deadline ] || return 1
        sleep 0.1
    done
}
send () {    # send AGENCY CASE
    referral_json newport "$2" > "$work/$2.json"
    "$bin/rhannu-agent" send -f "$work/$1/agent.yaml" "$work/$2.json" >/dev/null
}

#  The agreement names health-abb from the start; health is enrolled later.
make_pki police-gwent:POLICE:newport la-newport:LA_FRONT_DOOR:newport
sed -i '/^rules:/i\  - {id: health-abb, roles: [member]}' "$work/agreements/test-open.yaml"
#  The front door is also the agreement's auditor: the board's expiry alerts go to it.
sed -i 's/{id: la-newport, roles: \[member\]/{id: la-newport, roles: [member, auditor]/' "$work/agreements/test-open.yaml"
grep -q 'la-newport, roles: \[member, auditor\]' "$work/agreements/test-open.yaml" || bad "could not make la-newport the auditor"
sign_agreements
out=$(ca bundle "$work/pki" --agreements "$work/agreements" 2>&1)
expect_match "the board makes bundle version 1" "$out" "version 1"
start_broker
kit_agent la-newport
kit_agent police-gwent

echo "== agents get the bundle at Hello and verify with it alone"
wait_bundle la-newport 1 20 && ok "the front door holds bundle 1" || bad "no bundle at the front door"
wait_bundle police-gwent 1 20 && ok "police hold bundle 1" || bad "no bundle at police"
[ -s "$work/la-newport/data/bundle.rhb" ] && ok "the bundle is kept on the agent's disk" || bad "bundle not kept"
expect "status.json says the trust is in order" "$(trust_field la-newport state)" "ok"
send police-gwent B1
wait_kind "$work/la-newport/inbox" REFERRAL 1 20 && ok "a referral verified with the bundle reaches the front door" || bad "B1 not delivered"

echo "== a new agency: enrol, bundle, one SIGHUP, no agent restarted"
door_pid=${agent_pids[la-newport]}
#  By certificate request: health makes its keys, the board signs the request and never sees them.
mkdir -p "$work/health-abb/kit"
ca request "$work/health-abb/kit/self" health-abb --type HEALTH >/dev/null || bad "health could not make its request"
ca sign-request "$work/pki" "$work/health-abb/kit/self/request.csr" >/dev/null || bad "the board did not sign health's request"
[ ! -e "$work/pki/health-abb/key.pem" ] && [ ! -e "$work/pki/health-abb/curve.key" ] \
    && ok "health's private keys never reached the board's folder" || bad "private keys at the board"
out=$(ca bundle "$work/pki" --agreements "$work/agreements" 2>&1)
expect_match "the board makes bundle version 2" "$out" "version 2"
kill -HUP "$broker_pid"
wait_bundle la-newport 2 20 && ok "the running front door takes bundle 2 from the broker" || bad "front door still on $(trust_field la-newport bundle_version)"
expect "the front door's agent was not restarted" "${agent_pids[la-newport]}" "$door_pid"
kill -0 "$door_pid" && ok "and it is still running" || bad "front door agent died"
kit_agent health-abb
wait_connected health-abb || bad "health did not connect"
hooks_before=$(wc -l < "$work/hook.log")
send health-abb H1
wait_kind "$work/la-newport/inbox" REFERRAL 2 20 && ok "health's first referral reaches the front door's inbox" || bad "H1 not delivered"
h1=$(grep -l '"case_id": "H1"' "$work/la-newport/inbox"/*.json | head -1)
[ -n "$h1" ] && grep -q "$h1" "$work/hook.log" && ok "and the front door's hook ran for it" || bad "hook did not run for H1"
expect "nothing from health went to failed/" "$(count_files "$work/la-newport/failed")" 0
wait_kind "$work/health-abb/inbox" RECEIPT 1 20 && ok "health gets its receipt once the front door has it" || bad "no receipt for H1"
[ "$(wc -l < "$work/hook.log")" -gt "$hooks_before" ] || bad "hook log did not grow"

echo "== a rolled-back bundle is refused, by the broker and by agents"
cp "$work/pki/bundle.rhb" "$work/bundle-v2.rhb"
cp "$work/la-newport/data/bundle.rhb" "$work/agent-kept.rhb"
#  Bundle 1, as the broker would find it if an old backup were restored over the board's file.
ca bundle "$work/pki" --agreements "$work/agreements" >/dev/null    # v3, to be rolled back from
kill -HUP "$broker_pid"
wait_bundle la-newport 3 20 || bad "front door did not take bundle 3"
cp "$work/bundle-v2.rhb" "$work/pki/bundle.rhb"
kill -HUP "$broker_pid"
sleep 1
grep -q "refused (RH_E_REPLAY: older than the one in force" "$work/broker/broker.log" && ok "the broker refuses bundle 2 after 3" || bad "broker took a rollback"
#  A broker restarted on the old file pushes it: the agents refuse it and keep 3.
stop_broker
start_broker
sleep 2
wait_connected la-newport
expect "the front door keeps bundle 3" "$(trust_field la-newport bundle_version)" 3
grep -q "older than version 3" "$work/la-newport/agent.log" && ok "and says it refused an older bundle" || bad "no word of the rollback at the agent"

echo "== an expired bundle stops sending and accepting, and says why"
cp "$work/pki/bundle.rhb" "$work/pki/bundle.rhb.old"
rm "$work/pki/bundle.rhb"   # the board's file in place is the rolled-back one: start from the serial
ca bundle "$work/pki" --agreements "$work/agreements" --hours 0.0015 >/dev/null    # v4, ~5 s
kill -HUP "$broker_pid"
wait_bundle police-gwent 4 20 || bad "police did not take bundle 4"
wait_bundle la-newport 4 20 || bad "front door did not take bundle 4"
deadline=$((SECONDS + 30))
until [ "$(trust_field police-gwent state)" = expired ] && [ "$(trust_field la-newport state)" = expired ]; do
    [ $SECONDS -lt $deadline ] || break
    sleep 0.2
done
expect "police say their bundle expired" "$(trust_field police-gwent state)" expired
expect "the front door says so too" "$(trust_field la-newport state)" expired
wait_count "$work/police-gwent/inbox" 1 10 "alert-trust-bundle-4-expired.json" && ok "an alert lands in the inbox" || bad "no expiry alert in the inbox"
grep -q "alert-trust-bundle-4-expired" "$work/hook.log" && ok "and the hook ran for the alert" || bad "hook not run for alert"
referrals_before=$(count_kind "$work/la-newport/inbox" REFERRAL)
send police-gwent E1
sleep 3
expect "police send nothing with an expired bundle" "$(count_kind "$work/la-newport/inbox" REFERRAL)" "$referrals_before"
status=$(cat "$work/police-gwent/data/status.json")
expect_match "the referral waits in police's outbox" "$status" '"outbox_queued": [1-9]'
ca bundle "$work/pki" --agreements "$work/agreements" >/dev/null    # v5
kill -HUP "$broker_pid"
wait_bundle police-gwent 5 20 && ok "a new bundle reaches the agents" || bad "bundle 5 not taken"
wait_kind "$work/la-newport/inbox" REFERRAL $((referrals_before + 1)) 20 && ok "and the waiting referral goes out and arrives" || bad "E1 never arrived"
expect "the trust is in order again" "$(trust_field police-gwent state)" ok
deadline=$((SECONDS + 20))
until grep -q '"alert_kind": "TRUST_EXPIRING"' "$work/la-newport/inbox"/*.json 2>/dev/null; do
    [ $SECONDS -lt $deadline ] || break
    sleep 0.2
done
expect "the agreement's auditor got the broker's expiry alert" \
    "$(grep -l '"alert_kind": "TRUST_EXPIRING"' "$work/la-newport/inbox"/*.json 2>/dev/null | wc -l)" 1
expect "and police, no auditor, did not" \
    "$(grep -l '"alert_kind": "TRUST_EXPIRING"' "$work/police-gwent/inbox"/*.json 2>/dev/null | wc -l)" 0

echo "== what operators see"
stop_broker
log=$("$bin/rhannu-broker" log -f "$work/broker/broker.yaml")
expect_match "bundle loads are audited" "$log" "BUNDLE_LOADED"
expect_match "refusals are audited" "$log" "BUNDLE_REFUSED"
cp -r "$work/broker/data" "$work/audit-copy"
for tool in verify replay report; do
    "$bin/rhannu-audit" $tool --data "$work/audit-copy" --pki "$work/pki" > "$work/audit-$tool.out" 2>&1
    expect "rhannu-audit $tool reads a log with bundle records" "$?" 0
done
grep -q "H1\|B1\|E1" "$work/broker/broker.log" "$work"/*/agent.log && bad "case ids in operator logs" || ok "no case ids in operator logs"
finish
