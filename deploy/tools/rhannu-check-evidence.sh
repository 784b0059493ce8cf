#!/bin/sh
#  rhannu-check-evidence.sh - checks a rhannu evidence bundle with stock tools only
#
#  usage: rhannu-check-evidence.sh BUNDLE-DIR -c CA.pem [-w WITNESS-KEYS -q N]
#
#  BUNDLE-DIR   a folder written by `rhannu-audit proof --bundle` (a tar of one: unpack it first)
#  -c CA.pem    the board's CA certificate, from the board (not from the bundle: a bundle's own
#               ca.pem proves nothing, anyone can make a CA). Without -c the bundle's ca.pem is
#               used and its fingerprint printed, to compare with the board's published one.
#  -w FILE      witness cosignature keys (vkeys, one a line: name+id+base64 key), from the
#               witnesses; -q N of them must have cosigned the checkpoint
#
#  Needs only POSIX sh, openssl (3.0 or later: Ed25519 with pkeyutl -rawin), od, awk, sed, dd
#  and, to judge a certificate revoked after the message arrived, GNU date. Prints one line per
#  check; the first failure prints "FAILED [part]: reason" and exits 1. Exit 0: every check
#  passed. The steps are explained in README.md, "Evidence for a third party".
set -u
LC_ALL=C
export LC_ALL

usage () {
    echo "usage: $0 BUNDLE-DIR -c CA.pem [-w WITNESS-KEYS -q N]" >&2
    exit 2
}
[ $# -ge 1 ] || usage
b=$1
shift
ca=""
keys=""
quorum=0
while [ $# -ge 2 ]; do
    case $1 in
        -c) ca=$2 ;;
        -w) keys=$2 ;;
        -q) quorum=$2 ;;
        *) usage ;;
    esac
    shift 2
done
[ $# -eq 0 ] || usage
[ -d "$b" ] || { echo "$0: $b is not a folder" >&2; exit 2; }
if [ -n "$keys" ] && ! [ "$quorum" -ge 1 ] 2>/dev/null; then usage; fi
if [ -z "$keys" ] && [ "$quorum" != 0 ]; then usage; fi
for tool in openssl od awk sed dd; do
    command -v $tool >/dev/null 2>&1 || { echo "$0: $tool is not installed" >&2; exit 2; }
done
tmp=$(mktemp -d "${TMPDIR:-/tmp}/rhannu-evidence-XXXXXX") || exit 2
trap 'rm -rf "$tmp"' EXIT

ok () { echo "  ok: $*"; }
note () { echo "  note: $*"; }
fail () {    # fail PART REASON
    echo "evidence bundle NOT valid: [$1] $2"
    exit 1
}
need () {    # need PART FILE...
    part=$1
    shift
    for f in "$@"; do [ -f "$b/$f" ] || fail "$part" "$f is missing"; done
}

#  Bytes as lowercase hex (no spaces or newlines), hex back to bytes, SHA-256 as hex.
hex () { od -An -v -tx1 | tr -d ' \n'; }
unhex () {
    # shellcheck disable=SC2059  #  the format is octal escapes made here from hex digits only
    printf "$(awk '{ for (i = 1; i < length ($0); i += 2)
                       printf "\\%03o", index ("0123456789abcdef", substr ($0, i, 1)) * 16 \
                                        + index ("0123456789abcdef", substr ($0, i + 1, 1)) - 17 }')"
}
sha256 () { openssl dgst -sha256 -r | cut -c1-64; }
#  Bytes COUNT from OFFSET of FILE.
slice () { dd if="$1" bs=1 skip="$2" count="$3" 2>/dev/null; }
#  A manifest value.
mf () { sed -n "s/^$1: //p" "$b/manifest.txt" | head -n 1; }
#  True if HEX holds NEEDLE (hex) at a byte boundary.
holds () {
    awk -v h="$1" -v n="$2" 'BEGIN { s = h; at = 0
        while ((i = index (s, n)) > 0) { if ((at + i) % 2 == 1) exit 0; at += i; s = substr (s, i + 1) }
        exit 1 }'
}
#  An Ed25519 public key (32 bytes, hex) as a PEM file: the fixed SubjectPublicKeyInfo prefix.
pubkey_pem () {    # pubkey_pem HEX OUT
    echo "302a300506032b6570032100$1" | unhex > "$2.der"
    openssl pkey -pubin -inform DER -in "$2.der" -out "$2" 2>/dev/null
}
ed25519_verify () {    # ed25519_verify PUBKEY.pem MESSAGE-FILE SIGNATURE-FILE
    openssl pkeyutl -verify -pubin -inkey "$1" -rawin -in "$2" -sigfile "$3" >/dev/null 2>&1
}

