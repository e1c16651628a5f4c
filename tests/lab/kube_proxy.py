"""kube-proxy iptables-mode rules for the lab, as kube-proxy writes them to iptables-restore.

What: `kube_proxy.py restore` prints the `*filter`/`*nat` input kube-proxy's syncProxyRules
would feed `iptables-restore --noflush` for topology.py's services (comments unquoted where
kube-proxy leaves them so, `--or-mark`, `--xor-mark`, `%0.10f` probabilities, `-m recent` for
ClientIP affinity); `kube_proxy.py jumps` prints the `iptables` argument lists kube-proxy's
`EnsureRule` uses for the jumps from the built-in chains. What not: no health-check nodeports,
LB IPs, IPv6, nfacct counters, or the kubelet-owned KUBE-FIREWALL; this is the slice the lab's
traffic exercises.

Follows kubernetes pkg/proxy/iptables/proxier.go (v1.31 to v1.33): `iptablesJumpChains`,
`writeServiceToEndpointRules`, the "masquerade traffic for ... external destinations" EXT rules
(eTP=Cluster), the pod/LOCAL/SVL EXT rules (eTP=Local), and domain.md 1.2.
"""

import sys

import topology as t

MASQ = "0x4000"


def comment(text):
    """kube-proxy quotes a comment only when it holds a space (restore input, proxier_test.go)."""
    return f'"{text}"' if " " in text else text


def endpoint_rules(out, chain, svc, eps):
    """writeServiceToEndpointRules: affinity rcheck rules first, then statistic dispatch."""
    name = t.spn(svc)
    if svc["affinity"]:
        for ep in eps:
            sep = t.sep_chain(svc, ep)
            out.append(f'-A {chain} -m comment --comment "{name} -> {ep["ip"]}:{t.APP_PORT}" '
                       f"-m recent --name {sep} --rcheck --seconds {t.AFFINITY_SECONDS} --reap "
                       f"-j {sep}")
    k = len(eps)
    for i, ep in enumerate(eps):
        sep = t.sep_chain(svc, ep)
        stat = ""
        if i < k - 1:
            stat = f"-m statistic --mode random --probability {1.0 / (k - i):0.10f} "
        out.append(f'-A {chain} -m comment --comment "{name} -> {ep["ip"]}:{t.APP_PORT}" '
                   f"{stat}-j {sep}")


def nat_rules():
    chains = ["KUBE-SERVICES", "KUBE-NODEPORTS", "KUBE-POSTROUTING", "KUBE-MARK-MASQ"]
    rules = [
        f"-A KUBE-POSTROUTING -m mark ! --mark {MASQ}/{MASQ} -j RETURN",
        f"-A KUBE-POSTROUTING -j MARK --xor-mark {MASQ}",
        '-A KUBE-POSTROUTING -m comment --comment "kubernetes service traffic requiring SNAT" '
        "-j MASQUERADE --random-fully",
        f"-A KUBE-MARK-MASQ -j MARK --or-mark {MASQ}",
    ]
    seps = []
    for svc in t.SERVICES:
        h = t.svc_hash(svc)
        name = t.spn(svc)
        eps = t.endpoints(svc)
        svc_chain, ext_chain, svl_chain = f"KUBE-SVC-{h}", f"KUBE-EXT-{h}", f"KUBE-SVL-{h}"
        chains.append(svc_chain)
        vip = f"-m tcp -p tcp -d {svc['clusterIP']} --dport {svc['port']}"
        rules.append(f'-A KUBE-SERVICES -m comment --comment "{name} cluster IP" {vip} '
                     f"-j {svc_chain}")
        rules.append(f'-A {svc_chain} -m comment --comment "{name} cluster IP" {vip} '
                     f"! -s {t.CLUSTER_CIDR} -j KUBE-MARK-MASQ")
        endpoint_rules(rules, svc_chain, svc, eps)
        if svc["nodePort"]:
            chains.append(ext_chain)
            rules.append(f"-A KUBE-NODEPORTS -m comment --comment {comment(name)} "
                         f"-m tcp -p tcp --dport {svc['nodePort']} -j {ext_chain}")
            if svc["eTP"] == "Local":
                chains.append(svl_chain)
                rules += [
                    f'-A {ext_chain} -m comment --comment "pod traffic for {name} external '
                    f'destinations" -s {t.CLUSTER_CIDR} -j {svc_chain}',
                    f'-A {ext_chain} -m comment --comment "masquerade LOCAL traffic for {name} '
                    'external destinations" -m addrtype --src-type LOCAL -j KUBE-MARK-MASQ',
                    f'-A {ext_chain} -m comment --comment "route LOCAL traffic for {name} '
                    f'external destinations" -m addrtype --src-type LOCAL -j {svc_chain}',
                    f"-A {ext_chain} -j {svl_chain}",
                ]
                # Every lab pod runs on node-1, so the local endpoints are all endpoints.
                endpoint_rules(rules, svl_chain, svc, eps)
            else:
                rules += [
                    f'-A {ext_chain} -m comment --comment "masquerade traffic for {name} '
                    f'external destinations" -j KUBE-MARK-MASQ',
                    f"-A {ext_chain} -j {svc_chain}",
                ]
        for ep in eps:
            sep = t.sep_chain(svc, ep)
            seps.append(sep)
            recent = f"-m recent --name {sep} --set " if svc["affinity"] else ""
            rules += [
                f"-A {sep} -m comment --comment {comment(name)} -s {ep['ip']} -j KUBE-MARK-MASQ",
                f"-A {sep} -m comment --comment {comment(name)} {recent}-m tcp -p tcp "
                f"-j DNAT --to-destination {ep['ip']}:{t.APP_PORT}",
            ]
    rules.append('-A KUBE-SERVICES -m comment --comment "kubernetes service nodeports; NOTE: '
                 'this must be the last rule in this chain" -m addrtype --dst-type LOCAL '
                 "-j KUBE-NODEPORTS")
    return ["*nat"] + [f":{c} - [0:0]" for c in chains + seps] + rules + ["COMMIT"]


