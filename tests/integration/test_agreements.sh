#!/usr/bin/env bash
#  Sharing agreements with real processes: scenarios 2, 3, 6 and 8 of shared/domain.md (c),
#  the tools (check-agreement, sign-agreement, openssl), and SIGHUP reloads that must leave
#  the agreements in force when the new set is bad.
source "$(dirname "$0")/lib.sh"
top=$(cd "$(dirname "$0")/../.." && pwd)

agencies=(police-gwent:POLICE:newport health-abb:HEALTH:newport education-newport:EDUCATION:newport
          vcs-da:VCS:newport la-newport:LA_FRONT_DOOR:newport la-newport-adults:LA_ADULTS:newport
          la-cardiff:LA_FRONT_DOOR:cardiff cmet-panel:GOVERNANCE stranger-org:VCS:newport)
make_pki "${agencies[@]}"
rm -f "$work"/agreements/*
scenarios="$top/tests/integration/agreements/scenarios.yaml"
cp "$scenarios" "$work/agreements/scenarios.yaml"

echo "== the tools: check-agreement, sign-agreement, and stock openssl"
out=$("$bin/rhannu-broker" check-agreement "$work/agreements/scenarios.yaml" 2>&1)
expect "a valid agreement checks with exit 0" "$?" 0
expect_match "check-agreement summarises it" "$out" "agreement TEST-SCENARIOS version 3"
sed 's/kinds: \[TRANSFER\]/kinds: [TRANSFR]/; s/^version: 3/versoin: 3/' "$scenarios" > "$work/broken.yaml"
out=$("$bin/rhannu-broker" check-agreement "$work/broken.yaml" 2>&1); rc=$?
[ $rc -ne 0 ] && ok "a broken agreement exits non-zero ($rc)" || bad "broken agreement accepted"
expect_match "the unknown key is named with its line" "$out" "broken.yaml:4: unknown key 'versoin'"
expect_match "the bad kind is named with its line" "$out" "broken.yaml:[0-9]+: unknown message kind 'TRANSFR'"
out=$("$bin/rhannu-ca" sign-agreement "$work/pki" "$work/broken.yaml" 2>&1); rc=$?
[ $rc -ne 0 ] && [ ! -e "$work/broken.yaml.sig" ] && ok "the CA refuses to sign a broken agreement" \
    || bad "a broken agreement was signed"
out=$("$bin/rhannu-broker" check-agreement "$work/agreements/scenarios.yaml" --pki "$work/pki" 2>&1); rc=$?
[ $rc -ne 0 ] && ok "check-agreement --pki refuses an unsigned file" || bad "unsigned file passed"
expect_match "and says it is not signed" "$out" "not signed"
"$bin/rhannu-ca" sign-agreement "$work/pki" "$work/agreements/scenarios.yaml" >/dev/null
out=$("$bin/rhannu-broker" check-agreement "$work/agreements/scenarios.yaml" --pki "$work/pki" 2>&1)
expect "once signed it checks with exit 0" "$?" 0
expect "the signature is 64 bytes" "$(stat -c %s "$work/agreements/scenarios.yaml.sig")" 64
#  Anyone can verify the signature with stock openssl: the domain prefix, then the file.
{ printf 'rhannu.agreement.v1\0'; cat "$work/agreements/scenarios.yaml"; } > "$work/signed-message"
openssl x509 -in "$work/pki/ca.pem" -pubkey -noout > "$work/ca-pub.pem"
openssl pkeyutl -verify -pubin -inkey "$work/ca-pub.pem" -rawin -in "$work/signed-message" \
    -sigfile "$work/agreements/scenarios.yaml.sig" >/dev/null 2>&1 \
    && ok "openssl pkeyutl verifies the agreement signature" || bad "openssl does not verify it"

start_broker
for spec in "${agencies[@]}"; do
    a=${spec%%:*}
    start_agent "$a"
done
for spec in "${agencies[@]}"; do
    a=${spec%%:*}
    wait_connected "$a" || bad "$a did not connect"
done
grep -q "agreement TEST-SCENARIOS version 3 in force" "$work/broker/broker.log" \
    && ok "the broker runs under TEST-SCENARIOS v3" || bad "agreement not in force"

send () {    # send AGENCY JSON-FILE
    "$bin/rhannu-agent" send -f "$work/$1/agent.yaml" "$2" >/dev/null
}
msg_id () { grep -o '"msg_id": "[^"]*"' "$1" | head -1 | cut -d'"' -f4; }
newest () { ls -t "$1"/*.json 2>/dev/null | head -1; }
audit () { "$bin/rhannu-broker" log -f "$work/broker/broker.yaml"; }

echo "== scenario 2: consent withheld; a transfer outside the consent is refused, health gets nothing"
cat > "$work/s2-referral.json" <<EOF
{"kind": "REFERRAL", "to": [{"front_door_la": "newport", "alias": "IAA"}], "case_id": "S2",
 "purpose": "SAFEGUARDING_ADULT",
 "body": {"referral_kind": "PROFESSIONAL", "requested_route": "CARE_AND_SUPPORT",
          "subjects": [{"kind": "ADULT", "home_la": "newport", "name": "Adult D"}],
          "categories": ["DOMESTIC_ABUSE"], "narrative": "S2 disclosure at the refuge",
          "consent": {"state": "WITHHELD", "capacity": "HAS_CAPACITY", "family_aware": true}}}
EOF
send vcs-da "$work/s2-referral.json"
wait_count "$work/la-newport/inbox" 1 10 && ok "the VCS referral reached the Newport front door" || bad "S2 referral lost"
s2=$(newest "$work/la-newport/inbox")
expect_match "it was delivered under rule R1" "$(cat "$s2")" '"rule_id": "R1"'
expect_match "and names the agreement" "$(cat "$s2")" '"agreement_id": "TEST-SCENARIOS"'
cat > "$work/s2-outcome.json" <<EOF
{"kind": "OUTCOME", "in_reply_to": "$(msg_id "$s2")", "case_id": "S2", "purpose": "REFERRER_FEEDBACK",
 "body": {"decision": "RETURNED_FOR_CONSENT", "rationale": "The person has capacity and declined.",
          "missing_info": ["consent of the adult"], "key_directions": "internal note"}}
EOF
send la-newport "$work/s2-outcome.json"
wait_kind "$work/vcs-da/inbox" NOTICE 1 10 && ok "the VCS hears the referral was returned for consent" || bad "no S2 outcome"
expect_match "with what was missing" "$(cat "$(newest_kind "$work/vcs-da/inbox" NOTICE)")" '"consent of the adult"'
expect_match "but not the front door's internal note" "$(cat "$(newest_kind "$work/vcs-da/inbox" NOTICE)")" '"withheld": \[[^]]*"key_directions"'
cat > "$work/s2-transfer.json" <<EOF
{"kind": "TRANSFER", "to": [{"agency_id": "health-abb"}], "case_id": "S2", "purpose": "SAFEGUARDING_ADULT",
 "body": {"to": {"agency_id": "health-abb"}, "reason": "GP to follow up",
          "consent": {"state": "WITHHELD", "capacity": "HAS_CAPACITY"}}}
EOF
send la-newport "$work/s2-transfer.json"
wait_count "$work/la-newport/failed" 1 10 "*.error" && ok "the transfer is refused" || bad "transfer not refused"
err=$(cat "$work"/la-newport/failed/*.error)
expect_match "the refusal names the code" "$err" "^RH_E_POLICY: "
expect_match "the refusal explains the consent" "$err" "consent required for transfer to health-abb; the person withheld consent \(rule R2\)"
expect_match "the refusal names the rule" "$err" "rule: R2"
expect_match "and the missing condition" "$err" "missing: consent"
sleep 0.5
expect "health received nothing" "$(count_files "$work/health-abb/inbox")" 0

echo "== scenario 3: a mislabelled child-protection referral, returned, resubmitted in the same thread"
cat > "$work/s3-first.json" <<EOF
{"kind": "REFERRAL", "to": [{"front_door_la": "newport", "alias": "MASH"}], "case_id": "S3",
 "purpose": "SAFEGUARDING_CHILD",
 "body": {"referral_kind": "PROFESSIONAL", "requested_route": "CHILD_PROTECTION",
          "subjects": [{"kind": "CHILD", "home_la": "newport"}], "categories": ["NEGLECT"],
          "narrative": "S3 attendance falling", "consent": {"state": "NOT_SOUGHT"}}}
EOF
send education-newport "$work/s3-first.json"
wait_count "$work/la-newport/inbox" 2 10 && ok "a CHILD_PROTECTION referral needs no consent to be delivered" || bad "S3 referral lost"
s3=$(newest "$work/la-newport/inbox")
s3_id=$(msg_id "$s3")
cat > "$work/s3-outcome.json" <<EOF
{"kind": "OUTCOME", "in_reply_to": "$s3_id", "case_id": "S3", "purpose": "REFERRER_FEEDBACK",
 "body": {"decision": "RETURNED_FOR_CONSENT", "threshold_met": false,
          "rationale": "No significant harm; this is a care and support referral.",
          "missing_info": ["parental consent", "what the family want"]}}
EOF
send la-newport "$work/s3-outcome.json"
wait_kind "$work/education-newport/inbox" NOTICE 1 10 && ok "the school is told it was returned" || bad "no S3 outcome"
expect_match "with the missing information" "$(cat "$(newest_kind "$work/education-newport/inbox" NOTICE)")" '"parental consent"'
cat > "$work/s3-second.json" <<EOF
{"kind": "REFERRAL", "to": [{"front_door_la": "newport"}], "case_id": "S3", "thread_id": "$s3_id",
 "purpose": "SAFEGUARDING_CHILD",
 "body": {"referral_kind": "PROFESSIONAL", "requested_route": "CARE_AND_SUPPORT",
          "subjects": [{"kind": "CHILD", "home_la": "newport"}], "categories": ["NEGLECT"],
          "narrative": "S3 resubmitted", "consent": {"state": "GIVEN", "given_by": "parent", "family_aware": true}}}
EOF
send education-newport "$work/s3-second.json"
wait_count "$work/la-newport/inbox" 3 10 && ok "the resubmission with consent is delivered" || bad "S3 resubmission lost"
s3b=$(newest "$work/la-newport/inbox")
expect_match "threaded to the original referral" "$(cat "$s3b")" "\"thread_id\": \"$s3_id\""

echo "== scenario 6: cross-border exploitation; transfer to Cardiff's front door by its alias, copy to the panel"
cat > "$work/s6-referral.json" <<EOF
{"kind": "REFERRAL", "to": [{"front_door_la": "newport"}], "case_id": "S6", "purpose": "SAFEGUARDING_CHILD",
 "body": {"referral_kind": "PPN", "subjects": [{"kind": "CHILD", "home_la": "cardiff"}],
          "categories": ["CCE", "COUNTY_LINES"], "narrative": "S6 found with cash and two phones"}}
EOF
send police-gwent "$work/s6-referral.json"
wait_count "$work/la-newport/inbox" 4 10 && ok "a young person from Cardiff is referred to Newport (rule R5)" || bad "S6 referral lost"
s6=$(newest "$work/la-newport/inbox")
expect_match "delivered under the cross-border rule" "$(cat "$s6")" '"rule_id": "R5"'
cat > "$work/s6-transfer-bad.json" <<EOF
{"kind": "TRANSFER", "to": [{"front_door_la": "cardiff", "alias": "SPOC"}, {"agency_id": "stranger-org"}],
 "case_id": "S6", "purpose": "SAFEGUARDING_CHILD",
 "body": {"to": {"front_door_la": "cardiff", "alias": "SPOC"}, "reason": "lives in Cardiff",
          "cross_border": true, "from_la": "newport", "to_la": "cardiff"}}
EOF
send la-newport "$work/s6-transfer-bad.json"
wait_count "$work/la-newport/failed" 2 10 "*.error" && ok "a transfer copied to a non-party is refused whole" || bad "non-party transfer not refused"
expect_match "the refusal names the non-party" "$(cat $(ls -t "$work"/la-newport/failed/*.error | head -1))" "stranger-org is not a party to agreement TEST-SCENARIOS"
sed 's/, {"agency_id": "stranger-org"}/, {"agency_id": "cmet-panel"}/' "$work/s6-transfer-bad.json" > "$work/s6-transfer.json"
send la-newport "$work/s6-transfer.json"
wait_count "$work/la-cardiff/inbox" 1 10 && ok "Cardiff's front door receives the transfer (alias SPOC resolved)" || bad "no transfer at Cardiff"
wait_count "$work/cmet-panel/inbox" 1 10 && ok "the exploitation panel receives its copy" || bad "no copy at the panel"
expect_match "Cardiff's copy came under rule R5T" "$(cat "$(newest "$work/la-cardiff/inbox")")" '"rule_id": "R5T"'
expect_match "the panel's copy under rule R6" "$(cat "$(newest "$work/cmet-panel/inbox")")" '"rule_id": "R6"'
sleep 0.3
expect "the non-party received nothing" "$(count_files "$work/stranger-org/inbox")" 0
cat > "$work/s6-outcome.json" <<EOF
{"kind": "OUTCOME", "in_reply_to": "$(msg_id "$s6")", "case_id": "S6", "purpose": "REFERRER_FEEDBACK",
 "body": {"decision": "TRANSFERRED", "rationale": "The young person lives in Cardiff.",
          "better_placed": {"agency_id": "la-cardiff"}, "better_placed_reason": "transferred to Cardiff MASH"}}
EOF
send la-newport "$work/s6-outcome.json"
wait_kind "$work/police-gwent/inbox" NOTICE 1 10 && ok "the referrer is told" || bad "no S6 outcome"
expect_match "that it went to Cardiff MASH" "$(cat "$(newest_kind "$work/police-gwent/inbox" NOTICE)")" '"better_placed_reason": "transferred to Cardiff MASH"'

echo "== scenario 8: a place concern to adults, then an allegation only purpose holders see in full"
cat > "$work/s8-place.json" <<EOF
{"kind": "REFERRAL", "to": [{"front_door_la": "newport", "alias": "adult safeguarding"}], "case_id": "S8",
 "purpose": "SAFEGUARDING_ADULT",
 "body": {"referral_kind": "PROFESSIONAL", "categories": ["NEGLECT"],
          "subjects": [{"kind": "PLACE", "home_la": "newport", "place_type": "care home"},
                       {"kind": "ADULT", "home_la": "newport", "identity_unknown": true, "relationship": "resident"},
                       {"kind": "ADULT", "home_la": "newport", "identity_unknown": true, "relationship": "resident"}],
          "narrative": "S8 several residents with pressure sores", "consent": {"family_aware": true}}}
EOF
send health-abb "$work/s8-place.json"
wait_count "$work/la-newport-adults/inbox" 1 10 && ok "the place concern is routed to adult safeguarding by alias" || bad "S8 lost"
expect "the children's front door did not get it" "$(count_files "$work/la-newport/inbox")" 4
cat > "$work/s8-allegation.json" <<EOF
{"kind": "REFERRAL", "to": [{"agency_id": "la-newport-adults"}, {"agency_id": "la-newport"}], "case_id": "S8",
 "purpose": "PROFESSIONAL_ALLEGATION",
 "body": {"referral_kind": "PROFESSIONAL", "categories": ["PROFESSIONAL_ALLEGATION"], "urgency": 2,
          "subjects": [{"kind": "PLACE", "home_la": "newport", "place_type": "care home"}],
          "narrative": "S8 a named carer is alleged to have restrained a resident"}}
EOF
send health-abb "$work/s8-allegation.json"
wait_count "$work/la-newport-adults/inbox" 2 10 && ok "the purpose holder receives the allegation" || bad "allegation lost"
wait_count "$work/la-newport/inbox" 5 10 && ok "the other front door receives it too" || bad "allegation copy lost"
full=$(cat "$(newest "$work/la-newport-adults/inbox")")
bare=$(cat "$(newest "$work/la-newport/inbox")")
expect_match "the holder sees the allegation (rule R8)" "$full" "named carer"
expect_match "the holder's copy is complete" "$full" '"withheld": \[\]'
[[ "$bare" != *"named carer"* ]] && ok "the other front door does not see the allegation text" || bad "allegation leaked"
expect_match "its copy lists the narrative as withheld" "$bare" '"withheld": \[[^]]*"narrative"'
expect_match "and came under rule R8b" "$bare" '"rule_id": "R8b"'

echo "== SIGHUP reloads: bad sets leave the agreement in force, a good one replaces it"
deny_probe () {    # sends a referral to health (denied by v3, allowed by v4); prints where it ended
    local n=$1
    cat > "$work/probe-$n.json" <<EOF
{"kind": "REFERRAL", "to": [{"agency_id": "health-abb"}], "case_id": "P$n", "purpose": "SAFEGUARDING_CHILD",
 "body": {"referral_kind": "PPN", "subjects": [{"kind": "CHILD", "home_la": "newport"}],
          "categories": ["DOMESTIC_ABUSE"], "narrative": "probe $n"}}
EOF
    send police-gwent "$work/probe-$n.json"
}
reload_and_expect () {    # reload_and_expect DESCRIPTION LOG-REGEX
    local before
    before=$(grep -c "" "$work/broker/broker.log")
    kill -HUP $broker_pid
    local deadline=$((SECONDS + 5))
    until tail -n +$((before + 1)) "$work/broker/broker.log" | grep -qE "$2"; do
        [ $SECONDS -lt $deadline ] || { bad "$1: no '$2' in the broker log"; return; }
        sleep 0.05
    done
    ok "$1"
}
police_failed () { count_files "$work/police-gwent/failed" "*.error"; }
deny_probe 1
wait_count "$work/police-gwent/failed" 1 10 "*.error" && ok "v3 refuses a referral to a partner" || bad "probe 1 not refused"

sed 's/^version: 3/version: 4/; s/^  - id: R99$/  - id: R7\n    kinds: [REFERRAL]\n    from: {role: referrer}\n    to: {type: HEALTH}\n    fields: [referral_kind, categories]\n  - id: R99/' \
    "$scenarios" > "$work/v4.yaml"
"$bin/rhannu-broker" check-agreement "$work/v4.yaml" >/dev/null && ok "version 4 is valid" || bad "v4 invalid"

cp "$work/v4.yaml" "$work/agreements/scenarios.yaml"    # new content, old signature: tampered
reload_and_expect "a tampered agreement is refused on reload" "signature .* does not verify"
deny_probe 2
wait_count "$work/police-gwent/failed" 2 10 "*.error" && ok "and v3 stays in force" || bad "probe 2 not refused"

"$bin/rhannu-ca" sign-agreement "$work/pki" "$work/agreements/scenarios.yaml" >/dev/null
cp "$scenarios" "$work/agreements/extra.yaml"    # a second file with the same id, unsigned
reload_and_expect "an unsigned file makes the whole set fail" "extra.yaml: not signed"
rm -f "$work/agreements/extra.yaml"
cat > "$work/agreements/old.yaml" <<EOF
id: OLD-ISP
version: 1
valid_from: 2020-01-01
valid_to: 2021-03-31
purposes: [SAFEGUARDING_CHILD]
parties:
  - {id: police-gwent, roles: [referrer]}
rules:
  - {id: R1, fields: all}
EOF
"$bin/rhannu-ca" sign-agreement "$work/pki" "$work/agreements/old.yaml" >/dev/null
reload_and_expect "an expired agreement makes the whole set fail" "OLD-ISP version 1 expired"
rm -f "$work/agreements/old.yaml" "$work/agreements/old.yaml.sig"
deny_probe 3
wait_count "$work/police-gwent/failed" 3 10 "*.error" && ok "v3 is still in force after three bad reloads" || bad "probe 3 not refused"

reload_and_expect "a good, signed version 4 loads" "agreement TEST-SCENARIOS version 4 in force"
deny_probe 4
wait_kind "$work/health-abb/inbox" REFERRAL 1 10 && ok "v4's new rule R7 allows the referral to health" || bad "probe 4 not delivered"
h=$(cat "$(newest_kind "$work/health-abb/inbox" REFERRAL)")
expect_match "delivered under version 4, rule R7" "$h" '"agreement_version": 4'
[[ "$h" != *"probe 4"* ]] && ok "with only R7's fields (the narrative stays with the police)" || bad "R7 leaked the narrative"
expect "nothing more was refused" "$(police_failed)" 3

cp "$scenarios" "$work/agreements/scenarios.yaml"
"$bin/rhannu-ca" sign-agreement "$work/pki" "$work/agreements/scenarios.yaml" >/dev/null
reload_and_expect "a signed but older version 3 is refused as a rollback" "version 3 is older than version 4"
stop_broker

echo "== the audit log (read after a clean stop: LevelDB has one owner at a time)"
log=$(audit)
expect_match "the audit log verifies" "$log" "Merkle tree intact"
expect "it holds both referrals of case S3 (the chronology)" \
    "$(echo "$log" | grep -cE "ACCEPTED .*education-newport +la-newport +REFERRAL")" 2
expect_match "it records what la-newport did not receive" "$log" "allowed la-newport: agreement TEST-SCENARIOS v3 rule R8b, withheld fields 4"
expect_match "and the refused transfer with its rule" "$log" "refused health-abb: agreement TEST-SCENARIOS v3 rule R2, missing consent"
expect_match "and the non-party refusal" "$log" "refused stranger-org: agreement TEST-SCENARIOS v3 rule \(default\), missing party"
expect "it has the two loads" "$(echo "$log" | grep -c "POLICY_LOADED")" 2
expect "and the four failed reloads" "$(echo "$log" | grep -c "POLICY_RELOAD_FAILED")" 4
r=$("$bin/rhannu-audit" replay --data "$work/broker/data" --pki "$work/pki"); rc=$?
expect "rhannu-audit replay reproduces every decision, under v3 and under v4" "$rc" 0
expect_match "from the agreement versions the broker kept" "$r" "re-decided [1-9][0-9]* policy decisions against the agreement versions they name: [0-9]+ reproduce, 0 do not"

echo "== a broker without valid agreements does not start"
mv "$work/agreements" "$work/agreements-kept"
mkdir -p "$work/agreements"
start_broker
sleep 0.3
kill -0 $broker_pid 2>/dev/null && bad "the broker started without agreements" || ok "no agreements: the broker refuses to start"
expect_match "and says why" "$(tail -5 "$work/broker/broker.log")" "no agreements \(\*\.yaml\): every message would be refused"
finish
