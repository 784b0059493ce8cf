#!/usr/bin/env bash
#  The auditor's tools never call damage "verified": a copy of a real broker's store is damaged
#  one byte at a time at sampled offsets of every file, and each run of rhannu-audit verify
#  either fails naming what it could not read or reports exactly what it reported undamaged.
#  The tools read evidence without changing it, and refuse a missing, empty, wrong or live
#  folder without creating anything. DAMAGE_STRIDE (97) is the distance between offsets;
#  DAMAGE_MAX (240) caps the runs, widening the stride, to keep a busy machine under a minute.
source "$(dirname "$0")/lib.sh"
export LC_ALL=C    #  messages may quote damaged bytes: match them as bytes
make_pki police-gwent:POLICE:newport la-newport:LA_FRONT_DOOR:newport
BROKER_EXTRA="audit:
  checkpoint_every: 5
  checkpoint_ms: 300"
verify () { "$bin/rhannu-audit" verify --data "$1" --pki "$work/pki"; }
broker_log () {    # rhannu-broker log with data/dir set to $1
    sed "s#^  dir: $work/broker/data\$#  dir: $1#" "$work/broker/broker.yaml" > "$work/log.yaml"
    "$bin/rhannu-broker" log -f "$work/log.yaml"
}
fingerprint () { (cd "$1" 2>/dev/null && find . -type f -exec sha256sum {} + | sort) || echo "(no folder)"; }

echo "== a small store made by real processes: referrals, checkpoints, a restart"
start_broker
for a in police-gwent la-newport; do start_agent $a; done
for a in police-gwent la-newport; do wait_connected $a || bad "$a did not connect"; done
for n in 1 2 3 4 5 6; do referral_json newport "damage-$n" "$n" > "$work/police-gwent/outbox/d$n.json"; done
wait_count "$work/la-newport/inbox" 6 20 || bad "referrals lost"
sleep 1    #  a checkpoint of the acknowledgements too
stop_broker    #  a restart turns the write-ahead log into a table: the store has both kinds
start_broker
wait_connected police-gwent || bad "police-gwent did not reconnect"
for n in 7 8 9; do referral_json newport "damage-$n" "$n" > "$work/police-gwent/outbox/d$n.json"; done
wait_count "$work/la-newport/inbox" 9 20 || bad "referrals after the restart lost"
sleep 1

echo "== a live store is refused: its LOCK is held"
out=$(verify "$work/broker/data" 2>&1); rc=$?
[ $rc -ne 0 ] && ok "verify refuses the running broker's store (exit $rc)" || bad "verified a live store"
expect_match "and says why" "$out" "in use by another process"
out=$(broker_log "$work/broker/data" 2>&1); rc=$?
[ $rc -ne 0 ] && ok "so does rhannu-broker log (exit $rc)" || bad "rhannu-broker log read a live store"
expect_match "saying why" "$out" "in use by another process"
for a in police-gwent la-newport; do stop_agent $a; done
stop_broker

