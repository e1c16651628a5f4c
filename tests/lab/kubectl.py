"""The lab cluster as `kubectl get pods,services,endpointslices,nodes -A -o json` would print it.

What: one `List` (apiVersion v1) of the Node, the Pods (status.podIP, spec.nodeName node-1; the
pods with a sidecar, productpage and reviews-v2, carry an injected `istio-proxy` container, the
`istio-init` init container, the `sidecar.istio.io/status` annotation and the
`security.istio.io/tlsMode: istio` label that makes Istio's auto-mTLS pick TLS to them), the Services (ClusterIP/NodePort, named port `http`,
sessionAffinity, externalTrafficPolicy) and one EndpointSlice per service, all drawn from
topology.py. What not: no uids/resourceVersions beyond fixed placeholders, no status
conditions beyond Ready, no managedFields; only the fields domain.md section 5 says the join
reads, shaped as the API server prints them.
"""

import json
import sys

import topology as t

CREATED = "2026-12-01T19:00:00Z"
ISTIO_STATUS = json.dumps({
    "initContainers": ["istio-init"], "containers": ["istio-proxy"],
    "volumes": ["istio-envoy", "istio-data", "istio-podinfo", "istio-token", "istiod-ca-cert"],
    "imagePullSecrets": None, "revision": "default"})


def meta(name, uid, **extra):
    m = {"name": name, "namespace": t.NAMESPACE, "uid": uid, "creationTimestamp": CREATED}
    m.update(extra)
    return m


def container_status(name, image, cid):
    return {"name": name, "image": image, "ready": True, "restartCount": 0,
            "containerID": f"containerd://{cid}", "started": True,
            "state": {"running": {"startedAt": CREATED}}}


def pod_obj(i, p):
    labels = {"app": p["app"], "version": p["version"]}
    annotations = {}
    containers = [{"name": p["app"], "image": f"docker.io/istio/examples-bookinfo-{p['app']}-{p['version']}:1.20.2",
                   "ports": [{"containerPort": t.APP_PORT, "protocol": "TCP"}]}]
    statuses = [container_status(p["app"], containers[0]["image"], f"{i:02x}" * 32)]
    spec = {"nodeName": t.NODE["name"], "containers": containers, "serviceAccountName": f"bookinfo-{p['app']}"}
    if p["sidecar"]:
        labels["security.istio.io/tlsMode"] = "istio"
        labels["service.istio.io/canonical-name"] = p["app"]
        annotations["sidecar.istio.io/status"] = ISTIO_STATUS
        spec["initContainers"] = [{"name": "istio-init", "image": "docker.io/istio/proxyv2:1.24.0",
                                   "args": ["istio-iptables", "-p", "15001", "-z", "15006", "-u", "1337",
                                            "-m", "REDIRECT", "-i", "*", "-x", "", "-b", "*",
                                            "-d", "15090,15021,15020"]}]
        containers.append({"name": "istio-proxy", "image": "docker.io/istio/proxyv2:1.24.0",
                           "args": ["proxy", "sidecar"],
                           "ports": [{"containerPort": 15090, "name": "http-envoy-prom", "protocol": "TCP"}],
                           "securityContext": {"runAsUser": 1337, "runAsGroup": 1337}})
        statuses.append(container_status("istio-proxy", "docker.io/istio/proxyv2:1.24.0", f"{i + 16:02x}" * 32))
    return {"apiVersion": "v1", "kind": "Pod",
            "metadata": meta(p["name"], f"00000000-0000-4000-8000-0000000001{i:02d}", labels=labels,
                             annotations=annotations),
            "spec": spec,
            "status": {"phase": "Running", "hostIP": t.NODE["ip"], "hostIPs": [{"ip": t.NODE["ip"]}],
                       "podIP": p["ip"], "podIPs": [{"ip": p["ip"]}],
                       "conditions": [{"type": "Ready", "status": "True"}],
                       "containerStatuses": statuses}}


def service_obj(i, s):
    port = {"name": s["portName"], "protocol": "TCP", "port": s["port"], "targetPort": t.APP_PORT}
    spec = {"type": s["type"], "clusterIP": s["clusterIP"], "clusterIPs": [s["clusterIP"]],
            "ipFamilies": ["IPv4"], "ipFamilyPolicy": "SingleStack", "ports": [port],
            "selector": {"app": s["name"]}, "internalTrafficPolicy": "Cluster",
            "sessionAffinity": "ClientIP" if s["affinity"] else "None"}
    if s["affinity"]:
        spec["sessionAffinityConfig"] = {"clientIP": {"timeoutSeconds": t.AFFINITY_SECONDS}}
    if s["nodePort"]:
        port["nodePort"] = s["nodePort"]
        spec["externalTrafficPolicy"] = s["eTP"]
    return {"apiVersion": "v1", "kind": "Service",
            "metadata": meta(s["name"], f"00000000-0000-4000-8000-0000000002{i:02d}",
                             labels={"app": s["name"], "service": s["name"]}),
            "spec": spec, "status": {"loadBalancer": {}}}


def slice_obj(i, s):
    eps = [{"addresses": [p["ip"]], "conditions": {"ready": True, "serving": True, "terminating": False},
            "nodeName": t.NODE["name"],
            "targetRef": {"kind": "Pod", "namespace": t.NAMESPACE, "name": p["name"],
                          "uid": f"00000000-0000-4000-8000-0000000001{t.PODS.index(p):02d}"}}
           for p in t.endpoints(s)]
    return {"apiVersion": "discovery.k8s.io/v1", "kind": "EndpointSlice",
            "metadata": meta(f"{s['name']}-{'abcde'[i]}x7k2", f"00000000-0000-4000-8000-0000000003{i:02d}",
                             labels={"kubernetes.io/service-name": s["name"],
                                     "endpointslice.kubernetes.io/managed-by": "endpointslice-controller.k8s.io"},
                             ownerReferences=[{"apiVersion": "v1", "kind": "Service", "name": s["name"],
                                               "uid": f"00000000-0000-4000-8000-0000000002{i:02d}"}]),
            "addressType": "IPv4", "endpoints": eps,
            "ports": [{"name": s["portName"], "port": t.APP_PORT, "protocol": "TCP"}]}


def node_obj():
    n = t.NODE
    return {"apiVersion": "v1", "kind": "Node",
            "metadata": {"name": n["name"], "uid": "00000000-0000-4000-8000-000000000400",
                         "labels": {"kubernetes.io/hostname": n["name"], "kubernetes.io/os": "linux"},
                         "creationTimestamp": CREATED},
            "spec": {"podCIDR": "10.244.1.0/24", "podCIDRs": ["10.244.1.0/24"]},
            "status": {"addresses": [{"type": "InternalIP", "address": n["ip"]},
                                     {"type": "Hostname", "address": n["name"]}],
                       "conditions": [{"type": "Ready", "status": "True"}],
                       "nodeInfo": {"kubeProxyVersion": "v1.33.0", "kubeletVersion": "v1.33.0",
                                    "containerRuntimeVersion": "containerd://1.7.24",
                                    "operatingSystem": "linux", "architecture": "amd64"}}}


def cluster_list():
    items = [pod_obj(i, p) for i, p in enumerate(t.PODS)]
    items += [service_obj(i, s) for i, s in enumerate(t.SERVICES)]
    items += [slice_obj(i, s) for i, s in enumerate(t.SERVICES)]
    items.append(node_obj())
    return {"apiVersion": "v1", "kind": "List", "items": items, "metadata": {"resourceVersion": ""}}


if __name__ == "__main__":
    json.dump(cluster_list(), sys.stdout, indent=2)
    sys.stdout.write("\n")
