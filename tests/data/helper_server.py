#!/usr/bin/env python3
"""Tiny HTTP/1.1 server for make-fixtures.sh (127.0.0.1 only, bounded lifetime).

GET /chunked  -> 200, Transfer-Encoding: chunked, three chunks and a trailer (RFC 9112 7.1.2)
POST /upload  -> reads Content-Length bytes (answers Expect: 100-continue, via
                 BaseHTTPRequestHandler.handle_expect_100) and returns how many it got.
Exits after --lifetime seconds whatever happens.
"""
import http.server
import sys
import threading


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "helper/1.0"
    sys_version = ""

    def log_message(self, *args):
        pass

    def do_GET(self):
        if self.path != "/chunked":
            body = b"not found\n"
            self.send_response(404)
            self.send_header("Content-Type", "text/plain")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
            return
        self.send_response(200)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Transfer-Encoding", "chunked")
        self.send_header("Trailer", "X-Checksum")
        self.end_headers()
        for part in (b"first chunk\n", b"second chunk, a bit longer\n" * 4, b"x" * 3000):
            self.wfile.write(b"%x\r\n%s\r\n" % (len(part), part))
            self.wfile.flush()
        self.wfile.write(b"0\r\nX-Checksum: 5f3c\r\n\r\n")

    def do_POST(self):
        n = int(self.headers.get("Content-Length", "0"))
        got = 0
        while got < n:
            chunk = self.rfile.read(min(65536, n - got))
            if not chunk:
                break
            got += len(chunk)
        body = b"received %d bytes\n" % got
        self.send_response(200)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


def main():
    port = int(sys.argv[1])
    lifetime = float(sys.argv[2]) if len(sys.argv) > 2 else 60
    srv = http.server.ThreadingHTTPServer(("127.0.0.1", port), Handler)
    threading.Timer(lifetime, srv.shutdown).start()
    srv.serve_forever()


if __name__ == "__main__":
    main()
