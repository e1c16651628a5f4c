//! Facts from real Envoy dumps: the Apache-2.0 ones copied under tests/data/third-party/envoy/
//! (DeathStarBench geo sidecar, istio/istio istioctl testdata), and the no-licence ones read in
//! place from ../shared/fixtures/envoy/ (Bookinfo productpage 1.9.1, OpenShift Service Mesh),
//! skipped with a note when absent.

use std::net::SocketAddr;

use crate::mesh::envoy::{
    parse_clusters, parse_config_dump, Address, ClusterType, ConfigDump, HcmRoutes, TcpTarget,
};
use crate::mesh::{Direction, IstioName, RouteOutcome};

fn third_party(name: &str) -> ConfigDump {
    let path = format!(
        "{}/tests/data/third-party/envoy/{name}",
        env!("CARGO_MANIFEST_DIR")
    );
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    parse_config_dump(&text).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// A no-licence fixture, read in place: `../shared` from the main checkout, `../../shared`
/// from a worktree under /work/wt/.
fn shared(name: &str) -> Option<ConfigDump> {
    for up in ["/../shared", "/../../shared"] {
        let path = format!("{}{up}/fixtures/envoy/{name}", env!("CARGO_MANIFEST_DIR"));
        if let Ok(text) = std::fs::read_to_string(&path) {
            return Some(parse_config_dump(&text).unwrap_or_else(|e| panic!("{path}: {e}")));
        }
    }
    eprintln!("note: shared fixture {name} absent, test skipped");
    None
}

fn sa(s: &str) -> SocketAddr {
    s.parse().unwrap()
}

const PRODUCTPAGE: &str = "istio-1.9.1-bookinfo-productpage-sidecar-config_dump.json";
const REVIEWS: &str = "outbound|9080||reviews.default.svc.cluster.local";

#[test]
fn productpage_counts_and_node() {
    let Some(d) = shared(PRODUCTPAGE) else { return };
    assert_eq!(
        (
            d.listeners.len(),
            d.clusters.len(),
            d.route_configs.len(),
            d.endpoints.len()
        ),
        (22, 37, 16, 0)
    );
    assert!(d.warnings.is_empty(), "{:?}", d.warnings);
    let n = d.node.as_ref().unwrap();
    assert_eq!(n.proxy_type, "sidecar");
    assert_eq!(n.ip, Some("10.244.2.66".parse().unwrap()));
    assert_eq!(n.pod_name, "productpage-v1-64794f5db4-blnt8");
    assert_eq!(n.namespace, "default");
    assert_eq!(n.dns_domain, "default.svc.cluster.local");
    assert_eq!(n.interception_mode, "REDIRECT");
    assert_eq!(
        n.instance_ips,
        vec!["10.244.2.66".parse::<std::net::IpAddr>().unwrap()]
    );
    assert_eq!(
        (n.istio_version.as_str(), n.envoy_version.as_str()),
        ("1.9.1", "1.17.1")
    );
    let vo = d.listener("virtualOutbound").unwrap();
    assert!(vo.use_original_dst);
    // Istio 1.9 writes `deprecated_v1.bind_to_port: false` on per-port outbound listeners.
    assert!(!d.listener("0.0.0.0_9080").unwrap().bind_to_port);
    let reviews = d.cluster(REVIEWS).unwrap();
    assert_eq!(reviews.kind, ClusterType::Eds);
    assert_eq!(
        reviews.sni,
        "outbound_.9080_._.reviews.default.svc.cluster.local"
    );
    assert_eq!(
        reviews.services[0].host,
        "reviews.default.svc.cluster.local"
    );
}

#[test]
fn productpage_outbound_to_reviews() {
    let Some(d) = shared(PRODUCTPAGE) else { return };
    // reviews' ClusterIP, from the `9080` route's domains.
    let m = d
        .outbound(sa("10.99.230.151:9080"), None, &["http/1.1"], "raw_buffer")
        .unwrap();
    assert_eq!(m.accepted_by.unwrap().name, "virtualOutbound");
    assert_eq!(m.listener.name, "0.0.0.0_9080");
    assert_eq!(m.chain_index, Some(0));
    let routes = m.filter_chain.hcm_routes().unwrap();
    assert_eq!(routes, &HcmRoutes::Rds("9080".into()));
    let r = d.route(routes, "reviews:9080", "/reviews/0", &[]).unwrap();
    assert_eq!(r.route_config.name, "9080");
    assert_eq!(
        r.virtual_host.name,
        "reviews.default.svc.cluster.local:9080"
    );
    assert_eq!(
        r.outcome,
        RouteOutcome::Clusters(vec![(REVIEWS.to_string(), 1.0)])
    );
    // An unknown Host on this route config has no vhost (no `allow_any` in `9080`)…
    // …except Istio's global-sidecar catch-all `*` here (slime lazy loading).
    let r = d.route(routes, "unknown:9080", "/", &[]).unwrap();
    assert_eq!(r.virtual_host.name, "to_global_sidecar");
    // Raw TCP to the same port: no chain matches, the default chain passes it through.
    let m = d
        .outbound(sa("10.99.230.151:9080"), None, &[], "raw_buffer")
        .unwrap();
    assert!(m.is_default_chain());
    assert_eq!(m.filter_chain.name, "PassthroughFilterChain");
    assert_eq!(
        m.filter_chain.tcp_target(),
        Some(&TcpTarget::Cluster("PassthroughCluster".into()))
    );
    // The SNI of leg B names the same cluster.
    let c = d
        .cluster_for_sni("outbound_.9080_._.reviews.default.svc.cluster.local")
        .unwrap();
    assert_eq!(c.name, REVIEWS);
}

#[test]
fn productpage_unknown_destination_is_passthrough() {
    let Some(d) = shared(PRODUCTPAGE) else { return };
    let m = d
        .outbound(sa("203.0.113.9:5555"), None, &["http/1.1"], "raw_buffer")
        .unwrap();
    assert!(m.accepted_by.is_none());
    assert_eq!(m.listener.name, "virtualOutbound");
    assert_eq!(m.filter_chain.name, "virtualOutbound-catchall-tcp");
    assert_eq!(
        m.filter_chain.tcp_target(),
        Some(&TcpTarget::Cluster("PassthroughCluster".into()))
    );
    // A connection to 15001 itself is black-holed (the loop guard chain).
    let m = d
        .outbound(sa("10.1.2.3:15001"), None, &[], "raw_buffer")
        .unwrap();
    assert_eq!(m.filter_chain.name, "virtualOutbound-blackhole");
}

#[test]
fn productpage_inbound() {
    let Some(d) = shared(PRODUCTPAGE) else { return };
    let pod = sa("10.244.2.66:9080");
    // Plaintext to the app port: the raw_buffer `0.0.0.0_9080` chain, inline route config.
    let m = d.inbound(pod, None, &["http/1.1"], "raw_buffer").unwrap();
    assert_eq!(m.listener.name, "virtualInbound");
    assert_eq!(m.filter_chain.name, "0.0.0.0_9080");
    assert_eq!(m.chain_index, Some(6));
    let routes = m.filter_chain.hcm_routes().unwrap();
    let r = d
        .route(routes, "productpage:9080", "/productpage", &[])
        .unwrap();
    assert_eq!(r.route_config.name, "inbound|9080||");
    assert_eq!(r.virtual_host.name, "inbound|http|9080");
    assert_eq!(r.route.name, "default");
    assert_eq!(
        r.route.operation,
        "productpage.default.svc.cluster.local:9080/*"
    );
    assert_eq!(
        r.outcome,
        RouteOutcome::Clusters(vec![("inbound|9080||".into(), 1.0)])
    );
    // mTLS from a mesh client (ALPN istio-http/1.1): the tls chain for 9080.
    let m = d
        .inbound(pod, None, &["istio-http/1.1", "istio"], "tls")
        .unwrap();
    assert_eq!(m.chain_index, Some(5));
    // Another port, plaintext HTTP: the HTTP catch-all; plain TCP: the raw passthrough.
    let other = sa("10.244.2.66:8000");
    let m = d.inbound(other, None, &["http/1.1"], "raw_buffer").unwrap();
    assert_eq!(m.filter_chain.name, "virtualInbound-catchall-http");
    let m = d.inbound(other, None, &[], "raw_buffer").unwrap();
    assert_eq!(m.filter_chain.name, "virtualInbound");
    assert_eq!(
        m.filter_chain.tcp_target(),
        Some(&TcpTarget::Cluster("InboundPassthroughClusterIpv4".into()))
    );
}

#[test]
fn deathstarbench_geo_sidecar() {
    let d = third_party("istio-1.18.2-deathstarbench-hotelres-geo-sidecar-config_dump.json");
    assert_eq!(
        (
            d.listeners.len(),
            d.clusters.len(),
            d.route_configs.len(),
            d.endpoints.len()
        ),
        (142, 143, 92, 143)
    );
    assert!(d.warnings.is_empty(), "{:?}", d.warnings);
    let n = d.node.as_ref().unwrap();
    assert_eq!(n.pod_name, "geo-5c54dcd5bd-z5ghf");
    assert_eq!(n.namespace, "hr2");
    assert_eq!(n.istio_version, "1.18.2");
    // Envoy rejected every virtualInbound update (a Lua filter without source): there is no
    // inbound capture listener, so inbound connections match nothing.
    assert_eq!(d.failed_listeners.len(), 2);
    assert!(d
        .failed_listeners
        .iter()
        .all(|f| f.name == "virtualInbound"));
    assert!(d.failed_listeners[0].details.contains("LuaValidationError"));
    assert!(d.listener("virtualInbound").is_none());
    assert!(d
        .inbound(sa("172.16.188.31:8083"), None, &[], "raw_buffer")
        .is_none());
    // EDS: one healthy mongodb-geo endpoint; geo.hr2 itself has an empty assignment.
    let eps = d.endpoints(
        "outbound|27017||mongodb-geo.hotel-res.svc.cluster.local",
        None,
    );
    assert_eq!(eps.len(), 1);
    assert_eq!(eps[0].address, Address::Socket(sa("172.16.18.201:27017")));
    assert_eq!(eps[0].health_status, "HEALTHY");
    assert_eq!(
        eps[0].workload,
        "mongodb-geo;hotel-res;mongodb-geo;;Kubernetes"
    );
    assert!(eps[0].routable());
    assert!(d
        .endpoints("outbound|8083||geo.hr2.svc.cluster.local", None)
        .is_empty());
    let c = d
        .cluster_for_sni("outbound_.11211_._.media-memcached.social-network.svc.cluster.local")
        .unwrap();
    assert_eq!(
        c.name,
        "outbound|11211||media-memcached.social-network.svc.cluster.local"
    );
}

#[test]
fn endpoints_dump_with_clusters_text() {
    let d = third_party("istio-testdata-endpoints-configdump.json");
    assert_eq!(d.endpoints.len(), 37);
    assert!(d.node.is_none() && d.clusters.is_empty());
    let eps = d.endpoints(REVIEWS, None);
    let addrs: Vec<String> = eps.iter().map(|e| e.address.to_string()).collect();
    assert_eq!(
        addrs,
        [
            "10.244.0.192:9080",
            "10.244.0.193:9080",
            "10.244.0.195:9080"
        ]
    );
    assert!(eps
        .iter()
        .all(|e| e.health_status == "HEALTHY" && e.weight == 1));
    assert_eq!(eps[0].locality_weight, Some(3));
    assert_eq!(eps[2].workload, "reviews-v1;default;reviews;v1;Kubernetes");
    // Hand-made /clusters text (grammar of domain.md 4.4) ejecting one of them.
    let text = parse_clusters(&format!(
        "{REVIEWS}::10.244.0.193:9080::health_flags::/failed_outlier_check\n\
         {REVIEWS}::10.244.0.192:9080::health_flags::healthy\n"
    ))
    .unwrap();
    let eps = d.endpoints(REVIEWS, Some(&text));
    let addrs: Vec<String> = eps.iter().map(|e| e.address.to_string()).collect();
    assert_eq!(addrs, ["10.244.0.192:9080", "10.244.0.195:9080"]);
}

#[test]
fn waypoint_and_compare_testdata() {
    let d = third_party("istio-testdata-waypoint-1.21-config_dump.json");
    assert!(d.warnings.is_empty(), "{:?}", d.warnings);
    assert_eq!(d.node.as_ref().unwrap().proxy_type, "waypoint");
    assert_eq!((d.clusters.len(), d.endpoints.len()), (3, 2));
    let c = d
        .cluster("inbound-vip|8000|http|httpbin.default.svc.cluster.local")
        .unwrap();
    assert_eq!(c.kind, ClusterType::Eds);
    let n = IstioName::parse_cluster(&c.name).unwrap();
    assert_eq!((n.direction, n.port), (Direction::InboundVip, 8000));
    assert_eq!(n.fqdn, "httpbin.default.svc.cluster.local");
    let la = d
        .endpoints
        .iter()
        .find(|e| e.cluster_name == "inbound-vip|8100|http|httpbin.default.svc.cluster.local")
        .unwrap();
    let e = &la.localities[0].lb_endpoints[0];
    assert_eq!(
        e.address,
        Some(Address::Internal("connect_originate".into()))
    );

    let d = third_party("istio-testdata-compare-configdump.json");
    assert!(d.warnings.is_empty(), "{:?}", d.warnings);
    assert!(d.node.is_none());
    assert_eq!(
        (d.listeners.len(), d.clusters.len(), d.route_configs.len()),
        (3, 1, 1)
    );
}

#[test]
fn ossm_sidecar_and_gateway() {
    if let Some(d) = shared("ossm-2.6-istio-1.20.8-hello-openshift-sidecar-config_dump.json") {
        assert!(d.warnings.is_empty(), "{:?}", d.warnings);
        assert_eq!(
            (d.listeners.len(), d.clusters.len(), d.route_configs.len()),
            (18, 24, 15)
        );
        assert_eq!(d.node.as_ref().unwrap().namespace, "vanilla-playground");
        assert!(d.listener("virtualOutbound").is_some());
        let m = d
            .outbound(sa("198.51.100.7:443"), Some("example.com"), &[], "tls")
            .unwrap();
        assert_eq!(
            m.filter_chain.tcp_target(),
            Some(&TcpTarget::Cluster("PassthroughCluster".into()))
        );
    }
    let Some(d) = shared("ossm-2.6-istio-1.20.8-ingressgateway-config_dump.json") else {
        return;
    };
    assert!(d.warnings.is_empty(), "{:?}", d.warnings);
    assert_eq!(
        (d.listeners.len(), d.clusters.len(), d.route_configs.len()),
        (3, 21, 3)
    );
    assert_eq!(d.node.as_ref().unwrap().proxy_type, "router");
    // No virtualOutbound on a gateway: the listener bound at the address takes it.
    let m = d
        .outbound(sa("10.130.0.29:8080"), None, &[], "raw_buffer")
        .unwrap();
    assert_eq!(m.listener.name, "0.0.0.0_8080");
    let routes = m.filter_chain.hcm_routes().unwrap();
    let r = d.route(routes, "anything.example", "/dani", &[]).unwrap();
    assert_eq!(r.virtual_host.name, "*:8080");
    assert_eq!(
        r.outcome,
        RouteOutcome::Clusters(vec![(
            "outbound|8080||hello-openshift.vanilla-playground.svc.cluster.local".into(),
            1.0
        )])
    );
    // `path` is exact: /dani/x is not that route.
    let other = d.route(routes, "anything.example", "/dani/x", &[]);
    assert!(other.is_none_or(|r| r.route_index != 0));
}
