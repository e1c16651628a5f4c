#!/usr/bin/env bash
# The hopscope kernel lab: a one-node Kubernetes + Istio-like cluster out of network namespaces,
# real HTTP through kube-proxy-style iptables rules and HAProxy "sidecars" (mTLS between them),
# real tcpdump captures and conntrack, written as a cluster bundle (docs/bundle.md). See
# tests/lab/README.md.
#
#   lab.sh [BUNDLE]          up, run, collect, down (default BUNDLE: target/lab-bundle)
#   lab.sh up|run|down       one step (state in $HS_LAB_STATE, default /tmp/hs-lab)
#   lab.sh collect [BUNDLE]
#
# Needs root, iproute2, iptables (nft backend tested), conntrack, tcpdump, haproxy, python3, curl,
# openssl.
# Every netns and veth it makes starts with "hs-"; `down` removes exactly those (by name).
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
STATE=${HS_LAB_STATE:-/tmp/hs-lab}
PY=${PYTHON:-python3}
export PYTHONDONTWRITEBYTECODE=1 # no __pycache__ in the source tree
NODE=hs-node
CLIENT=hs-client
PP=hs-productpage
RV=hs-reviews-v2

log() { printf "lab: %s %s\n" "$(date +%T.%N | cut -c1-12)" "$*" >&2; }
nsx() { local ns=$1; shift; ip netns exec "$ns" "$@"; }

# `topology.py shell` gives POD_<app>_<version>='netns veth ip name', SPIFFE_<app>_<version>,
# PODS and SIDECARS (the pods with a sidecar).
eval "$(cd "$HERE" && "$PY" topology.py shell)"

