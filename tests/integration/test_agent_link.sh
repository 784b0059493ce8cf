#!/usr/bin/env bash
#  The agent names what keeps it from the broker: nothing listening, a broker that took the
#  connection but does not finish the handshake (stopped, busy or starting), or a refused key.
source "$(dirname "$0")/lib.sh"

make_pki police-gwent:POLICE:newport la-newport:LA_FRONT_DOOR:newport
field () { grep -o "\"$2\": \"[^\"]*\"" "$work/$1/data/status.json" 2>/dev/null | head -1 | cut -d'"' -f4; }
wait_field () {    # wait_field AGENCY FIELD VALUE SECONDS
    local deadline=$((SECONDS + $4))
    until [ "$(field "$1" "$2")" = "$3" ]; do [ $SECONDS -lt $deadline ] || return 1; sleep 0.1; done
}

echo "== no broker yet"
start_agent police-gwent
wait_field police-gwent connection broker_not_reachable 10
expect "status says the broker is not reachable" "$(field police-gwent connection)" broker_not_reachable
expect_match "naming the endpoint" "$(field police-gwent connection_detail)" "broker not reachable at $endpoint"
sleep 1
expect "the log says it once" "$(grep -c 'not reachable' "$work/police-gwent/agent.log")" 1
expect "and blames no key" "$(grep -c 'right key' "$work/police-gwent/agent.log")" 0

echo "== the broker starts"
start_broker
wait_connected police-gwent && ok "the agent connects" || bad "no connection"
expect "status says connected" "$(field police-gwent connection)" connected

echo "== a stopped broker takes the connection but never finishes the handshake"
kill -STOP "$broker_pid"
start_agent la-newport
wait_field la-newport connection handshake_timeout 10
expect "status says the handshake timed out" "$(field la-newport connection)" handshake_timeout
expect_match "and that the broker may be busy or starting" "$(field la-newport connection_detail)" "timed out: the broker may be busy or starting"
expect "it blames no key" "$(grep -c 'right key' "$work/la-newport/agent.log")" 0
kill -CONT "$broker_pid"
wait_connected la-newport && ok "it connects when the broker wakes up" || bad "no connection after SIGCONT"
expect "status says connected" "$(field la-newport connection)" connected
stop_agent la-newport

echo "== the wrong key for the broker (broker/identity names another agency)"
sed -i 's/^broker:/broker:\n  identity: police-gwent/' "$work/la-newport/agent.yaml"
start_agent la-newport
wait_field la-newport connection refused 10
expect "status says the key was refused" "$(field la-newport connection)" refused
expect_match "and asks about enrolment and broker/identity" "$(field la-newport connection_detail)" "refused our key: is this agency enrolled, and is broker/identity the right key"
sleep 1
expect "the log says it once" "$(grep -c 'refused our key' "$work/la-newport/agent.log")" 1

echo "== an agency the board never enrolled (its own CA)"
"$bin/rhannu-ca" init "$work/other-pki" >/dev/null
"$bin/rhannu-ca" issue "$work/other-pki" stranger --type POLICE >/dev/null
mkdir -p "$work/stranger"
cat > "$work/stranger/agent.yaml" <<EOF2
agency:
  id: stranger
  dir: $work/other-pki/stranger
pki:
  dir: $work/pki
broker:
  endpoint: $endpoint
spool:
  dir: $work/stranger
data:
  dir: $work/stranger/data
EOF2
start_agent stranger
wait_field stranger connection refused 10
expect "status says the key was refused" "$(field stranger connection)" refused
expect_match "with the broker's status code" "$(field stranger connection_detail)" "refused our key \(status 400\): is this agency enrolled"
finish
