#!/usr/bin/env bash
# Makes the real loopback fixtures in tests/data/ and their tshark views in expected/.
#
#   tests/data/make-fixtures.sh            # capture everything, then write expected/*.tsv
#   tests/data/make-fixtures.sh expected   # only (re)write expected/*.tsv from the files
#
# Needs root (tcpdump/dumpcap on lo and any), tcpdump 4.99, tshark/dumpcap 4.0, nginx,
# curl, python3, openssl. Every server listens on 127.0.0.1 high ports, every process is
# started under `timeout`, and everything started here is stopped by pid on exit.
# Traffic never leaves 127.0.0.0/8.
set -euo pipefail
D=$(cd "$(dirname "$0")" && pwd)
PY_PORT=18080      # python3 -m http.server (HTTP/1.0)
NGINX_PORT=18081   # nginx with tests/data/nginx.conf
HELPER_PORT=18082  # helper_server.py (chunked + trailers, POST sink)
TLS_PORT=18443     # openssl s_server
PIDS=()

# tshark decode-as for the high ports (tshark only knows 80/8080/... as HTTP).
DECODE=(-d "tcp.port==$PY_PORT,http" -d "tcp.port==$NGINX_PORT,http" -d "tcp.port==$HELPER_PORT,http"
        -d "tcp.port==9080,http" -d "tcp.port==15001,http" -d "tcp.port==15006,http"
        -d "tcp.port==2375,http" -d "tcp.port==8065,http" -d "tcp.port==20880,http")

