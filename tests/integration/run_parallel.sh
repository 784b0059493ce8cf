#!/usr/bin/env bash
#  Runs independent test jobs side by side, JOBS at a time, in the order given (put the longest
#  first: the run then ends close to when its longest job does).
#
#      run_parallel.sh [-j JOBS] [-n TITLE] NAME=COMMAND ...
#
#  Each COMMAND runs under bash with its output (stdout and stderr) in a file of its own; when it
#  ends, that output is printed whole, under a line naming the job, how it ended and how long it
#  took, so the outputs of jobs that ran together never interleave. Every job runs, also after
#  one fails (a failing job's output is printed in full when it ends, and again at the end); the
#  run fails if any job failed. The last lines list every job with its duration.
#
#  Jobs must not share ports or folders: the integration tests pick a free port of their own and
#  work in a temporary folder of their own (lib.sh).
set -u
jobs=2
title=jobs
while getopts "j:n:" opt; do
    case $opt in
        j) jobs=$OPTARG ;;
        n) title=$OPTARG ;;
        *) echo "usage: $0 [-j JOBS] [-n TITLE] NAME=COMMAND ..." >&2; exit 2 ;;
    esac
done
shift $((OPTIND - 1))
[ "$jobs" -ge 1 ] 2>/dev/null || { echo "$0: -j wants a number of jobs" >&2; exit 2; }

logs=$(mktemp -d /tmp/rhannu-run-XXXXXX)
declare -A name_of=() started=()
declare -a order=() failures=()
declare -A took=() result=()

#  Each job is its own process group (set -m), so that an interrupted run can stop a job and the
#  brokers and agents it started, and none of them reads the terminal.
set -m
stop_all () {
    local pid
    for pid in "${!name_of[@]}"; do kill -TERM -- "-$pid" 2>/dev/null; done
    wait 2>/dev/null
    echo "$title: interrupted (outputs in $logs)"
    exit 130
}
trap stop_all INT TERM

launch () {    # launch NAME COMMAND
    bash -c "$2" < /dev/null > "$logs/$1.log" 2>&1 &
    name_of[$!]=$1
    started[$1]=$EPOCHREALTIME
    order+=("$1")
}

#  Waits for one job to end, prints its output whole, and records how it ended.
reap () {
    local pid rc name secs
    wait -n -p pid
    rc=$?
    name=${name_of[$pid]}
    unset "name_of[$pid]"
    secs=$(awk -v a="${started[$name]}" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.1f", b - a }')
    took[$name]=$secs
    if [ "$rc" -eq 0 ]; then
        result[$name]=passed
        echo "== $name: passed in $secs s"
    else
        result[$name]="FAILED (exit $rc)"
        failures+=("$name")
        echo "== $name: FAILED (exit $rc) after $secs s; its output:"
    fi
    cat "$logs/$name.log"
}

start=$EPOCHREALTIME
for spec in "$@"; do
    while [ "${#name_of[@]}" -ge "$jobs" ]; do reap; done
    launch "${spec%%=*}" "${spec#*=}"
done
while [ "${#name_of[@]}" -gt 0 ]; do reap; done
total=$(awk -v a="$start" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.1f", b - a }')

for name in "${failures[@]}"; do
    echo "== $name: FAILED; its output again:"
    cat "$logs/$name.log"
done
echo "== $title: ${#order[@]} run, $jobs at a time, in $total s"
for name in "${order[@]}"; do printf '    %-28s %7s s  %s\n' "$name" "${took[$name]}" "${result[$name]}"; done
if [ "${#failures[@]}" -gt 0 ]; then
    echo "$title: ${#failures[@]} failed: ${failures[*]} (outputs in $logs)"
    exit 1
fi
rm -rf "$logs"
