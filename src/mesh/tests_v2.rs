//! The older v2 dumps in detail: a live Istio 1.4 sidecar (v2alpha, snake_case, Envoy 1.12.6)
//! and istio's Envoy 1.7 testdata (a map of configs, camelCase, the v1 TCP proxy). Counts of
//! every fixture are checked in `tests_shapes`.

use super::tests_shapes::{dump, sa};
use crate::mesh::envoy::{Address, ClusterType, HcmRoutes, Origin, TcpTarget};
use crate::mesh::RouteOutcome;

/// A real Istio 1.4 sidecar (GKE, Envoy 1.12.6): the v2alpha envelope in snake_case, v2
/// `typed_config` types, `tls_context`, `hosts`, `deprecated_v1`, `use_original_dst`.
#[test]
fn istio_1_4_v2alpha_sidecar() {
    let d = dump("istio-1.4.10-gke-httpbin-sidecar-config_dump.json");
    let n = d.node.as_ref().unwrap();
    assert_eq!(
        (n.pod_name.as_str(), n.namespace.as_str(), n.ip),
        (
            "httpbin1-6c97fbc967-lz4fb",
            "default",
            Some("10.124.2.21".parse().unwrap())
        )
    );
    assert_eq!(
        (
            n.istio_version.as_str(),
            n.envoy_version.as_str(),
            n.interception_mode.as_str()
        ),
        ("1.4.10-gke.8", "1.12.6", "REDIRECT")
    );
    // HTTP to istio-pilot's ClusterIP: virtualOutbound hands off to 0.0.0.0_15010 (not bound,
    // deprecated_v1), its second chain (the first is the loop guard for the pod's own IP).
    let m = d
        .outbound(sa("10.0.14.235:15010"), None, &["h2"], "raw_buffer")
        .unwrap();
    assert_eq!(m.accepted_by.unwrap().name, "virtualOutbound");
    assert!(m.accepted_by.unwrap().use_original_dst);
    assert_eq!(m.listener.name, "0.0.0.0_15010");
    assert!(!m.listener.bind_to_port);
    assert_eq!(m.chain_index, Some(1));
    let routes = m.filter_chain.hcm_routes().unwrap();
    assert_eq!(routes, &HcmRoutes::Rds("15010".into()));
    let r = d
        .route(routes, "istio-pilot.istio-system:15010", "/", &[])
        .unwrap();
    assert_eq!(
        r.outcome,
        RouteOutcome::Clusters(vec![(
            "outbound|15010||istio-pilot.istio-system.svc.cluster.local".into(),
            1.0
        )])
    );
    // The pod calling its own IP on that port is black-holed.
    let m = d
        .outbound(sa("10.124.2.21:15010"), None, &[], "raw_buffer")
        .unwrap();
    assert_eq!(
        m.filter_chain.tcp_target(),
        Some(&TcpTarget::Cluster("BlackHoleCluster".into()))
    );
    // TCP to the kubernetes service: the per-IP listener's v2 TcpProxy typed_config.
    let m = d.outbound(sa("10.0.0.1:443"), None, &[], "tls").unwrap();
    assert_eq!(m.listener.name, "10.0.0.1_443");
    assert_eq!(
        m.filter_chain.tcp_target(),
        Some(&TcpTarget::Cluster(
            "outbound|443||kubernetes.default.svc.cluster.local".into()
        ))
    );
    // Nowhere known: virtualOutbound's passthrough chain.
    let m = d
        .outbound(sa("203.0.113.9:5555"), None, &[], "raw_buffer")
        .unwrap();
    assert!(m.accepted_by.is_none());
    assert_eq!(
        m.filter_chain.tcp_target(),
        Some(&TcpTarget::Cluster("PassthroughCluster".into()))
    );
    // Inbound (Istio 1.4 already had virtualInbound on 15006).
    let m = d
        .inbound(sa("10.124.2.21:15020"), None, &[], "raw_buffer")
        .unwrap();
    assert_eq!(m.listener.name, "virtualInbound");
    assert_eq!(
        m.filter_chain.tcp_target(),
        Some(&TcpTarget::Cluster(
            "inbound|15020|mgmt-15020|mgmtCluster".into()
        ))
    );
    let m = d
        .inbound(sa("10.124.2.21:8000"), None, &[], "raw_buffer")
        .unwrap();
    assert_eq!(
        m.filter_chain.tcp_target(),
        Some(&TcpTarget::Cluster("InboundPassthroughClusterIpv4".into()))
    );
    // v2 `tls_context.sni` names the cluster; its STRICT_DNS endpoints are inline.
    let c = d
        .cluster_for_sni("outbound_.15004_._.istio-telemetry.istio-system.svc.cluster.local")
        .unwrap();
    assert_eq!(
        c.name,
        "outbound|15004||istio-telemetry.istio-system.svc.cluster.local"
    );
    let eps = d.endpoints(&c.name, None);
    assert_eq!(eps[0].address, Address::Socket(sa("10.0.0.136:15004")));
    // v2 `hosts` on the static xds-grpc cluster (listed once, not again from the bootstrap).
    let eps = d.endpoints("xds-grpc", None);
    assert_eq!(eps[0].address.to_string(), "istio-pilot.istio-system:15010");
    assert_eq!(
        d.clusters.iter().filter(|c| c.name == "xds-grpc").count(),
        1
    );
}

