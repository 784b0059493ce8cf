#!/usr/bin/env bash
#  rhannu-witness over real HTTP on 127.0.0.1: it cosigns a growing log with its own key, refuses
#  a forked and a rolled-back checkpoint with the tlog-witness status codes, bounds what it
#  reads, fails on an unknown configuration key, and keeps its state across a clean stop and a
#  kill -9.
source "$(dirname "$0")/lib.sh"
testlog="$build_dir/tests/rh-testlog"
origin="rhannu.example/gwent"
mkdir -p "$work/witness"
wport=$port    #  the witness is the only server here: it takes the test's port

echo "== keygen"
vkey=$("$bin/rhannu-witness" keygen witness.gwent.example/w1 "$work/witness/key" 2>"$work/witness/keygen.err")
expect_match "keygen prints the witness's vkey (type 0x04)" "$vkey" '^witness\.gwent\.example/w1\+[0-9a-f]{8}\+B[A-P][A-Za-z0-9+/]{42}$'
expect "the key file is 0600" "$(stat -c %a "$work/witness/key")" "600"
"$bin/rhannu-witness" keygen witness.gwent.example/w1 "$work/witness/key" 2>/dev/null \
    && bad "keygen overwrote a key" || ok "keygen refuses to overwrite a key"

log_vkey=$("$testlog" vkey "$origin" 32)
write_config () {    # write_config [EXTRA-LINE]
    cat > "$work/witness/witness.yaml" <<YAML
witness:
  name: witness.gwent.example/w1
  key: $work/witness/key
  state: $work/witness/state
logs:
  vkeys: "$log_vkey"
http:
  port: $port
  max_connections: 8
  timeout_s: 5
${1:-}
YAML
}
write_config
expect "vkey -f prints the same vkey" "$("$bin/rhannu-witness" vkey -f "$work/witness/witness.yaml")" "$vkey"

#  post OLD SIZE [FORK]: submits the toy log's checkpoint; sets status, body (and keeps both files).
post () {
    "$testlog" request "$origin" 32 "$@" > "$work/req"
    status=$(curl -s -o "$work/reply" -D "$work/headers" -w '%{http_code}' --data-binary @"$work/req" \
             "http://127.0.0.1:$port/add-checkpoint")
    body=$(cat "$work/reply")
}

echo "== the configuration is a typed table"
write_config "witness_extra:
  colour: blue"
"$bin/rhannu-witness" -f "$work/witness/witness.yaml" >"$work/witness/bad.log" 2>&1 \
    && bad "an unknown key was accepted" || ok "an unknown configuration key stops the witness"
expect_match "and the error names it" "$(cat "$work/witness/bad.log")" "colour"
write_config

echo "== a growing log is cosigned"
start_witness
post 0 5
expect "a first checkpoint is cosigned (200)" "$status" "200"
"$testlog" check "$vkey" "$work/req" "$work/reply" && ok "the reply is the witness's cosignature of it" \
    || bad "the reply does not verify with the witness's vkey"
post 5 13
expect "a consistent larger checkpoint is cosigned" "$status" "200"
"$testlog" check "$vkey" "$work/req" "$work/reply" || bad "the second cosignature does not verify"

echo "== forks and rollbacks are refused"
post 13 13 7
expect "a fork at the same size is refused (422)" "$status" "422"
post 13 20 7
expect "a fork that grows is refused (422)" "$status" "422"
post 0 5
expect "a rolled-back checkpoint from its own old size is refused (409)" "$status" "409"
expect "409 carries the cosigned size" "$body" "13"
expect_match "409 is text/x.tlog.size" "$(grep -i '^content-type' "$work/headers" | tr -d '\r')" 'text/x\.tlog\.size'
post 13 5
expect "a smaller checkpoint claimed from our size is refused (400)" "$status" "400"
"$testlog" request "$origin" 33 13 20 > "$work/req"
expect "a checkpoint signed by another key is refused (403)" \
    "$(curl -s -o /dev/null -w '%{http_code}' --data-binary @"$work/req" "http://127.0.0.1:$port/add-checkpoint")" "403"
"$testlog" request rhannu.example/other 32 0 3 > "$work/req"
expect "an unknown origin is refused (404)" \
    "$(curl -s -o /dev/null -w '%{http_code}' --data-binary @"$work/req" "http://127.0.0.1:$port/add-checkpoint")" "404"
head -c 70000 /dev/zero | tr '\0' 'a' > "$work/big"
expect "a body over 64 KiB is refused (413)" \
    "$(curl -s -o /dev/null -w '%{http_code}' --data-binary @"$work/big" "http://127.0.0.1:$port/add-checkpoint")" "413"
expect "GET is not add-checkpoint (405)" \
    "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$port/add-checkpoint")" "405"
grep -q "inconsistent with the cosigned size 13" "$work/witness/witness.log" \
    && ok "the witness logs the fork" || bad "the fork is not in the witness's log"

echo "== the state survives a restart and a kill -9"
kill -TERM $witness_pid; wait $witness_pid 2>/dev/null
start_witness
post 0 20
expect "after a restart the witness still knows size 13" "$body" "13"
post 13 20
expect "and cosigns from there" "$status" "200"
kill -9 $witness_pid; wait $witness_pid 2>/dev/null
start_witness
post 13 25
expect "after kill -9 the cosigned size 20 is remembered (409)" "$body" "20"
post 20 25
expect "and the log goes on from 20" "$status" "200"
kill -TERM $witness_pid; wait $witness_pid 2>/dev/null; witness_pid=""
finish
