"""The sidecars (productpage, reviews-v2): one mesh description per pod, rendered as HAProxy
config here and as the Envoy v3 admin /config_dump?include_eds in envoy_dump.py.

What: `sidecar.py haproxy APP_VERSION LOGTARGET CERTDIR` prints that pod's haproxy.cfg. It and
config_dump.json both come from `mesh(pod)`, so the dump describes exactly what HAProxy does:
- virtualOutbound 15001: original destination port 9080 -> RDS "9080" -> vhost by Host -> EDS
  cluster of pod IPs, anything else -> PassthroughCluster (the original destination). Istio's
  auto-mTLS: an endpoint whose pod has a sidecar (tlsMode=istio) is reached over TLS with the
  cluster's SNI (`outbound_.9080_._.reviews.default.svc.cluster.local`), ALPN
  `istio-peer-exchange,istio` and the pod's SPIFFE certificate; the others in plaintext.
- virtualInbound 15006: a TCP front that looks at the first bytes, as Envoy's tls_inspector
  and filter chain match do (PERMISSIVE): a TLS ClientHello goes to the TLS chain (terminated
  with the pod's certificate, the client's certificate required), anything else to the
  plaintext chain; both forward port 9080 to inbound|9080|| = the original destination, bound
  to 127.0.0.6. The front hands the connection on over an abstract unix socket with a PROXY v2
  header, so the chains see the downstream's address and the original destination; nothing of
  that hand-off is on the wire.
What not: no retries, no metadata exchange, no SAN check of the peer (`verify none` upstream:
HAProxy checks a name against the SNI, Istio checks the SPIFFE URI, which HAProxy cannot), no
per-service inbound listeners for other ports; HAProxy is a stand-in for Envoy, so only the
forwarding, TLS and the headers named below are faithful.

Names follow Istio (domain.md 4.3: pilot/pkg/networking/core listener and cluster builders);
headers follow Envoy (domain.md 3.8): x-request-id and b3 added when absent, a new span per hop
with x-b3-parentspanid, `server: istio-envoy` and x-envoy-upstream-service-time on responses.
"""

import sys

import topology as t

PASSTHROUGH = "PassthroughCluster"
INBOUND_PASSTHROUGH = "InboundPassthroughClusterIpv4"
INBOUND = f"inbound|{t.APP_PORT}||"
ROUTE = str(t.APP_PORT)


def mesh(me):
    """A sidecar's forwarding, in Envoy's terms; both renderers read only this."""
    svcs = [t.service(n) for n in me["routes"]]
    return {
        "pod": me,
        "vhosts": [{"name": f"{t.fqdn(s)}:{s['port']}", "domains": t.vhost_domains(s),
                    "cluster": t.outbound_cluster(s)} for s in svcs],
        "eds": {t.outbound_cluster(s): [f"{e['ip']}:{t.APP_PORT}" for e in t.endpoints(s)]
                for s in svcs},
        "workloads": {f"{e['ip']}:{t.APP_PORT}": e for s in svcs for e in t.endpoints(s)},
        "sni": {t.outbound_cluster(s): t.sni(s) for s in svcs},
        "services": svcs,
    }


def backend_id(cluster):
    """HAProxy names allow [A-Za-z0-9_.:-]; Envoy cluster names use '|'."""
    return cluster.replace("|", "_")


LOG_FIELDS = [
    ("start", "%Ts.%ms"), ("request_id", "%[var(txn.rid)]"), ("listener", "%[var(txn.listener)]"),
    ("frontend", "%f"), ("backend", "%b"), ("cluster", "%[var(txn.cluster)]"), ("server", "%s"),
    ("method", "%HM"), ("path", "%HPO"), ("authority", "%[var(txn.host)]"), ("status", "%ST"),
    ("downstream_remote", "%ci:%cp"), ("downstream_local", "%fi:%fp"),
    ("downstream_tls", "%[ssl_fc]"), ("sni", "%[ssl_fc_sni]"), ("alpn", "%[ssl_fc_alpn]"),
    ("upstream_local", "%bi:%bp"), ("upstream_host", "%si:%sp"), ("upstream_tls", "%[ssl_bc]"),
    ("traceid", "%[var(txn.traceid)]"), ("spanid", "%[var(txn.spanid)]"),
]


def log_format():
    body = ",".join(f'\\"{k}\\":\\"{v}\\"' for k, v in LOG_FIELDS)
    return '"{' + body + '}"'


def headers_block(listener):
    """Envoy's request-id and tracing headers (domain.md 3.8), then what the log records."""
    return [
        f"    http-request set-var(txn.listener) str({listener})",
        "    http-request set-header x-request-id %[uuid] unless { req.hdr(x-request-id) -m found }",
        "    http-request set-header x-b3-parentspanid %[req.hdr(x-b3-spanid)] if { req.hdr(x-b3-spanid) -m found }",
        "    http-request set-header x-b3-traceid %[uuid,regsub(-,,g)] unless { req.hdr(x-b3-traceid) -m found }",
        "    http-request set-header x-b3-spanid %[uuid,regsub(-,,g),bytes(0,16)]",
        "    http-request set-header x-b3-sampled 1 unless { req.hdr(x-b3-sampled) -m found }",
        "    http-request set-var(txn.rid) req.hdr(x-request-id)",
        "    http-request set-var(txn.traceid) req.hdr(x-b3-traceid)",
        "    http-request set-var(txn.spanid) req.hdr(x-b3-spanid)",
        "    http-request set-var(txn.host) req.hdr(host)",
        "    http-response set-header server istio-envoy",
        "    http-response set-header x-envoy-upstream-service-time %Tr",
        f"    log-format {log_format()}",
    ]


