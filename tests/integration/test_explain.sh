#!/usr/bin/env bash
#  rhannu-broker explain: the dry run for information-governance officers. Real certificates,
#  the Gwent agreement signed by the test CA; no broker runs and no store is opened.
source "$(dirname "$0")/lib.sh"
top=$(cd "$(dirname "$0")/../.." && pwd)

make_pki police-gwent:POLICE:newport education-newport:EDUCATION:newport \
         la-newport:LA_FRONT_DOOR:newport
rm -f "$work"/agreements/*
cp "$top/deploy/agreements/gwent-safeguarding.yaml" "$work/agreements/"
sign_agreements
cat > "$work/broker.yaml" <<EOF2
pki:
  dir: $work/pki
data:
  dir: $work/never-opened
policy:
  dir: $work/agreements
EOF2
explain () { "$bin/rhannu-broker" explain -f "$work/broker.yaml" "$@"; }
examples=$top/deploy/examples

echo "== a referral the agreement in force allows: the recipient and the fields it gets"
out=$(explain "$examples/ppn-referral.json" --from police-gwent 2>&1); rc=$?
expect "allowed: exit 0" "$rc" 0
expect_match "the front door addressed by label is resolved and allowed by R1" "$out" \
    "la-newport \(the front door of newport, as \"IAA\"\): would receive it, decided by agreement GWENT-SG-ISP version 4, rule R1\."
expect_match "it lists the fields it receives, by name" "$out" \
    "receives: referral_kind, subjects, categories, narrative"
expect_match "it says the agreements are those in force, signed" "$out" \
    "Agreements: the 1 in force in $work/agreements \(signatures verified\)"
expect_match "and the verdict" "$out" "The broker would accept this message and deliver it to 1 recipient"
#  The example's values: names, a date of birth, references, the narrative.
leaked=$(grep -c -E "Child A|Adult B|2018-03-02|GW-OCC-556677|GW-2026-001234|22:40|PC-4411|DS-2290" <<< "$out")
expect "no value of the message is echoed" "$leaked" 0
[ ! -e "$work/never-opened" ] && ok "the store was not opened (data/dir not created)" \
    || bad "explain created data/dir"

echo "== an outcome back to the referrer: what the agreement withholds"
sed 's/"kind": "OUTCOME",/"kind": "OUTCOME", "to": [{"agency_id": "police-gwent"}],/' \
    "$examples/outcome.json" > "$work/outcome.json"
out=$(explain "$work/outcome.json" --from la-newport 2>&1); rc=$?
expect "allowed: exit 0" "$rc" 0
expect_match "R3 decides it" "$out" "police-gwent: would receive it, decided by agreement GWENT-SG-ISP version 4, rule R3\."
receives=$(grep "receives:" <<< "$out"); withheld=$(grep "withheld:" <<< "$out")
expect_match "the decision and rationale are received" "$receives" "decision, rationale"
expect_match "the screeners' key directions and RAG are withheld" "$withheld" \
    "withheld: (.*, )?rag, key_directions"
expect "no value of the outcome is echoed" \
    "$(grep -c -E "Families First|AMBER|Screeners|SW-1020" <<< "$out")" 0

echo "== a refusal names the missing condition"
out=$(explain "$examples/school-referral-no-consent.json" --from education-newport 2>&1); rc=$?
expect "refused: exit 1" "$rc" 1
expect_match "refused by rule R1" "$out" \
    "la-newport \(the front door of newport, as \"MASH\"\): REFUSED, decided by agreement GWENT-SG-ISP version 4, rule R1\."
expect_match "the missing condition is consent" "$out" "missing condition: consent"
expect_match "and the verdict is a refusal" "$out" "The broker would refuse this message \(RH_E_POLICY\)"
expect "no value of the referral is echoed" \
    "$(grep -c -E "Child C|EDU-2026-0077|DSL-031|hungry" <<< "$out")" 0
out=$(explain "$examples/school-referral-no-consent.json" --from education-newport --json 2>&1)
expect "--json: one document, the missing condition and rule for the recipient" \
    "$(python3 -c 'import json,sys; d=json.load(sys.stdin); r=d["recipients"][0]
print(d["accepted"], r["agency"], r["result"], r["rule"], r["missing"], r["receives"])' <<< "$out")" \
    "False la-newport condition_missing R1 consent []"

echo "== a draft agreement changes the answer"
#  The draft drops R1's consent condition (its four lines).
sed '/^  - id: R1$/,/^    fields: all$/{/^    consent:$/d; /^      required: true$/d; /^      unless: /d; /^      family_aware: true$/d}' \
    "$work/agreements/gwent-safeguarding.yaml" > "$work/draft.yaml"
expect "the draft leaves out R1's consent condition, nothing else" \
    "$(diff "$work/agreements/gwent-safeguarding.yaml" "$work/draft.yaml" | grep -c '^[<>]')" 4
out=$(explain "$examples/school-referral-no-consent.json" --from education-newport \
      --agreements "$work/draft.yaml" 2>&1); rc=$?
expect "under the draft the referral is allowed: exit 0" "$rc" 0
expect_match "it says the draft's signature is not checked" "$out" \
    "Agreements: the draft $work/draft.yaml only \(signature not checked"
expect_match "and that la-newport would receive it under R1" "$out" \
    "la-newport \(the front door of newport, as \"MASH\"\): would receive it, decided by agreement GWENT-SG-ISP version 4, rule R1\."
cp "$work/agreements/gwent-safeguarding.yaml.sig" "$work/draft.yaml.sig"
out=$(explain "$examples/school-referral-no-consent.json" --from education-newport \
      --agreements "$work/draft.yaml" 2>&1); rc=$?
expect "a draft whose .sig does not verify: exit 2" "$rc" 2
expect_match "a typed line says so" "$out" "^rhannu-broker explain: $work/draft.yaml: RH_E_SIG: "
out=$(explain "$examples/school-referral-no-consent.json" --from education-newport \
      --agreements "$work/agreements/gwent-safeguarding.yaml" 2>&1); rc=$?
expect "the signed file as --agreements: refused again, exit 1" "$rc" 1
expect_match "its signature is verified" "$out" "signature verified against the board CA"

echo "== recipients the broker cannot decide"
printf '{"kind": "REFERRAL", "purpose": "SAFEGUARDING_CHILD", "to": [{"agency_id": "la-nowhere"}],\n "body": {"categories": ["NEGLECT"]}}\n' \
    > "$work/unknown-recipient.json"
out=$(explain "$work/unknown-recipient.json" --from police-gwent 2>&1); rc=$?
expect "an agency that is not enrolled is refused: exit 1" "$rc" 1
expect_match "and named as such" "$out" "la-nowhere: REFUSED\.
    why: not an enrolled agency"
printf '{"kind": "REFERRAL", "purpose": "SAFEGUARDING_CHILD", "body": {"categories": ["NEGLECT"]}}\n' \
    > "$work/nobody.json"
out=$(explain "$work/nobody.json" --from police-gwent 2>&1); rc=$?
expect "no recipient: exit 1" "$rc" 1
expect_match "it says the message names none" "$out" "No recipient: the message names no recipient\."

echo "== bad input: one typed line, no values"
printf '{"kind": "REFERRAL", "purpose": "SAFEGUARDING_CHILD", "to": [{"agency_id": "la-newport"}],\n "body": {"subjects": [{"kind": "Mary Smith 12/03/2016"}]}}\n' \
    > "$work/bad-value.json"
out=$(explain "$work/bad-value.json" --from police-gwent 2>&1); rc=$?
expect "a value not allowed: exit 2" "$rc" 2
expect "one line" "$(wc -l <<< "$out")" 1
expect_match "typed, naming the field path" "$out" \
    "^rhannu-broker explain: $work/bad-value.json: RH_E_MALFORMED: .*body.subjects\[0\].kind"
[[ "$out" != *Mary* ]] && ok "the value is not echoed" || bad "the value was echoed: $out"
printf '{"kind": "REFERRAL", "to": [' > "$work/truncated.json"
out=$(explain "$work/truncated.json" --from police-gwent 2>&1); rc=$?
expect "truncated JSON: exit 2, one line" "$rc $(wc -l <<< "$out")" "2 1"
expect_match "typed RH_E_MALFORMED" "$out" "^rhannu-broker explain: $work/truncated.json: RH_E_MALFORMED: "
out=$(explain "$examples/ppn-referral.json" --from nobody-here 2>&1); rc=$?
expect "an unknown sender: exit 2" "$rc" 2
expect_match "typed RH_E_CERT_UNKNOWN" "$out" "^rhannu-broker explain: --from: RH_E_CERT_UNKNOWN: "
out=$(explain "$examples/ppn-referral.json" 2>&1); rc=$?
expect "--from is required" "$rc" 2
out=$("$bin/rhannu-broker" status -f "$work/broker.yaml" --from police-gwent 2>&1); rc=$?
expect_match "--from is for explain only" "$out" "are for explain"

finish
