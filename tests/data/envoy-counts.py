#!/usr/bin/env python3
"""Counts the resources in Envoy admin / istioctl JSON files, independently of hopscope's
parser, for the tables in src/mesh/tests_shapes.rs:

    python3 tests/data/envoy-counts.py tests/data/third-party/envoy/*.json ../shared/fixtures/envoy/*.json

Prints, per file, listeners (L), warming listeners (W), route configs (R), clusters (C) and
endpoint assignments (E); for /clusters?format=json, clusters and hosts. Keys are brought to
snake_case first (istioctl prints lowerCamelCase). The bootstrap's static_resources count only
where no section lists the same resource (by name; an unnamed listener by address).
"""
import json
import re
import sys


def snake(k):
    return re.sub(r"([A-Z])", lambda m: "_" + m.group(1).lower(), k)


def norm(v):
    if isinstance(v, dict):
        return {(k if k.startswith("@") else snake(k)): norm(x) for k, x in v.items()}
    if isinstance(v, list):
        return [norm(x) for x in v]
    return v


def inner(items, key):
    """Wrapped items (`{"cluster": …}`) or, Envoy 1.7, bare resources."""
    out = []
    for i in items or []:
        if key in i:
            out.append(i[key])
        elif set(i) - {"version_info", "last_updated"}:
            out.append(i)
    return out


def count(d):
    L, W, R, C, E = [], [], [], [], []
    boot = ([], [])
    if isinstance(d, list):  # istioctl proxy-config … -o json
        for x in d:
            if "virtual_hosts" in x:
                R.append(x)
            elif "cluster_name" in x:
                E.append(x)
            elif "filter_chains" in x or "address" in x:
                L.append(x)
            else:
                C.append(x)
        return L, W, R, C, E
    configs = d.get("configs")
    if configs is None:
        configs = [d]
    if isinstance(configs, dict):  # Envoy 1.7
        configs = list(configs.values())
    for c in configs:
        t = c["@type"].rsplit(".", 1)[1]
        if t == "BootstrapConfigDump":
            sr = c["bootstrap"].get("static_resources", {})
            boot = (sr.get("listeners", []), sr.get("clusters", []))
        if t == "ListenersConfigDump":
            L += inner(c.get("static_listeners"), "listener")
            L += inner(c.get("dynamic_active_listeners"), "listener")
            W += inner(c.get("dynamic_warming_listeners"), "listener")
            for dl in c.get("dynamic_listeners") or []:
                if "active_state" in dl:
                    L.append(dl["active_state"]["listener"])
                if "warming_state" in dl:
                    W.append(dl["warming_state"]["listener"])
        if t == "ClustersConfigDump":
            for k in ["static_clusters", "dynamic_active_clusters", "dynamic_warming_clusters"]:
                C += inner(c.get(k), "cluster")
        if t == "RoutesConfigDump":
            for k in ["static_route_configs", "dynamic_route_configs"]:
                R += inner(c.get(k), "route_config")
        if t == "EndpointsConfigDump":
            for k in ["static_endpoint_configs", "dynamic_endpoint_configs"]:
                E += inner(c.get(k), "endpoint_config")
    names = {x.get("name") for x in C}
    C += [x for x in boot[1] if x.get("name") not in names]
    lnames = {x.get("name") for x in L}
    laddrs = [x.get("address") for x in L]
    L += [
        x
        for x in boot[0]
        if ((x.get("name") not in lnames) if x.get("name") else (x.get("address") not in laddrs))
    ]
    return L, W, R, C, E


for f in sys.argv[1:]:
    d = norm(json.load(open(f)))
    name = f.rsplit("/", 1)[-1]
    if isinstance(d, dict) and "cluster_statuses" in d:
        cs = d["cluster_statuses"]
        hosts = sum(len(c.get("host_statuses", [])) for c in cs)
        print(name, "clusters", len(cs), "hosts", hosts)
        continue
    L, W, R, C, E = count(d)
    print(name, "L", len(L), "W", len(W), "R", len(R), "C", len(C), "E", len(E))