def cert(certdir, p):
    """The pod's certificate and key (lab.sh makes them, signed by the lab's root)."""
    return f"{certdir}/{t.key(p)}.pem"


def outbound(m, certdir):
    out = [
        "# virtualOutbound 0.0.0.0:15001 -> listener 0.0.0.0_9080 (RDS \"9080\") by original dst port",
        "frontend virtualOutbound",
        "    bind 0.0.0.0:15001",
    ] + headers_block("virtualOutbound")
    for vh in m["vhosts"]:
        domains = " ".join(vh["domains"])
        out.append(f"    use_backend {backend_id(vh['cluster'])} if {{ dst_port {t.APP_PORT} }} "
                   f"{{ req.hdr(host) -m str -i {domains} }}")
    out += [f"    default_backend {PASSTHROUGH}", ""]
    for cluster, eps in m["eds"].items():
        out += [f"backend {backend_id(cluster)}",
                f'    http-request set-var(txn.cluster) str("{cluster}")',
                "    balance roundrobin"]
        for ep in eps:
            line = f"    server {ep} {ep}"
            if m["workloads"][ep]["sidecar"]:
                # tlsMode=istio: Istio's transport socket match picks the mTLS socket.
                line += (f" ssl verify none crt {cert(certdir, m['pod'])}"
                         f" sni str({m['sni'][cluster]}) alpn {','.join(t.MTLS_ALPN)}")
            out.append(line)
        out.append("")
    # ORIGINAL_DST clusters: HAProxy's 0.0.0.0:0 is the connection's original destination
    # (SO_ORIGINAL_DST after the REDIRECT), like Envoy's original_dst load balancer.
    out += [f"backend {PASSTHROUGH}",
            f'    http-request set-var(txn.cluster) str("{PASSTHROUGH}")',
            "    server passthrough 0.0.0.0:0", ""]
    return out


def inbound(m, certdir):
    me = m["pod"]
    # Abstract unix sockets are per network namespace: these names are the pod's own.
    tls_sock, raw_sock = "abns@virtualInbound-tls", "abns@virtualInbound-raw"
    out = [
        "# virtualInbound 0.0.0.0:15006: the first bytes pick the filter chain (tls_inspector)",
        "frontend virtualInbound",
        "    mode tcp",
        "    no log",
        "    bind 0.0.0.0:15006",
        "    tcp-request inspect-delay 5s",
        "    tcp-request content accept if { req.ssl_hello_type 1 }",
        "    tcp-request content accept if HTTP",
        "    use_backend virtualInbound-tls if { req.ssl_hello_type 1 }",
        "    default_backend virtualInbound-raw",
        "",
    ]
    for name, sock in (("tls", tls_sock), ("raw", raw_sock)):
        out += [f"backend virtualInbound-{name}", "    mode tcp",
                f"    server chain {sock} send-proxy-v2", ""]
    tls_bind = (f"    bind {tls_sock} accept-proxy ssl crt {cert(certdir, me)}"
                f" ca-file {certdir}/ca.pem verify required alpn {','.join(t.INBOUND_MTLS_ALPN)}")
    for name, bind in (("tls", tls_bind), ("raw", f"    bind {raw_sock} accept-proxy")):
        out += [
            f"# filter chain 0.0.0.0_{t.APP_PORT} ({'tls' if name == 'tls' else 'raw_buffer'})"
            f" -> inbound|9080||",
            f"frontend virtualInbound-{name}-chain",
            bind,
        ] + headers_block("virtualInbound") + [
            f"    use_backend {backend_id(INBOUND)} if {{ dst_port {t.APP_PORT} }}",
            f"    default_backend {INBOUND_PASSTHROUGH}",
            "",
        ]
    for cluster in (INBOUND, INBOUND_PASSTHROUGH):
        out += [f"backend {backend_id(cluster)}",
                f'    http-request set-var(txn.cluster) str("{cluster}")',
                "    server original-dst 0.0.0.0:0 source 127.0.0.6", ""]
    return out


def haproxy(me, log_target, certdir):
    m = mesh(me)
    out = [
        f"# Generated by tests/lab/sidecar.py for {me['name']}, from the same mesh() as its",
        "# config_dump.json (envoy_dump.py).",
        "global",
        f"    log {log_target} format raw local0",
        "    maxconn 512",
        "defaults",
        "    mode http",
        "    log global",
        "    option http-keep-alive",
        "    timeout connect 2s",
        "    timeout client 20s",
        "    timeout server 20s",
        "    timeout http-keep-alive 20s",
        "",
    ]
    out += outbound(m, certdir)
    out += inbound(m, certdir)
    return "\n".join(out) + "\n"


def by_key(k):
    return next(p for p in t.sidecar_pods() if t.key(p) == k)


if __name__ == "__main__":
    if sys.argv[1] == "haproxy":
        sys.stdout.write(haproxy(by_key(sys.argv[2]), sys.argv[3], sys.argv[4]))
    else:
        raise SystemExit(f"usage: {sys.argv[0]} haproxy APP_VERSION LOGTARGET CERTDIR")
