#!/usr/bin/env bash
#  Crash tests: kill -9 the broker (several times), a sending agent and a receiving agent while
#  three agencies send CRASH_N messages (default 10,000) to a front door. Counts like a queue
#  checker: attempted, acknowledged, delivered, lost (acknowledged, never delivered), unexpected
#  (delivered, never sent) and duplicated (delivered twice into the agency's spool). Lost,
#  unexpected and duplicated must be 0, and everything attempted must arrive.
source "$(dirname "$0")/lib.sh"
total=${CRASH_N:-10000}
senders=(police-gwent health-abb education-newport)
make_pki police-gwent:POLICE:newport health-abb:HEALTH:newport education-newport:EDUCATION:newport \
    la-newport:LA_FRONT_DOOR:newport
REDELIVER_MS=1000 RESEND_MS=1000

#  The agency's own system: moves each new inbox file away, noting any name seen twice.
consume () {    # consume PHASE
    local inbox="$work/la-newport/inbox" done="$work/consumed-$1"
    mkdir -p "$done"
    declare -A seen=()
    : > "$work/dups-$1"
    while [ ! -e "$work/stop-consumer" ]; do
        local batch=()
        for f in "$inbox"/*.json; do
            [ -e "$f" ] || continue
            local b=${f##*/}
            [ -n "${seen[$b]:-}" ] && echo "$b" >> "$work/dups-$1"
            seen[$b]=1
            batch+=("$f")
        done
        [ ${#batch[@]} -gt 0 ] && mv -f "${batch[@]}" "$done/"
        sleep 0.1
    done
}

#  Drops the phase's messages into the senders' outboxes (write then rename, as documented).
drop () {    # drop PHASE
    local i=0 per=$(( (total + ${#senders[@]} - 1) / ${#senders[@]} ))
    : > "$work/attempted-$1"
    for s in "${senders[@]}"; do
        mkdir -p "$work/stage-$1-$s"
        for n in $(seq 1 $per); do
            [ $i -lt $total ] || break
            i=$((i + 1))
            printf '{"kind":"REFERRAL","to":[{"front_door_la":"newport"}],"case_id":"%s-%s-%d","body":{"narrative":"crash test message %d"}}' \
                "$1" "$s" "$n" "$i" > "$work/stage-$1-$s/m$n.json"
            echo "$1-$s-$n" >> "$work/attempted-$1"
        done
    done
    for s in "${senders[@]}"; do
        find "$work/stage-$1-$s" -name '*.json' -exec mv -t "$work/$s/outbox/" {} +
    done
}

delivered_count () { find "$work/consumed-$1" -name '*.json' | wc -l; }
wait_all () {    # wait_all PHASE SECONDS: fails when nothing more arrives for SECONDS
    #  A stall, not slowness, is the failure: on a machine busy with other work the messages
    #  may take many minutes, and each one that arrives moves the deadline (up to an hour).
    local count last=-1 deadline=$((SECONDS + $2)) limit=$((SECONDS + 3600))
    until count=$(delivered_count "$1"); [ "$count" -ge "$total" ]; do
        [ "$count" -gt "$last" ] && { last=$count; deadline=$((SECONDS + $2)); }
        [ $SECONDS -lt $deadline ] && [ $SECONDS -lt $limit ] || return 1
        sleep 0.5
    done
    sleep 2     #  anything more that arrives now is a duplicate or unexpected
}

report () {    # report PHASE
    local phase=$1
    cut -d' ' -f2 "$work/delivered-map-$phase" | sort > "$work/delivered-$phase"
    sort -u "$work/attempted-$phase" > "$work/attempted-$phase.sorted"
    local attempted delivered unique lost unexpected dups acked
    attempted=$(wc -l < "$work/attempted-$phase.sorted")
    delivered=$(wc -l < "$work/delivered-$phase")
    unique=$(sort -u "$work/delivered-$phase" | wc -l)
    #  Acknowledged: accepted by the broker (its audit log) in this phase.
    acked=$(wc -l < "$work/accepted-$phase")
    lost=$(grep -c '^UNDELIVERED-' "$work/accepted-$phase" || true)
    unexpected=$(comm -13 "$work/attempted-$phase.sorted" <(sort -u "$work/delivered-$phase") | wc -l)
    dups=$(( delivered - unique + $(wc -l < "$work/dups-$phase") ))
    echo "  $phase: attempted $attempted, acknowledged $acked, delivered $unique, lost $lost, unexpected $unexpected, duplicated $dups"
    expect "$phase: everything attempted was acknowledged" "$acked" "$attempted"
    expect "$phase: everything attempted was delivered" "$unique" "$attempted"
    expect "$phase: lost (acknowledged but never delivered)" "$lost" 0
    expect "$phase: unexpected (delivered but never sent)" "$unexpected" 0
    expect "$phase: duplicated at the spool" "$dups" 0
}

#  The broker's audit log lists, per accepted message, its id; the case ids come from the
#  delivered files, so map accepted msg ids to case ids through what was delivered.
accepted_cases () {    # accepted_cases PHASE
    "$bin/rhannu-broker" log -f "$work/broker/broker.yaml" | awk '$3 == "ACCEPTED" {print $5}' | sort -u \
        | comm -23 - "$work/accepted-before" > "$work/accepted-ids"
    sort -u "$work/accepted-ids" "$work/accepted-before" -o "$work/accepted-before"
    find "$work/consumed-$1" -name '*.json' -exec grep -o -H '"case_id": "[^"]*"' {} + \
        | sed 's|^.*/\([^/]*\)\.json:"case_id": "\(.*\)"$|\1 \2|' | sort > "$work/delivered-map-$1"
    join "$work/accepted-ids" "$work/delivered-map-$1" | awk '{print $2}' > "$work/accepted-$1"
    #  Accepted messages that were never delivered have no case id here: count them as ids.
    comm -23 "$work/accepted-ids" <(cut -d' ' -f1 "$work/delivered-map-$1") | sed 's/^/UNDELIVERED-/' >> "$work/accepted-$1"
}

: > "$work/accepted-before"    #  accepted in earlier phases
start_broker
for a in "${senders[@]}" la-newport; do start_agent $a; done
for a in "${senders[@]}" la-newport; do wait_connected $a || bad "$a did not connect"; done

#  The crashes of each phase: NAME runs them while the phase's messages flow.
crash_broker () {
    for k in 1 2 3 4 5; do
        sleep 0.$((RANDOM % 7 + 3)); kill_broker; sleep 0.2; start_broker
    done
}
crash_sender () {
    for k in 1 2 3; do
        sleep 0.$((RANDOM % 5 + 2)); kill_agent police-gwent; start_agent police-gwent
    done
}
crash_receiver () {
    for k in 1 2 3; do
        sleep 0.$((RANDOM % 5 + 3)); kill_agent la-newport; start_agent la-newport
    done
}

run_phase () {    # run_phase NAME CRASHES DESCRIPTION
    local phase=$1 start=$SECONDS
    echo "== $phase: $3 while $total messages flow"
    rm -f "$work/stop-consumer"; consume "$phase" & local consumer=$!
    drop "$phase"
    $2
    wait_all "$phase" 180 || bad "$phase: only $(delivered_count "$phase") of $total arrived (none for 180 s)"
    touch "$work/stop-consumer"; wait $consumer
    #  The audit log is read from a stopped broker; the next phase gets it back.
    stop_broker; accepted_cases "$phase"; start_broker
    report "$phase"
    echo "  (phase took $((SECONDS - start)) s)"
}

run_phase broker-kill crash_broker "kill -9 the broker five times"
run_phase sender-kill crash_sender "kill -9 a sending agent three times"
run_phase receiver-kill crash_receiver "kill -9 the receiving agent three times"
stop_broker
expect_match "the audit chain survived every crash" "$("$bin/rhannu-broker" log -f "$work/broker/broker.yaml" | tail -1)" "Merkle tree intact"
finish
