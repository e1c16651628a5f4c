#!/usr/bin/env bash
# Side-by-side: bare_loop (the floor), hopscope, tshark and tcpflow on synthetic Bookinfo
# captures of 100 MiB and 1 GiB. Prints a markdown table for docs/performance.md.
#
#   benches/compare.sh [--runs N] [--sizes "100MiB 1GiB"] [--skip-tshark-1g] [--skip-tshark]
#                      [--skip-tcpflow-1g] [--skip-tcpflow] [--regen]
#
#   --runs N           runs of the fast tools (bare_loop, hopscope); best wall time and median
#                      peak RSS reported (default 5; best, because other load only adds time)
#   --sizes LIST       capture sizes to generate and measure (default "100MiB 1GiB")
#   --skip-tshark-1g   do not run tshark on sizes >= 1 GiB (it takes minutes and GBs of RAM)
#   --skip-tshark / --skip-tcpflow / --skip-tcpflow-1g   likewise
#   --regen            regenerate the captures even if present
# Env: CARGO_TARGET_DIR (default target), HOPSCOPE (default $CARGO_TARGET_DIR/release/hopscope),
# SEED (default 1). Builds the binary and the examples first (cargo build --release --bins --examples). hopscope is skipped if missing, or if it
# prints nothing for captures/bookinfo-sample.pcap (a stub binary would fake the figures).
# Wall time and peak RSS come from /usr/bin/time -f '%e %M' (GNU time; apt-get install time).
# tshark and tcpflow run once per size (slow); each tool reads the file from the page cache
# (a warm-up cat precedes the runs), so the figures are CPU cost, not disk speed.
set -euo pipefail
cd "$(dirname "$0")/.."
RUNS=5
SIZES="100MiB 1GiB"
SKIP_TSHARK=0; SKIP_TSHARK_1G=0; SKIP_TCPFLOW=0; SKIP_TCPFLOW_1G=0; REGEN=0
while [ $# -gt 0 ]; do
    case $1 in
        --runs) RUNS=$2; shift ;;
        --sizes) SIZES=$2; shift ;;
        --skip-tshark) SKIP_TSHARK=1 ;;
        --skip-tshark-1g) SKIP_TSHARK_1G=1 ;;
        --skip-tcpflow) SKIP_TCPFLOW=1 ;;
        --skip-tcpflow-1g) SKIP_TCPFLOW_1G=1 ;;
        --regen) REGEN=1 ;;
        -h|--help) sed -n '2,20p' "$0"; exit 0 ;;
        *) echo "compare.sh: unknown option $1" >&2; exit 2 ;;
    esac
    shift
done
[ -x /usr/bin/time ] || { echo "compare.sh: /usr/bin/time missing (apt-get install -y time)" >&2; exit 1; }
TARGET=${CARGO_TARGET_DIR:-target}
OUT=bench-out
SEED=${SEED:-1}
mkdir -p "$OUT"
cargo build --release --bins --examples >&2
SYNTH=$TARGET/release/examples/synth
BARE=$TARGET/release/examples/bare_loop
HOPSCOPE=${HOPSCOPE:-$TARGET/release/hopscope}
if [ ! -x "$HOPSCOPE" ]; then
    echo "compare.sh: $HOPSCOPE not found (cargo build --release); its rows are skipped" >&2
    HOPSCOPE=""
elif [ -z "$(timeout 60 "$HOPSCOPE" analyze captures/bookinfo-sample.pcap --json 2>/dev/null | head -c 1)" ]; then
    echo "compare.sh: $HOPSCOPE prints nothing for captures/bookinfo-sample.pcap (stub?); its rows are skipped" >&2
    HOPSCOPE=""
fi

is_big() { case $1 in *GiB|*GB|*G) return 0 ;; *) return 1 ;; esac; }

# measure RUNS CMD... -> "best_wall median_rss_kib".
measure() {
    local runs=$1; shift
    local i t walls=() rsss=()
    t=$(mktemp)
    for i in $(seq "$runs"); do
        if ! /usr/bin/time -f '%e %M' -o "$t" "$@" >/dev/null 2>"$t.err"; then
            echo "compare.sh: failed: $* ($(tail -1 "$t.err"))" >&2
            rm -f "$t" "$t.err"; echo "fail fail"; return
        fi
        read -r w r < <(tail -1 "$t")
        walls+=("$w"); rsss+=("$r")
    done
    rm -f "$t" "$t.err"
    local mw mr
    mw=$(printf '%s\n' "${walls[@]}" | sort -g | head -1)
    mr=$(printf '%s\n' "${rsss[@]}" | sort -g | awk '{a[NR]=$1} END{print a[int((NR+1)/2)]}')
    echo "$mw $mr"
}

tcpflow_run() { local d; d=$(mktemp -d); tcpflow -r "$1" -o "$d"; local rc=$?; rm -rf "$d"; return $rc; }
export -f tcpflow_run

