#!/usr/bin/env bash
# Throughput of `hopscope analyze` against examples/bare_loop on one capture, interleaved:
# each round runs bare_loop, hopscope (text) and hopscope --json once, so a burst of load from
# elsewhere hits all three alike. Prints every wall time, the medians, and the ratios
# (bare_loop wall / hopscope wall = hopscope's speed as a share of bare_loop's).
#
#   benches/ratio.sh FILE [ROUNDS]      (default 15 rounds)
# Env: CARGO_TARGET_DIR (default target). Build first: cargo build --release --bins --examples
set -euo pipefail
file=${1:?usage: benches/ratio.sh FILE [ROUNDS]}
rounds=${2:-15}
bin=${CARGO_TARGET_DIR:-target}/release
out=$(mktemp)
trap 'rm -f "$out"' EXIT
cat "$file" >/dev/null # warm the page cache: CPU cost, not disk speed
for _ in $(seq "$rounds"); do
    /usr/bin/time -f 'bare %e' -a -o "$out" "$bin/examples/bare_loop" "$file" >/dev/null
    /usr/bin/time -f 'text %e' -a -o "$out" "$bin/hopscope" analyze --no-progress "$file" >/dev/null
    /usr/bin/time -f 'json %e' -a -o "$out" "$bin/hopscope" analyze --no-progress --json "$file" >/dev/null
done
awk '
    { t[$1] = t[$1] " " $2; n[$1]++; v[$1, n[$1]] = $2 }
    END {
        for (k in n) {
            m = n[k]
            for (i = 1; i <= m; i++) for (j = i + 1; j <= m; j++)
                if (v[k, j] < v[k, i]) { x = v[k, i]; v[k, i] = v[k, j]; v[k, j] = x }
            med[k] = (m % 2) ? v[k, (m + 1) / 2] : (v[k, m / 2] + v[k, m / 2 + 1]) / 2
            min[k] = v[k, 1]
            printf "%-5s walls:%s\n", k, t[k]
        }
        printf "median: bare_loop %.3f s, text %.3f s, --json %.3f s\n", med["bare"], med["text"], med["json"]
        printf "best:   bare_loop %.3f s, text %.3f s, --json %.3f s\n", min["bare"], min["text"], min["json"]
        printf "throughput vs bare_loop (medians): text %.0f %%, --json %.0f %%\n", 100 * med["bare"] / med["text"], 100 * med["bare"] / med["json"]
        printf "throughput vs bare_loop (best):    text %.0f %%, --json %.0f %%\n", 100 * min["bare"] / min["text"], 100 * min["bare"] / min["json"]
    }' "$out"
