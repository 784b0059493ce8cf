#!/usr/bin/env bash
#  make demo: a throwaway PKI, a broker and five agency agents on loopback, and one referral
#  followed from the police officer's spool folder to the front door and its outcome back.
#  Everything stays in demo/run/ for inspection; running again starts afresh.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
bin="$top/build/bin"
run="$top/demo/run"
port=${DEMO_PORT:-5670}
pids=()

source "$top/deploy/demo_lib.sh"

#  Waits up to $2 seconds for a file matching the glob $1; prints its path.
wait_for () {
    local deadline=$((SECONDS + $2))
    while [ $SECONDS -lt $deadline ]; do
        for f in $1; do [ -e "$f" ] && { echo "$f"; return 0; }; done
        sleep 0.1
    done
    echo "demo: nothing arrived at $1 within $2 s" >&2
    return 1
}
field () { grep -o "\"$2\": *\"[^\"]*\"" "$1" | head -1 | sed 's/.*: *"\(.*\)"/\1/'; }

rm -rf "$run"
mkdir -p "$run"

#  Agencies: folder name = agency id, kind and place as the folder names promise.
agencies=(
    "police-gwent POLICE newport gwent"
    "health-aneurin-bevan HEALTH newport gwent"
    "education-newport EDUCATION newport gwent"
    "vcs-newport-womens-aid VCS newport gwent"
    "la-newport LA_FRONT_DOOR newport gwent"
)

say "1. The regional board creates a throwaway PKI in demo/run/pki"
"$bin/rhannu-ca" init "$run/pki" --name "Gwent Safeguarding Board demo CA" >/dev/null
"$bin/rhannu-ca" issue "$run/pki" broker --type BROKER --region gwent >/dev/null
for a in "${agencies[@]}"; do
    set -- $a
    "$bin/rhannu-ca" issue "$run/pki" "$1" --type "$2" --la "$3" --region "$4" >/dev/null
done
"$bin/rhannu-ca" list "$run/pki" | sed 's/^/  /'

say "2. The board signs the regional sharing agreement the broker will enforce"
mkdir -p "$run/broker/agreements"
cp "$top/deploy/agreements/gwent-safeguarding.yaml" "$run/broker/agreements/"
"$bin/rhannu-ca" sign-agreement "$run/pki" "$run/broker/agreements/gwent-safeguarding.yaml" \
    | sed "s|$run/|demo/run/|g; s/^/  /"
"$bin/rhannu-broker" check-agreement "$run/broker/agreements/gwent-safeguarding.yaml" --pki "$run/pki" \
    | sed "s|$run/|demo/run/|g; s/^/  /"
echo "  and makes the trust bundle the broker pushes to every agent (certificates, CRL, front doors,"
echo "  agreements in force; signed, versioned, expiring):"
"$bin/rhannu-ca" bundle "$run/pki" --agreements "$run/broker/agreements" 2>/dev/null \
    | sed "s|$run/|demo/run/|g; s/^/  /"

say "3. Start the broker (demo/run/broker) and five agents on 127.0.0.1:$port"
mkdir -p "$run/broker"
cat > "$run/broker/broker.yaml" <<EOF
bind:
  endpoint: tcp://127.0.0.1:$port
pki:
  dir: $run/pki
data:
  dir: $run/broker/data
policy:
  dir: $run/broker/agreements
EOF
RH_LOG_LEVEL=${RH_LOG_LEVEL:-info} "$bin/rhannu-broker" -f "$run/broker/broker.yaml" \
    2> "$run/broker/broker.log" &
pids+=($!)
for a in "${agencies[@]}"; do
    set -- $a
    mkdir -p "$run/$1"
    cat > "$run/$1/agent.yaml" <<EOF
agency:
  id: $1
pki:
  dir: $run/pki
broker:
  endpoint: tcp://127.0.0.1:$port
spool:
  dir: $run/$1
  scan_ms: 100
data:
  dir: $run/$1/data
EOF
    "$bin/rhannu-agent" -f "$run/$1/agent.yaml" 2> "$run/$1/agent.log" &
    pids+=($!)
    note "$1 ($2): spool folders in demo/run/$1/{outbox,inbox,failed}"
done
for a in "${agencies[@]}"; do
    set -- $a
    deadline=$((SECONDS + 10))
    until grep -q '"connected": true' "$run/$1/data/status.json" 2>/dev/null; do
        [ $SECONDS -lt $deadline ] || { echo "demo: $1 did not connect"; cat "$run/$1/agent.log"; exit 1; }
        sleep 0.1
    done
done
note "all five agents connected over CURVE; the broker admitted each by its certificate"

say "4. PC-4411 of Gwent Police files a PPN: a child was present at a domestic incident"
"$bin/rhannu-agent" send -f "$run/police-gwent/agent.yaml" "$top/deploy/examples/ppn-referral.json" \
    | sed "s|$run/|demo/run/|g; s|$top/||g; s/^/  /"
note "addressed to \"the front door of newport\" (the officer wrote IAA); the agent signs it"
note "agreement rule R1 allows referrals to the front door of the subject's local authority;"
note "consent is not needed here: significant harm is recorded"

referral=$(wait_for "$run/la-newport/inbox/*.json" 10)
referral_id=$(field "$referral" msg_id)
say "5. The broker verified the signature, stored it durably, acknowledged it and delivered it"
deadline=$((SECONDS + 5))
until grep -q '"accepted": 1' "$run/police-gwent/data/status.json"; do
    [ $SECONDS -lt $deadline ] || break
    sleep 0.1
