#!/usr/bin/env python3
"""Raw-socket clients for make-fixtures.sh (127.0.0.1 only, every call time-bounded).

pipeline PORT   : sends three GETs in ONE write (HTTP/1.1 pipelining, RFC 9112 9.3),
                  the last with Connection: close, and reads until the server closes.
abort PORT PATH : small receive buffer, GET PATH, reads ~48 KiB of the response, then
                  closes with SO_LINGER {on, 0} so the kernel sends RST mid-response.
"""
import socket
import struct
import sys
import time


def connect(port, rcvbuf=None):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.settimeout(5)
    if rcvbuf:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
    s.connect(("127.0.0.1", port))
    return s


def pipeline(port):
    s = connect(port)
    reqs = (
        b"GET /index.html HTTP/1.1\r\nHost: localhost\r\nUser-Agent: pipeline.py\r\n\r\n"
        b"GET /missing.html HTTP/1.1\r\nHost: localhost\r\nUser-Agent: pipeline.py\r\n\r\n"
        b"GET /file.txt HTTP/1.1\r\nHost: localhost\r\nUser-Agent: pipeline.py\r\nConnection: close\r\n\r\n"
    )
    s.sendall(reqs)
    got = b""
    deadline = time.time() + 5
    while time.time() < deadline:
        b = s.recv(65536)
        if not b:
            break
        got += b
    s.close()
    print("pipeline: %d response bytes, %d status lines" % (len(got), got.count(b"HTTP/1.1 ")))


def abort(port, path):
    s = connect(port, rcvbuf=16384)
    s.sendall(b"GET %s HTTP/1.1\r\nHost: localhost\r\nUser-Agent: abort.py\r\n\r\n" % path.encode())
    got = 0
    while got < 48 * 1024:
        b = s.recv(4096)
        if not b:
            break
        got += len(b)
        time.sleep(0.002)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    s.close()
    print("abort: read %d bytes, then RST" % got)


if __name__ == "__main__":
    if sys.argv[1] == "pipeline":
        pipeline(int(sys.argv[2]))
    else:
        abort(int(sys.argv[2]), sys.argv[3])
