#!/usr/bin/env bash
#  The agent's resend backoff: a broker that takes messages and never answers (stopped with
#  SIGSTOP, its connection still open) gets the unanswered window again after send/resend_ms,
#  then after twice that, and so on up to RH_MAX_RESEND_BACKOFF (16) times it; the first answer
#  brings the wait back to send/resend_ms. The waits are read from the agent's own log lines
#  (the configured wait, not a measured time), so a busy machine changes how many resends
#  happen in the stall, never their values.
source "$(dirname "$0")/lib.sh"

make_pki police-gwent:POLICE:newport la-newport:LA_FRONT_DOOR:newport
start_broker
a=police-gwent
mkdir -p "$work/$a"
#  The heartbeat must not find the stopped broker dead within the test (that reconnects, which
#  also resets the wait): dead_after_ms at its maximum.
cat > "$work/$a/agent.yaml" <<YAML
agency:
  id: $a
pki:
  dir: $work/pki
broker:
  endpoint: $endpoint
  dead_after_ms: 600000
spool:
  dir: $work/$a
  scan_ms: 50
data:
  dir: $work/$a/data
send:
  resend_ms: 200
YAML
RH_LOG_LEVEL=warn start_agent $a
start_agent la-newport
wait_connected $a && wait_connected la-newport || bad "agents did not connect"
send_one () { referral_json newport "$1" > "$work/stage.json"; mv "$work/stage.json" "$work/$a/outbox/$1.json"; }
#  waits: the "no answer in N ms" values of the agent's log, in order, from line $1 on.
waits () { tail -n +"$1" "$work/$a/agent.log" | sed -n 's/.*no answer from the broker in \([0-9]*\) ms.*/\1/p' | tr '\n' ' '; }
wait_resends () {    # wait_resends FROM N: until the log holds N resends after line FROM
    local deadline=$((SECONDS + 120))
    until [ "$(waits "$1" | wc -w)" -ge "$2" ]; do
        [ $SECONDS -lt $deadline ] || return 1
        sleep 0.1
    done
}

echo "== a stalled broker: each resend waits twice as long, up to 16 times send/resend_ms"
kill -STOP $broker_pid
from=$(($(wc -l < "$work/$a/agent.log") + 1))
send_one stall-1
wait_resends $from 7 || bad "fewer than 7 resends in 120 s: $(waits $from)"
kill -CONT $broker_pid
got=$(waits $from)
expect "the waits double, then stay at 3200 ms" "$(echo $got | cut -d' ' -f1-7)" "200 400 800 1600 3200 3200 3200"
wait_count "$work/la-newport/inbox" 1 60 || bad "the message was not delivered once the broker ran again"

echo "== an answer brings the wait back to send/resend_ms"
sleep 0.5
kill -STOP $broker_pid
from=$(($(wc -l < "$work/$a/agent.log") + 1))
send_one stall-2
wait_resends $from 2 || bad "fewer than 2 resends in 120 s: $(waits $from)"
kill -CONT $broker_pid
expect "the next stall starts again at 200 ms" "$(waits $from | cut -d' ' -f1-2)" "200 400"
wait_count "$work/la-newport/inbox" 2 60 || bad "the second message was not delivered"
expect "each message arrived once (duplicates of the resends dropped)" "$(count_files "$work/la-newport/inbox")" 2

finish
