#!/usr/bin/env bash
#  rhannu-ca as an operator uses it, checked with stock openssl: the files are standard PEM,
#  an issued certificate verifies against the CA and CRL, and fails after revocation; an agency
#  enrols by certificate request (its private keys never reach the board) and rotates its keys
#  with an overlap.
set -u
build=${BUILD:-build}
ca="$build/bin/rhannu-ca"
work=$(mktemp -d /tmp/rhannu-ca-test-XXXXXX)
trap 'rm -rf "$work"' EXIT
passed=0
failed=0

check () {     # check "description" command...
    local what=$1; shift
    if "$@" >"$work/out" 2>&1; then
        passed=$((passed + 1)); echo "  ok: $what"
    else
        failed=$((failed + 1)); echo "  FAILED: $what"; sed 's/^/    /' "$work/out"
    fi
}
refuse () {    # refuse "description" command...: the command must fail
    local what=$1; shift
    if "$@" >"$work/out" 2>&1; then
        failed=$((failed + 1)); echo "  FAILED (was accepted): $what"; sed 's/^/    /' "$work/out"
    else
        passed=$((passed + 1)); echo "  ok: $what"
    fi
}
mode () { [ "$(stat -c %a "$1")" = "$2" ]; }
verify () { openssl verify -crl_check_all -CAfile "$work/pki/ca.pem" -CRLfile "$work/pki/crl.pem" "$1"; }

check "init creates a board CA" "$ca" init "$work/pki"
refuse "init refuses to overwrite it" "$ca" init "$work/pki"
check "issue enrols a police force" "$ca" issue "$work/pki" police-gwent --type POLICE --la newport --region gwent
check "issue enrols a front door" "$ca" issue "$work/pki" la-newport --type LA_FRONT_DOOR --la newport --region gwent
check "issue enrols the broker" "$ca" issue "$work/pki" broker --type BROKER
refuse "issue refuses an unknown type" "$ca" issue "$work/pki" fire-x --type FIREBRIGADE
refuse "issue refuses a second live certificate" "$ca" issue "$work/pki" police-gwent --type POLICE
refuse "issue without --type is a usage error" "$ca" issue "$work/pki" health-x
check "the CA key is 0600" mode "$work/pki/ca.key" 600
check "the agency key is 0600" mode "$work/pki/police-gwent/key.pem" 600
check "the CURVE secret is 0600" mode "$work/pki/police-gwent/curve.key" 600
check "openssl reads the CA certificate" openssl x509 -in "$work/pki/ca.pem" -noout
check "openssl reads the CRL" openssl crl -in "$work/pki/crl.pem" -noout
check "openssl reads the agency key" openssl pkey -in "$work/pki/police-gwent/key.pem" -noout
check "openssl verify -crl_check_all accepts the issued certificate" verify "$work/pki/police-gwent/cert.pem"
check "the certificate binds the CURVE key" \
    bash -c "openssl x509 -in '$work/pki/police-gwent/cert.pem' -noout -ext subjectAltName | grep -q urn:rhannu:curve25519:"
check "list shows the agency as valid" bash -c "'$ca' list '$work/pki' | grep -E '^police-gwent .* valid '"
check "revoke revokes it" "$ca" revoke "$work/pki" police-gwent --reason cessation
refuse "openssl verify rejects it after revoke" verify "$work/pki/police-gwent/cert.pem"
check "openssl says why: certificate revoked" \
    bash -c "openssl verify -crl_check -CAfile '$work/pki/ca.pem' -CRLfile '$work/pki/crl.pem' '$work/pki/police-gwent/cert.pem' 2>&1 | grep -q 'certificate revoked'"
check "the other agencies still verify" verify "$work/pki/la-newport/cert.pem"
check "list shows it as revoked" bash -c "'$ca' list '$work/pki' | grep -E '^police-gwent .* revoked '"
refuse "revoke refuses an unknown reason" "$ca" revoke "$work/pki" la-newport --reason bored
check "crl re-issues the CRL" "$ca" crl "$work/pki" --days 7
refuse "the re-issued CRL keeps the revocation" verify "$work/pki/police-gwent/cert.pem"
check "a revoked agency can be enrolled again" "$ca" issue "$work/pki" police-gwent --type POLICE --la newport
check "its new certificate verifies" verify "$work/pki/police-gwent/cert.pem"
echo "== enrolment by certificate request"
agency="$work/agency-health"    # the agency's own machine
check "request makes the agency's keys and a CSR" \
    "$ca" request "$agency" health-abb --type HEALTH --la newport --region gwent
