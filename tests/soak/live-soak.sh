#!/usr/bin/env bash
# Soak test of `hopscope live` (not in CI's default run): a steady HTTP stream through a veth
# pair for minutes, plus one new connection a second left open and silent (the capture must
# expire them: the reassembly's idle timeout is 300 s of capture time), while hopscope
# captures in the server's namespace. Samples hopscope's resident memory every 10 s and prints
# the series, the peak (VmHWM) and the counters. Figures: docs/performance.md "Live capture soak".
#
#   sudo tests/soak/live-soak.sh [SECONDS] [RATE]     defaults: 480 s, 500 requests/s
#   IDLE_EVERY=0.2 …                                  a silent connection every 0.2 s instead
#
# At the end the idle client closes every connection it holds at once. Those hopscope has
# already expired come back as mid-stream connections in one burst, so the final VmHWM can
# exceed the steady state; the per-sample VmHWM column shows the steady-state peak.
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
ip netns exec "$C" "$PY" "$ROOT/tests/live/client.py" idle 10.213.0.1 8080 "$SECS" "${IDLE_EVERY:-1}" >"$W/idle.out" &
IDLE=$!
PIDS+=($IDLE)

mem() { awk '/^VmRSS/ {r = $2} /^VmHWM/ {h = $2} END {print r, h}' "/proc/$HS/status"; }
echo "t_s rss_kib hwm_kib"
t=0
steady=$(mem)
while kill -0 "$LOOP" 2>/dev/null; do
    steady=$(mem) # the last sample before the clients end (and the idle ones close at once)
    echo "$t $steady"
    sleep 10
    t=$((t + 10))
done
wait "$LOOP" "$IDLE" || true
sleep 1
final=$(mem)
kill -INT "$HS"
wait "$HS" || true
echo "VmHWM at the last sample: ${steady#* } KiB; after the idle connections closed: ${final#* } KiB"
cat "$W/loop.out" "$W/idle.out"
grep -E "^  (tcp|http|packets) " "$W/report.txt"
grep -v "^hopscope: capturing on" "$W/live.err"
