"""Bookinfo-like apps for the lab: productpage, reviews and ratings on :9080, JSON over HTTP/1.1.

What: `bookinfo.py APP VERSION` serves one app (http.server, keep-alive). productpage calls
reviews (and ratings, and one unknown host for the passthrough path) by ClusterIP with the
service's `Host`, so inside the productpage netns the calls are REDIRECTed to the sidecar;
reviews-v2 calls ratings by ClusterIP (REDIRECTed to its own sidecar); reviews-v1 calls
nothing, as in Bookinfo (the lab's curl from reviews-v1 exercises kube-proxy's affinity). Every call propagates x-request-id and the b3 headers, as Bookinfo's
apps do (istio/istio samples/bookinfo: productpage.py `getForwardHeaders`). What not: no HTML,
no details service, no failure injection.
"""

import http.client
import json
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import topology as t

FORWARD = ["x-request-id", "x-b3-traceid", "x-b3-spanid", "x-b3-parentspanid", "x-b3-sampled",
           "x-b3-flags", "traceparent", "tracestate"]

APP, VERSION = sys.argv[1], sys.argv[2]
ME = t.pod(APP, VERSION)
_local = threading.local()


def call(svc_name, path, headers, host=None):
    """GET over a per-thread keep-alive connection to the service's ClusterIP."""
    svc = t.service(svc_name)
    key = (svc_name, host)
    conns = getattr(_local, "conns", None)
    if conns is None:
        conns = _local.conns = {}
    fwd = {k: v for k, v in headers.items() if k.lower() in FORWARD}
    fwd["Host"] = host or f"{svc_name}:{svc['port']}"
    for attempt in (0, 1):
        conn = conns.get(key)
        if conn is None:
            conn = conns[key] = http.client.HTTPConnection(svc["clusterIP"], svc["port"], timeout=10)
        try:
            conn.request("GET", path, headers=fwd)
            resp = conn.getresponse()
            body = resp.read()
            return resp.status, json.loads(body or b"null")
        except (http.client.HTTPException, OSError):
            conn.close()
            conns.pop(key, None)
            if attempt:
                raise
    return 502, None


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = f"bookinfo-{APP}/{VERSION}"

    def log_message(self, fmt, *args):
        sys.stderr.write(f"{APP}-{VERSION} {self.client_address[0]}:{self.client_address[1]} "
                         f"{fmt % args} rid={self.headers.get('x-request-id')}\n")

    def do_GET(self):
        hdrs = dict(self.headers.items())
        parts = self.path.split("?")[0].strip("/").split("/")
        status, body = 200, {"app": APP, "version": VERSION, "pod": ME["name"],
                             "peer": list(self.client_address),
                             "x-request-id": self.headers.get("x-request-id")}
        try:
            if APP == "productpage" and parts[0] == "productpage":
                n = self.path.rsplit("=", 1)[-1] if "=" in self.path else "0"
                body["reviews"] = call("reviews", f"/reviews/{n}", hdrs)
            elif APP == "productpage" and parts[0] == "ratings":
                body["ratings"] = call("ratings", "/" + "/".join(parts), hdrs)
            elif APP == "productpage" and parts[0] == "passthrough":
                # A Host no vhost lists: the sidecar sends it to the original destination.
                body["passthrough"] = call("reviews", "/reviews/0", hdrs, host="unknown.example")
            elif APP == "reviews" and VERSION == "v2":
                body["ratings"] = call("ratings", "/ratings/" + parts[-1], hdrs)
            elif APP == "ratings":
                body["stars"] = 4
        except OSError as e:  # an upstream failure is part of the answer, not a crash
            status, body["error"] = 502, str(e)
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


if __name__ == "__main__":
    ThreadingHTTPServer.allow_reuse_address = True
    ThreadingHTTPServer.daemon_threads = True
    ThreadingHTTPServer(("0.0.0.0", t.APP_PORT), Handler).serve_forever()