def filter_rules():
    return [
        "*filter",
        ":KUBE-NODEPORTS - [0:0]",
        ":KUBE-SERVICES - [0:0]",
        ":KUBE-EXTERNAL-SERVICES - [0:0]",
        ":KUBE-FORWARD - [0:0]",
        ":KUBE-PROXY-FIREWALL - [0:0]",
        "-A KUBE-FORWARD -m conntrack --ctstate INVALID -j DROP",
        '-A KUBE-FORWARD -m comment --comment "kubernetes forwarding rules" '
        f"-m mark --mark {MASQ}/{MASQ} -j ACCEPT",
        '-A KUBE-FORWARD -m comment --comment "kubernetes forwarding conntrack rule" '
        "-m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT",
        "COMMIT",
    ]


# iptablesJumpChains (proxier.go, v1.25+), in its order: table, built-in chain, kube chain,
# comment, extra args. kube-proxy loops over it with EnsureRule(Prepend), so in each built-in
# chain the last entry ends up first (iptables -I below does the same).
NEW = "-m conntrack --ctstate NEW"
JUMPS = [
    ("filter", "INPUT", "KUBE-EXTERNAL-SERVICES", "kubernetes externally-visible service portals", NEW),
    ("filter", "FORWARD", "KUBE-EXTERNAL-SERVICES", "kubernetes externally-visible service portals", NEW),
    ("filter", "INPUT", "KUBE-NODEPORTS", "kubernetes health check service ports", ""),
    ("filter", "FORWARD", "KUBE-SERVICES", "kubernetes service portals", NEW),
    ("filter", "OUTPUT", "KUBE-SERVICES", "kubernetes service portals", NEW),
    ("filter", "FORWARD", "KUBE-FORWARD", "kubernetes forwarding rules", ""),
    ("filter", "INPUT", "KUBE-PROXY-FIREWALL", "kubernetes load balancer firewall", NEW),
    ("filter", "OUTPUT", "KUBE-PROXY-FIREWALL", "kubernetes load balancer firewall", NEW),
    ("filter", "FORWARD", "KUBE-PROXY-FIREWALL", "kubernetes load balancer firewall", NEW),
    ("nat", "OUTPUT", "KUBE-SERVICES", "kubernetes service portals", ""),
    ("nat", "PREROUTING", "KUBE-SERVICES", "kubernetes service portals", ""),
    ("nat", "POSTROUTING", "KUBE-POSTROUTING", "kubernetes postrouting rules", ""),
]


def jumps():
    """One line per `iptables -t T -I CHAIN ...` (EnsureRule Prepend), fields split by ";"."""
    return [f"{table};{chain};{extra};{comment};{kube}"
            for table, chain, kube, comment, extra in JUMPS]


if __name__ == "__main__":
    what = sys.argv[1] if len(sys.argv) > 1 else "restore"
    lines = jumps() if what == "jumps" else filter_rules() + nat_rules()
    sys.stdout.write("\n".join(lines) + "\n")