#[test]
fn envoy_1_7_v2alpha_dump() {
    let d = dump("istio-testdata-v2alpha-envoy-1.7-configdump.json");
    let n = d.node.as_ref().unwrap();
    assert_eq!(
        (n.pod_name.as_str(), n.namespace.as_str(), n.ip),
        (
            "details-v1-9cb87c69-t2fdz",
            "default",
            Some("172.30.77.243".parse().unwrap())
        )
    );
    assert_eq!(n.interception_mode, "REDIRECT");
    // Per-service TCP listener, Envoy v1 tcp_proxy, not bound (deprecatedV1.bindToPort).
    let m = d
        .outbound(sa("172.21.134.116:443"), None, &[], "tls")
        .unwrap();
    assert_eq!(m.listener.name, "172.21.134.116_443");
    assert!(!m.listener.bind_to_port);
    assert_eq!(
        m.filter_chain.tcp_target(),
        Some(&TcpTarget::Cluster(
            "outbound|443||istio-galley.istio-system.svc.cluster.local".into()
        ))
    );
    // HTTP on 8080: the inline route config of the v2 `config` HCM.
    let m = d
        .outbound(sa("172.21.245.9:8080"), None, &[], "raw_buffer")
        .unwrap();
    assert_eq!(m.listener.name, "0.0.0.0_8080");
    let routes = m.filter_chain.hcm_routes().unwrap();
    assert!(matches!(routes, HcmRoutes::Inline(rc) if rc.name == "8080"));
    let r = d
        .route(routes, "istio-pilot.istio-system:8080", "/debug", &[])
        .unwrap();
    assert_eq!(
        r.outcome,
        RouteOutcome::Clusters(vec![(
            "outbound|8080||istio-pilot.istio-system.svc.cluster.local".into(),
            1.0
        )])
    );
    // RDS "15004" from dynamicRouteConfigs, static "inbound|9080||…" from staticRouteConfigs.
    let rds = HcmRoutes::Rds("15004".into());
    let r = d
        .route(&rds, "istio-telemetry.istio-system:15004", "/", &[])
        .unwrap();
    assert_eq!(
        r.virtual_host.name,
        "istio-telemetry.istio-system.svc.cluster.local:15004"
    );
    assert!(d
        .route_config("inbound|9080||productpage.default.svc.cluster.local")
        .is_some());
    // v2 `hosts`: the xds-grpc endpoint is the DNS name; zipkin only in the bootstrap.
    let eps = d.endpoints("xds-grpc", None);
    assert_eq!(
        eps.iter()
            .map(|e| e.address.to_string())
            .collect::<Vec<_>>(),
        ["istio-pilot.istio-system:15010"]
    );
    assert_eq!(eps[0].source, "load_assignment");
    let z = d.cluster("zipkin").unwrap();
    assert_eq!(
        (z.kind.clone(), z.origin),
        (ClusterType::StrictDns, Origin::Static)
    );
    assert_eq!(
        d.cluster("outbound|15004||istio-policy.istio-system.svc.cluster.local")
            .unwrap()
            .eds_key(),
        "outbound|15004||istio-policy.istio-system.svc.cluster.local"
    );
}