cp -r "$work/broker/data" "$work/store"
ls "$work/store"/*.ldb >/dev/null 2>&1 && ok "the store holds tables ($(ls "$work/store" | tr '\n' ' '))" || bad "no table in the store"
before=$(fingerprint "$work/store")
baseline=$(verify "$work/store" 2>&1); rc=$?
expect "the undamaged copy verifies" "$rc" 0
expect_match "with checkpoints and signatures" "$baseline" "audit log verified: [0-9]+ records, ([2-9]|[1-9][0-9]+) signed checkpoints, [1-9][0-9]* message signatures, 0 messages erased"
expect "reading it changed no byte of it" "$(fingerprint "$work/store")" "$before"
baseline=$(echo "$baseline" | head -2)

echo "== a missing, empty or wrong folder: non-zero, and nothing created"
out=$(verify "$work/no-such-folder" 2>&1); rc=$?
expect "missing folder: exit 2" "$rc" 2
[ -e "$work/no-such-folder" ] && bad "the missing folder was created" || ok "and it was not created"
mkdir "$work/empty"
out=$(verify "$work/empty" 2>&1); rc=$?
expect "empty folder: exit 2" "$rc" 2
expect_match "says there is no store" "$out" "no LevelDB store"
expect "and it is still empty" "$(ls -A "$work/empty")" ""
agent_before=$(fingerprint "$work/la-newport/data/outbox.db")
out=$(verify "$work/la-newport/data/outbox.db" 2>&1); rc=$?
expect "an agent's store is not a broker's: exit 2" "$rc" 2
expect_match "says so" "$out" "holds no audit log"
expect "and is unchanged" "$(fingerprint "$work/la-newport/data/outbox.db")" "$agent_before"
out=$(verify "$work/pki" 2>&1); rc=$?
expect "the PKI folder: exit 2" "$rc" 2
echo "== rhannu-broker log reads the same way"
before_log=$(fingerprint "$work/store")
out=$(broker_log "$work/store" 2>&1); rc=$?
expect "rhannu-broker log of the copy: exit 0" "$rc" 0
expect_match "and it verifies" "$out" "Merkle tree intact"
expect "reading it changed no byte of it" "$(fingerprint "$work/store")" "$before_log"
out=$(broker_log "$work/no-such-folder" 2>&1); rc=$?
expect "rhannu-broker log of a missing folder: exit 2" "$rc" 2
[ -e "$work/no-such-folder" ] && bad "the missing folder was created" || ok "and it was not created"
out=$(broker_log "$work/empty" 2>&1); rc=$?
expect "rhannu-broker log of an empty folder: exit 2" "$rc" 2
expect "and it is still empty" "$(ls -A "$work/empty")" ""
out=$(broker_log "$work/la-newport/data/outbox.db" 2>&1); rc=$?
expect "rhannu-broker log of an agent's store: exit 2" "$rc" 2
expect_match "says so" "$out" "holds no audit log"
expect "and it is unchanged" "$(fingerprint "$work/la-newport/data/outbox.db")" "$agent_before"

echo "== one byte flipped at sampled offsets of every file"
stride=${DAMAGE_STRIDE:-97}
max=${DAMAGE_MAX:-240}
total=0
for f in "$work/store"/*; do total=$((total + ($(stat -c %s "$f") + stride - 1) / stride)); done
while [ $total -gt $max ]; do
    stride=$((stride * 2 + 1))
    total=0
    for f in "$work/store"/*; do total=$((total + ($(stat -c %s "$f") + stride - 1) / stride)); done
done
flip () {    # flip FILE OFFSET: xor the byte with 0xff (twice restores it)
    local byte
    byte=$(od -An -tu1 -j "$2" -N1 "$1" | tr -d ' ')
    printf "\\x$(printf %02x $((byte ^ 255)))" | dd of="$1" bs=1 seek="$2" conv=notrunc status=none
}
runs=0; identical=0; clean=0; wrong=0
declare -A by_file=()
start=$SECONDS
for f in "$work/store"/*; do
    name=$(basename "$f")
    size=$(stat -c %s "$f")
    for ((offset = 0; offset < size; offset += stride)); do
        flip "$f" $offset
        out=$(timeout 30 "$bin/rhannu-audit" verify --data "$work/store" --pki "$work/pki" 2>&1); rc=$?
        flip "$f" $offset
        runs=$((runs + 1))
        if [ $rc -eq 0 ] && [ "$(echo "$out" | head -2)" = "$baseline" ]; then
            identical=$((identical + 1))
        elif [ $rc -eq 1 ] && [[ "$out" =~ "audit log NOT valid: first bad record "[0-9]+": ". ]]; then
            clean=$((clean + 1)); by_file[$name]=$((${by_file[$name]:-0} + 1))
        elif [ $rc -eq 2 ] && [[ "$out" =~ ("ERROR db: ".*"rhannu-audit: ".*" cannot be read as a broker's data folder"|"rhannu-audit: ".*" cannot read the last record of its audit log (keys a/): ".) ]]; then
            clean=$((clean + 1)); by_file[$name]=$((${by_file[$name]:-0} + 1))
        else
            wrong=$((wrong + 1))
            [ $wrong -le 5 ] && echo "  $name at $offset: exit $rc: $(echo "$out" | head -3 | tr '\n' ' ')"
        fi
    done
done
summary=""
for name in "${!by_file[@]}"; do summary="$summary $name:${by_file[$name]}"; done
echo "  $runs runs (every ${stride}th byte of $(ls "$work/store" | wc -l) files) in $((SECONDS - start)) s: $clean failed naming what they could not read, $identical identical to the undamaged result, $wrong otherwise"
echo "  failures by file:$summary"
expect "no run reported anything but a named failure or the undamaged result" "$wrong" 0
[ $clean -gt 0 ] && ok "damage was found ($clean runs)" || bad "no damage was ever found: the test cannot fail"
expect "the store is byte for byte as it was after $runs reads" "$(fingerprint "$work/store")" "$before"
finish
