#!/usr/bin/env bash
#  An evidence bundle per message: a real broker, agents and a witness that cosigns; the bundle
#  of one referral verifies with rhannu-audit check-bundle and, on its own, with the shipped
#  stock-tool script; each part tampered with (a byte of the message, a proof hash, the
#  checkpoint, a certificate, the CA swapped, a cosignature) makes both refuse it, naming why.
source "$(dirname "$0")/lib.sh"
script="$(cd "$(dirname "$0")/../.." && pwd)/deploy/tools/rhannu-check-evidence.sh"
origin="rhannu.test/evidence"
mkdir -p "$work/witness"
witness_pid=""
trap 'kill -9 $witness_pid 2>/dev/null; cleanup' EXIT
while :; do    #  the witness's own port, free now and not the broker's
    wport=$((20000 + RANDOM % (ephemeral_low - 20000)))
    [ "$wport" != "$port" ] && ! ss -Htan 2>/dev/null | awk '{print $4}' | grep -q ":$wport\$" && break
done

make_pki police-gwent:POLICE:newport la-newport:LA_FRONT_DOOR:newport
"$bin/rhannu-ca" init "$work/other-ca" >/dev/null 2>&1 || bad "a second CA"
wvkey=$("$bin/rhannu-witness" keygen witness.test/w1 "$work/witness/key" 2>/dev/null)
othervkey=$("$bin/rhannu-witness" keygen witness.test/other "$work/witness/other.key" 2>/dev/null)
mkdir -p "$work/broker"
printf 'pki:\n  dir: %s\ndata:\n  dir: %s\npolicy:\n  dir: %s\nwitness:\n  origin: %s\n' \
    "$work/pki" "$work/broker/data" "$work/agreements" "$origin" > "$work/broker/vkey.yaml"
cat > "$work/witness/witness.yaml" <<YAML
witness:
  name: witness.test/w1
  key: $work/witness/key
  state: $work/witness/state
logs:
  vkeys: "$("$bin/rhannu-broker" vkey -f "$work/broker/vkey.yaml")"
http:
  port: $wport
YAML
"$bin/rhannu-witness" -f "$work/witness/witness.yaml" >>"$work/witness/witness.log" 2>&1 &
witness_pid=$!
deadline=$((SECONDS + 15))
until curl -s -o /dev/null "http://127.0.0.1:$wport/"; do
    [ $SECONDS -lt $deadline ] || { bad "the witness did not start"; break; }
    sleep 0.1
done
BROKER_EXTRA="audit:
  checkpoint_every: 5
  checkpoint_ms: 300
witness:
  urls: http://127.0.0.1:$wport
  keys: \"$wvkey\"
  origin: $origin"
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
tamper () {    # tamper WHAT PART REGEX EDIT-COMMAND... (run in the copy's folder)
    local what=$1 part=$2 regex=$3; shift 3
    rm -rf "$work/t"; cp -r "$work/bundle" "$work/t"
    (cd "$work/t" && "$@") || bad "could not tamper: $*"
    refused_both "$what" "$part" "$regex" "$work/t" "$work/pki/ca.pem" "$work/witness-keys" 1
}
flip () {    # flip FILE OFFSET: xor one byte with 0x01 in place
    local byte; byte=$(od -An -tu1 -j "$2" -N1 "$1" | tr -d ' ')
    printf "$(printf '\\%03o' $((byte ^ 1)))" | dd of="$1" bs=1 seek="$2" conv=notrunc 2>/dev/null
}
edit_line () {    # edit_line FILE LINE: changes the first character of a line (a hex digit or base64)
    awk -v n="$2" 'NR == n { c = substr ($0, 1, 1); $0 = (c == "a" ? "b" : "a") substr ($0, 2) } { print }' "$1" > "$1.new" && mv "$1.new" "$1"
}

echo "== both checkers accept the bundle, with the CA and the witness's key from outside it"
good_both "the bundle" "$work/bundle" "$work/pki/ca.pem" "$work/witness-keys" 1
expect_match "check-bundle says what it checked" "$c_out" "audit path \([0-9]+ hashes\) leads from leaf"
expect_match "the script says the cosignature verifies" "$s_out" "witness witness.test/w1 cosigned the checkpoint"
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
tamper "a witness's cosignature" cosignature "does not verify" \
    sed -i 's/^\(— witness.test\/w1 .\{20\}\)\(.\)/\1A/' checkpoint.note
cmp -s "$work/t/checkpoint.note" "$work/bundle/checkpoint.note" && bad "the cosignature edit changed nothing"
tamper "the sender's certificate" certificate "" \
    sed -i '5s/^\(.\{10\}\)\(.\)/\1\2\2/; 5s/^\(.\{10\}\)./\1/; 5y/ABCDEFGHIJ/BCDEFGHIJA/' sender.pem
cmp -s "$work/t/sender.pem" "$work/bundle/sender.pem" && bad "the certificate edit changed nothing"
tamper "a missing proof" proof "missing" rm proof.txt
refused_both "the bundle checked against another CA" crl "not a CRL signed by the CA given" \
    "$work/bundle" "$work/other-ca/ca.pem" "$work/witness-keys" 1
refused_both "a quorum of a witness that did not cosign" cosignature "0 of the 1" \
    "$work/bundle" "$work/pki/ca.pem" "$work/other-keys" 1
good_both "the untouched bundle again" "$work/bundle" "$work/pki/ca.pem" "$work/witness-keys" 1

echo "== an erased message: the bundle carries its commitment only"
rm -rf "$work/t"; cp -r "$work/bundle" "$work/t"; rm "$work/t/message.bin" "$work/t/sender.pem"
sed -i 's/^message_stored: .*/message_stored: no (erased)/' "$work/t/manifest.txt"
good_both "a bundle without the message (erased)" "$work/t" "$work/pki/ca.pem" "$work/witness-keys" 1
expect_match "check-bundle says it was erased and shows the commitment" "$c_out" "erased.*SHA-256 [0-9a-f]{64}"
expect_match "so does the script" "$s_out" "erased"

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