check "the agency's signing key is 0600" mode "$agency/key.pem" 600
check "the agency's CURVE secret is 0600" mode "$agency/curve.key" 600
refuse "request refuses to overwrite keys" "$ca" request "$agency" health-abb --type HEALTH
refuse "request refuses an unknown type" "$ca" request "$work/agency-x" health-x --type HOSPITAL
check "openssl req -verify reads the CSR and its self-signature" \
    bash -c "openssl req -in '$agency/request.csr' -noout -text -verify > '$work/csr.txt' 2>&1 && grep -q 'verify OK' '$work/csr.txt'"
check "the CSR names the agency as certificates do" \
    grep -q "Subject: O = rhannu, OU = HEALTH, ST = gwent, L = newport, CN = health-abb" "$work/csr.txt"
check "the CSR binds a CURVE key as subjectAltName URI" \
    grep -qE "URI:urn:rhannu:curve25519:[0-9a-f]{64}$" "$work/csr.txt"
refuse "the CSR holds no private key" grep -q PRIVATE "$agency/request.csr"
check "sign-request signs it" "$ca" sign-request "$work/pki" "$agency/request.csr" --days 365
check "the board holds only the certificate" \
    bash -c "[ -f '$work/pki/health-abb/cert.pem' ] && [ ! -e '$work/pki/health-abb/key.pem' ] && [ ! -e '$work/pki/health-abb/curve.key' ]"
check "openssl x509 reads the certificate" \
    bash -c "openssl x509 -in '$work/pki/health-abb/cert.pem' -noout -text > '$work/cert.txt'"
check "openssl verify -crl_check_all accepts it" verify "$work/pki/health-abb/cert.pem"
check "the certificate carries the CSR's Ed25519 key" \
    bash -c "[ \"\$(openssl x509 -in '$work/pki/health-abb/cert.pem' -noout -pubkey)\" = \"\$(openssl pkey -in '$agency/key.pem' -pubout)\" ]"
check "the certificate binds the same CURVE key as the CSR" \
    bash -c "[ -n \"\$(grep -o 'urn:rhannu:curve25519:[0-9a-f]*' '$work/csr.txt')\" ] && [ \"\$(grep -o 'urn:rhannu:curve25519:[0-9a-f]*' '$work/csr.txt')\" = \"\$(grep -o 'urn:rhannu:curve25519:[0-9a-f]*' '$work/cert.txt')\" ]"
check "the certificate starts an hour before it was issued (clock skew)" \
    bash -c "nb=\$(date -d \"\$(openssl x509 -in '$work/pki/health-abb/cert.pem' -noout -startdate | cut -d= -f2)\" +%s); now=\$(date +%s); [ \$((now - nb)) -ge 3500 ] && [ \$((now - nb)) -le 3700 ]"
check "--backdate-minutes sets that" "$ca" issue "$work/pki" vcs-skew --type VCS --backdate-minutes 5
check "to five minutes" \
    bash -c "nb=\$(date -d \"\$(openssl x509 -in '$work/pki/vcs-skew/cert.pem' -noout -startdate | cut -d= -f2)\" +%s); now=\$(date +%s); [ \$((now - nb)) -ge 290 ] && [ \$((now - nb)) -le 400 ]"
refuse "sign-request refuses an agency with a valid certificate" \
    "$ca" sign-request "$work/pki" "$agency/request.csr"
sed 's/^MII/MIJ/' "$agency/request.csr" > "$work/bad.csr"
refuse "sign-request refuses a damaged CSR" "$ca" sign-request "$work/pki" "$work/bad.csr"
openssl genpkey -algorithm ED25519 -out "$work/plain.key" 2>/dev/null
openssl req -new -key "$work/plain.key" -subj "/OU=HEALTH/CN=health-plain" -out "$work/plain.csr" 2>/dev/null
refuse "sign-request refuses a CSR without the CURVE binding" \
    "$ca" sign-request "$work/pki" "$work/plain.csr"