need_tools() {
    local t missing=()
    for t in ip iptables iptables-save iptables-restore conntrack tcpdump haproxy "$PY" curl setpriv ss \
        openssl; do
        command -v "$t" >/dev/null 2>&1 || missing+=("$t")
    done
    if ((${#missing[@]})); then log "missing: ${missing[*]}"; exit 2; fi
    [[ $(id -u) == 0 ]] || { log "needs root"; exit 2; }
}

# wait_for DESCRIPTION CMD...: retry CMD every 50 ms for up to 10 s.
wait_for() {
    local what=$1 i; shift
    for ((i = 0; i < 200; i++)); do
        if "$@" >/dev/null 2>&1; then return 0; fi
        sleep 0.05
    done
    log "timed out waiting for $what"; return 1
}

listening() { nsx "$1" ss -Htln "sport = :$2" | grep -q .; }

# bg NAME NETNS CMD...: start CMD in NETNS in the background; its pid goes to $STATE/pids/NAME.
bg() {
    local name=$1 ns=$2; shift 2
    ip netns exec "$ns" "$@" >"$STATE/out/$name.out" 2>"$STATE/out/$name.err" &
    echo $! >"$STATE/pids/$name"
}

stop() { # stop NAME [SIGNAL]: signal the process by its pid file and wait for it to exit
    local f="$STATE/pids/$1" pid
    [[ -f $f ]] || return 0
    pid=$(<"$f")
    rm -f "$f"
    # Only a process inside one of this lab's netns (a stale pid file may name someone else's).
    case " $(lab_netns | tr '\n' ' ') " in *" $(ip netns identify "$pid" 2>/dev/null) "*) ;; *) return 0 ;; esac
    kill "-${2:-TERM}" "$pid" 2>/dev/null || true
    for ((i = 0; i < 100; i++)); do kill -0 "$pid" 2>/dev/null || break; sleep 0.05; done
    kill -KILL "$pid" 2>/dev/null || true
}

lab_netns() { # every netns the lab creates
    local p v netns
    echo $NODE $CLIENT
    for p in $PODS; do v="POD_$p"; read -r netns _ <<<"${!v}"; echo "$netns"; done
}

down() {
    local f ns
    if [[ -d $STATE/pids ]]; then
        for f in "$STATE"/pids/*; do [[ -e $f ]] && stop "$(basename "$f")"; done
    fi
    # Only the netns this lab makes, by name: other hs-* netns on the machine are not ours.
    # Deleting a netns deletes its veth ends too; nothing else lives outside them.
    for ns in $(lab_netns); do
        [[ -e /run/netns/$ns ]] || continue
        # Kill what still runs inside (only processes in this lab's own netns).
        for pid in $(ip netns pids "$ns" 2>/dev/null); do kill -KILL "$pid" 2>/dev/null || true; done
        ip netns delete "$ns"
    done
}

up() {
    need_tools
    down
    rm -rf "$STATE"; mkdir -p "$STATE/pids" "$STATE/out" "$STATE/cfg"
    local ns
    for ns in $NODE $CLIENT; do ip netns add "$ns"; done
    # client eth0 192.168.50.20 <-> node eth0 192.168.50.10 (the node's InternalIP)
    ip -n $NODE link add eth0 type veth peer name eth0 netns $CLIENT
    ip -n $NODE addr add 192.168.50.10/24 dev eth0
    ip -n $CLIENT addr add 192.168.50.20/24 dev eth0
    for ns in $NODE $CLIENT; do ip -n "$ns" link set lo up; ip -n "$ns" link set eth0 up; done
    nsx $NODE sysctl -qw net.ipv4.ip_forward=1 net.ipv4.conf.all.rp_filter=0 \
        net.ipv4.conf.default.rp_filter=0

    # Calico-style routed pod links: no bridge, no address on the node end; each pod IP is a
    # /32 route to its veth, and the pod's gateway 169.254.1.1 is the node end's MAC. Calico
    # answers that ARP with proxy_arp; a permanent neighbour entry needs no node route to it.
    local p netns veth ip name mac
    for p in $PODS; do
        v="POD_$p"; read -r netns veth ip name <<<"${!v}"
        ip netns add "$netns"
        ip -n $NODE link add "$veth" type veth peer name eth0 netns "$netns"
        ip -n "$netns" link set lo up
        ip -n "$netns" addr add "$ip/32" dev eth0
        ip -n "$netns" link set eth0 up
        ip -n $NODE link set "$veth" up
        nsx $NODE sysctl -qw "net.ipv4.conf.$veth.proxy_arp=1" "net.ipv4.conf.$veth.rp_filter=0"
        ip -n $NODE route add "$ip/32" dev "$veth" scope link
        mac=$(ip -n $NODE -o link show "$veth" | sed -n 's/.*link\/ether \([0-9a-f:]*\).*/\1/p')
        ip -n "$netns" route add 169.254.1.1 dev eth0 scope link
        ip -n "$netns" neigh replace 169.254.1.1 lladdr "$mac" dev eth0 nud permanent
        ip -n "$netns" route add default via 169.254.1.1 dev eth0
    done

    # kube-proxy: the restore input it writes, then the jumps from the built-in chains
    # (EnsureRule Prepend, so each -I lands on top, as kube-proxy's loop leaves them).
    (cd "$HERE" && "$PY" kube_proxy.py restore) >"$STATE/cfg/kube-proxy.rules"
    nsx $NODE iptables-restore --noflush <"$STATE/cfg/kube-proxy.rules"
    local table chain extra comment kube
    while IFS=';' read -r table chain extra comment kube; do
        # shellcheck disable=SC2086 # $extra is a list of match words
        nsx $NODE iptables -w -t "$table" -I "$chain" $extra -m comment --comment "$comment" -j "$kube"
    done < <(cd "$HERE" && "$PY" kube_proxy.py jumps)

    # istio-iptables -p 15001 -z 15006 -u 1337 -m REDIRECT -i '*' -x '' -b '*' -d 15090,15021,15020
    for p in $SIDECARS; do
        v="POD_$p"; read -r netns _ <<<"${!v}"
        nsx "$netns" iptables-restore --noflush <"$HERE/istio-iptables.rules"
    done
    certs

    # The apps, then the sidecars (uid/gid 1337, as istio-proxy runs).
    for p in $PODS; do
        v="POD_$p"; read -r netns veth ip name <<<"${!v}"
        bg "app-$p" "$netns" env PYTHONUNBUFFERED=1 PYTHONPATH="$HERE" "$PY" "$HERE/bookinfo.py" "${p%_*}" "${p##*_}"
    done
    for p in $SIDECARS; do
        v="POD_$p"; read -r netns _ <<<"${!v}"
        (cd "$HERE" && "$PY" sidecar.py haproxy "$p" stdout "$STATE/cfg/certs") >"$STATE/cfg/haproxy-$p.cfg"
        chmod 0644 "$STATE/cfg/haproxy-$p.cfg"
        bg "sidecar-$p" "$netns" setpriv --reuid=1337 --regid=1337 --clear-groups \
            haproxy -db -f "$STATE/cfg/haproxy-$p.cfg"
    done
    for p in $PODS; do
        v="POD_$p"; read -r netns veth ip name <<<"${!v}"
        wait_for "$p :9080" listening "$netns" 9080
    done
    for p in $SIDECARS; do
        v="POD_$p"; read -r netns _ <<<"${!v}"
        wait_for "sidecar $p :15001" listening "$netns" 15001
        wait_for "sidecar $p :15006" listening "$netns" 15006
    done
    log "up: $(lab_netns | wc -w) netns"
}

# The mesh's certificates, as Istio's CA issues them: a self-signed root (O=cluster.local) and
# per sidecar pod an ECDSA P-256 workload certificate with an empty subject and its SPIFFE
# identity as the URI SAN. Keys are readable by uid 1337 only (HAProxy reads them at start).
certs() {
    local d="$STATE/cfg/certs" p v
    mkdir -p "$d"
    openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2 \
        -subj "/O=cluster.local" -keyout "$d/ca.key" -out "$d/ca.pem" 2>/dev/null
    for p in $SIDECARS; do
        v="SPIFFE_$p"
        openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -subj "/" \
            -keyout "$d/$p.key" -out "$d/$p.csr" 2>/dev/null
        printf 'subjectAltName=critical,URI:%s\nkeyUsage=critical,digitalSignature,keyEncipherment\nextendedKeyUsage=serverAuth,clientAuth\n' \
            "${!v}" >"$d/$p.ext"
        openssl x509 -req -in "$d/$p.csr" -CA "$d/ca.pem" -CAkey "$d/ca.key" -CAcreateserial \
            -days 2 -extfile "$d/$p.ext" -out "$d/$p.crt" 2>/dev/null
        cat "$d/$p.crt" "$d/$p.key" >"$d/$p.pem"
        chown 1337:1337 "$d/$p.pem"
        chmod 0600 "$d/$p.pem"
    done
    chmod 0755 "$d"
    chmod 0644 "$d/ca.pem"
}

start_capture() { # start_capture NAME NETNS
    bg "tcpdump-$1" "$2" tcpdump -i any -y LINUX_SLL2 -U --immediate-mode -B 8192 -Z root -nn \
        -w "$STATE/out/$1.pcap"
    wait_for "tcpdump in $2" grep -q "listening on" "$STATE/out/tcpdump-$1.err"
}

start_conntrack() { # start_conntrack NAME NETNS: the event stream, timestamped
    bg "conntrack-$1" "$2" conntrack -E -o timestamp -p tcp
    local pid; pid=$(<"$STATE/pids/conntrack-$1")
    wait_for "conntrack -E in $2" sh -c "ls -l /proc/$pid/fd | grep -q socket"
}

client() { # client NAME CURL-ARGS...: a curl in the client netns, output kept
    local name=$1; shift
    nsx $CLIENT curl -sS --http1.1 --max-time 10 "$@" >>"$STATE/out/curl-$name.out"
    echo >>"$STATE/out/curl-$name.out"
}

run() {
    [[ -d $STATE/pids ]] || { log "run: lab not up"; exit 1; }
    start_conntrack node $NODE
    start_conntrack productpage $PP
    start_conntrack reviews-v2 $RV
    start_capture node $NODE
    start_capture productpage $PP
    start_capture reviews-v2 $RV
    local np=http://192.168.50.10:30080
    # NodePort 30080 (eTP=Cluster, MASQUERADE): two keep-alive connections of three requests.
    client nodeport "$np/productpage?id=1" "$np/productpage?id=2" "$np/productpage?id=3"
    client nodeport "$np/productpage?id=4" "$np/productpage?id=5" "$np/productpage?id=6"
    client nodeport "$np/ratings/1"
    client nodeport "$np/passthrough"
    # NodePort 30081 (ratings, eTP=Local: no SNAT, the client IP reaches the pod).
    client local "http://192.168.50.10:30081/ratings/7"
    # ratings' ClusterIP twice from one pod without a sidecar (ClientIP affinity, -m recent).
    local i
    for i in 1 2; do
        nsx hs-reviews-v1 curl -sS --max-time 10 "http://10.96.100.20:9080/ratings/a$i" \
            >>"$STATE/out/curl-affinity.out"
    done
    # The productpage pod itself calls the reviews ClusterIP: REDIRECTed to the sidecar.
    nsx $PP curl -sS --max-time 10 -H "x-request-id: lab-direct-1" \
        "http://10.96.100.10:9080/reviews/9" >>"$STATE/out/curl-direct.out"
    # Let the last FIN/ACKs reach the captures, then stop them cleanly (SIGINT flushes).
    log "run: traffic sent"
    for n in node productpage reviews-v2; do stop "tcpdump-$n" INT; done
    for n in node productpage reviews-v2; do stop "conntrack-$n" TERM; done
    nsx $NODE conntrack -L -p tcp >"$STATE/out/node-conntrack-L.txt" 2>/dev/null || true
    nsx $PP conntrack -L -p tcp >"$STATE/out/productpage-conntrack-L.txt" 2>/dev/null || true
    nsx $RV conntrack -L -p tcp >"$STATE/out/reviews-v2-conntrack-L.txt" 2>/dev/null || true
    # The ClientIP affinity lists kube-proxy's -m recent rules keep (xt_recent, per netns).
    nsx $NODE sh -c 'for f in /proc/net/xt_recent/*; do echo "== ${f##*/}"; cat "$f"; done' \
        >"$STATE/out/node-xt_recent.txt" 2>/dev/null || true
    log "run: traffic done"
}

check_out() { # the bundle dir is replaced: never /, the checkout or $HOME
    case $(cd "$(dirname "$1")" 2>/dev/null && pwd)/$(basename "$1") in
    / | //* | "$ROOT" | "$ROOT/" | "$HOME") log "refusing to replace $1"; exit 1 ;;
    esac
}

collect() {
    local out=${1:-$ROOT/target/lab-bundle}
    case $out in /*) ;; *) out=$PWD/$out ;; esac # the generators run from $HERE
    local node="$out/node/node-1" ppdir rvdir
    ppdir="$out/pod/default/$(read -r _ _ _ n <<<"$POD_productpage_v1"; echo "$n")"
    rvdir="$out/pod/default/$(read -r _ _ _ n <<<"$POD_reviews_v2"; echo "$n")"
    check_out "$out"
    rm -rf "$out"; mkdir -p "$node" "$ppdir" "$rvdir" "$out/kubectl" "$out/lab"
    printf '{"taken": "%s", "node": "node-1"}\n' "$(date -u +%Y-%m-%dT%H:%M:%SZ)" >"$out/bundle.json"
    nsx $NODE iptables-save >"$node/iptables-save.txt"
    cp "$STATE/out/conntrack-node.out" "$node/conntrack.txt"
    cp "$STATE/out/node-conntrack-L.txt" "$node/conntrack-L.txt"
    nsx $NODE ip -o addr show | awk '{split($4, a, "/"); print a[1]}' >"$node/addresses.txt"
    cp "$STATE/out/node.pcap" "$node/capture.pcap"
    # The sidecar pods: rules, conntrack, listeners, Envoy's view, capture; their proxy logs.
    local p netns name dir short args=()
    for p in $SIDECARS; do
        v="POD_$p"; read -r netns _ _ name <<<"${!v}"
        dir="$out/pod/default/$name"; short=${netns#hs-}
        nsx "$netns" iptables-save >"$dir/iptables-save.txt"
        cp "$STATE/out/conntrack-$short.out" "$dir/conntrack.txt"
        cp "$STATE/out/$short-conntrack-L.txt" "$dir/conntrack-L.txt"
        (cd "$HERE" && "$PY" envoy_dump.py "$p") >"$dir/config_dump.json"
        cp "$STATE/cfg/haproxy-$p.cfg" "$out/lab/"
        cp "$STATE/out/sidecar-$p.out" "$out/lab/sidecar-$p.log"
        args+=(--pod "$name=$dir/conntrack.txt" --log "$name=$out/lab/sidecar-$p.log")
    done
    cp "$STATE/out/productpage.pcap" "$ppdir/capture.pcap"
    cp "$STATE/out/reviews-v2.pcap" "$rvdir/capture.pcap"
    nsx $PP ss -ntlp >"$ppdir/listen.txt"
    nsx $RV ss -ntlp >"$rvdir/listen.txt"
    (cd "$HERE" && "$PY" kubectl.py) >"$out/kubectl/cluster.json"
    cp "$STATE/cfg/kube-proxy.rules" "$STATE/out/node-xt_recent.txt" "$STATE/cfg/certs/ca.pem" "$out/lab/"
    for p in $SIDECARS; do cp "$STATE/cfg/certs/$p.crt" "$out/lab/"; done
    # The affinity lists, where a bundle keeps them (docs/bundle.md).
    cp "$STATE/out/node-xt_recent.txt" "$out/node/node-1/xt_recent.txt"
    cat "$STATE"/out/app-*.err >"$out/lab/apps.log"
    # SLL2 captures name interfaces by ifindex only; this maps them, per netns.
    for ns in $(lab_netns); do echo "== $ns"; ip -n "$ns" -o link show; done >"$out/lab/interfaces.txt"
    cat "$STATE"/out/curl-*.out >"$out/lab/curl.out"
    (cd "$HERE" && "$PY" truth.py --node "$node/conntrack.txt" "${args[@]}" \
        --recent "$out/lab/node-xt_recent.txt") >"$out/truth.json"
    log "collect: bundle in $out"
}

case ${1:-all} in
up) up ;;
run) run ;;
collect) collect "${2:-}" ;;
down) down; rm -rf "$STATE" ;;
*)
    out=${1:-$ROOT/target/lab-bundle}
    [[ $out == all ]] && out=$ROOT/target/lab-bundle
    check_out "$out"
    # One lab at a time on this machine (the netns names are fixed).
    exec 9>/tmp/hs-lab.lock
    flock -w 120 9 || { log "another lab run holds /tmp/hs-lab.lock"; exit 1; }
    trap 'down' EXIT
    trap 'exit 130' INT TERM
    up
    run
    collect "$out"
    ;;
esac
