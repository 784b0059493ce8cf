#  The regression guard of make bench: prints today's figures as ratios of the committed
#  baseline (tests/bench/baseline.txt, one "name value unit" a line), so that a run several
#  times slower than the baseline cannot pass unseen. Source it, then:
#
#    bench_ratio NAME UNIT VALUE   e.g. bench_ratio broker-pub1 msgs_per_s 1432 prints
#        bench ratio: broker-pub1 msgs_per_s 1432 = 1.36 x baseline 1054
#    bench_ratio_line LINE         every figure the baseline holds for the line's mode=, taken
#                                  from the line's key=value fields (rh-bench-broker's format)
#
#  A figure worse than the baseline by more than BENCH_WORSE (default 1.5) times is flagged
#  "WORSE" and counted in bench_ratio_worse; BENCH_STRICT=1 makes bench_ratio_verdict fail
#  then. Units ending in _per_s are better higher, all others (ms, us, bytes) better lower.
bench_baseline=${BENCH_BASELINE:-$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/baseline.txt}
bench_ratio_worse=0

bench_ratio () {    # bench_ratio NAME UNIT VALUE
    local name=$1 unit=$2 value=$3 base out
    [ -n "$value" ] || return 0
    base=$(awk -v n="$name" -v u="$unit" '!/^#/ && $1 == n && $3 == u { print $2; exit }' \
               "$bench_baseline" 2>/dev/null)
    out=$(awk -v n="$name" -v u="$unit" -v v="$value" -v b="$base" -v w="${BENCH_WORSE:-1.5}" '
        function show(x) { return x >= 1000 || x <= -1000 ? sprintf("%.0f", x) : sprintf("%.4g", x) }
        BEGIN {
            if (b == "" || b + 0 == 0) { printf "bench ratio: %s %s %s (no baseline)\n", n, u, show(v); exit }
            r = v / b
            worse = u ~ /_per_s$/ ? r * w < 1 : r > w
            printf "bench ratio: %s %s %s = %.2f x baseline %s%s\n", n, u, show(v), r, show(b),
                   worse ? sprintf("  ** WORSE than the baseline by more than %s x **", w) : ""
        }')
    echo "$out"
    case $out in *WORSE*) bench_ratio_worse=$((bench_ratio_worse + 1)) ;; esac
}

bench_ratio_line () {    # bench_ratio_line "peer=... mode=NAME ... UNIT=VALUE ..."
    local line=" $1" mode name unit value other
    mode=$(sed -n 's/.* mode=\([^ ]*\).*/\1/p' <<< "$line")
    [ -n "$mode" ] || return 0
    while read -r name _ unit; do
        [ "$name" = "$mode" ] || continue
        value=$(grep -o " $unit=[^ ]*" <<< "$line" | head -1 | cut -d= -f2)
        bench_ratio "$name" "$unit" "$value"
    done < <(grep -v -e '^#' -e '^[[:space:]]*$' "$bench_baseline" 2>/dev/null)
    other=$(grep -o " other_cpu_pct=[0-9]*" <<< "$line" | cut -d= -f2)
    if [ "${other:-0}" -gt 20 ]; then
        echo "bench ratio: $mode ran beside other work (other_cpu_pct=$other): read its ratios with care"
    fi
}

#  With BENCH_STRICT=1, fails (returns 1) if any figure was flagged WORSE.
bench_ratio_verdict () {
    if [ "$bench_ratio_worse" -gt 0 ]; then
        echo "bench ratio: $bench_ratio_worse figure(s) worse than the baseline by more than ${BENCH_WORSE:-1.5} x"
        [ "${BENCH_STRICT:-0}" = 1 ] && return 1
    fi
    return 0
}
