#!/usr/bin/env bash
#  Backups of a running broker: `rhannu-broker backup` copies the store while referrals flow
#  in (the front door's agent is away, so they queue); rhannu-audit verify accepts each copy and
#  finds the root its manifest recorded; `rhannu-broker restore` puts the last one in a new
#  data/dir, and a broker on it delivers every referral the copy held to the front door.
source "$(dirname "$0")/lib.sh"
make_pki police-gwent:POLICE:newport la-newport:LA_FRONT_DOOR:newport
BACKUP_N=${BACKUP_N:-400}
start_broker
start_agent police-gwent
wait_connected police-gwent || bad "police-gwent did not connect"

manifest_field () { sed -n "s/.*\"$2\": \"\{0,1\}\([0-9a-f]*\)\"\{0,1\},\{0,1\}$/\1/p" "$1/rhannu-backup.json"; }

echo "== backups while $BACKUP_N referrals flow in"
(
    for n in $(seq 1 "$BACKUP_N"); do
        referral_json newport "backup-$n" "$n" > "$work/police-gwent/outbox/.b$n"
        mv "$work/police-gwent/outbox/.b$n" "$work/police-gwent/outbox/b$n.json"
        [ $((n % 20)) -eq 0 ] && sleep 0.05
    done
) &
feeder=$!
sleep 0.5
taken=0
for i in 1 2 3; do
    out=$("$bin/rhannu-broker" backup -f "$work/broker/broker.yaml" "$work/backup-$i" 2>&1); rc=$?
    if [ $rc -eq 0 ]; then taken=$((taken + 1)); else bad "backup $i: $out"; fi
    sleep 0.3
done
expect "three backups taken while the broker ran" "$taken" 3
wait $feeder
kill -0 "$broker_pid" 2>/dev/null && ok "the broker kept running" || bad "the broker stopped"
[ "$(stat -c %a "$work/backup-3")" = 700 ] && ok "a backup folder is 0700" || bad "backup folder mode $(stat -c %a "$work/backup-3")"

echo "== each backup verifies, with the root its manifest recorded"
sizes=""
for i in 1 2 3; do
    b="$work/backup-$i"
    out=$("$bin/rhannu-audit" verify --data "$b" --pki "$work/pki" 2>&1); rc=$?
    expect "backup $i: rhannu-audit verify passes" "$rc" 0
    root=$(printf '%s\n' "$out" | sed -n 's/^root \([0-9a-f]*\)$/\1/p')
    records=$(printf '%s\n' "$out" | sed -n 's/^audit log verified: \([0-9]*\) records.*/\1/p')
    expect "backup $i: its audit root is the manifest's" "$root" "$(manifest_field "$b" audit_root)"
    expect "backup $i: and so is its size" "$records" "$(manifest_field "$b" audit_size)"
    sizes="$sizes $records"
done
read -r s1 s2 s3 <<< "$sizes"
[ "$s1" -gt 0 ] && [ "$s1" -le "$s2" ] && [ "$s2" -le "$s3" ] \
    && ok "later backups hold more of the log ($sizes)" || bad "backup sizes:$sizes"

echo "== restore the last backup into a new data folder"
stop_agent police-gwent
stop_broker
#  What the copy holds for la-newport: the referrals its audit log says were accepted for it
#  (`rhannu-broker log` opens a store for writing: it reads a copy of the copy).
cp -r "$work/backup-3" "$work/probe"
sed "s|$work/broker/data|$work/probe|" "$work/broker/broker.yaml" > "$work/probe.yaml"
queued=$("$bin/rhannu-broker" log -f "$work/probe.yaml" 2>/dev/null \
         | grep -cE '^ *[0-9]+ +[0-9TZ:-]+ +ACCEPTED +RH_OK .* la-newport +REFERRAL')
echo "  (the last backup holds $queued referrals queued for la-newport)"
[ "$queued" -gt 0 ] && ok "referrals were queued in the copy" || bad "no queued referral in the copy"
mv "$work/broker/data" "$work/broker/data-lost"
out=$("$bin/rhannu-broker" restore -f "$work/broker/broker.yaml" "$work/backup-3" 2>&1)
expect "rhannu-broker restore succeeds" "$?" 0
expect_match "and reports the log it restored" "$out" "audit log: $s3 records, root $(manifest_field "$work/backup-3" audit_root)"
out=$("$bin/rhannu-broker" restore -f "$work/broker/broker.yaml" "$work/backup-2" 2>&1)
[ $? -ne 0 ] && ok "restore refuses a data folder that holds a store" || bad "restore overwrote a store"
"$bin/rhannu-audit" verify --data "$work/broker/data" --pki "$work/pki" >/dev/null 2>&1 \
    && ok "the restored store verifies" || bad "the restored store does not verify"

echo "== a broker on the restored store delivers every referral the copy held"
start_broker
start_agent la-newport
wait_connected la-newport || bad "la-newport did not connect"
wait_count "$work/la-newport/inbox" "$queued" 60
sleep 1
expect "la-newport received every queued referral, once" "$(count_files "$work/la-newport/inbox")" "$queued"

echo "== a changed backup is refused"
cp -r "$work/backup-1" "$work/tampered"
sed -i 's/"audit_size": [0-9]*/"audit_size": 1/' "$work/tampered/rhannu-backup.json"
sed "s|$work/broker/data|$work/other|" "$work/broker/broker.yaml" > "$work/other.yaml"
"$bin/rhannu-broker" restore -f "$work/other.yaml" "$work/tampered" >/dev/null 2>&1 \
    && bad "a backup whose manifest does not match was restored" || ok "a backup whose manifest does not match is refused"
"$bin/rhannu-broker" backup -f "$work/broker/broker.yaml" "$work/backup-1" >/dev/null 2>&1 \
    && bad "a backup overwrote an earlier one" || ok "backup refuses a folder that holds a store"
finish
