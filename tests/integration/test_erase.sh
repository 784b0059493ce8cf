#!/usr/bin/env bash
#  Erasure is an act, never damage: rhannu-broker erase (by message, by pseudonymous subject
#  key) on a stopped store appends a signed ERASURE record before deleting, and rhannu-audit
#  verify then says "erased by record N"; a payload deleted by hand fails as "missing: damaged".
#  A message still owed to a recipient is refused, an agreement's legal hold is honoured, and
#  the running broker erases by the agreement's retention period on its simulated clock.
source "$(dirname "$0")/lib.sh"
make_pki police-gwent:POLICE:newport la-newport:LA_FRONT_DOOR:newport
printf 'retention:\n  referral_years: 1\n  audit_years: 7\n' >> "$work/agreements/test-open.yaml"
sign_agreements
head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n' > "$work/region.key"
chmod 600 "$work/region.key"
AGENT_EXTRA="subjects:
  secret_file: $work/region.key"
BROKER_EXTRA="audit:
  checkpoint_every: 5
  checkpoint_ms: 300
retention:
  check_ms: 200"
testlog="$build_dir/tests/rh-testlog"
data="$work/broker/data"
erase () { "$bin/rhannu-broker" erase -f "$work/broker/broker.yaml" "$@"; }
verify () { "$bin/rhannu-audit" verify --data "${1:-$data}" --pki "$work/pki"; }
audit () { "$bin/rhannu-audit" "$@" --data "$data" --pki "$work/pki"; }
payloads () { "$testlog" keys "${1:-$data}" ap/ | wc -l; }
referral () {    # referral FILE CASE NAME DOB
    cat > "$1" <<EOF
{"kind": "REFERRAL", "to": [{"front_door_la": "newport"}], "case_id": "$2", "purpose": "SAFEGUARDING_CHILD",
 "body": {"referral_kind": "PPN", "categories": ["DOMESTIC_ABUSE"], "narrative": "about $2",
          "subjects": [{"kind": "CHILD", "home_la": "newport", "name": "$3", "date_of_birth": "$4"}],
          "consent": {"state": "NOT_REQUIRED_SIGNIFICANT_HARM", "family_aware": true}}}
EOF
}
#  The message id and record of the referral of a case, from the log.
msg_of () { audit chronology --case "$1" --json | grep -o '"message": "[^"]*"' | head -1 | cut -d'"' -f4; }
record_of () { audit chronology --case "$1" --json | grep -o '"record": [0-9]*' | head -1 | awk '{print $2}'; }
payload_key () { printf 'ap/%020d' "$1"; }

echo "== referrals through a real broker; one left owed (its recipient away)"
start_broker
for a in police-gwent la-newport; do start_agent $a; done
for a in police-gwent la-newport; do wait_connected $a || bad "$a did not connect"; done
referral "$work/police-gwent/outbox/e1.json" E1 "Alys Price" 2014-03-01
referral "$work/police-gwent/outbox/e2.json" E2 "Bryn Hughes" 2013-04-02
referral "$work/police-gwent/outbox/e3.json" E3 "Cai Morgan" 2016-02-02
referral "$work/police-gwent/outbox/e4.json" E4 "MORGAN, Cai" 2016-02-02
wait_count "$work/la-newport/inbox" 4 20 || bad "referrals lost"
stop_agent la-newport
referral "$work/police-gwent/outbox/e5.json" E5 "Dai Evans" 2012-05-03
deadline=$((SECONDS + 15))
until grep -q '"pending": 0' "$work/police-gwent/data/status.json" 2>/dev/null && [ -z "$(ls "$work/police-gwent/outbox"/*.json 2>/dev/null)" ]; do
    [ $SECONDS -lt $deadline ] || break
    sleep 0.1
done
sleep 1
out=$(erase --msg nothing --reason court-order --authority "test" 2>&1); rc=$?
expect "erase refuses the running broker's store" "$rc" 2
expect_match "in one line saying why" "$out" "is in use: the broker is running \\(pid [0-9]+\\): stop it first"
stop_agent police-gwent
stop_broker