#  The record number of an AuditRecord (hex): field 1 (seq, varint) comes first; -1 if not.
varint_seq () {
    echo "$1" | awk '{ if (substr ($0, 1, 2) != "08") { print -1; exit }
        v = 0; m = 1
        for (i = 3; i < length ($0); i += 2) {
            b = index ("0123456789abcdef", substr ($0, i, 1)) * 16 + index ("0123456789abcdef", substr ($0, i + 1, 1)) - 17
            v += (b % 128) * m; m *= 128
            if (b < 128) { print v; exit } } print -1 }'
}
#  The root an audit path (RFC 9162 2.1.3.2) leads to from leaf INDEX (hash LEAF-HASH) in a tree
#  of SIZE records, and the number of hashes, as "root count"; "-" if the path does not fit.
audit_path () {    # audit_path INDEX LEAF-HASH SIZE PROOF-FILE
    fn=$1
    sn=$(($3 - 1))
    r=$2
    count=0
    while read -r p; do
        [ "$sn" -eq 0 ] && { echo -; return; }
        if [ $((fn % 2)) -eq 1 ] || [ "$fn" -eq "$sn" ]; then
            r=$(echo "01$p$r" | unhex | sha256)
            if [ $((fn % 2)) -eq 0 ]; then
                while [ $((fn % 2)) -eq 0 ] && [ "$fn" -ne 0 ]; do fn=$((fn / 2)); sn=$((sn / 2)); done
            fi
        else
            r=$(echo "01$r$p" | unhex | sha256)
        fi
        fn=$((fn / 2))
        sn=$((sn / 2))
        count=$((count + 1))
    done < "$4"
    [ "$sn" -eq 0 ] && echo "$r $count" || echo -
}

echo "checking the evidence bundle in $b"
need manifest manifest.txt
[ "$(mf format)" = "rhannu-evidence-bundle/1" ] \
    || fail manifest "manifest.txt does not say format: rhannu-evidence-bundle/1"
msg=$(mf message)
sender=$(mf sender)
received_ms=$(mf received_ms)
index=$(mf leaf_index)
case "$received_ms$index" in *[!0-9]* | "") fail manifest "received_ms or leaf_index is not a number" ;; esac
received=$((received_ms / 1000))

#  1. The CA. The root of trust comes from the person checking, never from the bundle.
need certificate ca.pem crl.pem broker.pem
if [ -z "$ca" ]; then
    ca="$b/ca.pem"
    note "no -c CA.pem given: using the bundle's own ca.pem, which proves nothing by itself;"
    note "compare its fingerprint with the one the board publishes:"
    note "$(openssl x509 -in "$ca" -noout -fingerprint -sha256 2>/dev/null)"
fi
openssl x509 -in "$ca" -noout 2>/dev/null || fail certificate "$ca is not a certificate"

#  2. The CRL is the CA's, and the certificates chain to the CA.
#  openssl crl exits 0 on a bad signature too: its verdict is the line "verify OK".
[ "$(openssl crl -in "$b/crl.pem" -CAfile "$ca" -noout 2>&1)" = "verify OK" ] \
    || fail crl "crl.pem is not a CRL signed by the CA given"
