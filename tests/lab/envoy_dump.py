"""A sidecar's mesh (sidecar.py `mesh`) as the Envoy v3 admin /config_dump?include_eds
(snake_case) an Istio sidecar would show for it.

What: `envoy_dump.py APP_VERSION` prints config_dump.json for that sidecar pod: the bootstrap
node, the clusters (outbound EDS clusters with Istio's transport_socket_matches: `tlsMode-istio`
an UpstreamTlsContext with the cluster's SNI and ALPN, `tlsMode-disabled` raw_buffer; the
ORIGINAL_DST passthrough and inbound clusters), the endpoints (a tlsMode=istio endpoint carries
`envoy.transport_socket_match` metadata), the listeners (virtualOutbound, 0.0.0.0_9080 with
RDS "9080", virtualInbound with an mTLS filter chain (transport_protocol tls, Istio's mTLS
ALPNs, a DownstreamTlsContext requiring the client certificate) and a raw_buffer one for
PERMISSIVE) and route config "9080". What not: no SDS secrets (Istio's dump shows only their
names too), no stats or access log config, no filters Istio adds that do not forward.
"""

import json
import sys

import sidecar as sc
import topology as t

LISTENER_T = "type.googleapis.com/envoy.config.listener.v3.Listener"
CLUSTER_T = "type.googleapis.com/envoy.config.cluster.v3.Cluster"
TLS_T = "type.googleapis.com/envoy.extensions.transport_sockets.tls.v3."
SDS = {"ads": {}, "resource_api_version": "V3"}


def sock(addr, port):
    return {"socket_address": {"address": addr, "port_value": port}}


def hcm(stat_prefix, routes):
    return {"name": "envoy.filters.network.http_connection_manager", "typed_config": dict({
        "@type": "type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager",
        "stat_prefix": stat_prefix, "generate_request_id": True, "server_name": "istio-envoy"},
        **routes)}


def tcp_proxy(cluster):
    return {"name": "envoy.filters.network.tcp_proxy", "typed_config": {
        "@type": "type.googleapis.com/envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy",
        "stat_prefix": cluster, "cluster": cluster}}


def common_tls(alpn, san):
    """Istio's CommonTlsContext: SDS `default` certificate, ROOTCA validation, a SAN match."""
    return {"alpn_protocols": alpn,
            "tls_certificate_sds_secret_configs": [{"name": "default", "sds_config": SDS}],
            "combined_validation_context": {
                "default_validation_context": {"match_subject_alt_names": [san]},
                "validation_context_sds_secret_config": {"name": "ROOTCA", "sds_config": SDS}}}


def upstream_tls(svc, eps):
    """The tlsMode-istio socket: the SNI Istio sets, the SPIFFE identities it accepts."""
    ids = sorted({t.spiffe(e) for e in eps if e["sidecar"]})
    return {"name": "envoy.transport_sockets.tls", "typed_config": {
        "@type": TLS_T + "UpstreamTlsContext", "sni": t.sni(svc),
        "common_tls_context": common_tls(t.MTLS_ALPN, {"exact": ids[0]} if ids else {"prefix": "spiffe://"})}}


def inbound_chains():
    inbound_route = {"name": sc.INBOUND, "virtual_hosts": [{
        "name": f"inbound|http|{t.APP_PORT}", "domains": ["*"],
        "routes": [{"name": "default", "match": {"prefix": "/"},
                    "route": {"cluster": sc.INBOUND, "timeout": "0s"}}]}]}
    chain = f"0.0.0.0_{t.APP_PORT}"
    downstream_tls = {"name": "envoy.transport_sockets.tls", "typed_config": {
        "@type": TLS_T + "DownstreamTlsContext", "require_client_certificate": True,
        "common_tls_context": common_tls(["h2", "http/1.1"], {"prefix": f"spiffe://{t.TRUST_DOMAIN}/"})}}
    return [
        {"name": chain,
         "filter_chain_match": {"destination_port": t.APP_PORT, "transport_protocol": "tls",
                                "application_protocols": t.INBOUND_MTLS_ALPN},
         "transport_socket": downstream_tls,
         "filters": [hcm(f"inbound_0.0.0.0_{t.APP_PORT}", {"route_config": inbound_route})]},
        {"name": chain,
         "filter_chain_match": {"destination_port": t.APP_PORT, "transport_protocol": "raw_buffer"},
         "filters": [hcm(f"inbound_0.0.0.0_{t.APP_PORT}", {"route_config": inbound_route})]},
        {"name": "virtualInbound-catchall-http", "filters": [tcp_proxy(sc.INBOUND_PASSTHROUGH)]},
    ]


def listeners():
    rds = {"rds": {"config_source": SDS, "route_config_name": sc.ROUTE}}
    return [
        {"name": "virtualOutbound", "address": sock("0.0.0.0", 15001), "use_original_dst": True,
         "traffic_direction": "OUTBOUND",
         "listener_filters": [{"name": "envoy.filters.listener.original_dst"}],
         "filter_chains": [{"name": "PassthroughFilterChain", "filters": [tcp_proxy(sc.PASSTHROUGH)]}]},
        {"name": f"0.0.0.0_{t.APP_PORT}", "address": sock("0.0.0.0", t.APP_PORT),
         "bind_to_port": False, "traffic_direction": "OUTBOUND",
         "filter_chains": [{"name": f"0.0.0.0_{t.APP_PORT}",
                            "filters": [hcm(f"outbound_0.0.0.0_{t.APP_PORT}", rds)]}]},
        {"name": "virtualInbound", "address": sock("0.0.0.0", 15006), "use_original_dst": True,
         "traffic_direction": "INBOUND",
         "listener_filters": [{"name": "envoy.filters.listener.original_dst"},
                              {"name": "envoy.filters.listener.tls_inspector"}],
         "filter_chains": inbound_chains()},
    ]


