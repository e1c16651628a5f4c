#!/usr/bin/env bash
# Remakes tests/data/escape-headers-503.pcap: one HTTP/1.1 exchange on 127.0.0.1:18090 whose
# request target carries terminal escape sequences (ESC [2J, an OSC title ending in BEL), its
# header values C1 CSI sequences (U+009B, which httparse accepts as obs-text) and a bidi
# override, and the 503 response's Server header and body more of the same. For the TUI test that captured bytes render harmlessly.
# Needs root (tcpdump on lo) and python3. Usage: sudo tests/data/make-escape.sh
set -euo pipefail
cd "$(dirname "$0")"
out=escape-headers-503.pcap
port=18090
python3 - "$port" <<'PY' &
import socket, sys
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", int(sys.argv[1]))); s.listen(1); s.settimeout(10)
c, _ = s.accept(); c.recv(65536)
body = b"upstream \x1b[31mfailed\x1b[0m\n"
c.sendall(b"HTTP/1.1 503 Service Unavailable\r\nServer: evil\xc2\x9b2J\xe2\x80\xae\r\n"
          b"Content-Length: %d\r\nConnection: close\r\n\r\n" % len(body) + body)
c.close(); s.close()
PY
server=$!
timeout 15 tcpdump -i lo -B 65536 --immediate-mode -U -w "$out" "tcp port $port" 2>/dev/null &
dump=$!
sleep 1.5
python3 - "$port" <<'PY'
import socket, sys
c = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
c.sendall(b"GET /evil\x1b[2J\x1b]0;pwned\x07 HTTP/1.1\r\nHost: evil.example\r\n"
          b"X-Csi: \xc2\x9b2J\xc2\x9b31mred\r\nX-Bidi: abc\xe2\x80\xaedef\r\nUser-Agent: raw\r\n\r\n")
while c.recv(65536): pass
c.close()
PY
wait "$server"
sleep 1
kill "$dump"; wait "$dump" 2>/dev/null || true
echo "wrote tests/data/$out"