ok "crl.pem is signed by the CA given"
#  cert_at PART FILE TIME: the chain is good at TIME, and the certificate was not revoked then.
cert_at () {
    out=$(openssl verify -CAfile "$ca" -attime "$3" "$b/$2" 2>&1) \
        || fail "$1" "$2 does not chain to the CA given at $(date -u -d "@$3" 2>/dev/null || echo "$3"): $(echo "$out" | grep -m1 error)"
    out=$(openssl verify -CAfile "$ca" -crl_check -CRLfile "$b/crl.pem" -attime "$3" "$b/$2" 2>&1) && return 0
    case $out in
        *"CRL is not yet valid"*) ;;    #  a CRL issued later: it lists every earlier revocation
        *"certificate revoked"*) ;;
        *) fail crl "crl.pem cannot vouch for $2 at that time: $(echo "$out" | grep -m1 error)" ;;
    esac
    out=$(openssl verify -CAfile "$ca" -crl_check -CRLfile "$b/crl.pem" -no_check_time "$b/$2" 2>&1) \
        && return 0
    case $out in *"certificate revoked"*) ;; *) fail crl "crl.pem: $(echo "$out" | grep -m1 error)" ;; esac
    #  Revoked: a signature made before the revocation date still stands, unless the key was
    #  compromised (which taints every use of it).
    serial=$(openssl x509 -in "$b/$2" -noout -serial | sed 's/^serial=//')
    entry=$(openssl crl -in "$b/crl.pem" -noout -text | awk -v s="$serial" '
        /Serial Number:/ { found = (toupper ($3) == toupper (s)) }
        found && /Revocation Date:/ { sub (/.*Revocation Date: */, ""); date = $0 }
        found && /Key Compromise/ { compromise = 1 }
        END { print (compromise ? "compromise" : "ok") "|" date }')
    when=$(date -u -d "${entry#*|}" +%s 2>/dev/null) || fail crl "cannot read the revocation date of $2 (GNU date is needed)"
    [ "${entry%%|*}" = compromise ] && fail certificate "$2 was revoked for key compromise"
    [ "$when" -gt "$3" ] || fail certificate "$2 was revoked on ${entry#*|}, before the time that matters"
    note "$2 was revoked on ${entry#*|}, after the time that matters: what it signed before stands"
}

#  3. The leaf: the broker's record of the message's arrival. Its hash is what the tree holds.
need leaf leaf.bin
leaf_hex=$(hex < "$b/leaf.bin")
leaf_hash=$( { printf '\000'; cat "$b/leaf.bin"; } | sha256)
#  AuditRecord field 1 (seq, varint) comes first: it must be the leaf index.
seq=$(varint_seq "$leaf_hex")
[ "$seq" = "$index" ] || fail leaf "leaf.bin is record $seq, not record $index the manifest names"
msg_hex=$(printf '%s' "$msg" | hex)
holds "$leaf_hex" "$msg_hex" || fail leaf "leaf.bin does not name message $msg"
ok "leaf.bin is audit record $index about message $msg (leaf hash $leaf_hash)"

#  4. The message: its SHA-256 is the one the leaf holds (AuditRecord field 13: 0x6a 0x20).
message_sha=$(mf message_sha256)
at=$(mf leaf_message_sha256_offset)
case "$at" in *[!0-9]* | "") fail manifest "leaf_message_sha256_offset is not a number" ;; esac
[ "$(slice "$b/leaf.bin" $((at - 2)) 34 | hex)" = "6a20$message_sha" ] \
    || fail leaf "leaf.bin does not hold message_sha256 as its message's hash at byte $at"
stored=$(mf message_stored)
if [ "${stored%% *}" = yes ]; then
    need message message.bin sender.pem
    [ "$(sha256 < "$b/message.bin")" = "$message_sha" ] \
        || fail message "message.bin is not the message the leaf names (SHA-256 differs)"
    ok "message.bin is the message the leaf names (SHA-256 $message_sha)"