declare -A WALL RSS BYTES
TOOLS=(bare_loop hopscope hopscope_text tshark tcpflow)
for size in $SIZES; do
    f=$OUT/bookinfo-$size.pcap
    if [ "$REGEN" = 1 ] || [ ! -s "$f" ]; then
        echo "generating $f" >&2
        "$SYNTH" --size "$size" --seed "$SEED" -o "$f" 2>"$f.summary"
        tail -1 "$f.summary" >&2
    fi
    BYTES[$size]=$(stat -L -c %s "$f")
    cat "$f" > /dev/null   # warm the page cache
    echo "measuring $size: bare_loop" >&2
    read -r WALL[bare_loop,$size] RSS[bare_loop,$size] < <(measure "$RUNS" "$BARE" "$f")
    if [ -n "$HOPSCOPE" ]; then
        echo "measuring $size: hopscope" >&2
        read -r WALL[hopscope,$size] RSS[hopscope,$size] < <(measure "$RUNS" "$HOPSCOPE" analyze "$f" --json --no-progress)
        echo "measuring $size: hopscope (text report)" >&2
        read -r WALL[hopscope_text,$size] RSS[hopscope_text,$size] < <(measure "$RUNS" "$HOPSCOPE" analyze "$f" --no-progress)
    fi
    if [ "$SKIP_TSHARK" = 0 ] && ! { [ "$SKIP_TSHARK_1G" = 1 ] && is_big "$size"; }; then
        echo "measuring $size: tshark (slow)" >&2
        read -r WALL[tshark,$size] RSS[tshark,$size] < <(measure 1 tshark -r "$f" -Y http -T fields \
            -e http.request.method -e http.request.uri -e http.response.code \
            -d tcp.port==9080,http -d tcp.port==15001,http -d tcp.port==15006,http)
    fi
    if [ "$SKIP_TCPFLOW" = 0 ] && ! { [ "$SKIP_TCPFLOW_1G" = 1 ] && is_big "$size"; }; then
        echo "measuring $size: tcpflow" >&2
        read -r WALL[tcpflow,$size] RSS[tcpflow,$size] < <(measure 1 bash -c 'tcpflow_run "$0"' "$f")
    fi
done

# Table.
echo
echo "Machine: $(nproc) cores, $(awk '/model name/{$1=$2=$3="";print;exit}' /proc/cpuinfo | sed 's/^ *//'); $(date -u +%Y-%m-%d)."
echo "Captures: \`synth --size SIZE --seed $SEED\` (Bookinfo-like, pcap). Best of $RUNS runs (wall) and median peak RSS for bare_loop/hopscope, 1 run for tshark/tcpflow; page cache warm."
echo
echo "| tool | size | wall s | MB/s | peak RSS MiB | throughput vs bare_loop | hopscope --json vs this |"
echo "|---|---|---:|---:|---:|---:|---:|"
for size in $SIZES; do
    for tool in "${TOOLS[@]}"; do
        w=${WALL[$tool,$size]:-}
        [ -n "$w" ] || continue
        r=${RSS[$tool,$size]}
        if [ "$w" = fail ]; then echo "| $tool | $size | failed | | | | |"; continue; fi
        bw=${WALL[bare_loop,$size]:-}
        vsbare=$(awk -v b="$bw" -v w="$w" 'BEGIN{ if (b!="" && b!="fail" && w>0) printf "%.0f%%", 100*b/w; else print "n/a" }')
        h=${WALL[hopscope,$size]:-}
        ratio="n/a"
        if [ -n "$h" ] && [ "$h" != fail ] && [ "$tool" != hopscope ]; then
            ratio=$(awk -v h="$h" -v w="$w" 'BEGIN{ if (h>0) printf "%.2fx %s", (w>h ? w/h : h/w), (w>h ? "faster" : "slower"); else print "n/a" }')
        fi
        [ "$tool" = hopscope ] && ratio="-"
        label=$tool
        [ "$tool" = hopscope ] && label="hopscope --json"
        [ "$tool" = hopscope_text ] && label="hopscope (text)"
        awk -v t="$label" -v s="$size" -v w="$w" -v r="$r" -v b="${BYTES[$size]}" -v q="$ratio" -v v="$vsbare" \
            'BEGIN{ printf "| %s | %s | %.2f | %.0f | %.1f | %s | %s |\n", t, s, w, (w>0 ? b/w/1e6 : 0), r/1024, v, q }'
    done
done
if [ -z "$HOPSCOPE" ]; then echo; echo "(hopscope: binary not found, not measured)"; fi

# Flat memory: peak RSS at the largest size over the smallest, per tool.
set -- $SIZES
first=$1; last=${!#}
if [ "$first" != "$last" ]; then
    echo
    echo "Peak RSS ratio $last / $first (flat memory means ~1.0):"
    for tool in "${TOOLS[@]}"; do
        a=${RSS[$tool,$first]:-}; b=${RSS[$tool,$last]:-}
        [ -n "$a" ] && [ -n "$b" ] && [ "$a" != fail ] && [ "$b" != fail ] || continue
        awk -v t="$tool" -v a="$a" -v b="$b" 'BEGIN{ printf "- %s: %.2f (%.1f MiB -> %.1f MiB)%s\n", t, b/a, a/1024, b/1024, (t ~ /^hopscope/ && b/a>1.2 ? "  <-- NOT FLAT (target 1.2)" : "") }'
    done
fi
