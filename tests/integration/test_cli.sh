#!/usr/bin/env bash
#  The command line as an operator meets it: --version and --help, a bad option told in one line
#  (exit 2), a second agent or broker on the same store, the status of a killed agent, spool
#  folders whose parents do not exist yet, and no value of a message or config in a log or
#  .error file.
source "$(dirname "$0")/lib.sh"

version=$(cat "$(dirname "$0")/../../VERSION")
person="Mary Smith 12/03/2016"

wait_connected_at () {    # wait_connected_at DATA-DIR (lib.sh's wait_connected knows one layout)
    local deadline=$((SECONDS + 15))
    until grep -q '"connected": true' "$1/status.json" 2>/dev/null; do
        [ $SECONDS -lt $deadline ] || return 1
        sleep 0.05
    done
}

echo "== every tool: --version, --help, and a bad option in one line"
#  tool, and an option of it that needs a value
for spec in rhannu-broker:-f rhannu-agent:-f rhannu-ca:--days rhannu-audit:--data \
            rhannu-witness:--config; do
    tool=${spec%%:*}
    needs=${spec#*:}
    out=$("$bin/$tool" --version 2>&1); rc=$?
    expect "$tool --version exits 0" "$rc" 0
    expect "$tool --version prints the one version" "$out" "$tool $version"
    out=$("$bin/$tool" --help 2>/dev/null); rc=$?
    expect "$tool --help exits 0" "$rc" 0
    expect_match "$tool --help prints the usage on stdout" "$out" "usage"
    "$bin/$tool" --frobnicate > "$work/out" 2> "$work/err"; rc=$?
    expect "$tool --frobnicate exits 2" "$rc" 2
    expect "$tool --frobnicate: one line on stderr" "$(wc -l < "$work/err")" 1
    expect "$tool --frobnicate: nothing on stdout" "$(wc -c < "$work/out")" 0
    expect "$tool --frobnicate: the line names the option" "$(cat "$work/err")" \
        "$tool: unknown option '--frobnicate' (try --help)"
    "$bin/$tool" "--frobnicate=$person" > "$work/out" 2> "$work/err"; rc=$?
    expect "$tool --frobnicate=VALUE exits 2 without repeating the value" \
        "$rc $(wc -l < "$work/err") $(grep -c Mary "$work/err")" "2 1 0"
    "$bin/$tool" "$needs" > "$work/out" 2> "$work/err"; rc=$?
    expect "$tool $needs without its value: exit 2, one line" "$rc $(wc -l < "$work/err")" "2 1"
    expect "$tool $needs without its value: says so" "$(cat "$work/err")" \
        "$tool: option '$needs' needs a value (try --help)"
done
"$bin/rhannu-ca" crl > "$work/out" 2> "$work/err"; rc=$?
expect "rhannu-ca crl without DIR: exit 2, one line" "$rc $(wc -l < "$work/err")" "2 1"
"$bin/rhannu-ca" crl "$work/x" --type POLICE > "$work/out" 2> "$work/err"; rc=$?
expect "rhannu-ca: an option of another command is refused in one line" \
    "$rc $(cat "$work/err")" "2 rhannu-ca: crl does not take --type (try --help)"
"$bin/rhannu-audit" proof --data "$work/x" --pki "$work/x" > "$work/out" 2> "$work/err"; rc=$?
expect "rhannu-audit proof without --message: exit 2, one line" \
    "$rc $(cat "$work/err")" "2 rhannu-audit: proof needs --message, or --bundle with -o DIR (try --help)"

echo "== an agent makes its spool and data folders' parents"
make_pki police-gwent:POLICE:newport la-newport:LA_FRONT_DOOR:newport
out=$("$bin/rhannu-ca" issue "$work/pki" health-x --type "$person" 2>&1); rc=$?
expect_match "rhannu-ca: an agency type not allowed lists the types" "$rc $out" \
    "^1 .*value not allowed for the agency type; allowed: POLICE, HEALTH, "
expect "rhannu-ca: ... without repeating the value" "$(grep -c Mary <<< "$out")" 0
start_broker
a=police-gwent
mkdir -p "$work/$a"
cat > "$work/$a/agent.yaml" <<EOF
agency:
  id: $a
pki:
  dir: $work/pki
broker:
  endpoint: $endpoint
spool:
  dir: $work/$a/not/yet/spool
  scan_ms: 50
data:
  dir: $work/$a/nor/this/data
EOF
start_agent $a
first=${agent_pids[$a]}
if wait_connected_at "$work/$a/nor/this/data"; then
    ok "the agent started with folders whose parents did not exist"
else
    bad "the agent did not start: $(tail -3 "$work/$a/agent.log")"
fi
expect "the spool's parents were made 0750" \
    "$(stat -c %a "$work/$a/not" "$work/$a/not/yet" "$work/$a/not/yet/spool/outbox" 2>&1 | tr '\n' ' ')" \
    "750 750 750 "
expect "the data folder's parents were made 0750" \
    "$(stat -c %a "$work/$a/nor/this" "$work/$a/nor/this/data" 2>&1 | tr '\n' ' ')" "750 750 "

echo "== a second agent on the same data is told who runs there"
"$bin/rhannu-agent" -f "$work/$a/agent.yaml" > "$work/second.out" 2> "$work/second.err" &
second=$!
deadline=$((SECONDS + 15))
while kill -0 $second 2>/dev/null && [ $SECONDS -lt $deadline ]; do sleep 0.05; done
kill -0 $second 2>/dev/null && { kill -9 $second; bad "the second agent is still running"; }
wait $second; rc=$?
expect "the second agent exits with an error, in one line" "$rc $(wc -l < "$work/second.err")" "1 1"
expect "the second agent names the first and its pid" \
    "$(grep -c "another rhannu-agent is running on $work/$a/nor/this/data (pid $first)" "$work/second.err")" 1
expect "no raw LevelDB lock error" "$(grep -ci "IO error" "$work/second.err")" 0
expect "the first agent still runs" "$(kill -0 "$first" 2>/dev/null && echo yes)" yes

echo "== rhannu-agent status: running, then killed"
out=$("$bin/rhannu-agent" status -f "$work/$a/agent.yaml" 2>&1); rc=$?
expect "status of a running agent exits 0" "$rc" 0
expect_match "status of a running agent says running, with its pid" "$out" "agent +running \(pid $first\)"
expect_match "status of a running agent shows its connection" "$out" "connected +true"
kill_agent $a
out=$("$bin/rhannu-agent" status -f "$work/$a/agent.yaml" 2>&1); rc=$?
expect "status of a killed agent exits 3, as an init script's status does" "$rc" 3
expect_match "status of a killed agent says not running, and when it was last seen" "$out" \
    "agent +not running \(last seen [0-9]{4}-"
expect "status of a killed agent does not say connected" "$(grep -c "connected" <<< "$out")" 0

echo "== a second broker on the same store waits as a standby, told who holds it"
"$bin/rhannu-broker" -f "$work/broker/broker.yaml" > "$work/broker2.out" 2> "$work/broker2.err" &
second=$!
deadline=$((SECONDS + 15))
until grep -q "standby: waiting" "$work/broker2.err" || [ $SECONDS -ge $deadline ]; do sleep 0.05; done
expect "the second broker names the first and its pid" \
    "$(grep -c "standby: waiting for the store in $work/broker/data (another rhannu-broker, pid $broker_pid, holds its lock)" "$work/broker2.err")" 1
kill -TERM $second
wait $second; rc=$?
expect "the standby stops on SIGTERM, exit 0" "$rc" 0
expect "no raw LevelDB lock error" "$(grep -ci "IO error" "$work/broker2.err")" 0
out=$("$bin/rhannu-broker" dead-letters -f "$work/broker/broker.yaml" 2>&1); rc=$?
expect "dead-letters beside a running broker names it and stops" "$rc $out" \
    "2 $work/broker/data is in use: the broker is running (pid $broker_pid): stop it first"

echo "== no value in a log or .error file: a config enum, a message enum"
sed "s|^agency:|agency:\n  lang: '$person'|" "$work/$a/agent.yaml" > "$work/bad-lang.yaml"
"$bin/rhannu-agent" -f "$work/bad-lang.yaml" > "$work/lang.out" 2> "$work/lang.err"; rc=$?
expect "an agent with an invalid agency/lang does not start" "$rc" 2
expect_match "the error names the key and lists the allowed values" "$(cat "$work/lang.err")" \
    "value not allowed for agency/lang; allowed: en, cy"
expect "the error does not repeat the value" "$(grep -c Mary "$work/lang.err" "$work/lang.out" | awk -F: '{s += $2} END {print s}')" 0
start_agent $a
wait_connected_at "$work/$a/nor/this/data" || bad "the agent did not restart"
spool=$work/$a/not/yet/spool
echo "{\"kind\": \"REFERRAL\", \"to\": [{\"front_door_la\": \"newport\"}], \"body\": {\"subjects\": [{\"kind\": \"$person\"}]}}" \
    > "$spool/outbox/typo.json"
wait_count "$spool/failed" 1 10 "*.error" || true
expect_match "the .error names the field and the allowed values" "$(cat "$spool/failed/typo.json.error" 2>&1)" \
    "value not allowed for field body.subjects\[0\].kind; allowed: CHILD, ADULT"
expect "the .error does not repeat the value" "$(grep -c Mary "$spool/failed/typo.json.error" 2>&1)" 0
#  The agent logs the failure just after writing the .error file.
deadline=$((SECONDS + 5))
until grep -q "typo.json: value not allowed" "$work/$a/agent.log" || [ $SECONDS -ge $deadline ]; do
    sleep 0.05
done
expect_match "the operator log tells of the failed file" "$(cat "$work/$a/agent.log")" "typo.json: value not allowed"
expect "the operator log does not repeat the value" "$(grep -c Mary "$work/$a/agent.log")" 0
sleep 0.3
expect "status.json does not repeat the value" "$(grep -c Mary "$work/$a/nor/this/data/status.json")" 0

echo "== make demo: bold headings on a terminal only"
#  The demos' heading function (deploy/demo_lib.sh), as it decides on escapes, in a pipe and on a terminal (script).
heading="$work/heading.sh"
{ sed -n '/^if \[ -t 1 \]/,/^say ()/p' "$(dirname "$0")/../../deploy/demo_lib.sh"; echo 'say heading'; } > "$heading"
expect "the demos' heading function was found" "$(grep -c '^say ()' "$heading")" 1
escapes () { grep -c $'\033' || true; }
expect "no escapes into a pipe" "$(TERM=xterm bash "$heading" | escapes)" 0
expect "bold on a terminal" "$(TERM=xterm script -qec "bash $heading" /dev/null | escapes)" 1
expect "no escapes on a terminal with TERM=dumb" \
    "$(TERM=dumb script -qec "bash $heading" /dev/null | escapes)" 0

echo "== logs: log/format json, and the journal's priorities when stderr is the journal"
#  A second broker of its own (store, port) with log/format json; its stderr is a file that
#  JOURNAL_STREAM names, as systemd names the journal's stream.
claim_port
mkdir -p "$work/jsonlog"
sed -e "s|$work/broker/data|$work/jsonlog/data|" -e "s|$endpoint|tcp://127.0.0.1:$claimed_port|" \
    "$work/broker/broker.yaml" > "$work/jsonlog/broker.yaml"
printf 'log:\n  format: json\n' >> "$work/jsonlog/broker.yaml"
: > "$work/jsonlog/journal"
JOURNAL_STREAM=$(stat -c %d:%i "$work/jsonlog/journal") "$bin/rhannu-broker" \
    -f "$work/jsonlog/broker.yaml" 2>> "$work/jsonlog/journal" &
json_pid=$!
extra_pids+=("$json_pid")
for _ in $(seq 300); do grep -q '"ready"' "$work/jsonlog/journal" && break; sleep 0.05; done
kill -TERM "$json_pid"; wait "$json_pid" 2>/dev/null
expect "every line is a priority and one JSON object" "$(python3 -c '
import json, sys
bad = 0
for line in open(sys.argv[1]):
    prio, text = line[:3], line[3:]
    obj = json.loads(text)
    want = {"error": "<3>", "warn": "<4>", "info": "<6>", "debug": "<7>"}[obj["level"]]
    bad += prio != want or sorted(obj) != ["component", "level", "message", "time"]
print("lines", "many" if sum(1 for _ in open(sys.argv[1])) > 2 else "few", "bad", bad)
' "$work/jsonlog/journal" 2>&1)" "lines many bad 0"
expect_match "the broker said it was ready, as info" "$(grep '"ready"' "$work/jsonlog/journal")" \
    '^<6>\{"time":"[0-9T:.-]+Z","level":"info","component":"broker","message":"ready"\}$'

echo "== make demo: package installation in a log, one line on screen"
#  install-deps.sh with stand-ins for dpkg-query (nothing installed) and apt-get (a thousand lines
#  of output, then success or failure as $APT_FAILS says).
mkdir -p "$work/fakebin"
printf '#!/bin/sh\nexit 1\n' > "$work/fakebin/dpkg-query"
printf '#!/bin/sh\nseq 1000\n[ -z "$APT_FAILS" ]\n' > "$work/fakebin/apt-get"
chmod +x "$work/fakebin/dpkg-query" "$work/fakebin/apt-get"
deps=$(cd "$(dirname "$0")/../../deploy" && pwd)/install-deps.sh
out=$(PATH="$work/fakebin:$PATH" INSTALL_DEPS_LOG="$work/deps.log" APT_FAILS= bash "$deps" 2>&1); rc=$?
expect "install-deps: success in two lines" "$rc $(wc -l <<< "$out")" "0 2"
expect_match "install-deps: the first line names the log" "$(head -1 <<< "$out")" "log: $work/deps.log$"
expect "install-deps: apt-get's output is in the log" "$(grep -c . "$work/deps.log")" 2000
out=$(PATH="$work/fakebin:$PATH" INSTALL_DEPS_LOG="$work/deps.log" APT_FAILS=1 bash "$deps" 2>&1); rc=$?
expect "install-deps: a failure exits 1" "$rc" 1
expect_match "install-deps: a failure names the log" "$out" "apt-get failed; its output is in $work/deps.log"
expect "install-deps: a failure shows a few lines, not the whole log" \
    "$([ "$(wc -l <<< "$out")" -le 8 ] && echo yes)" yes

finish