done
note "police agent status: $(grep -o '"accepted": [0-9]*' "$run/police-gwent/data/status.json"), $(grep -o '"outbox_queued": [0-9]*' "$run/police-gwent/data/status.json") (the broker acknowledged after its fsync)"
note "Newport front door received demo/run/la-newport/inbox/$(basename "$referral")"
note "  kind $(field "$referral" kind), from $(field "$referral" sender), case $(field "$referral" case_id)"
note "  signature checked again by the LA's own agent before the file was written"
"$bin/rhannu-agent" inbox -f "$run/la-newport/agent.yaml" | sed "s|$run/|demo/run/|g; s/^/  /"

receipt=$(wait_for "$run/police-gwent/inbox/*.json" 10)
note "the officer's agent received the broker's receipt: demo/run/police-gwent/inbox/$(basename "$receipt")"
note "  $(field "$receipt" summary)"
note "  (the broker wrote and signed it when the Newport agent took the referral in)"

say "6. The front door decides: step down to Families First, and records it against the case"
"$bin/rhannu-agent" send -f "$run/la-newport/agent.yaml" "$top/deploy/examples/outcome.json" \
    | sed "s|$run/|demo/run/|g; s|$top/||g; s/^/  /"
note "the outcome names nobody: only case GW-2026-001234, as the front door knows it"

notice_of () {    # the newest inbox file of the police holding a NOTICE with $1 in it
    local deadline=$((SECONDS + 10)) f
    while [ $SECONDS -lt $deadline ]; do
        f=$(grep -l "\"notice_kind\": \"$1\"" "$run"/police-gwent/inbox/*.json 2>/dev/null | head -1)
        [ -n "$f" ] && { echo "$f"; return 0; }
        sleep 0.1
    done
    echo "demo: no $1 notice arrived" >&2
    return 1
}
outcome=$(notice_of NOTICE_OUTCOME)
say "7. The officer hears what happened, without anyone at the LA addressing it"
note "demo/run/police-gwent/inbox/$(basename "$outcome")  (kind NOTICE, signed by the broker)"
note "  summary:   $(field "$outcome" summary)"
note "  Welsh:     $(field "$outcome" summary_cy)"
note "  for:       $(field "$outcome" for_practitioner), copy to $(tr -d '\n ' < "$outcome" | grep -o '"copy_to":\[[^]]*\]' | sed 's/"copy_to":\[//; s/\]//')"
note "  inside, the front door's own signed outcome (both signatures checked by the agent):"
note "  decision:  $(field "$outcome" decision)"
note "  rationale: $(field "$outcome" rationale)"
note "  referrer:  $(field "$outcome" referrer_role)"
note "  delivered under agreement $(field "$outcome" agreement_id), rule $(field "$outcome" rule_id)"
note "  withheld by the agreement (the officer's copy has only their commitments):"
note "    $(tr -d '\n ' < "$outcome" | grep -o '"withheld":\[[^]]*"[^]]*\]' | sed 's/"withheld":\[//; s/\]//; s/,/, /g')"

say "7b. Later the front door records that a key worker was allocated; the officer is told"
"$bin/rhannu-agent" send -f "$run/la-newport/agent.yaml" "$top/deploy/examples/allocated.json" \
    | sed "s|$run/|demo/run/|g; s|$top/||g; s/^/  /"
update=$(notice_of NOTICE_UPDATE)
note "demo/run/police-gwent/inbox/$(basename "$update")"
note "  summary:   $(field "$update" summary)"
note "  detail:    $(field "$update" detail)"
sleep 0.6
note "the officer's agent keeps track (rhannu-agent status):"
"$bin/rhannu-agent" status -f "$run/police-gwent/agent.yaml" | sed -n '/open referrals/,$p' | sed 's/^/  /'

say "8. The agreement refuses what it does not allow, and says why"
"$bin/rhannu-agent" send -f "$run/education-newport/agent.yaml" \
    "$top/deploy/examples/school-referral-no-consent.json" | sed "s|$run/|demo/run/|g; s|$top/||g; s/^/  /"
note "a school asks for CARE_AND_SUPPORT without having sought consent"
refused=$(wait_for "$run/education-newport/failed/*.error" 10)
note "demo/run/education-newport/failed/$(basename "$refused"):"
sed 's/^/    /' "$refused"

say "9. Nothing else went anywhere, and nothing is left over"
for a in "${agencies[@]}"; do
    set -- $a
    n=$(find "$run/$1/inbox" -maxdepth 1 -name '*.json' | wc -l)
    f=$(find "$run/$1/failed" -maxdepth 1 -type f | wc -l)
    note "$(printf '%-24s inbox %d  failed %d' "$1" "$n" "$f")"
done
note "(education-newport's failed/ holds the refused referral and its .error)"
sleep 0.5
stop_all
trap - EXIT
sleep 0.5
stop_all
trap - EXIT
say "10. The broker's hash-chained audit log (rhannu-broker log), after a clean stop"
"$bin/rhannu-broker" log -f "$run/broker/broker.yaml" | sed 's/^/  /'
say "11. The auditor's view, from the broker's data and the PKI (rhannu-audit)"
"$bin/rhannu-audit" verify --data "$run/broker/data" --pki "$run/pki" | sed 's/^/  /'
"$bin/rhannu-audit" chronology --case GW-2026-001234 --data "$run/broker/data" --pki "$run/pki" | sed 's/^/  /'
"$bin/rhannu-audit" report --data "$run/broker/data" --pki "$run/pki" --html "$run/report.html" --csv "$run/report" \
    && note "report: demo/run/report.html (open it in a browser), CSV in demo/run/report/"
say "Done. Inspect demo/run/: pki/, broker/ (data, log), one folder per agency."