v=$(verify); rc=$?
expect "the untouched store verifies" "$rc" 0
expect_match "with nothing erased" "$v" "audit log verified: [0-9]+ records, [1-9][0-9]* signed checkpoints, [1-9][0-9]* message signatures, 0 messages erased"
before=$(payloads)    #  five referrals and the receipts the broker sent for four
e1=$(msg_of E1); r1=$(record_of E1)
[ -n "$e1" ] && [ -n "$r1" ] && ok "the log names E1's referral ($e1, record $r1)" || bad "E1 not in the log"

echo "== erase --msg: the ERASURE record first, then the payload"
out=$(erase --msg "$e1" --reason right-to-erasure --authority $'DPO ref 42\nmessage_stored: yes' 2>&1); rc=$?
expect "an authority of two lines is refused (it would be two lines of a bundle's manifest)" "$rc" 2
expect_match "saying it must be one line" "$out" "one line of at most"
expect "and nothing was erased" "$(payloads)" "$before"
out=$(erase --msg "$e1" --reason right-to-erasure --authority "DPO ref 42, request of 1 Dec"); rc=$?
expect "erase --msg succeeds" "$rc" 0
expect_match "and says what it erased" "$out" "erased $e1 \(record $r1\)"
expect_match "and how many" "$out" "1 message erased, 0 refused"
expect "its payload is gone from the store" "$("$testlog" keys "$data" "$(payload_key "$r1")" | wc -l)" 0
expect "and only its payload" "$(payloads)" $((before - 1))
v=$(verify); rc=$?
expect "verify passes after the erasure" "$rc" 0
expect_match "and counts it" "$v" "audit log verified: [0-9]+ records, [1-9][0-9]* signed checkpoints, $((before - 1)) message signatures, 1 messages erased"
by=$(echo "$v" | grep -o "message of record $r1: erased by record [0-9]*" | awk '{print $NF}')
[ -n "$by" ] && ok "it says the message of record $r1 was erased by record $by" || bad "no 'erased by' line ($v)"
l=$("$bin/rhannu-broker" log -f "$work/broker/broker.yaml")
expect_match "the ERASURE record says why and on whose authority" "$l" "ERASURE +RH_OK .*1 message erased \(RIGHT_TO_ERASURE\) on the authority of DPO ref 42, request of 1 Dec"
expect_match "and names the record and its commitment" "$l" "erased the message of record $r1 \($e1\), sha256 [0-9a-f]{64}"
expect_match "a checkpoint signs it, right after" "$(echo "$l" | grep -v '^        ' | grep -A1 "ERASURE" | tail -1)" "^ +[0-9]+ .* CHECKPOINT "
expect_match "the chronology shows the message as erased" "$(audit chronology --case E1)" "ACCEPTED +\(erased\) +police-gwent"
out=$(erase --msg "$e1" --reason right-to-erasure --authority "again"); rc=$?
expect_match "erasing it again says it is already erased" "$out" "already erased $e1"

echo "== a payload deleted by hand, without erase, is damage"
cp -r "$data" "$work/copy"
e2=$(msg_of E2); r2=$(record_of E2)
"$testlog" delete "$work/copy" "$(payload_key "$r2")" && ok "deleted record $r2's payload from a copy" || bad "nothing deleted"
v=$(verify "$work/copy"); rc=$?
expect "verify fails" "$rc" 1
expect_match "naming the record and calling it damage" "$v" "audit log NOT valid: first bad record $r2: the message of record $r2 is missing: damaged \(no erasure record covers it\)"
rm -rf "$work/copy"

