#!/usr/bin/env bash
#  The Pacemaker resource agent (deploy/ha/rhannu-broker.ocf) under Debian's ocf-tester: meta-data
#  valid against ra-api-1.dtd, start, monitor, probe, stop, start twice, stop twice, on a real
#  broker. Then monitor through /readyz (metrics_url): ready, not ready, and a broker that died.
#  ocf-tester needs no cluster; it ships in resource-agents (make deps installs it).
source "$(dirname "$0")/lib.sh"
tester=$(command -v ocf-tester || echo /usr/sbin/ocf-tester)
[ -x "$tester" ] && [ -r /usr/lib/ocf/lib/heartbeat/ocf-shellfuncs ] \
    || { bad "ocf-tester is not installed (apt-get install resource-agents)"; finish; exit 1; }

make_pki police-gwent:POLICE:newport la-newport:LA_FRONT_DOOR:newport
broker_config
#  ocf-tester runs meta-data as nobody: the agent must be readable from a folder nobody may enter.
ra_dir=$(mktemp -d /tmp/rhannu-ocf-XXXXXX); chmod 755 "$ra_dir"
cp "$(dirname "$0")/../../deploy/ha/rhannu-broker.ocf" "$ra_dir/broker"; chmod 755 "$ra_dir/broker"
trap 'rm -rf "$ra_dir"; cleanup' EXIT
params=(-o binary="$bin/rhannu-broker" -o config="$work/broker/broker.yaml" -o user="$(id -un)"
        -o pidfile="$work/ocf/broker.pid" -o logfile="$work/ocf/broker.log")

echo "== ocf-tester"
out=$("$tester" -v -n rhannu "${params[@]}" "$ra_dir/broker" 2>&1); rc=$?
echo "$out" | grep -E "^\*|passed|failed" | sed 's/^/  /'
expect "ocf-tester passes" "$rc" 0
expect_match "it ran start, monitor and stop" "$out" "Testing: stop"
expect "no broker is left running" "$(pgrep -f "rhannu-broker -f $work/broker/broker.yaml" | wc -l)" 0

echo "== monitor through /readyz"
ra () {    # ra ACTION [metrics_url]: the agent's exit code
    env OCF_ROOT=/usr/lib/ocf OCF_RESOURCE_INSTANCE=rhannu OCF_RESKEY_binary="$bin/rhannu-broker" \
        OCF_RESKEY_config="$work/broker/broker.yaml" OCF_RESKEY_user="$(id -un)" \
        OCF_RESKEY_pidfile="$work/ocf/broker.pid" OCF_RESKEY_logfile="$work/ocf/broker.log" \
        OCF_RESKEY_metrics_url="${2:-}" OCF_RESKEY_CRM_meta_interval=10000 \
        "$ra_dir/broker" "$1" >/dev/null 2>&1
    echo $?
}
claim_port; http_port=$claimed_port
mkdir -p "$work/www"; echo ok > "$work/www/readyz"
(cd "$work/www" && exec python3 -m http.server --bind 127.0.0.1 "$http_port" >/dev/null 2>&1) &
http_pid=$!; extra_pids+=("$http_pid")
for i in $(seq 1 100); do curl -fs -o /dev/null "http://127.0.0.1:$http_port/readyz" && break; sleep 0.1; done
expect "start with metrics_url waits for /readyz" "$(ra start "http://127.0.0.1:$http_port")" 0
expect "monitor: ready" "$(ra monitor "http://127.0.0.1:$http_port")" 0
rm "$work/www/readyz"
expect "monitor: the broker runs but is not ready (OCF_ERR_GENERIC)" "$(ra monitor "http://127.0.0.1:$http_port")" 1
expect "monitor without metrics_url: the process runs" "$(ra monitor)" 0
kill -9 "$(cat "$work/ocf/broker.pid")"; sleep 0.3
expect "monitor: a broker killed with -9 is not running (OCF_NOT_RUNNING)" "$(ra monitor)" 7
expect "stop after a crash succeeds" "$(ra stop)" 0
expect "validate-all: an unreadable configuration (OCF_ERR_CONFIGURED)" \
    "$(env OCF_ROOT=/usr/lib/ocf OCF_RESKEY_config=/nonexistent/broker.yaml OCF_RESKEY_binary="$bin/rhannu-broker" OCF_RESKEY_user="$(id -un)" "$ra_dir/broker" validate-all >/dev/null 2>&1; echo $?)" 6
expect "validate-all: no binary (OCF_ERR_INSTALLED)" \
    "$(env OCF_ROOT=/usr/lib/ocf OCF_RESKEY_binary=/nonexistent/rhannu-broker OCF_RESKEY_config="$work/broker/broker.yaml" OCF_RESKEY_user="$(id -un)" "$ra_dir/broker" validate-all >/dev/null 2>&1; echo $?)" 5
kill "$http_pid" 2>/dev/null
finish
