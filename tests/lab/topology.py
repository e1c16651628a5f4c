"""The one description of the lab cluster that every generated file is drawn from.

What: node, pods, services (ports, nodePorts, policies, affinity), the sidecar meshes of
productpage and reviews-v2 (which services each routes, Istio's mTLS names: SPIFFE identity,
SNI, ALPN), plus kube-proxy's chain-name hashes recomputed for real. The kube-proxy rules
(kube_proxy.py), the sidecar's HAProxy config and its config_dump (sidecar.py), the kubectl
List (kubectl.py) and the ground truth (truth.py) all import this module, so they cannot
disagree. What not: no I/O, no netns work (lab.sh does that).

Hashes follow kubernetes pkg/proxy/iptables/proxier.go `portProtoHash` and
`servicePortEndpointChainName` (base32 of sha256, first 16 characters; domain.md 1.3).
"""

import base64
import hashlib

NODE = {"name": "node-1", "ip": "192.168.50.10", "eth": "eth0"}
CLIENT = {"ip": "192.168.50.20"}
CLUSTER_CIDR = "10.244.0.0/16"
NAMESPACE = "default"

# netns: the lab's network namespace; veth: the node end of the pod's point-to-point link.
# routes: for a pod with a sidecar, the services its sidecar has routes and EDS for (Istio
# would push every service of the mesh; this is the subset the lab's HAProxy implements).
PODS = [
    {"name": "productpage-v1-6b746f74dc-9stmk", "app": "productpage", "version": "v1",
     "ip": "10.244.1.5", "netns": "hs-productpage", "veth": "hs-cali-pp", "sidecar": True,
     "routes": ["reviews", "ratings"]},
    {"name": "reviews-v1-545db77b95-v4rd4", "app": "reviews", "version": "v1",
     "ip": "10.244.1.6", "netns": "hs-reviews-v1", "veth": "hs-cali-rv1", "sidecar": False},
    # reviews-v2 has a sidecar: the productpage sidecar reaches it over mTLS (Istio's
    # auto-mTLS: tlsMode=istio endpoints only), and its own call to ratings is intercepted
    # like any app's outbound traffic (Istio captures all outbound ports by default).
    {"name": "reviews-v2-7bf8c9648f-hxmzq", "app": "reviews", "version": "v2",
     "ip": "10.244.1.7", "netns": "hs-reviews-v2", "veth": "hs-cali-rv2", "sidecar": True,
     "routes": ["ratings"]},
    {"name": "ratings-v1-b6994bb9-gl8rl", "app": "ratings", "version": "v1",
     "ip": "10.244.1.8", "netns": "hs-ratings", "veth": "hs-cali-rt", "sidecar": False},
]

APP_PORT = 9080

SERVICES = [
    {"name": "productpage", "clusterIP": "10.96.100.30", "port": 9080, "portName": "http",
     "type": "NodePort", "nodePort": 30080, "eTP": "Cluster", "affinity": False},
    {"name": "reviews", "clusterIP": "10.96.100.10", "port": 9080, "portName": "http",
     "type": "ClusterIP", "nodePort": None, "eTP": None, "affinity": False},
    {"name": "ratings", "clusterIP": "10.96.100.20", "port": 9080, "portName": "http",
     "type": "NodePort", "nodePort": 30081, "eTP": "Local", "affinity": True},
]

AFFINITY_SECONDS = 10800  # sessionAffinityConfig.clientIP.timeoutSeconds default

SIDECAR_UID = 1337

# Istio's mTLS between sidecars (domain.md 4.3): the SPIFFE identity of a pod's service
# account in its certificate's URI SAN, the SNI of the upstream cluster, and the ALPN an
# outbound cluster's UpstreamTlsContext offers (pilot's ALPNInMeshWithMxc).
TRUST_DOMAIN = "cluster.local"
MTLS_ALPN = ["istio-peer-exchange", "istio"]
# What the inbound mTLS filter chain accepts (pilot's allIstioMtlsALPNs).
INBOUND_MTLS_ALPN = ["istio", "istio-peer-exchange", "istio-http/1.0", "istio-http/1.1", "istio-h2"]


def chain_hash(text):
    """base32(sha256(text))[:16], kube-proxy's portProtoHash / servicePortEndpointChainName."""
    digest = hashlib.sha256(text.encode()).digest()
    return base64.b32encode(digest).decode()[:16]


def spn(svc):
    """ServicePortName.String(): "ns/svc:port" (v1.19+, a named port)."""
    return f"{NAMESPACE}/{svc['name']}:{svc['portName']}"


def svc_hash(svc):
    return chain_hash(spn(svc) + "tcp")


def sep_chain(svc, ep):
    return "KUBE-SEP-" + chain_hash(spn(svc) + "tcp" + f"{ep['ip']}:{APP_PORT}")


def service(name):
    return next(s for s in SERVICES if s["name"] == name)


def endpoints(svc):
    """Ready endpoints in kube-proxy's order (sorted by IP, as the EndpointSlice lists them)."""
    eps = [p for p in PODS if p["app"] == svc["name"]]
    return sorted(eps, key=lambda p: tuple(int(x) for x in p["ip"].split(".")))


def pod(app, version=None):
    return next(p for p in PODS if p["app"] == app and (version is None or p["version"] == version))


def sidecar_pods():
    return [p for p in PODS if p["sidecar"]]


def key(p):
    """`productpage_v1`: a pod's name in lab.sh's variables and file names."""
    return f"{p['app']}_{p['version']}"


def service_account(p):
    return f"bookinfo-{p['app']}"


def spiffe(p):
    """The identity Istio's CA puts in a workload certificate's URI SAN."""
    return f"spiffe://{TRUST_DOMAIN}/ns/{NAMESPACE}/sa/{service_account(p)}"


def sni(svc):
    """Istio's SNI for an outbound cluster (BuildDNSSrvSubsetKey): `_` for no subset."""
    return f"outbound_.{svc['port']}_._.{fqdn(svc)}"


def fqdn(svc):
    return f"{svc['name']}.{NAMESPACE}.svc.cluster.local"


def outbound_cluster(svc):
    """Istio's outbound cluster name: outbound|<port>|<subset>|<fqdn> (domain.md 4.3)."""
    return f"outbound|{svc['port']}||{fqdn(svc)}"


def vhost_domains(svc):
    """The domains Istio lists for one service port's virtual host (domain.md 4.2)."""
    base = fqdn(svc)
    names = [base, f"{svc['name']}.{NAMESPACE}.svc.cluster", f"{svc['name']}.{NAMESPACE}.svc",
             f"{svc['name']}.{NAMESPACE}", svc["name"]]
    out = []
    for n in names + [svc["clusterIP"]]:
        out += [n, f"{n}:{svc['port']}"]
    return out


if __name__ == "__main__":
    import json
    import sys

    # `topology.py shell`: the names lab.sh needs, as shell assignments.
    if sys.argv[1:] == ["shell"]:
        for p in PODS:
            print(f"POD_{key(p)}='{p['netns']} {p['veth']} {p['ip']} {p['name']}'")
            print(f"SPIFFE_{key(p)}='{spiffe(p)}'")
        print("PODS='" + " ".join(key(p) for p in PODS) + "'")
        print("SIDECARS='" + " ".join(key(p) for p in sidecar_pods()) + "'")
    else:
        json.dump({"pods": PODS, "services": SERVICES,
                   "hashes": {s["name"]: svc_hash(s) for s in SERVICES}}, sys.stdout, indent=1)
