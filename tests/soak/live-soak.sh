#!/usr/bin/env bash
# Soak test of `hopscope live` (not in CI's default run): a steady HTTP stream through a veth
# pair for minutes, plus one new connection a second left open and silent (the capture must
# expire them: the reassembly's idle timeout is 300 s of capture time), while hopscope
# captures in the server's namespace. Samples hopscope's resident memory every 10 s and prints
# the series, the peak (VmHWM) and the counters. Figures: docs/performance.md "Live capture soak".
#
#   sudo tests/soak/live-soak.sh [SECONDS] [RATE]     defaults: 480 s, 500 requests/s
#
# Needs root, ip, python3 and a release build with the feature:
#   cargo build --release --features live   (BIN=path overrides target/release/hopscope)
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
SECS=${1:-480}
RATE=${2:-500}
BIN=${BIN:-${CARGO_TARGET_DIR:-$ROOT/target}/release/hopscope}
PY=${PYTHON:-python3}
S=hs-soak$$-s
C=hs-soak$$-c
W=$(mktemp -d)
PIDS=()
cleanup() {
    for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
    wait 2>/dev/null || true
    ip netns del "$S" 2>/dev/null || true
    ip netns del "$C" 2>/dev/null || true
    rm -rf "$W"
}
trap cleanup EXIT
[[ $(id -u) == 0 ]] || { echo "live-soak: needs root" >&2; exit 2; }
[[ -x $BIN ]] || { echo "live-soak: no $BIN (cargo build --release --features live)" >&2; exit 2; }

ip netns add "$S"
ip netns add "$C"
ip -n "$S" link set lo up
ip -n "$C" link set lo up
ip -n "$S" link add eth0 type veth peer name eth0 netns "$C"
ip -n "$S" addr add 10.213.0.1/24 dev eth0
ip -n "$C" addr add 10.213.0.2/24 dev eth0
ip -n "$S" link set eth0 up
ip -n "$C" link set eth0 up

ip netns exec "$S" "$PY" "$ROOT/tests/live/server.py" 0.0.0.0 8080 $((SECS + 60)) >"$W/server.out" &
PIDS+=($!)
for _ in $(seq 100); do grep -q listening "$W/server.out" && break; sleep 0.1; done

"$BIN" live --netns "/var/run/netns/$S" >"$W/report.txt" 2>"$W/live.err" &
HS=$!
PIDS+=($HS)
for _ in $(seq 100); do grep -q "capturing on" "$W/live.err" && break; sleep 0.1; done

ip netns exec "$C" "$PY" "$ROOT/tests/live/client.py" loop 10.213.0.1 8080 "$SECS" "$RATE" >"$W/loop.out" &
LOOP=$!
PIDS+=($LOOP)
ip netns exec "$C" "$PY" "$ROOT/tests/live/client.py" idle 10.213.0.1 8080 "$SECS" 1 >"$W/idle.out" &
IDLE=$!
PIDS+=($IDLE)

rss() { awk '/^VmRSS/ {print $2}' "/proc/$HS/status"; }
echo "t_s rss_kib"
t=0
while kill -0 "$LOOP" 2>/dev/null; do
    echo "$t $(rss)"
    sleep 10
    t=$((t + 10))
done
wait "$LOOP" "$IDLE" || true
sleep 1
hwm=$(awk '/^VmHWM/ {print $2}' "/proc/$HS/status")
kill -INT "$HS"
wait "$HS" || true
echo "peak VmHWM: $hwm KiB"
cat "$W/loop.out" "$W/idle.out"
grep -E "^  (tcp|http|packets) " "$W/report.txt"
tail -n 1 "$W/live.err"
