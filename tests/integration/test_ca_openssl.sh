#!/usr/bin/env bash
#  rhannu-ca as an operator uses it, checked with stock openssl: the files are standard PEM,
#  an issued certificate verifies against the CA and CRL, and fails after revocation.
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
chmod 644 "$work/pki/ca.key"
refuse "a CA key readable by others is refused" "$ca" issue "$work/pki" vcs-x --type VCS
refuse "an unknown command is a usage error" "$ca" frobnicate "$work/pki"

echo "ca-openssl: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
