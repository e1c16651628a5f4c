#!/usr/bin/env bash
# Checks that two hopscope binaries give byte-identical results (stdout, stderr, exit code),
# text and --json, on every capture in captures/, tests/data and tests/data/third-party, and
# bench-out/bookinfo-20MiB.pcap if present: run before and after every performance change.
#
#   benches/same-output.sh NEW_BINARY BASE_BINARY
set -uo pipefail
new=${1:?usage: benches/same-output.sh NEW_BINARY BASE_BINARY}
base=${2:?usage: benches/same-output.sh NEW_BINARY BASE_BINARY}
cd "$(dirname "$0")/.."
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail=0 n=0
for f in captures/*.pcap* captures/*/*.pcap* tests/data/*.pcap* tests/data/third-party/* \
    bench-out/bookinfo-20MiB.pcap; do
    [ -f "$f" ] || continue
    for mode in "" "--json"; do
        "$base" analyze --no-progress $mode "$f" >"$tmp/a.out" 2>"$tmp/a.err"; a=$?
        "$new" analyze --no-progress $mode "$f" >"$tmp/b.out" 2>"$tmp/b.err"; b=$?
        n=$((n + 1))
        if [ $a != $b ] || ! cmp -s "$tmp/a.out" "$tmp/b.out" || ! cmp -s "$tmp/a.err" "$tmp/b.err"; then
            echo "differs: $f $mode (exit $a vs $b)"
            fail=1
        fi
    done
done
echo "compared $n runs: $([ $fail = 0 ] && echo identical || echo DIFFERENT)"
exit $fail
