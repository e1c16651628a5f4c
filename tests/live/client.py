#!/usr/bin/env python3
"""Raw-socket HTTP/1.1 client for tests/live.rs and tests/soak/live-soak.sh (time-bounded).

client.py sequence HOST PORT : the known sequence, on two connections:
    1. keep-alive: GET /small, GET /chunked, POST /upload (256 KiB body), GET /big (1 MiB)
    2. pipelined pair: GET /p1 and GET /p2 (Connection: close) in ONE write (RFC 9112 9.3)
client.py loop HOST PORT SECONDS RATE : GET /small at about RATE requests/s for SECONDS, on
    keep-alive connections of 50 requests each (the soak test's steady stream).
client.py idle HOST PORT SECONDS EVERY : every EVERY seconds a new connection, one GET /small,
    then left open and silent until SECONDS are up (connections the capture must expire).
Prints one line of what it got; exits 1 on a short or bad answer.
"""
import socket
import sys
import time

UPLOAD = 256 * 1024


def connect(host, port):
    s = socket.create_connection((host, port), timeout=10)
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return s


class Reader:
    def __init__(self, s):
        self.s, self.buf = s, b""

    def fill(self):
        b = self.s.recv(65536)
        if not b:
            raise EOFError("connection closed early")
        self.buf += b

    def until(self, sep):
        while sep not in self.buf:
            self.fill()
        i = self.buf.index(sep) + len(sep)
        out, self.buf = self.buf[:i], self.buf[i:]
        return out

    def take(self, n):
        while len(self.buf) < n:
            self.fill()
        out, self.buf = self.buf[:n], self.buf[n:]
        return out

    def response(self):
        """(status, body) of one response: Content-Length or chunked."""
        head = self.until(b"\r\n\r\n").decode("latin-1")
        lines = head.split("\r\n")
        status = int(lines[0].split()[1])
        headers = {k.strip().lower(): v.strip() for k, _, v in (l.partition(":") for l in lines[1:] if l)}
        if headers.get("transfer-encoding", "").lower() == "chunked":
            body = b""
            while True:
                size = int(self.until(b"\r\n").strip().split(b";")[0], 16)
                if size == 0:
                    self.until(b"\r\n")
                    return status, body
                body += self.take(size)
                self.take(2)
        return status, self.take(int(headers.get("content-length", "0")))


def get(path, host, extra=""):
    return ("GET %s HTTP/1.1\r\nHost: %s\r\nUser-Agent: hs-live-client\r\n%s\r\n" % (path, host, extra)).encode()


def sequence(host, port):
    authority = "%s:%d" % (host, port)
    s = connect(host, port)
    r = Reader(s)
    got = []
    for path in ("/small", "/chunked"):
        s.sendall(get(path, authority))
        got.append(r.response())
    body = b"u" * UPLOAD
    s.sendall(("POST /upload HTTP/1.1\r\nHost: %s\r\nContent-Type: application/octet-stream\r\n"
               "Content-Length: %d\r\n\r\n" % (authority, len(body))).encode() + body)
    got.append(r.response())
    s.sendall(get("/big", authority))
    got.append(r.response())
    s.close()
    s = connect(host, port)
    r = Reader(s)
    s.sendall(get("/p1", authority) + get("/p2", authority, "Connection: close\r\n"))
    got.append(r.response())
    got.append(r.response())
    s.close()
    sizes = [len(b) for _, b in got]
    print("sequence: statuses %s, body sizes %s" % ([st for st, _ in got], sizes))
    if any(st != 200 for st, _ in got) or sizes[3] != 1 << 20:
        sys.exit(1)


def loop(host, port, seconds, rate):
    authority = "%s:%d" % (host, port)
    end = time.time() + seconds
    gap = 1.0 / rate
    n = 0
    next_at = time.time()
    while time.time() < end:
        s = connect(host, port)
        r = Reader(s)
        for _ in range(50):
            s.sendall(get("/small", authority))
            status, _ = r.response()
            if status != 200:
                sys.exit(1)
            n += 1
            next_at += gap
            time.sleep(max(0.0, next_at - time.time()))
            if time.time() >= end:
                break
        s.close()
    print("loop: %d requests in %.0f s" % (n, seconds))


def idle(host, port, seconds, every):
    authority = "%s:%d" % (host, port)
    end = time.time() + seconds
    held = []
    while time.time() < end:
        s = connect(host, port)
        s.sendall(get("/small", authority))
        Reader(s).response()
        held.append(s)
        time.sleep(min(every, max(0.0, end - time.time())))
    for s in held:
        s.close()
    print("idle: %d connections held open" % len(held))


if __name__ == "__main__":
    mode, host, port = sys.argv[1], sys.argv[2], int(sys.argv[3])
    if mode == "sequence":
        sequence(host, port)
    elif mode == "loop":
        loop(host, port, float(sys.argv[4]), float(sys.argv[5]))
    else:
        idle(host, port, float(sys.argv[4]), float(sys.argv[5]))
