#!/usr/bin/env python3
"""A sidecar stand-in for tests/live.rs: listens on 0.0.0.0:15001 (istio-iptables' outbound
REDIRECT port), reads each connection's original destination with SO_ORIGINAL_DST and relays
it there, the way Envoy's virtualOutbound PassthroughCluster does. Run as uid 1337 so its own
upstream connections are not redirected again (ISTIO_OUTPUT's `--uid-owner 1337 -j RETURN`).

redirect_proxy.py [LIFETIME_S]; prints "listening 15001" once bound.
"""
import socket
import struct
import sys
import threading

SO_ORIGINAL_DST = 80  # linux/netfilter_ipv4.h


def pump(src, dst):
    try:
        while True:
            b = src.recv(65536)
            if not b:
                break
            dst.sendall(b)
    except OSError:
        pass
    finally:
        try:
            dst.shutdown(socket.SHUT_WR)
        except OSError:
            pass


def handle(c):
    raw = c.getsockopt(socket.SOL_IP, SO_ORIGINAL_DST, 16)
    port, ip = struct.unpack("!2xH4s8x", raw)
    u = socket.create_connection((socket.inet_ntoa(ip), port), timeout=10)
    back = threading.Thread(target=pump, args=(u, c), daemon=True)
    back.start()
    pump(c, u)
    back.join(10)
    c.close()
    u.close()


def main():
    lifetime = float(sys.argv[1]) if len(sys.argv) > 1 else 60
    srv = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    srv.bind(("0.0.0.0", 15001))
    srv.listen(64)
    srv.settimeout(lifetime)
    print("listening 15001", flush=True)
    while True:
        try:
            c, _ = srv.accept()
        except socket.timeout:
            return
        threading.Thread(target=handle, args=(c,), daemon=True).start()


if __name__ == "__main__":
    main()
