#!/usr/bin/env bash
#  Agencies join, change keys and meet clocks that disagree without a referral going missing:
#  (a) a front door whose agent cannot verify a newly enrolled agency does not take its referral
#      in: nothing in inbox/ or failed/, no hook, no receipt; the broker keeps it queued, records
#      it on the case and tells the sender it waits; once the agent trusts the new agency (here:
#      restarted with the PKI on disk) the referral arrives, and only then the receipt goes out;
#  (b) revoking and re-issuing an agency closes the session on its old key within a second of
#      the reload, the old key receives nothing more, and nobody else is disconnected;
#  (c) a submission the broker refuses as not yet valid (its clock behind the certificate's
#      start) stays in the agent's outbox and goes again later.
source "$(dirname "$0")/lib.sh"

make_pki police-gwent:POLICE:newport la-newport:LA_FRONT_DOOR:newport \
    education-newport:EDUCATION:newport
printf '#!/bin/sh\necho "$1" >> "%s/hook.log"\n' "$work" > "$work/hook.sh"
chmod +x "$work/hook.sh"
BROKER_EXTRA="  unverified_alert_ms: 3000" start_broker
AGENT_EXTRA=$(printf 'hook:\n  command: %s/hook.sh' "$work") start_agent la-newport
for a in police-gwent education-newport; do start_agent $a; done
for a in police-gwent la-newport education-newport; do wait_connected $a || bad "$a did not connect"; done
send () { "$bin/rhannu-agent" send -f "$work/$1/agent.yaml" "$2" >/dev/null; }
blog="$work/broker/broker.log"
#  wait_log PATTERN N SECONDS: until the broker's log holds N lines matching PATTERN
wait_log () {
    local deadline=$((SECONDS + $3))
    until [ "$(grep -cE "$1" "$blog")" -ge "$2" ]; do
        [ $SECONDS -lt $deadline ] || return 1
        sleep 0.05
    done
}
reload () {    # SIGHUP, then wait until the broker says it reloaded
    local before
    before=$(grep -c "reloaded PKI" "$blog")
    kill -HUP $broker_pid
    wait_log "reloaded PKI" $((before + 1)) 20 || bad "the broker did not reload"
}

echo "== (a) a new agency enrolled while the front door's agent runs with its old PKI"
"$bin/rhannu-ca" issue "$work/pki" health-abb --type HEALTH --la newport >/dev/null
sed -i 's/^version: 1$/version: 2/; s/^parties:$/parties:\n  - {id: health-abb, roles: [member]}/' \
    "$work/agreements/test-open.yaml"
sign_agreements
reload
start_agent health-abb
wait_connected health-abb || bad "health-abb did not connect"
referral_json newport trust-1 > "$work/r1.json"
send health-abb "$work/r1.json"
wait_log "la-newport could not verify delivery" 1 15 && ok "the front door's agent answers that it cannot verify it" \
    || bad "no Unverified answer reached the broker"
deadline=$((SECONDS + 10))
until grep -A2 '"unverified"' "$work/la-newport/data/status.json" | grep -q '"last_code": "RH_E_CERT_UNKNOWN"'; do
    [ $SECONDS -lt $deadline ] || break
    sleep 0.1
done
expect_match "and says so in its status" "$(grep -A2 '"unverified"' "$work/la-newport/data/status.json" | tr -d ' \n')" \
    '"unverified":\{"deliveries":[1-9][0-9]*,"last_code":"RH_E_CERT_UNKNOWN"'
wait_kind "$work/health-abb/inbox" ALERT 1 15 && ok "the sender is told it waits" || bad "no alert to the sender"
alert=$(cat "$(newest_kind "$work/health-abb/inbox" ALERT)" 2>/dev/null)
expect_match "an awaiting-verification alert, not a receipt" "$alert" '"alert_kind": "AWAITING_VERIFICATION"'
expect_match "which says it was not taken in" "$alert" "has not been taken in yet"
wait_log "not verified by its recipient for [0-9]+ minutes \(RH_E_CERT_UNKNOWN\)" 1 5 \
    && ok "and the broker's operators are told" || bad "no operator log line"
