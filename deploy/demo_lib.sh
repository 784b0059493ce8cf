#  What make demo and make demo-federation share (sourced after they set pids=()): headings, the
#  note lines under them, and stopping every process started when the script ends.

#  Bold headings on a terminal that can show them; plain text into a file, a pipe or TERM=dumb
#  (and with NO_COLOR set).
if [ -t 1 ] && [ -n "${TERM:-}" ] && [ "${TERM:-}" != dumb ] && [ -z "${NO_COLOR:-}" ]; then
    bold=$'\033[1m' plain=$'\033[0m'
else
    bold="" plain=""
fi
say () { printf '\n%s%s%s\n' "$bold" "$*" "$plain"; }
note () { printf '  %s\n' "$*"; }
stop_all () {
    for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
    for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
    pids=()
}
trap stop_all EXIT
