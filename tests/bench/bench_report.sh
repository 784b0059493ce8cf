#!/usr/bin/env bash
#  make bench (report): a year of BENCH_REPORT (100,000) referrals across 7 local authorities,
#  written by rh-bench-year through the broker's own rh_audit and signed by real certificates,
#  then the board report on it: rhannu-audit report for the year as JSON, CSV and HTML (verify
#  of the tree and checkpoints included, as the report always does), timed.
source "$(dirname "$0")/../integration/lib.sh"
referrals=${BENCH_REPORT:-100000}
"$bin/rhannu-ca" init "$work/pki" --days 900 >/dev/null
"$bin/rhannu-ca" issue "$work/pki" broker --type BROKER --days 800 >/dev/null
for spec in police-gwent:POLICE:newport health-abb:HEALTH:newport education-gwent:EDUCATION:newport \
            vcs-gwent:VCS:newport la-blaenau-gwent:LA_FRONT_DOOR:blaenau-gwent \
            la-caerphilly:LA_FRONT_DOOR:caerphilly la-monmouthshire:LA_FRONT_DOOR:monmouthshire \
            la-newport:LA_FRONT_DOOR:newport la-torfaen:LA_FRONT_DOOR:torfaen \
            la-cardiff:LA_FRONT_DOOR:cardiff la-vale-of-glamorgan:LA_FRONT_DOOR:vale-of-glamorgan; do
    IFS=: read -r id type la <<< "$spec"
    "$bin/rhannu-ca" issue "$work/pki" "$id" --type "$type" --la "$la" --days 800 >/dev/null
done
"$bin/rhannu-ca" crl "$work/pki" --days 400 >/dev/null
"$build_dir/tests/rh-bench-year" "$work/data" "$work/pki" "$referrals" || exit 1
echo "bench report: store $(du -sm "$work/data" | cut -f1) MiB on disk"
ms () { date +%s%3N; }
from=$(date -u -d tomorrow +%F)
to=$(date -u -d "+365 days" +%F)
t0=$(ms)
"$bin/rhannu-audit" report --data "$work/data" --pki "$work/pki" --from "$from" --to "$to" \
    --board "Gwent Safeguarding Board" --json --csv "$work/csv" --html "$work/report.html" \
    > "$work/report.json" || { echo "bench report: the report failed"; exit 1; }
t1=$(ms)
printf 'bench report: report on %d referrals (%s records) %.1f s (target <= 60 s)\n' "$referrals" \
    "$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["log"]["records"])' "$work/report.json")" \
    "$(echo "($t1 - $t0) / 1000" | bc -l)"
t0=$(ms)
"$bin/rhannu-audit" report --data "$work/data" --pki "$work/pki" --from "$from" --to "$to" \
    --board "Gwent Safeguarding Board" --lang cy --html "$work/adroddiad.html" || exit 1
t1=$(ms)
printf 'bench report: the same in Welsh %.1f s\n' "$(echo "($t1 - $t0) / 1000" | bc -l)"
finish >/dev/null
