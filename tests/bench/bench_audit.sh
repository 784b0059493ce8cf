#!/usr/bin/env bash
#  make bench (audit): a log of BENCH_AUDIT (1,000,000) records written by rh-bench-audit through
#  the broker's own rh_audit, then rhannu-audit: verify (tree, checkpoints, every signature),
#  report, and one chronology and one inclusion proof (both indexed: no scan).
source "$(dirname "$0")/../integration/lib.sh"
records=${BENCH_AUDIT:-1000000}
make_pki police-gwent:POLICE:newport la-newport:LA_FRONT_DOOR:newport
"$build_dir/tests/rh-bench-audit" "$work/data" $records "$work/pki" || exit 1
echo "bench audit: log $(du -sm "$work/data" | cut -f1) MiB on disk"
ms () { date +%s%3N; }
#  Wall time is what the target is about; CPU time (user + system, all threads) says what the
#  run would take on an idle machine when the machine is shared, with the load average beside it.
load=$(cut -d' ' -f1 /proc/loadavg 2>/dev/null || echo "?")
TIMEFORMAT='%R %U %S'
{ time "$bin/rhannu-audit" verify --data "$work/data" --pki "$work/pki" > "$work/verify.txt"; } 2> "$work/verify.time"
read -r wall user sys < <(tail -1 "$work/verify.time")
head -1 "$work/verify.txt" | sed 's/^/bench audit: /'
printf 'bench audit: verify %.1f s: %.0f records/s (target >= 30,000); %.1f CPU-s, %.0f records per CPU-second (load average %s before)\n' \
    "$wall" "$(echo "$records / $wall" | bc -l)" "$(echo "$user + $sys" | bc -l)" \
    "$(echo "$records / ($user + $sys)" | bc -l)" "$load"
t0=$(ms); "$bin/rhannu-audit" report --data "$work/data" --pki "$work/pki" --json > "$work/report.json"; t1=$(ms)
printf 'bench audit: report %.1f s (target <= 60 s)\n' "$(echo "($t1 - $t0) / 1000" | bc -l)"
case_id="BENCH-$((records / 6))"
t0=$(ms); "$bin/rhannu-audit" chronology --case $case_id --data "$work/data" --pki "$work/pki" > "$work/chronology.txt"; t1=$(ms)
printf 'bench audit: chronology of one case %d ms including start-up (target <= 100 ms): %s\n' $((t1 - t0)) "$(head -1 "$work/chronology.txt")"
msg=$(grep -m1 ACCEPTED "$work/chronology.txt" | awk '{print $1}')
msg=$(grep -o '[0-9a-f]\{8\}-[0-9a-f-]\{27\}' "$work/chronology.txt" | head -1)
id=$("$bin/rhannu-audit" chronology --case $case_id --data "$work/data" --pki "$work/pki" --json | grep -o '"message": "[^"]*"' | head -1 | cut -d'"' -f4)
t0=$(ms); "$bin/rhannu-audit" proof --message "$id" --data "$work/data" --pki "$work/pki" > "$work/proof.txt"; rc=$?; t1=$(ms)
printf 'bench audit: inclusion proof %d ms including start-up (target <= 100 ms): %s\n' $((t1 - t0)) "$(tail -1 "$work/proof.txt")"
finish >/dev/null