openssl req -new -key "$work/plain.key" -subj "/OU=HEALTH/CN=health-plain" \
    -addext "subjectAltName=URI:urn:rhannu:curve25519:$(head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n')" \
    -out "$work/stock.csr" 2>/dev/null
check "sign-request accepts a CSR made with stock openssl" \
    "$ca" sign-request "$work/pki" "$work/stock.csr"
check "list shows the requested agency as valid" bash -c "'$ca' list '$work/pki' | grep -E '^health-abb .* valid '"

echo "== rotation with overlap"
new="$work/agency-health-2"
check "the agency makes new keys and a CSR" "$ca" request "$new" health-abb --type HEALTH --la newport --region gwent
cp "$work/pki/health-abb/cert.pem" "$work/old-health.pem"
check "rotate issues the new certificate with a 2-hour overlap" \
    "$ca" rotate "$work/pki" health-abb --request "$new/request.csr" --overlap-hours 2
check "the new certificate verifies" verify "$work/pki/health-abb/cert.pem"
check "it carries the new key" \
    bash -c "[ \"\$(openssl x509 -in '$work/pki/health-abb/cert.pem' -noout -pubkey)\" = \"\$(openssl pkey -in '$new/key.pem' -pubout)\" ]"
check "the old certificate is in the archive" \
    bash -c "ls '$work/pki/health-abb/archive/'*.pem | xargs -n1 cmp -s '$work/old-health.pem'"
serial=$(openssl x509 -in "$work/old-health.pem" -noout -serial | cut -d= -f2)
openssl crl -in "$work/pki/crl.pem" -noout -text > "$work/crl.txt"
check "the CRL lists it as superseded" \
    bash -c "grep -A4 'Serial Number: $serial' '$work/crl.txt' | grep -q 'Superseded'"
check "from two hours on (the overlap)" \
    bash -c "d=\$(grep -A1 'Serial Number: $serial' '$work/crl.txt' | sed -n 's/.*Revocation Date: //p'); t=\$(date -d \"\$d\" +%s); now=\$(date +%s); [ \$((t - now)) -ge 7190 ] && [ \$((t - now)) -le 7210 ]"
check "list shows both certificates valid during the overlap" \
    bash -c "[ \$('$ca' list '$work/pki' | grep -cE '^health-abb .* valid ') -eq 2 ]"
refuse "rotate refuses the same request twice (keys are reused)" \
    "$ca" rotate "$work/pki" health-abb --request "$new/request.csr"
refuse "rotate refuses another agency's request" \
    "$ca" rotate "$work/pki" la-newport --request "$new/request.csr"
check "rotate with board-generated keys (no --request)" \
    "$ca" rotate "$work/pki" la-newport --overlap-hours 0
check "its old keys are archived with its old certificate" \
    bash -c "ls '$work/pki/la-newport/archive/' | grep -q '\.key$'"
check "with no overlap the old certificate is revoked at once" \
    bash -c "[ \$('$ca' list '$work/pki' | grep -cE '^la-newport .* revoked ') -eq 1 ] && [ \$('$ca' list '$work/pki' | grep -cE '^la-newport .* valid ') -eq 1 ]"
"$ca" revoke "$work/pki" vcs-skew --reason cessation >/dev/null
refuse "rotate refuses a revoked agency" "$ca" rotate "$work/pki" vcs-skew
refuse "rotate refuses a negative overlap" "$ca" rotate "$work/pki" broker --overlap-hours -1

echo "== CRL life"
check "crl with a short life" "$ca" crl "$work/pki" --days 3
check "list warns within the default 7 days" bash -c "'$ca' list '$work/pki' | grep -q 'WARNING: the CRL goes out of date'"
refuse "and not with --warn-days 1" bash -c "'$ca' list '$work/pki' --warn-days 1 | grep -q WARNING"
chmod 644 "$work/pki/ca.key"
refuse "a CA key readable by others is refused" "$ca" issue "$work/pki" vcs-x --type VCS
refuse "an unknown command is a usage error" "$ca" frobnicate "$work/pki"

echo "ca-openssl: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
