"""Ground truth of one lab run, from the kernel (conntrack) and the proxies (HAProxy's logs).

What: `truth.py --node CONNTRACK --pod POD=CONNTRACK... --log POD=SIDECAR_LOG... [--recent
XT_RECENT]` reads the `conntrack -E -o timestamp` streams of the node and of the sidecar pods'
netns and each sidecar's JSON-lines log, and prints truth.json: one entry per TCP connection
conntrack saw (original and reply tuples; the endpoint kube-proxy's DNAT chose, its KUBE-SEP
chain recomputed from topology.py, the SNAT address if MASQUERADE ran; the REDIRECT port in a
pod netns), one entry per proxied request (which sidecar, request id, listener, Envoy cluster,
server chosen, downstream and upstream addresses, whether each side was TLS), the mTLS legs
(each request one sidecar sent over TLS, joined by request id to the sidecar that terminated
it: the TLS connection by its ports and the plaintext leg it became), plus the node's
xt_recent lists (ClientIP affinity). What not: it does not read the captures; the Rust test
checks the captures and the join against this file. Tuple semantics follow domain.md section
6: the first src/dst/sport/dport group is the original direction, the second the reply;
orig.dst != reply.src means DNAT, orig.src != reply.dst means SNAT.
"""

import argparse
import json
import re
import sys

import topology as t

EVENT = re.compile(r"^(?:\[(?P<ts>[0-9.]+)\]\s+)?\s*\[(?P<ev>NEW|UPDATE|DESTROY)\]\s+(?P<rest>.*)$")
KV = re.compile(r"\b(src|dst|sport|dport)=(\S+)")
STATE = re.compile(r"^tcp\s+6\s+\d+\s+([A-Z_]+)\s")


def parse_events(path):
    """Per original tuple: first timestamp, both tuples, the states seen (in order)."""
    conns = {}
    with open(path, encoding="utf-8", errors="replace") as f:
        for line in f:
            m = EVENT.match(line.rstrip("\n"))
            if not m:
                continue
            kv = KV.findall(m.group("rest"))
            if len(kv) < 8:
                continue
            o = dict(kv[:4])
            r = dict(kv[4:8])
            key = (o["src"], o["sport"], o["dst"], o["dport"])
            c = conns.setdefault(key, {
                "first_seen": float(m.group("ts")) if m.group("ts") else None,
                "orig": {"src": f"{o['src']}:{o['sport']}", "dst": f"{o['dst']}:{o['dport']}"},
                "reply": {"src": f"{r['src']}:{r['sport']}", "dst": f"{r['dst']}:{r['dport']}"},
                "events": []})
            st = STATE.match(m.group("rest"))
            c["events"].append(m.group("ev") + (f" {st.group(1)}" if st else ""))
    return list(conns.values())


def classify_node(c):
    """Which kube-proxy path a node-netns connection took, from its original destination."""
    dst, endpoint = c["orig"]["dst"], c["reply"]["src"]
    c["dnat"] = dst != endpoint
    c["snat"] = c["orig"]["src"] != c["reply"]["dst"]
    c["endpoint"] = endpoint
    c["seen_by_endpoint_from"] = c["reply"]["dst"]
    c["kind"], c["service"], c["sep_chain"] = "routed", None, None
    for svc in t.SERVICES:
        via = None
        if dst == f"{svc['clusterIP']}:{svc['port']}":
            via = "clusterIP"
        elif svc["nodePort"] and dst == f"{t.NODE['ip']}:{svc['nodePort']}":
            via = "nodePort"
        if via:
            c["kind"], c["service"] = via, t.spn(svc)
            c["svc_chain"] = "KUBE-SVC-" + t.svc_hash(svc)
            for ep in t.endpoints(svc):
                if endpoint == f"{ep['ip']}:{t.APP_PORT}":
                    c["sep_chain"] = t.sep_chain(svc, ep)
                    c["endpoint_pod"] = ep["name"]
    return c


