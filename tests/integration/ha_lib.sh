#  Helpers for the active/standby tests (test_failover.sh, make soak-ha): two brokers on two
#  ports over one store, three sending agencies and a front door listing both brokers, traffic
#  through the spool folders, and counting like a queue checker. Source after lib.sh.
ha_senders=(police-gwent health-abb education-newport)
declare -A ha_pids=() ha_logs=() ha_starts=()
ha_failovers=()    #  each agent-measured failover time, ms (last answer before to first after)
ha_takeovers=()    #  kill to the heir's "ready", ms

#  ha_network: the PKI, a second port and the shared store.
ha_network () {
    make_pki police-gwent:POLICE:newport health-abb:HEALTH:newport \
        education-newport:EDUCATION:newport la-newport:LA_FRONT_DOOR:newport
    claim_port; port_b=$claimed_port
    declare -gA ha_port=([a]=$port [b]=$port_b)
    : > "$work/attempted-all"
}

now_ms () { date +%s%3N; }
#  A log line's time (2026-12-01T13:05:01.123Z ...) in ms.
log_ms () { date -d "$(cut -d' ' -f1 <<< "$1")" +%s%3N; }

#  ha_start NAME PORT: broker NAME (a or b) on PORT over the shared store, logging to a new file.
ha_start () {
    local name=$1 p=$2 dir="$work/broker-$1"
    mkdir -p "$dir"
    cat > "$dir/broker.yaml" <<EOF2
bind:
  endpoint: tcp://127.0.0.1:$p
pki:
  dir: $work/pki
data:
  dir: $work/store
policy:
  dir: $work/agreements
delivery:
  redeliver_ms: 1000
EOF2
    ha_starts[$name]=$(( ${ha_starts[$name]:-0} + 1 ))
    ha_logs[$name]="$dir/broker-${ha_starts[$name]}.log"
    RH_LOG_LEVEL=info "$bin/rhannu-broker" -f "$dir/broker.yaml" 2>> "${ha_logs[$name]}" &
    ha_pids[$name]=$!
    extra_pids+=("$!")
}
#  ha_wait_log NAME PATTERN SECONDS: waits for PATTERN in NAME's current log.
ha_wait_log () {
    local deadline=$((SECONDS + $3))
    until grep -q "$2" "${ha_logs[$1]}" 2>/dev/null; do
        [ $SECONDS -lt $deadline ] || return 1
        sleep 0.05
    done
}
ha_listening () { ss -Htln 2>/dev/null | awk '{print $4}' | grep -q ":$1\$" && echo yes || echo no; }
ha_kill () { kill -9 "${ha_pids[$1]}" 2>/dev/null; wait "${ha_pids[$1]}" 2>/dev/null; ha_pids[$1]=""; }
ha_stop () {
    [ -n "${ha_pids[$1]:-}" ] || return 0
    kill -TERM "${ha_pids[$1]}" 2>/dev/null; wait "${ha_pids[$1]}" 2>/dev/null; ha_pids[$1]=""
}
ha_stop_all () {
    for a in "${!agent_pids[@]}"; do stop_agent "$a"; done
    ha_stop a; ha_stop b
}

#  ha_agents: the four agents, each listing both brokers (a first). The front door's PKI folder
#  holds only certificates for the broker (no curve.pub): it finds the brokers' CURVE key in the
#  BROKER certificate named by broker/identity, as an agent does from the trust bundle.
ha_agents () {
    local a pki
    cp -a "$work/pki" "$work/pki-certs-only"
    rm -f "$work/pki-certs-only/broker/curve.pub" "$work/pki-certs-only/broker/curve.key" \
        "$work/pki-certs-only/broker/key.pem"
    for a in "${ha_senders[@]}" la-newport; do
        mkdir -p "$work/$a"
        pki="$work/pki"
        [ "$a" = la-newport ] && pki="$work/pki-certs-only"
        cat > "$work/$a/agent.yaml" <<EOF2
agency:
  id: $a
pki:
  dir: $pki
broker:
  endpoints: tcp://127.0.0.1:${ha_port[a]} tcp://127.0.0.1:${ha_port[b]}
  dead_after_ms: ${HA_DEAD_AFTER_MS:-3000}
spool:
  dir: $work/$a
  scan_ms: 50
data:
  dir: $work/$a/data
send:
  resend_ms: 2000
EOF2
        RH_LOG_LEVEL=info start_agent $a
    done
}