expected() {
    # One TSV per capture: tshark's HTTP view. Defaults, except that the synthetic
    # captures get tcp.reassemble_out_of_order (their swapped segments need it; on real
    # captures with gaps it makes tshark wait forever and drop every later response).
    local f name ooo
    for f in "$D"/*.pcap "$D"/*.pcapng "$D"/third-party/*.pcap "$D"/third-party/*.pcapng "$D"/third-party/*.bin "$D"/../../captures/*.pcap; do
        [ -e "$f" ] || continue
        name=$(basename "$f"); name=${name%.*}
        case $f in */captures/*) ooo=TRUE ;; *) ooo=FALSE ;; esac
        {
            printf 'frame\tstream\tmethod\turi\tstatus\n'
            timeout 120 tshark -r "$f" "${DECODE[@]}" -o "tcp.reassemble_out_of_order:$ooo" \
                -Y 'http.request or http.response' -T fields -e frame.number -e tcp.stream \
                -e http.request.method -e http.request.uri -e http.response.code 2>/dev/null || true
        } > "$D/expected/$name.tsv"
    done
}

if [ "${1:-}" = expected ]; then expected; exit 0; fi

W=$(mktemp -d /tmp/hopscope-fixtures.XXXXXX)
chmod 755 "$W"
cleanup() {
    local p
    for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
    sleep 0.3
    rm -rf "$W"
}
trap cleanup EXIT

# Files served. Fixed content and mtimes, so ETag/Last-Modified repeat between runs.
mkdir -p "$W/www" "$W/nginx/logs" "$W/nginx/tmp"
chown www-data "$W/nginx/tmp"
printf '<!DOCTYPE html>\n<html><head><title>fixture</title></head><body><p>hello from %s</p></body></html>\n' index > "$W/www/index.html"
printf 'a small text file\n' > "$W/www/file.txt"
python3 -c '
import random
r = random.Random(7)
w = ["istio","envoy","sidecar","reviews","ratings","details","productpage","mesh","pod","service"]
with open("'"$W"'/www/big.txt","w") as f:
    for i in range(6000):
        f.write("%05d %s\n" % (i, " ".join(r.choice(w) for _ in range(8))))
with open("'"$W"'/www/large.bin","wb") as f:
    f.write(bytes(r.getrandbits(8) for _ in range(1048576)))
with open("'"$W"'/upload.bin","wb") as f:
    f.write(bytes(r.getrandbits(8) for _ in range(204800)))
'
touch -d '2024-05-14 09:00:00 UTC' "$W"/www/*
chmod -R a+rX "$W/www"
ln -s "$W/www" "$W/nginx/www"

# Servers, each with a bounded lifetime.
(cd "$W/www" && exec timeout 300 python3 -m http.server "$PY_PORT" --bind 127.0.0.1) >/dev/null 2>&1 &
PIDS+=($!)
timeout 300 python3 "$D/helper_server.py" "$HELPER_PORT" 290 >/dev/null 2>&1 &
PIDS+=($!)
timeout 300 nginx -p "$W/nginx" -c "$D/nginx.conf" -g 'daemon off;' &
PIDS+=($!)
for _ in $(seq 50); do
    curl -s -o /dev/null "http://127.0.0.1:$NGINX_PORT/file.txt" && curl -s -o /dev/null "http://127.0.0.1:$PY_PORT/" && break
    sleep 0.1
done

# cap NAME TOOL IFACE FILTER -- COMMAND...: capture while COMMAND runs.
# TOOL: tcpdump | tcpdump-nano | dumpcap (pcapng)
cap() {
    local name=$1 tool=$2 iface=$3 filter=$4; shift 5
    local log="$W/$name.log" pid
    case $tool in
        tcpdump) timeout 60 tcpdump -i "$iface" -B 65536 --immediate-mode -U -w "$D/$name" "$filter" 2>"$log" & pid=$! ;;
        tcpdump-nano) timeout 60 tcpdump -i "$iface" -B 65536 --immediate-mode --time-stamp-precision=nano -U -w "$D/$name" "$filter" 2>"$log" & pid=$! ;;
        dumpcap) timeout 60 dumpcap -q -B 64 -i "$iface" -f "$filter" -w "$D/$name" 2>"$log" & pid=$! ;;
    esac
    for _ in $(seq 50); do grep -qiE 'listening|capturing' "$log" 2>/dev/null && break; sleep 0.1; done
    sleep 0.3
    timeout 30 "$@" >/dev/null 2>&1 || echo "  ($name: client exited $?)"
    sleep 1.2
    kill -INT "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
    chmod 644 "$D/$name"
    echo "$name: $(tail -n +1 "$log" | grep -E 'packets captured' || true)"
}

U="http://127.0.0.1"
# 1. python3 -m http.server (HTTP/1.0, one connection per request): 200, 404, HEAD.
cap python-get-404-head.pcap tcpdump lo "tcp port $PY_PORT" -- \
    sh -c "curl -s $U:$PY_PORT/index.html; curl -s $U:$PY_PORT/nope.html; curl -s -I $U:$PY_PORT/file.txt"
# 2. nginx keep-alive: curl reuses one connection for three URLs.
cap nginx-keepalive-3req.pcap tcpdump lo "tcp port $NGINX_PORT" -- \
    curl -s "$U:$NGINX_PORT/index.html" "$U:$NGINX_PORT/file.txt" "$U:$NGINX_PORT/missing"
# 3. same exchange sequence captured with -i any: LINKTYPE_LINUX_SLL2 (276).
cap nginx-keepalive-any-sll2.pcap tcpdump any "tcp port $NGINX_PORT" -- \
    curl -s "$U:$NGINX_PORT/index.html" "$U:$NGINX_PORT/file.txt" "$U:$NGINX_PORT/missing"
# 4. gzip: nginx compresses text/plain on the fly, so the body is chunked.
cap nginx-gzip-chunked.pcap tcpdump lo "tcp port $NGINX_PORT" -- \
    curl -s --compressed "$U:$NGINX_PORT/big.txt"
# 5. conditional GETs: 304 via If-None-Match, then via If-Modified-Since (two connections).
ETAG=$(curl -s -I "$U:$NGINX_PORT/file.txt" | tr -d '\r' | awk -F': ' 'tolower($1)=="etag"{print $2}')
cap nginx-304-conditional.pcap tcpdump lo "tcp port $NGINX_PORT" -- \
    sh -c "curl -s -H 'If-None-Match: $ETAG' $U:$NGINX_PORT/file.txt; curl -s -H 'If-Modified-Since: Tue, 14 May 2024 09:00:00 GMT' $U:$NGINX_PORT/file.txt"
# 6. Expect: 100-continue POST of 200 KiB; nginx answers 100 and proxies to the helper.
cap nginx-100-continue-proxy.pcap tcpdump lo "tcp port $NGINX_PORT or tcp port $HELPER_PORT" -- \
    curl -s -H 'Expect: 100-continue' --data-binary @"$W/upload.bin" "$U:$NGINX_PORT/upload"
# 7. a 1 MiB body (not compressible, not gzipped).
cap nginx-large-body-1mib.pcap tcpdump lo "tcp port $NGINX_PORT" -- \
    curl -s -o /dev/null "$U:$NGINX_PORT/large.bin"
# 8. chunked with a trailer section, straight from the helper.
cap helper-chunked-trailer.pcap tcpdump lo "tcp port $HELPER_PORT" -- \
    curl -s --raw "$U:$HELPER_PORT/chunked"
# 9. true pipelining: three requests in one segment, three responses.
cap nginx-pipelined-3req.pcap tcpdump lo "tcp port $NGINX_PORT" -- \
    python3 "$D/raw_client.py" pipeline "$NGINX_PORT"
# 10. client reads ~48 KiB of a 1 MiB response, then RST (SO_LINGER 0).
cap nginx-client-rst-mid-response.pcap tcpdump lo "tcp port $NGINX_PORT" -- \
    python3 "$D/raw_client.py" abort "$NGINX_PORT" /large.bin
# 11. pcapng written natively by dumpcap (one SHB, one IDB for lo).
cap nginx-keepalive-dumpcap.pcapng dumpcap lo "tcp port $NGINX_PORT" -- \
    curl -s "$U:$NGINX_PORT/index.html" "$U:$NGINX_PORT/file.txt"
# 12. nanosecond pcap (magic a1b23c4d) written by tcpdump.
cap python-get-nanosecond.pcap tcpdump-nano lo "tcp port $PY_PORT" -- \
    curl -s "$U:$PY_PORT/index.html"
# 13. TLS ClientHello with Istio's SNI and ALPN (what a sidecar's mTLS leg shows).
openssl req -x509 -newkey rsa:2048 -nodes -keyout "$W/key.pem" -out "$W/cert.pem" -days 2 \
    -subj '/CN=reviews.default.svc.cluster.local' >/dev/null 2>&1
timeout 30 openssl s_server -accept "127.0.0.1:$TLS_PORT" -cert "$W/cert.pem" -key "$W/key.pem" \
    -alpn istio-peer-exchange,istio -naccept 1 -quiet >/dev/null 2>&1 &
PIDS+=($!)
sleep 0.5
cap tls-istio-sni-alpn.pcap tcpdump lo "tcp port $TLS_PORT" -- \
    sh -c "sleep 0.2 | openssl s_client -connect 127.0.0.1:$TLS_PORT -servername outbound_.9080_.v1_.reviews.default.svc.cluster.local -alpn istio-peer-exchange,istio"

expected
for f in "$D"/*.pcap "$D"/*.pcapng; do
    printf '%-40s %8d bytes %5d packets %3d http lines\n' "$(basename "$f")" "$(stat -c %s "$f")" \
        "$(tshark -r "$f" 2>/dev/null | wc -l)" "$(($(wc -l < "$D/expected/$(basename "${f%.*}").tsv") - 1))"
done