else
    #  Erased, not missing: the ERASURE record that erased it (its path is checked in step 7)
    #  names the leaf's record and the same SHA-256; what it says is shown from the manifest.
    need erasure erasure.bin erasure-proof.txt
    erasure_index=$(mf erasure_index)
    case "$erasure_index" in *[!0-9]* | "") fail manifest "erasure_index is not a number" ;; esac
    erasure_hex=$(hex < "$b/erasure.bin")
    [ "$(varint_seq "$erasure_hex")" = "$erasure_index" ] && [ "$erasure_index" -gt "$index" ] \
        || fail erasure "erasure.bin is not record $erasure_index, a record after leaf $index"
    holds "$erasure_hex" "$(printf 'ERASURE' | hex)" && holds "$erasure_hex" "$message_sha" \
        && holds "$erasure_hex" "$msg_hex" \
        || fail erasure "erasure.bin is not an ERASURE record naming message $msg and its SHA-256"
    erasure_hash=$( { printf '\000'; cat "$b/erasure.bin"; } | sha256)
    ok "message $msg was ERASED by record $erasure_index, reason $(mf erasure_reason), authority $(mf erasure_authority), at $(mf erased_at)"
    note "the message is not in the bundle: the leaf commits to its SHA-256 $message_sha;"
    note "no sender's signature can be checked"
fi

#  5. The sender's signature: Ed25519 over "rhannu.envelope.v1" 0x00 || the header bytes. The
#  stored message is protobuf Sealed: field 1 (0x0a, length) the header, field 2 (0x12 0x40)
#  the signature; their places are checked, not taken on trust from the manifest.
if [ "${stored%% *}" = yes ]; then
    header_at=$(mf header_offset)
    header_size=$(mf header_size)
    sig_at=$(mf signature_offset)
    case "$header_at$header_size$sig_at" in *[!0-9]* | "") fail manifest "an offset is not a number" ;; esac
    lead=$(slice "$b/message.bin" 0 "$header_at" | hex)
    length=$(echo "$lead" | awk '{ if (substr ($0, 1, 2) != "0a") { print -1; exit }
        v = 0; m = 1
        for (i = 3; i < length ($0); i += 2) {
            b = index ("0123456789abcdef", substr ($0, i, 1)) * 16 + index ("0123456789abcdef", substr ($0, i + 1, 1)) - 17
            v += (b % 128) * m; m *= 128
            if (b < 128) { if (i + 1 == length ($0)) print v; else print -1; exit } } print -1 }')
    [ "$length" = "$header_size" ] && [ "$sig_at" -eq $((header_at + header_size + 2)) ] \
        && [ "$(slice "$b/message.bin" $((sig_at - 2)) 2 | hex)" = 1240 ] \
        || fail message "message.bin is not laid out as the manifest says (header, then signature)"
    { printf 'rhannu.envelope.v1\000'; slice "$b/message.bin" "$header_at" "$header_size"; } > "$tmp/signed"
    slice "$b/message.bin" "$sig_at" 64 > "$tmp/signature"
    header_hex=$(slice "$b/message.bin" "$header_at" "$header_size" | hex)
    fingerprint=$(openssl x509 -in "$b/sender.pem" -outform DER 2>/dev/null | sha256)
    holds "$header_hex" "$fingerprint" \
        || fail certificate "sender.pem is not the certificate the message's header names"
    holds "$header_hex" "$msg_hex" || fail message "the signed header is not message $msg's"
    cn=$(openssl x509 -in "$b/sender.pem" -noout -subject -nameopt multiline | sed -n 's/^ *commonName *= //p')
    [ "$cn" = "$sender" ] || fail certificate "sender.pem is $cn's, not the sender $sender's"
    holds "$header_hex" "$(printf '%s' "$sender" | hex)" || fail message "the signed header is not from $sender"
    cert_at certificate sender.pem "$received"
    ok "sender.pem ($sender) chains to the CA given and was usable when the message arrived"
    openssl x509 -in "$b/sender.pem" -noout -pubkey > "$tmp/sender.pub"
    ed25519_verify "$tmp/sender.pub" "$tmp/signed" "$tmp/signature" \
        || fail signature "the sender's signature on message.bin does not verify with sender.pem"
    ok "the sender's Ed25519 signature over the header verifies with sender.pem"
