#!/usr/bin/env bash
# Makes sidecar-redirect-15001-any.pcap: what `tcpdump -i any` inside an Istio sidecar pod's
# netns shows of the app's outbound calls (domain.md 3.7 (a)): a netns "pod" with
# 10.244.1.7, the istio-iptables-style rule `-t nat -A OUTPUT -d 10.96.100.10 --dport 9080
# -j REDIRECT --to-ports 15001`, python3's http.server standing in for the sidecar on 15001,
# and curl calling the "ClusterIP" 10.96.100.10:9080 three times (http.server speaks HTTP/1.0,
# so three connections of one exchange each; see tests/data/README.md).
# Needs root, ip, iptables, tcpdump, python3, curl. ~3 s.
set -euo pipefail
D=$(cd "$(dirname "$0")" && pwd)
OUT=${1:-$D/sidecar-redirect-15001-any.pcap}
N=hs-fixture-redir
W=$(mktemp -d)
PIDS=()
cleanup() {
    for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
    ip netns del $N 2>/dev/null || true
    rm -rf "$W"
}
trap cleanup EXIT
ip netns del $N 2>/dev/null || true
ip netns add $N
ip -n $N link set lo up
ip -n $N link add eth0 type veth peer name eth0p
ip -n $N link set eth0p up
ip -n $N addr add 10.244.1.7/24 dev eth0
ip -n $N link set eth0 up
ip -n $N route add default dev eth0
ip netns exec $N iptables -t nat -A OUTPUT -p tcp -d 10.96.100.10 --dport 9080 \
    -j REDIRECT --to-ports 15001
echo '{"reviews":[]}' > "$W/reviews"
ip netns exec $N python3 -m http.server 15001 --bind 0.0.0.0 --directory "$W" >/dev/null 2>&1 &
PIDS+=($!)
for _ in $(seq 100); do
    ip netns exec $N bash -c 'exec 3<>/dev/tcp/127.0.0.1/15001' 2>/dev/null && break
    sleep 0.1
done
ip netns exec $N tcpdump -i any -B 65536 --immediate-mode -U -w "$OUT" tcp 2>"$W/td.err" &
TD=$!
for _ in $(seq 100); do grep -q listening "$W/td.err" && break; sleep 0.1; done
ip netns exec $N curl -s -H 'Host: reviews:9080' http://10.96.100.10:9080/reviews -o /dev/null
ip netns exec $N curl -s http://10.96.100.10:9080/reviews http://10.96.100.10:9080/nothing \
    -o /dev/null -o /dev/null
sleep 1
kill -INT $TD
wait $TD || true
grep -E 'captured|dropped' "$W/td.err" >&2
