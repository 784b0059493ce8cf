#!/usr/bin/env bash
#  An evidence bundle per message: a real broker, agents and a witness that cosigns; the bundle
#  of one referral verifies with rhannu-audit check-bundle and, on its own, with the shipped
#  stock-tool script; each part tampered with (a byte of the message, a proof hash, the
#  checkpoint, a certificate, the CA swapped, a cosignature) makes both refuse it, naming why.
source "$(dirname "$0")/lib.sh"
script="$(cd "$(dirname "$0")/../.." && pwd)/deploy/tools/rhannu-check-evidence.sh"
origin="rhannu.test/evidence"
make_pki police-gwent:POLICE:newport la-newport:LA_FRONT_DOOR:newport
"$bin/rhannu-ca" init "$work/other-ca" >/dev/null 2>&1 || bad "a second CA"
witness_setup "$origin"
othervkey=$("$bin/rhannu-witness" keygen witness.test/other "$work/witness/other.key" 2>/dev/null)
start_witness
start_broker
for a in police-gwent la-newport; do start_agent $a; done
for a in police-gwent la-newport; do wait_connected $a || bad "$a did not connect"; done
for n in 1 2 3 4 5 6; do referral_json newport "ev-$n" "$n" > "$work/police-gwent/outbox/e$n.json"; done
wait_count "$work/la-newport/inbox" 6 20 || bad "referrals lost"
for a in police-gwent la-newport; do stop_agent $a; done
stop_broker    #  a clean stop submits the last checkpoint to the witness
kill -TERM $witness_pid; wait $witness_pid 2>/dev/null; witness_pid=""
cp -r "$work/broker/data" "$work/copy"
"$bin/rhannu-broker" log -f "$work/broker/broker.yaml" > "$work/log.txt" 2>/dev/null
msg=$(awk '$3 == "ACCEPTED" && $6 == "police-gwent" { print $5; exit }' "$work/log.txt")
expect_match "the log holds a referral from police-gwent" "$msg" '^[0-9a-f-]{36}$'
echo "$wvkey" > "$work/witness-keys"
echo "$othervkey" > "$work/other-keys"

echo "== proof --bundle writes the evidence of one message"
out=$("$bin/rhannu-audit" proof --bundle "$msg" --data "$work/copy" --pki "$work/pki" -o "$work/bundle"); rc=$?
expect "proof --bundle succeeds" "$rc" 0
expect_match "and says what it wrote" "$out" "cosigned by witnesses"
for f in manifest.txt message.bin leaf.bin proof.txt checkpoint.signed checkpoint.sig checkpoint.note \
         sender.pem broker.pem ca.pem crl.pem; do
    [ -s "$work/bundle/$f" ] || bad "the bundle has no $f"
done
expect "the bundle's folder is private (the message holds personal data)" "$(stat -c %a "$work/bundle")" 700
"$bin/rhannu-audit" proof --bundle "$msg" --data "$work/copy" --pki "$work/pki" -o "$work/bundle" 2>"$work/err" \
    && bad "a bundle was written over" || ok "an existing bundle is never written over"
"$bin/rhannu-audit" proof --bundle no-such-message --data "$work/copy" --pki "$work/pki" -o "$work/none" 2>"$work/err" \
    && bad "a bundle of an unknown message" || expect_match "an unknown message has no bundle" "$(cat "$work/err")" "no record of message"
expect "openssl reads the certificates as they are" \
    "$(openssl x509 -in "$work/bundle/sender.pem" -noout -subject -nameopt oneline)" "subject=O = rhannu, OU = POLICE, L = newport, CN = police-gwent"