sleep 1
expect "the referral is not in the front door's inbox" "$(count_kind "$work/la-newport/inbox" REFERRAL)" 0
expect "nor in its failed/" "$(find "$work/la-newport/failed" -type f 2>/dev/null | wc -l)" 0
expect "the hook did not run" "$(cat "$work/hook.log" 2>/dev/null | wc -l)" 0
expect "no receipt reached the referrer" "$(count_kind "$work/health-abb/inbox" RECEIPT)" 0
expect "the agent's log says it was not taken in, with no content" \
    "$(grep -c "not taken in: RH_E_CERT_UNKNOWN" "$work/la-newport/agent.log")" 1
#  The front door's agent trusts the new agency once it has the new PKI (restarted, here).
stop_agent la-newport
start_agent la-newport
wait_kind "$work/la-newport/inbox" REFERRAL 1 20 && ok "then the referral arrives in the inbox" \
    || bad "the referral never arrived"
wait_count "$work" 1 10 hook.log && ok "and the hook runs" || bad "the hook did not run"
expect "for that file" "$(cat "$work/hook.log" 2>/dev/null | wc -l)" 1
wait_kind "$work/health-abb/inbox" RECEIPT 1 15 && ok "only then the receipt goes out" || bad "no receipt"
expect "nothing went to failed/" "$(find "$work/la-newport/failed" -type f 2>/dev/null | wc -l)" 0
rid=$(grep -o '"msg_id": "[^"]*"' "$(newest_kind "$work/la-newport/inbox" REFERRAL)" | head -1 | cut -d'"' -f4)