def routes(m):
    vhosts = [{"name": vh["name"], "domains": vh["domains"],
               "routes": [{"name": "default", "match": {"prefix": "/"},
                           "route": {"cluster": vh["cluster"], "timeout": "0s"},
                           "decorator": {"operation": f"{vh['name']}/*"}}]}
              for vh in m["vhosts"]]
    vhosts.append({"name": "allow_any", "domains": ["*"],
                   "routes": [{"name": "allow_any", "match": {"prefix": "/"},
                               "route": {"cluster": sc.PASSTHROUGH, "timeout": "0s"}}]})
    return {"name": sc.ROUTE, "virtual_hosts": vhosts, "validate_clusters": False}


def clusters(m):
    out = []
    for s in m["services"]:
        name = t.outbound_cluster(s)
        out.append({"@type": CLUSTER_T, "name": name, "type": "EDS", "lb_policy": "ROUND_ROBIN",
                    "eds_cluster_config": {"eds_config": SDS, "service_name": name},
                    "connect_timeout": "2s",
                    "metadata": {"filter_metadata": {"istio": {"services": [
                        {"host": t.fqdn(s), "name": s["name"], "namespace": t.NAMESPACE}]}}},
                    "transport_socket_matches": [
                        {"name": "tlsMode-istio", "match": {"tlsMode": "istio"},
                         "transport_socket": upstream_tls(s, t.endpoints(s))},
                        {"name": "tlsMode-disabled", "match": {},
                         "transport_socket": {"name": "envoy.transport_sockets.raw_buffer", "typed_config": {
                             "@type": "type.googleapis.com/envoy.extensions.transport_sockets.raw_buffer.v3.RawBuffer"}}}]})
    out.append({"@type": CLUSTER_T, "name": sc.PASSTHROUGH, "type": "ORIGINAL_DST",
                "lb_policy": "CLUSTER_PROVIDED", "connect_timeout": "2s"})
    for name in (sc.INBOUND, sc.INBOUND_PASSTHROUGH):
        out.append({"@type": CLUSTER_T, "name": name, "type": "ORIGINAL_DST",
                    "lb_policy": "CLUSTER_PROVIDED", "connect_timeout": "2s",
                    "upstream_bind_config": {"source_address": {"address": "127.0.0.6", "port_value": 0}}})
    return out


def endpoints(m):
    out = []
    for cluster, eps in m["eds"].items():
        lbs = []
        for ep in eps:
            w = m["workloads"][ep]
            ip, port = ep.split(":")
            meta = {"istio": {"workload": (
                f"{w['app']}-{w['version']};{t.NAMESPACE};{w['app']};{w['version']};Kubernetes")}}
            if w["sidecar"]:
                meta["envoy.transport_socket_match"] = {"tlsMode": "istio"}
            lbs.append({"endpoint": {"address": sock(ip, int(port))}, "health_status": "HEALTHY",
                        "load_balancing_weight": 1, "metadata": {"filter_metadata": meta}})
        out.append({"@type": "type.googleapis.com/envoy.config.endpoint.v3.ClusterLoadAssignment",
                    "cluster_name": cluster, "endpoints": [{"locality": {}, "lb_endpoints": lbs}]})
    return out


def config_dump(me, version="2026-12-01T20:00:00Z/1"):
    m = sc.mesh(me)
    node_id = f"sidecar~{me['ip']}~{me['name']}.{t.NAMESPACE}~{t.NAMESPACE}.svc.cluster.local"
    admin = "type.googleapis.com/envoy.admin.v3."
    return {"configs": [
        {"@type": admin + "BootstrapConfigDump", "bootstrap": {"node": {
            "id": node_id, "cluster": f"{me['app']}.{t.NAMESPACE}",
            "metadata": {"INTERCEPTION_MODE": "REDIRECT", "INSTANCE_IPS": me["ip"],
                         "POD_NAME": me["name"], "NAMESPACE": t.NAMESPACE,
                         "SERVICE_ACCOUNT": t.service_account(me),
                         "LABELS": {"app": me["app"], "version": me["version"],
                                    "security.istio.io/tlsMode": "istio"}}}}},
        {"@type": admin + "ClustersConfigDump", "version_info": version,
         "dynamic_active_clusters": [{"version_info": version, "cluster": c} for c in clusters(m)]},
        {"@type": admin + "EndpointsConfigDump",
         "dynamic_endpoint_configs": [{"version_info": version, "endpoint_config": e}
                                      for e in endpoints(m)]},
        {"@type": admin + "ListenersConfigDump", "version_info": version,
         "dynamic_listeners": [{"name": lst["name"], "active_state": {
             "version_info": version, "listener": dict({"@type": LISTENER_T}, **lst)}}
             for lst in listeners()]},
        {"@type": admin + "RoutesConfigDump", "dynamic_route_configs": [{
            "version_info": version, "route_config": dict(
                {"@type": "type.googleapis.com/envoy.config.route.v3.RouteConfiguration"}, **routes(m))}]},
    ]}


if __name__ == "__main__":
    json.dump(config_dump(sc.by_key(sys.argv[1])), sys.stdout, indent=2)
    sys.stdout.write("\n")
