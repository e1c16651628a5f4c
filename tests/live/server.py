#!/usr/bin/env python3
"""HTTP/1.1 test server for tests/live.rs and tests/soak/live-soak.sh (bounded lifetime).

server.py HOST PORT [LIFETIME_S]; prints "listening HOST:PORT" once bound.

GET  /small    -> 200, Content-Length, "hello\n"
GET  /chunked  -> 200, Transfer-Encoding: chunked, three chunks (RFC 9112 7.1)
GET  /big      -> 200, Content-Length 1 MiB
GET  /p1, /p2  -> 200, short bodies (the pipelined pair)
POST /upload   -> reads Content-Length bytes, 200 "received N bytes\n"
else           -> 404
Keep-alive (HTTP/1.1), one thread per connection; requests on one connection, pipelined or
not, are answered in order (http.server reads them one after the other).
"""
import http.server
import sys
import threading

BIG = b"0123456789abcdef" * (1 << 16)  # 1 MiB


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    # TCP_NODELAY: the head and the body are two writes; with Nagle the body waits for the
    # client's delayed ACK of the head (40 ms a response).
    disable_nagle_algorithm = True
    server_version = "hs-live/1.0"
    sys_version = ""

    def log_message(self, *args):
        pass

    def body(self, status, data, ctype="text/plain"):
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self):
        if self.path == "/small":
            self.body(200, b"hello\n")
        elif self.path == "/big":
            self.body(200, BIG, "application/octet-stream")
        elif self.path in ("/p1", "/p2"):
            self.body(200, b"pipelined %s\n" % self.path[1:].encode())
        elif self.path == "/chunked":
            self.send_response(200)
            self.send_header("Content-Type", "text/plain")
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            for part in (b"first chunk\n", b"second chunk\n" * 8, b"x" * 3000):
                self.wfile.write(b"%x\r\n%s\r\n" % (len(part), part))
                self.wfile.flush()
            self.wfile.write(b"0\r\n\r\n")
        else:
            self.body(404, b"not found\n")

    def do_POST(self):
        n = int(self.headers.get("Content-Length", "0"))
        got = 0
        while got < n:
            chunk = self.rfile.read(min(65536, n - got))
            if not chunk:
                break
            got += len(chunk)
        self.body(200, b"received %d bytes\n" % got)


def main():
    host, port = sys.argv[1], int(sys.argv[2])
    lifetime = float(sys.argv[3]) if len(sys.argv) > 3 else 60
    srv = http.server.ThreadingHTTPServer((host, port), Handler)
    srv.daemon_threads = True
    threading.Timer(lifetime, srv.shutdown).start()
    print("listening %s:%d" % (host, port), flush=True)
    srv.serve_forever()


if __name__ == "__main__":
    main()