def classify_pod(c):
    """Istio REDIRECT in the pod netns: to 15001 (outbound) or 15006 (inbound)."""
    c["dnat"] = c["orig"]["dst"] != c["reply"]["src"]
    port = c["reply"]["src"].rsplit(":", 1)[-1] if c["dnat"] else None
    c["kind"] = {"15001": "redirect-outbound", "15006": "redirect-inbound"}.get(port, "plain")
    c["original_dst"] = c["orig"]["dst"]
    return c


def parse_log(path, sidecar):
    out = []
    with open(path, encoding="utf-8", errors="replace") as f:
        for n, line in enumerate(f, 1):
            line = line.strip()
            if not line.startswith("{"):
                continue
            try:
                rec = json.loads(line)
            except json.JSONDecodeError as e:
                raise SystemExit(f"{path}:{n}: not JSON: {e}")
            rec["sidecar"] = sidecar
            rec["status"] = int(rec["status"]) if rec.get("status", "").isdigit() else None
            rec["start"] = float(rec["start"]) if rec.get("start") else None
            for k in ("downstream_tls", "upstream_tls"):
                rec[k] = rec.get(k) == "1"
            out.append(rec)
    return out


def mtls_legs(requests):
    """Per request sent upstream over TLS: the TLS connection (the client's upstream_local and
    upstream_host), the sidecar that terminated it (its log line with the same request id and
    that downstream address) and the plaintext leg it forwarded the request on."""
    out = []
    for r in requests:
        if not r["upstream_tls"]:
            continue
        leg = {"request_id": r["request_id"], "path": r["path"], "client_sidecar": r["sidecar"],
               "cluster": r["cluster"], "tls_client": r["upstream_local"],
               "tls_server": r["upstream_host"], "server_sidecar": None}
        for q in requests:
            if (q["request_id"] == r["request_id"] and q["downstream_tls"]
                    and q["downstream_remote"] == r["upstream_local"]):
                leg.update(server_sidecar=q["sidecar"], sni=q["sni"], alpn=q["alpn"],
                           app_client=q["upstream_local"], app_server=q["upstream_host"])
        out.append(leg)
    return out


RECENT = re.compile(r"^src=(?P<src>\S+) ttl: \d+ last_seen: (?P<last>\d+) oldest_pkt: \d+ (?P<pkts>[\d, ]+)$")


def parse_recent(path):
    """/proc/net/xt_recent/<list> dumps ("== NAME" then one line per source, from xt_recent.c
    recent_seq_show): per KUBE-SEP list, each source with how many packets --set recorded."""
    lists, name = {}, None
    with open(path, encoding="utf-8", errors="replace") as f:
        for line in f:
            line = line.strip()
            if line.startswith("== "):
                name = line[3:]
                lists[name] = []
                continue
            m = RECENT.match(line)
            if m and name:
                lists[name].append({"src": m.group("src"),
                                    "packets": len(m.group("pkts").replace(",", " ").split())})
    return lists


def pair(arg):
    name, _, path = arg.partition("=")
    if not path:
        raise argparse.ArgumentTypeError(f"{arg}: expected POD=FILE")
    return name, path


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--node", required=True)
    ap.add_argument("--pod", type=pair, action="append", default=[])
    ap.add_argument("--log", type=pair, action="append", default=[])
    ap.add_argument("--recent")
    a = ap.parse_args()
    requests = [r for name, path in a.log for r in parse_log(path, name)]
    requests.sort(key=lambda r: r["start"] or 0)
    conns = {f"node/{t.NODE['name']}": [classify_node(c) for c in parse_events(a.node)]}
    for name, path in a.pod:
        conns[f"pod/{t.NAMESPACE}/{name}"] = [classify_pod(c) for c in parse_events(path)]
    truth = {
        "format": "hopscope-lab-truth/2",
        "node": t.NODE["name"],
        "connections": conns,
        "requests": requests,
        "mtls": mtls_legs(requests),
        # ClientIP affinity as the kernel holds it: which sources each KUBE-SEP list pins.
        "affinity": parse_recent(a.recent) if a.recent else {},
    }
    json.dump(truth, sys.stdout, indent=1)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