echo "== (b) police's certificate revoked (superseded) and re-issued"
referral_json newport trust-2 > "$work/r2.json"
send police-gwent "$work/r2.json"
wait_kind "$work/la-newport/inbox" REFERRAL 2 15 || bad "police's referral did not arrive"
prid=$(grep -l '"case_id": "trust-2"' "$work"/la-newport/inbox/*.json | head -1 | xargs grep -o '"msg_id": "[^"]*"' | head -1 | cut -d'"' -f4)
connected_before=$(grep -cE "(la-newport|health-abb|education-newport) connected" "$blog")
#  Straight after police's referral was accepted: the revocation is dated after it (the CA
#  dates revocations at the next whole second), so rhannu-audit verify must still pass below.
"$bin/rhannu-ca" revoke "$work/pki" police-gwent --reason superseded >/dev/null
"$bin/rhannu-ca" issue "$work/pki" police-gwent --type POLICE --la newport >/dev/null
reload
wait_log "police-gwent: a session's certificate is no longer valid; closed it" 1 10 \
    && ok "the session on the revoked key is closed" || bad "the revoked key's session stayed up"
started=$(grep "reloading the agreements and the PKI" "$blog" | tail -1 | cut -d' ' -f1)
closed=$(grep "police-gwent: a session's certificate is no longer valid" "$blog" | tail -1 | cut -d' ' -f1)
ms=$( [ -n "$closed" ] && [ -n "$started" ] \
    && echo $(( $(date -d "$closed" +%s%3N) - $(date -d "$started" +%s%3N) )) || echo never)
echo "  (closed ${ms} ms after the reload began)"
[ "$ms" != never ] && [ "$ms" -lt 1000 ] && ok "within a second of the reload" \
    || bad "closed ${ms} ms after the reload"
#  An outcome about police's referral: the old key must not receive its notice.
cat > "$work/o.json" <<EOF2
{"kind": "OUTCOME", "in_reply_to": "$prid", "case_id": "trust-2",
 "body": {"decision": "NO_FURTHER_ACTION", "rationale": "handled"}}
EOF2
send la-newport "$work/o.json"
sleep 3
expect "the old key receives nothing more" "$(count_kind "$work/police-gwent/inbox" NOTICE)" 0
expect "no other agency was disconnected" "$(grep -cE "(la-newport|health-abb|education-newport) connected" "$blog")" \
    "$connected_before"
for a in la-newport health-abb education-newport; do
    grep -q '"connected": true' "$work/$a/data/status.json" || bad "$a is not connected"
done
stop_agent police-gwent
start_agent police-gwent
wait_kind "$work/police-gwent/inbox" NOTICE 1 20 && ok "the new key receives what waited" \
    || bad "police's new key did not get the outcome"

echo "== (c) a certificate that starts after the broker's clock: retried, not failed"
#  education's certificate re-issued (same keys) to start 20 s from now: the broker keeps the
#  old one (archive/) for the transport key, and refuses what the new one signs until it starts.
mkdir -p "$work/pki/education-newport/archive"
cp "$work/pki/education-newport/cert.pem" "$work/pki/education-newport/archive/old.pem"
python3 - "$work/pki" education-newport 20 <<'EOF2' || bad "cannot make the future certificate"
import sys, datetime
from cryptography import x509
from cryptography.hazmat.primitives import serialization
pki, agency, ahead = sys.argv[1], sys.argv[2], int(sys.argv[3])
old = x509.load_pem_x509_certificate(open(f"{pki}/{agency}/cert.pem", "rb").read())
ca = serialization.load_pem_private_key(open(f"{pki}/ca.key", "rb").read(), None)
issuer = x509.load_pem_x509_certificate(open(f"{pki}/ca.pem", "rb").read())
start = datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(seconds=ahead)
builder = (x509.CertificateBuilder().subject_name(old.subject).issuer_name(issuer.subject)
           .public_key(old.public_key()).serial_number(x509.random_serial_number())
           .not_valid_before(start).not_valid_after(old.not_valid_after_utc))
for ext in old.extensions:
    builder = builder.add_extension(ext.value, ext.critical)
new = builder.sign(ca, None)
open(f"{pki}/{agency}/cert.pem", "wb").write(new.public_bytes(serialization.Encoding.PEM))
EOF2
reload
for a in education-newport la-newport; do stop_agent $a; start_agent $a; done
for a in education-newport la-newport; do wait_connected $a || bad "$a did not reconnect"; done
referral_json newport trust-3 > "$work/r3.json"
send education-newport "$work/r3.json"
st="$work/education-newport/data/status.json"
deadline=$((SECONDS + 15))
until grep -A1 '"not_yet_valid"' "$st" 2>/dev/null | grep -q '"waiting": 1'; do
    [ $SECONDS -lt $deadline ] || break
    sleep 0.1
done
expect_match "the agent keeps it, says so in status.json" "$(cat "$st")" '"waiting": 1'
expect_match "with when it goes again" "$(cat "$st")" '"next_retry": "20'
expect "and does not move it to failed/" "$(find "$work/education-newport/failed" -type f 2>/dev/null | wc -l)" 0
expect_match "the broker refused it as not yet valid" "$(grep -c "not yet valid" "$work/education-newport/agent.log")" '^[1-9]'
wait_kind "$work/la-newport/inbox" REFERRAL 3 60 && ok "sent again once the certificate starts, it arrives" \
    || bad "the not-yet-valid referral never arrived"
expect "still nothing in failed/" "$(find "$work/education-newport/failed" -type f 2>/dev/null | wc -l)" 0
sleep 0.6
expect_match "and status.json no longer counts it" "$(cat "$st")" '"waiting": 0'

echo "== the log agrees"
stop_broker
log=$("$bin/rhannu-broker" log -f "$work/broker/broker.yaml")
expect_match "the Unverified answer is audited with its code" "$log" "UNVERIFIED +RH_E_CERT_UNKNOWN"
expect "a DISCONNECTED record for police's old session only" \
    "$(echo "$log" | grep -E "DISCONNECTED" | grep -c police-gwent) $(echo "$log" | grep -cE "DISCONNECTED")" "1 1"
cp -r "$work/broker/data" "$work/audit-copy"
audit () { "$bin/rhannu-audit" "$@" --data "$work/audit-copy" --pki "$work/pki"; }
audit verify >/dev/null; expect "rhannu-audit verify passes" "$?" 0
r=$(audit replay); rc=$?
expect "rhannu-audit replay passes" "$rc" 0
expect_match "every referral taken in once it was" "$r" "replayed 3 referrals from the log: 3 taken in by their front door"
expect_match "one of them after its front door could not verify it" "$r" "1 referrals reached a front door that could not verify them .*; 0 of them still wait"
j=$(audit report --json)
expect_match "the report counts the unverified delivery" "$j" '"deliveries_unverified": [1-9]'
expect_match "and nothing still waiting" "$j" '"referrals_awaiting_verification": 0'
c=$(audit chronology --case trust-1)
expect_match "the case's chronology shows it unverified before it was acknowledged" \
    "$(echo "$c" | grep -oE "UNVERIFIED|ACKED" | tr '\n' ' ')" "^UNVERIFIED .*ACKED"
expect_match "and the alert to the sender" "$c" "NOTICE +ALERT +broker +-> health-abb"
start_broker
finish