echo "== erase --subject: the referrals about one pseudonymous subject, and their cases"
key=$(grep -h '"subject_key"' $(grep -l '"case_id": "E3"' "$work"/la-newport/inbox/*.json) | head -1 | cut -d'"' -f4)
r3=$(record_of E3); r4=$(record_of E4)
out=$(erase --subject "$key" --reason court-order --authority "Cardiff Family Court, order 7"); rc=$?
expect "erase --subject succeeds" "$rc" 0
expect_match "both referrals about Cai are erased" "$out" "erased .* \(record $r3\).*erased .* \(record $r4\)"
expect_match "with their cases' receipts, and nothing else" "$out" "4 messages erased, 0 refused$"
v=$(verify); rc=$?
expect "verify passes" "$rc" 0
expect_match "with five erasures" "$v" "$((before - 5)) message signatures, 5 messages erased"
expect_match "each by its record" "$v" "message of record $r4: erased by record [0-9]+"
out=$(erase --subject nothex --reason court-order --authority "x" 2>&1); rc=$?
expect_match "a subject that is not a key is refused" "$rc:$out" "^1:.*not a subject key"

echo "== a message still owed to its recipient is refused"
e5=$(msg_of E5); r5=$(record_of E5)
out=$(erase --msg "$e5" --reason right-to-erasure --authority "DPO ref 43"); rc=$?
expect "erase refuses it (exit 1)" "$rc" 1
expect_match "saying it is owed, and to whom" "$out" "refused $e5 \(record $r5\): owed: still queued for la-newport, undelivered"
expect "its payload stays" "$("$testlog" keys "$data" "$(payload_key "$r5")" | wc -l)" 1

echo "== legal hold: nothing under the agreement is erased"
sed -i -e 's/^version: 1$/version: 2/' -e 's/^  audit_years: 7$/  audit_years: 7\n  legal_hold: true/' "$work/agreements/test-open.yaml"
sign_agreements
r2=$(record_of E2)
out=$(erase --msg "$e2" --reason right-to-erasure --authority "DPO ref 44"); rc=$?
expect "erase --msg refuses a held message (exit 1)" "$rc" 1
expect_match "naming the hold" "$out" "refused $e2 \(record $r2\): held: agreement TEST-OPEN is under legal hold"
set_clock 400
out=$(erase --retention --reason retention --authority "retention schedule"); rc=$?
expect_match "erase --retention keeps every held message" "$rc:$out" "^1:.*0 messages erased, 2 refused"
expect "no payload was deleted" "$("$testlog" keys "$data" "$(payload_key "$r2")" | wc -l)" 1

echo "== retention, by the running broker on its simulated clock"
rm -f "$work/clock"
RH_LOG_LEVEL=debug start_broker
set_clock 400    #  a year and more after the referrals: past referral_years: 1
sleep 1
expect_match "the broker keeps what is held past retention, and says so once" \
    "$(grep "past retention erased" "$work/broker/broker.log")" "^[^
]*retention: 0 message payloads past retention erased; kept 2 under legal hold, 0 still owed to a recipient$"
grep -q "msg $e2 (record $r2) is past retention but kept: under legal hold by agreement TEST-OPEN" "$work/broker/broker.log" \
    && ok "naming each at debug level" || bad "held message not named"
sed -i -e 's/^version: 2$/version: 3/' -e '/^  legal_hold: true$/d' "$work/agreements/test-open.yaml"
sign_agreements
kill -HUP $broker_pid
deadline=$((SECONDS + 15))
until grep -q "[1-9] message payloads past retention erased" "$work/broker/broker.log"; do [ $SECONDS -lt $deadline ] || break; sleep 0.1; done
expect_match "the hold lifted, the broker erases what is past retention" "$(grep "past retention erased" "$work/broker/broker.log" | tail -1)" "1 message payloads past retention erased; kept 0 under legal hold, 1 still owed to a recipient"
grep -q "msg $e5 (record $r5) is past retention but kept: undelivered, still owed to la-newport" "$work/broker/broker.log" \
    && ok "but not the one still owed to la-newport" || bad "owed message not kept"
stop_broker
expect "record $r2's payload is gone" "$("$testlog" keys "$data" "$(payload_key "$r2")" | wc -l)" 0
expect "record $r5's stays" "$("$testlog" keys "$data" "$(payload_key "$r5")" | wc -l)" 1
v=$(verify); rc=$?
expect "verify passes after retention" "$rc" 0
expect_match "counting six erasures" "$v" "$((before - 6)) message signatures, 6 messages erased"
expect_match "the retention one among them" "$v" "message of record $r2: erased by record [0-9]+"
expect_match "the log says it was retention" "$("$bin/rhannu-broker" log -f "$work/broker/broker.yaml")" "1 message erased \(RETENTION\) on the authority of the retention periods of the agreements in force"
finish