#  Both checkers on bundle DIR with CA; each sets its out and rc (c_ for check-bundle, s_ for
#  the script, which runs under dash when there is one: it is POSIX sh).
shell=$(command -v dash || echo sh)
check_both () {    # check_both DIR CA [KEYS QUORUM]
    local extra_c=() extra_s=()
    [ $# -ge 4 ] && extra_c=(--witness-keys "$3" --quorum "$4") && extra_s=(-w "$3" -q "$4")
    c_out=$("$bin/rhannu-audit" check-bundle "$1" --ca "$2" "${extra_c[@]}" 2>&1); c_rc=$?
    s_out=$("$shell" "$script" "$1" -c "$2" "${extra_s[@]}" 2>&1); s_rc=$?
}
good_both () {    # good_both WHAT DIR CA [KEYS QUORUM]
    local what=$1; shift
    check_both "$@"
    [ $c_rc = 0 ] && [[ "$c_out" == *"evidence bundle verified"* ]] && ok "check-bundle accepts $what" \
        || bad "check-bundle refuses $what: $(echo "$c_out" | tail -1)"
    [ $s_rc = 0 ] && [[ "$s_out" == *"evidence bundle verified"* ]] && ok "the script accepts $what" \
        || bad "the script refuses $what: $(echo "$s_out" | tail -1)"
}
refused_both () {    # refused_both WHAT PART REGEX DIR CA [KEYS QUORUM]
    local what=$1 part=$2 regex=$3; shift 3
    check_both "$@"
    local c_last s_last
    c_last=$(echo "$c_out" | tail -1); s_last=$(echo "$s_out" | tail -1)
    [ $c_rc = 1 ] && [[ "$c_last" =~ ^"evidence bundle NOT valid: [$part] ".*$regex ]] \
        && ok "check-bundle refuses $what: ${c_last#evidence bundle NOT valid: }" || bad "check-bundle on $what: rc $c_rc, $c_last"
    [ $s_rc = 1 ] && [[ "$s_last" =~ ^"evidence bundle NOT valid: [$part] ".*$regex ]] \
        && ok "the script refuses $what: ${s_last#evidence bundle NOT valid: }" || bad "the script on $what: rc $s_rc, $s_last"
}
#  Tampering: each on a fresh copy of the bundle, refused by both; the untouched copy is then
#  checked again, so each refusal is shown to come from the change.
tamper () {    # tamper WHAT PART REGEX EDIT-COMMAND... (run in the copy's folder of $base)
    local what=$1 part=$2 regex=$3; shift 3
    rm -rf "$work/t"; cp -r "${base:-$work/bundle}" "$work/t"
    (cd "$work/t" && "$@") || bad "could not tamper: $*"
    if [ -n "${base:-}" ]; then    #  checked without witness keys: its checkpoint is not cosigned
        refused_both "$what" "$part" "$regex" "$work/t" "$work/pki/ca.pem"
    else
        refused_both "$what" "$part" "$regex" "$work/t" "$work/pki/ca.pem" "$work/witness-keys" 1
    fi
}
flip () {    # flip FILE OFFSET: xor one byte with 0x01 in place
    local byte; byte=$(od -An -tu1 -j "$2" -N1 "$1" | tr -d ' ')
    printf "$(printf '\\%03o' $((byte ^ 1)))" | dd of="$1" bs=1 seek="$2" conv=notrunc 2>/dev/null
}
sign_edit () {    # sign_edit [NAME]: changes one base64 character of NAME's note signature (the
                  # broker's by default); always a different character, whatever was there
    awk -v o="— ${1:-$origin} " 'index ($0, o) == 1 { c = substr ($0, 40, 1); $0 = substr ($0, 1, 39) (c == "A" ? "B" : "A") substr ($0, 41) } { print }' \
        checkpoint.note > note.new && mv note.new checkpoint.note
}
edit_line () {    # edit_line FILE LINE: changes the first character of a line (a hex digit or base64)
    awk -v n="$2" 'NR == n { c = substr ($0, 1, 1); $0 = (c == "a" ? "b" : "a") substr ($0, 2) } { print }' "$1" > "$1.new" && mv "$1.new" "$1"
}

echo "== both checkers accept the bundle, with the CA and the witness's key from outside it"
good_both "the bundle" "$work/bundle" "$work/pki/ca.pem" "$work/witness-keys" 1
expect_match "check-bundle says what it checked" "$c_out" "audit path \([0-9]+ hashes\) leads from leaf"
expect_match "the script says the cosignature verifies" "$s_out" "witness witness.test/w1 cosigned the checkpoint"
expect_match "check-bundle checks the broker's own signature of the note" "$c_out" "checkpoint.note is signed by broker.pem"
expect_match "so does the script" "$s_out" "checkpoint.note is signed by broker.pem \(key $origin\+[0-9a-f]{8}\)"
expect "the note holds the broker's line and the witness's" \
    "$(grep -c "^— $origin \|^— witness.test/w1 " "$work/bundle/checkpoint.note")" 2
good_both "it without witness keys (cosignatures shown, not counted)" "$work/bundle" "$work/pki/ca.pem"
expect_match "and says the cosignatures were not checked" "$s_out" "not checked"

echo "== each part tampered with is refused by both, naming it"
size=$(stat -c %s "$work/bundle/message.bin")
tamper "one byte of the message" message "not the message the leaf names" flip message.bin $((size - 5))
tamper "one byte of the signed header" message "not the message the leaf names" flip message.bin 20
tamper "another agency's certificate for the sender's" certificate "" cp "$work/pki/la-newport/cert.pem" sender.pem
tamper "a hash of the inclusion proof" proof "does not lead from leaf" edit_line proof.txt 2
tamper "the checkpoint's time" checkpoint "not signed by broker.pem" flip checkpoint.signed 68
tamper "the checkpoint note's tree" checkpoint "another tree" edit_line checkpoint.note 3
tamper "a witness's cosignature" cosignature "does not verify" sign_edit witness.test/w1
cmp -s "$work/t/checkpoint.note" "$work/bundle/checkpoint.note" && bad "the cosignature edit changed nothing"
tamper "the broker's signature of the note" checkpoint "signature of checkpoint.note does not verify" sign_edit
cmp -s "$work/t/checkpoint.note" "$work/bundle/checkpoint.note" && bad "the note signature edit changed nothing"
tamper "the sender's certificate" certificate "" \
    sed -i '5s/^\(.\{10\}\)\(.\)/\1\2\2/; 5s/^\(.\{10\}\)./\1/; 5y/ABCDEFGHIJ/BCDEFGHIJA/' sender.pem
cmp -s "$work/t/sender.pem" "$work/bundle/sender.pem" && bad "the certificate edit changed nothing"
tamper "a missing proof" proof "missing" rm proof.txt
refused_both "the bundle checked against another CA" crl "not a CRL signed by the CA given" \
    "$work/bundle" "$work/other-ca/ca.pem" "$work/witness-keys" 1
refused_both "a quorum of a witness that did not cosign" cosignature "0 of the 1" \
    "$work/bundle" "$work/pki/ca.pem" "$work/other-keys" 1
good_both "the untouched bundle again" "$work/bundle" "$work/pki/ca.pem" "$work/witness-keys" 1

echo "== a note of a checkpoint witnessed before the broker kept its own line still checks"
rm -rf "$work/t"; cp -r "$work/bundle" "$work/t"; grep -v "^— $origin " "$work/bundle/checkpoint.note" > "$work/t/checkpoint.note"
good_both "a note with only the witness's line" "$work/t" "$work/pki/ca.pem" "$work/witness-keys" 1
expect_match "check-bundle says the broker's line is absent" "$c_out" "carries no signature of the broker's"
expect_match "so does the script" "$s_out" "carries no signature of the broker's"

echo "== an erased message: the bundle carries the ERASURE record that erased it, proved in the log"
gone=$(awk '$3 == "ACCEPTED" && $6 == "police-gwent" { print $5 }' "$work/log.txt" | sed -n 2p)
out=$("$bin/rhannu-broker" erase -f "$work/broker/broker.yaml" --msg "$gone" --reason court-order \
      --authority "Family Court ref 7" 2>&1); rc=$?
expect "erase --msg succeeds" "$rc" 0
out=$("$bin/rhannu-audit" proof --bundle "$gone" --data "$work/broker/data" --pki "$work/pki" -o "$work/erased" 2>&1); rc=$?
expect "proof --bundle of the erased message succeeds" "$rc" 0
expect_match "and says which record erased it, why and on whose authority" "$out" \
    "erased by record [0-9]+, reason COURT_ORDER, authority Family Court ref 7"
[ -s "$work/erased/erasure.bin" ] && [ -s "$work/erased/erasure-proof.txt" ] && [ ! -e "$work/erased/message.bin" ] \
    && ok "the bundle holds the erasure record and its proof, not the message" || bad "erased bundle: $(ls "$work/erased")"
good_both "the bundle of an erased message" "$work/erased" "$work/pki/ca.pem"
expect_match "check-bundle says it was erased, by which record, why and by whom" "$c_out" \
    "ERASED by record [0-9]+, reason COURT_ORDER, authority Family Court ref 7"
expect_match "and that the erasure record is in the log" "$c_out" "that record is in the log"
expect_match "the script shows the erasure" "$s_out" "ERASED by record [0-9]+, reason COURT_ORDER, authority Family Court ref 7"
expect_match "and checks the erasure record is in the log" "$s_out" "erasure record [0-9]+ is in the log"
base=$work/erased
tamper "a hash of the erasure record's proof" erasure "does not lead from leaf" edit_line erasure-proof.txt 1
tamper "an erased bundle without its erasure record" erasure "missing" rm erasure.bin
tamper "another record as the erasure record" erasure "" cp leaf.bin erasure.bin
unset base
other=$(awk '$3 == "ACCEPTED" && $6 == "police-gwent" { print $5 }' "$work/log.txt" | sed -n 3p)
other_seq=$(awk -v m="$other" '$3 == "ACCEPTED" && $5 == m { print $1; exit }' "$work/log.txt")
rm -rf "$work/copy2"; cp -r "$work/broker/data" "$work/copy2"
"$build_dir/tests/rh-testlog" delete "$work/copy2" "$(printf 'ap/%020d' "$other_seq")" \
    && ok "deleted record $other_seq's payload by hand, without erase" || bad "nothing deleted"
out=$("$bin/rhannu-audit" proof --bundle "$other" --data "$work/copy2" --pki "$work/pki" -o "$work/damaged" 2>&1); rc=$?
[ $rc != 0 ] && [ ! -e "$work/damaged" ] && ok "proof --bundle refuses a message deleted without erase" \
    || bad "proof --bundle of a deleted payload: rc $rc"
expect_match "calling it missing: damaged" "$out" "record $other_seq is missing: damaged"

echo "== the sender revoked after the message arrived: its signature still stands, unless compromised"
sleep 1    #  revocation dates are whole seconds: after the arrival's second
cp -r "$work/pki" "$work/pki-compromised"
for reason in cessation key-compromise; do
    pki=$work/pki; [ $reason = key-compromise ] && pki=$work/pki-compromised
    "$bin/rhannu-ca" revoke "$pki" police-gwent --reason $reason >/dev/null 2>&1 || bad "revoke ($reason)"
    "$bin/rhannu-audit" proof --bundle "$msg" --data "$work/copy" --pki "$pki" -o "$work/revoked-$reason" >/dev/null \
        || bad "no bundle after the revocation ($reason)"
done
good_both "the bundle of a sender revoked later (cessation)" "$work/revoked-cessation" "$work/pki/ca.pem" "$work/witness-keys" 1
expect_match "the script says the revocation came after the message" "$s_out" "revoked on .*after the time that matters"
refused_both "the bundle of a sender whose key was compromised later" certificate "revoked|compromise" \
    "$work/revoked-key-compromise" "$work/pki/ca.pem" "$work/witness-keys" 1
finish
