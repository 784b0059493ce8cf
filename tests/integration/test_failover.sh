#!/usr/bin/env bash
#  An active/standby pair on one store: two brokers on two ports share one data folder (same
#  configuration but the port). The second waits for the store's lock without listening; agents
#  list both (broker/endpoints). While three agencies send through their spool folders to a front
#  door, the active broker is killed with -9: the standby takes over, the agents move to it and
#  send again what was unanswered, and nothing is lost, nothing unexpected arrives and nothing is
#  duplicated at the spool. Then back the other way, and a broker that goes silent (SIGSTOP) is
#  found by heartbeat within broker/dead_after_ms and left. The failover time (last answer before the
#  kill to the first after, as each agent measured it) is printed; only a generous bound is
#  asserted, the machine may be fully busy.
#  The shared helpers (tests/integration/ha_lib.sh) also drive make soak-ha.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/ha_lib.sh"
total=${FAILOVER_N:-240}

ha_network

echo "== the second broker on the store is a standby, and does not listen"
ha_start a "$port"
ha_wait_log a ": ready$" 60 || bad "broker a did not start"
ha_start b "$port_b"
ha_wait_log b "standby: waiting for the store" 30 && ok "b says it is a standby" || bad "b is no standby"
sleep 0.5
kill -0 "${ha_pids[b]}" 2>/dev/null && ok "b keeps waiting" || bad "b exited"
expect "b does not listen while standby" "$(ha_listening "$port_b")" no
expect "a listens" "$(ha_listening "$port")" yes

echo "== a standby answers SIGTERM at once"
t0=$(date +%s%N)
kill -TERM "${ha_pids[b]}"; wait "${ha_pids[b]}"; rc=$?
waited=$(( ($(date +%s%N) - t0) / 1000000 ))
expect "it exits cleanly" "$rc" 0
[ "$waited" -lt 5000 ] && ok "within 5 s (took $waited ms)" || bad "SIGTERM took $waited ms"
ha_start b "$port_b"
ha_wait_log b "standby: waiting for the store" 30 || bad "b is no standby again"

ha_agents
for a in "${ha_senders[@]}" la-newport; do wait_connected $a || bad "$a did not connect"; done

echo "== kill -9 the active broker (a) while $total messages flow"
ha_run_phase one a b "$total" 60
ha_report one

echo "== start a again: it is the standby now; kill -9 b (the front door frozen across the kill)"
ha_start a "$port"
ha_wait_log a "standby: waiting for the store" 30 && ok "a waits as the standby" || bad "a is no standby"
expect "a does not listen while standby" "$(ha_listening "$port")" no
dropped_before=$(grep -o '"duplicates_dropped": [0-9]*' "$work/la-newport/data/status.json" | grep -o '[0-9]*$')
HA_FREEZE_RECEIVER=1 ha_run_phase two b a "$total" 60
ha_report two
dropped=$(grep -o '"duplicates_dropped": [0-9]*' "$work/la-newport/data/status.json" | grep -o '[0-9]*$')
[ "${dropped:-0}" -gt "${dropped_before:-0}" ] \
    && ok "the front door dropped $((dropped - dropped_before)) redeliveries it had taken in before the kill" \
    || bad "no redelivery reached the front door's de-duplication (dropped ${dropped:-0})"
ha_times 60000

echo "== a silent broker (SIGSTOP: connections stay open) is found by heartbeat and left"
declare -A lost_before=()
for a in "${ha_senders[@]}"; do lost_before[$a]=$(grep -c "lost the broker at tcp://127.0.0.1:$port:" "$work/$a/agent.log"); done
stopped_at=$(now_ms)
kill -STOP "${ha_pids[a]}"
for a in "${ha_senders[@]}"; do
    deadline=$((SECONDS + 30))
    until [ "$(grep -c "lost the broker at tcp://127.0.0.1:$port:" "$work/$a/agent.log")" -gt "${lost_before[$a]}" ] \
        || [ $SECONDS -ge $deadline ]; do sleep 0.1; done
    line=$(grep "lost the broker at tcp://127.0.0.1:$port:" "$work/$a/agent.log" | tail -1)
    if [ "$(grep -c "lost the broker at tcp://127.0.0.1:$port:" "$work/$a/agent.log")" -gt "${lost_before[$a]}" ]; then
        ok "$a left the silent broker $(( $(log_ms "$line") - stopped_at )) ms after it stopped (dead_after_ms 3000)"
    else
        bad "$a did not leave the silent broker"
    fi
done
kill -CONT "${ha_pids[a]}"
#  Nobody takes over (b was killed in the second failover, and a still holds the store): the
#  agents go round the list and come back to a once it answers again.
ha_drop three 30
deadline=$((SECONDS + 60))
until [ "$(count_files "$work/la-newport/inbox")" -ge 30 ] || [ $SECONDS -ge $deadline ]; do sleep 0.2; done
expect "the agents came back to a and its messages arrived" "$(count_files "$work/la-newport/inbox")" 30

echo "== what the agents say"
for a in "${ha_senders[@]}"; do
    expect_match "$a counted its failovers in status.json" \
        "$(grep -o '"failovers": [0-9]*' "$work/$a/data/status.json")" '"failovers": [1-9]'
done
expect "no agent refused or gave up a message" "$(cat "$work"/*/failed/*.json 2>/dev/null | wc -l)" 0

ha_stop_all
expect_match "the audit chain is intact after both kills" \
    "$("$bin/rhannu-broker" log -f "$work/broker-a/broker.yaml" | tail -1)" "Merkle tree intact"
finish