fi

#  6. The checkpoint the broker signed: "rhannu.checkpoint.v1" 0x00 || size || root || time.
need checkpoint checkpoint.signed checkpoint.sig
signed_hex=$(hex < "$b/checkpoint.signed")
domain=$(printf 'rhannu.checkpoint.v1' | hex)00
[ ${#signed_hex} -eq 138 ] && [ "${signed_hex%"${signed_hex#??????????????????????????????????????????}"}" = "$domain" ] \
    || fail checkpoint "checkpoint.signed is not a rhannu checkpoint (69 bytes: domain, size, root, time)"
size=$((0x$(echo "$signed_hex" | cut -c43-58)))
root=$(echo "$signed_hex" | cut -c59-122)
checkpoint_time=$(($((0x$(echo "$signed_hex" | cut -c123-138))) / 1000))
cert_at certificate broker.pem "$checkpoint_time"
openssl x509 -in "$b/broker.pem" -noout -subject -nameopt multiline | grep -q 'organizationalUnitName *= BROKER$' \
    || fail checkpoint "broker.pem is not a broker certificate (OU BROKER)"
openssl x509 -in "$b/broker.pem" -noout -pubkey > "$tmp/broker.pub"
ed25519_verify "$tmp/broker.pub" "$b/checkpoint.signed" "$b/checkpoint.sig" \
    || fail checkpoint "the checkpoint is not signed by broker.pem"
ok "the checkpoint of $size records (root $root) is signed by broker.pem, a broker certificate of the CA"

#  7. The audit path (RFC 9162 2.1.3.2) from the leaf to the checkpoint's root.
need proof proof.txt
grep -qv '^[0-9a-f]\{64\}$' "$b/proof.txt" && fail proof "proof.txt is not lines of 64 hex digits"
[ "$index" -lt "$size" ] || fail proof "leaf $index is not in a tree of $size records"
path=$(audit_path "$index" "$leaf_hash" "$size" "$b/proof.txt")
[ "${path%% *}" = "$root" ] \
    || fail proof "the audit path does not lead from leaf $index to the root of the checkpoint of $size records"
count=${path#* }
ok "the audit path ($count hashes) leads from leaf $index to the checkpoint's root"
if [ "${stored%% *}" != yes ]; then
    grep -qv '^[0-9a-f]\{64\}$' "$b/erasure-proof.txt" && fail erasure "erasure-proof.txt is not lines of 64 hex digits"
    [ "$erasure_index" -lt "$size" ] || fail erasure "erasure record $erasure_index is not in a tree of $size records"
    path=$(audit_path "$erasure_index" "$erasure_hash" "$size" "$b/erasure-proof.txt")
    [ "${path%% *}" = "$root" ] \
        || fail erasure "erasure-proof.txt does not lead from leaf $erasure_index to the root of the checkpoint of $size records"
    ok "the erasure record $erasure_index is in the log: its audit path (${path#* } hashes) leads to the same root"
fi

#  8. The checkpoint as the witnesses cosigned it (C2SP signed note): the same tree, and a
#  tlog-cosignature/v1 from each witness, which signs "cosignature/v1\ntime T\n" || note text.
if [ ! -f "$b/checkpoint.note" ]; then
    [ "$quorum" -gt 0 ] && fail cosignature "checkpoint.note is missing: no witness cosigned the checkpoint"
    note "the checkpoint is not cosigned by any witness"
else
    awk 'NF == 0 { exit } { print }' "$b/checkpoint.note" > "$tmp/text"
    [ "$(sed -n 2p "$tmp/text")" = "$size" ] \
        && [ "$(sed -n 3p "$tmp/text" | openssl base64 -d -A 2>/dev/null | hex)" = "$root" ] \
        || fail checkpoint "checkpoint.note names another tree than the broker signed"
    origin=$(sed -n 1p "$tmp/text")
    ok "checkpoint.note is the same tree (origin $origin)"
    dash=$(printf '\342\200\224')
    #  The broker's own signature line (C2SP signed note, Ed25519): key name the origin, key
    #  broker.pem's, key id SHA-256 (name || 0x0A || 0x01 || key) [:4]; it signs the note text.
    broker_key=$(openssl pkey -pubin -in "$tmp/broker.pub" -outform DER 2>/dev/null | hex | cut -c25-88)
    broker_id=$( { printf '%s\n' "$origin"; echo "01$broker_key" | unhex; } | sha256 | cut -c1-8)
    grep -F "$dash $origin " "$b/checkpoint.note" | while read -r _ name sig; do
        [ "$name" = "$origin" ] || continue
        raw=$(printf '%s' "$sig" | openssl base64 -d -A 2>/dev/null | hex)
        [ "$(echo "$raw" | cut -c1-8)" = "$broker_id" ] || continue
        [ ${#raw} -eq 136 ] || { echo bad; continue; }
        echo "$raw" | cut -c9-136 | unhex > "$tmp/note.sig"
        ed25519_verify "$tmp/broker.pub" "$tmp/text" "$tmp/note.sig" && echo good || echo bad
    done > "$tmp/result"
    grep -q bad "$tmp/result" && fail checkpoint "the broker's signature of checkpoint.note does not verify with broker.pem"
    if grep -q good "$tmp/result"; then
        ok "checkpoint.note is signed by broker.pem (key $origin+$broker_id)"
    else
        note "checkpoint.note carries no signature of the broker's (kept only since checkpoints carry it);"
        note "checkpoint.signed binds the same tree"
    fi
    verified=0
    if [ -n "$keys" ]; then
        while read -r vkey; do
            [ -n "$vkey" ] || continue
            name=${vkey%%+*}
            rest=${vkey#*+}
            id=${rest%%+*}
            key=$(printf '%s' "${rest#*+}" | openssl base64 -d -A 2>/dev/null | hex)
            [ "${key%"${key#??}"}" = 04 ] && [ ${#key} -eq 66 ] \
                || fail cosignature "witness key $name is not a cosignature/v1 key"
            pub=${key#04}
            [ "$( { printf '%s\n' "$name"; echo "$key" | unhex; } | sha256 | cut -c1-8)" = "$id" ] \
                || fail cosignature "witness key $name: its id does not match its key"
            pubkey_pem "$pub" "$tmp/witness.pub"
            #  Lines of this key: name and key id; a line of the key that does not verify fails.
            good=0
            grep "^$dash $name " "$b/checkpoint.note" | while read -r _ _ sig; do
                raw=$(printf '%s' "$sig" | openssl base64 -d -A 2>/dev/null | hex)
                [ "$(echo "$raw" | cut -c1-8)" = "$id" ] || continue
                [ ${#raw} -eq 152 ] || { echo bad; continue; }
                t=$((0x$(echo "$raw" | cut -c9-24)))
                echo "$raw" | cut -c25-152 | unhex > "$tmp/cosig"
                { printf 'cosignature/v1\ntime %s\n' "$t"; cat "$tmp/text"; } > "$tmp/cosigned"
                ed25519_verify "$tmp/witness.pub" "$tmp/cosigned" "$tmp/cosig" && echo good || echo bad
            done > "$tmp/result"
            grep -q bad "$tmp/result" && fail cosignature "a cosignature of witness $name does not verify"
            grep -q good "$tmp/result" && { verified=$((verified + 1)); ok "witness $name cosigned the checkpoint"; }
        done < "$keys"
        [ "$verified" -ge "$quorum" ] \
            || fail cosignature "$verified of the $quorum cosignatures required verify with the witness keys given"
        ok "$verified cosignature(s) verify (quorum $quorum)"
    else
        note "$(grep -c "^$dash " "$b/checkpoint.note") cosignature line(s) not checked: give -w WITNESS-KEYS -q N"
    fi
fi
echo "evidence bundle verified"