#  The front door's own system: moves each new inbox file away, noting any name seen twice
#  (across phases too: $work/seen-names).
ha_consume () {    # ha_consume PHASE
    local inbox="$work/la-newport/inbox" done="$work/consumed-$1" f b
    mkdir -p "$done"
    : > "$work/dups-$1"
    while [ ! -e "$work/stop-consumer" ]; do
        local batch=()
        for f in "$inbox"/*.json; do
            [ -e "$f" ] || continue
            b=${f##*/}
            grep -qxF "$b" "$work/seen-names" 2>/dev/null && echo "$b" >> "$work/dups-$1"
            echo "$b" >> "$work/seen-names"
            batch+=("$f")
        done
        [ ${#batch[@]} -gt 0 ] && mv -f "${batch[@]}" "$done/"
        sleep 0.1
    done
}

#  Drops a phase's messages a few at a time (write then rename), so that traffic goes on through
#  the kill: 2 per sender every 0.1 s.
ha_drop () {    # ha_drop PHASE TOTAL
    local i=0 n=0 s
    mkdir -p "$work/stage-$1"
    while [ $i -lt "$2" ]; do
        n=$((n + 1))
        for s in "${ha_senders[@]}" "${ha_senders[@]}"; do
            [ $i -lt "$2" ] || break
            i=$((i + 1))
            printf '{"kind":"REFERRAL","to":[{"front_door_la":"newport"}],"case_id":"%s-%s-%d","body":{"narrative":"failover test message %d"}}' \
                "$1" "$s" "$i" "$i" > "$work/stage-$1/m$i.json"
            mv "$work/stage-$1/m$i.json" "$work/$s/outbox/$1-m$i.json"
            echo "$1-$s-$i" >> "$work/attempted-$1"
        done
        sleep 0.1
    done
}

ha_delivered () { find "$work/consumed-$1" -name '*.json' 2>/dev/null | wc -l; }
ha_accepted () {
    local a sum=0 n
    for a in "${ha_senders[@]}"; do
        n=$(grep -o '"accepted": [0-9]*' "$work/$a/data/status.json" 2>/dev/null | grep -o '[0-9]*$')
        sum=$((sum + ${n:-0}))
    done
    echo $sum
}

#  ha_run_phase PHASE VICTIM HEIR TOTAL SECONDS: sends TOTAL messages, kill -9 VICTIM (the active
#  broker) once a quarter have arrived, waits for HEIR (the standby) to take over and for every
#  message to arrive.
ha_run_phase () {
    local phase=$1 victim=$2 heir=$3 n=$4 limit=$5 a kill_at ready_line line ms
    : > "$work/attempted-$phase"
    ha_accepted_before=$(ha_accepted)
    rm -f "$work/stop-consumer"; ha_consume "$phase" & local consumer=$!
    ha_drop "$phase" "$n" & local dropper=$!
    local deadline=$((SECONDS + limit))
    until [ "$(ha_delivered "$phase")" -ge $((n / 4)) ] || [ $SECONDS -ge $deadline ]; do sleep 0.05; done
    declare -A answers_before=()
    for a in "${ha_senders[@]}"; do
        answers_before[$a]=$(grep -c "answers: [0-9]* ms since" "$work/$a/agent.log")
    done
    if [ -n "${HA_FREEZE_RECEIVER:-}" ]; then
        #  The front door stops for a moment before the kill: deliveries wait in its socket, and
        #  when it wakes it takes them in and acknowledges them to a broker that is gone. The
        #  heir delivers them again, and the inbox's records must drop them.
        kill -STOP "${agent_pids[la-newport]}"; sleep 0.5
    fi
    kill_at=$(now_ms)
    ha_kill "$victim"
    [ -n "${HA_FREEZE_RECEIVER:-}" ] && { sleep 0.3; kill -CONT "${agent_pids[la-newport]}"; }
    if ha_wait_log "$heir" ": ready$" "$limit"; then
        ready_line=$(grep -m1 ": ready$" "${ha_logs[$heir]}")
        ms=$(( $(log_ms "$ready_line") - kill_at ))
        ha_takeovers+=("$ms")
        echo "  $heir took over: ready $ms ms after the kill ($(grep -o 'released after [0-9]* ms' "${ha_logs[$heir]}" | tail -1) of standby)"
    else
        bad "$phase: $heir did not take over"
    fi
    wait $dropper
    deadline=$((SECONDS + limit))
    until [ "$(ha_delivered "$phase")" -ge "$n" ] || [ $SECONDS -ge $deadline ]; do sleep 0.2; done
    sleep 2    #  anything more that arrives now is a duplicate or unexpected
    touch "$work/stop-consumer"; wait $consumer
    cat "$work/attempted-$phase" >> "$work/attempted-all"
    #  Each sender's own measure of the outage: from its last answer before the link was lost to
    #  the first answer from the heir.
    for a in "${ha_senders[@]}"; do
        line=$(grep "answers: [0-9]* ms since" "$work/$a/agent.log" | sed -n "$((answers_before[$a] + 1))p")
        ms=$(grep -o 'answers: [0-9]*' <<< "$line" | grep -o '[0-9]*$')
        if [ -n "$ms" ]; then
            ha_failovers+=("$ms")
            echo "  $a: failover $ms ms (last answer before the kill to the first after)"
        else
            bad "$phase: $a measured no failover"
        fi
    done
}

#  ha_report PHASE: attempted, acknowledged, delivered, lost, unexpected, duplicated; sets
#  ha_lost ha_unexpected ha_dups (this phase) and asserts them.
ha_report () {
    local phase=$1 attempted acked delivered unique
    find "$work/consumed-$phase" -name '*.json' -exec grep -o -h '"case_id": "[^"]*"' {} + 2>/dev/null \
        | cut -d'"' -f4 | sort > "$work/delivered-$phase"
    sort -u "$work/attempted-$phase" > "$work/attempted-$phase.sorted"
    attempted=$(wc -l < "$work/attempted-$phase.sorted")
    delivered=$(wc -l < "$work/delivered-$phase")
    unique=$(sort -u "$work/delivered-$phase" | wc -l)
    acked=$(( $(ha_accepted) - ha_accepted_before ))
    #  Lost: sent and never delivered (everything sent is acknowledged in the end: agents resend).
    ha_lost=$(comm -23 "$work/attempted-$phase.sorted" <(sort -u "$work/delivered-$phase") | wc -l)
    ha_unexpected=$(comm -13 <(sort -u "$work/attempted-all") <(sort -u "$work/delivered-$phase") | wc -l)
    ha_dups=$(( delivered - unique + $(wc -l < "$work/dups-$phase") ))
    echo "  $phase: attempted $attempted, acknowledged $acked, delivered $unique, lost $ha_lost, unexpected $ha_unexpected, duplicated $ha_dups"
    expect "$phase: everything attempted was acknowledged" "$acked" "$attempted"
    expect "$phase: lost" "$ha_lost" 0
    expect "$phase: unexpected" "$ha_unexpected" 0
    expect "$phase: duplicated at the spool" "$ha_dups" 0
}

#  ha_times: p50 and max of the failover and takeover times measured so far; asserts a bound
#  far above the target (5 s), since the machine may be fully busy.
ha_times () {
    local bound=${1:-60000} sorted p50 max count
    count=${#ha_failovers[@]}
    [ "$count" -gt 0 ] || { bad "no failover time measured"; return; }
    sorted=$(printf '%s\n' "${ha_failovers[@]}" | sort -n)
    p50=$(sed -n "$(( (count + 1) / 2 ))p" <<< "$sorted")
    max=$(tail -1 <<< "$sorted")
    echo "  failover (agents, last answer before the kill to the first after): n=$count p50 $p50 ms, max $max ms"
    sorted=$(printf '%s\n' "${ha_takeovers[@]}" | sort -n)
    echo "  takeover (kill to the standby's ready): n=${#ha_takeovers[@]} p50 $(sed -n "$(( (${#ha_takeovers[@]} + 1) / 2 ))p" <<< "$sorted") ms, max $(tail -1 <<< "$sorted") ms"
    [ "$max" -lt "$bound" ] && ok "every failover within $((bound / 1000)) s" || bad "a failover took $max ms"
}
