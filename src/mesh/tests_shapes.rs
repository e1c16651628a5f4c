//! Every Envoy admin input shape on real files: each dump in ../shared/fixtures/envoy/ and in
//! tests/data/third-party/envoy/ (the v2alpha dumps in detail: `tests_v2`; here a v3 envelope of
//! `envoy.api.v2.*` resources, a bare v2alpha section, istioctl `proxy-config … -o json`
//! arrays, `/clusters?format=json`), with counts checked by
//! `python3 tests/data/envoy-counts.py` (an independent reading, documented in
//! tests/data/README.md).

use std::net::SocketAddr;

use crate::mesh::envoy::{
    parse_admin, parse_clusters_json, Address, AdminDoc, ClustersText, ConfigDump, HcmRoutes,
    HostAddr, Origin, TcpTarget,
};
use crate::mesh::RouteOutcome;

const DIR: &str = "tests/data/third-party/envoy";

/// (file, listeners, warming, route configs, clusters, endpoint assignments), or for a
/// `/clusters` status (file, clusters, hosts, 0, 0, 0).
type Counts = (&'static str, usize, usize, usize, usize, usize);

const THIRD_PARTY: &[Counts] = &[
    (
        "istio-1.18.2-deathstarbench-hotelres-geo-sidecar-config_dump.json",
        142,
        0,
        92,
        143,
        143,
    ),
    (
        "istio-1.4.10-gke-httpbin-sidecar-config_dump.json",
        32,
        0,
        15,
        46,
        0,
    ),
    (
        "istio-fork-v3-envelope-v2-resources-configdump.json",
        4,
        0,
        3,
        3,
        0,
    ),
    ("istio-testdata-clusters-format-json.json", 7, 9, 0, 0, 0),
    ("istio-testdata-compare-configdump.json", 3, 0, 1, 1, 0),
    ("istio-testdata-endpoints-configdump.json", 0, 0, 0, 0, 37),
    ("istio-testdata-istioctl-clusters.json", 0, 0, 0, 2, 0),
    ("istio-testdata-istioctl-endpoints.json", 0, 0, 0, 0, 2),
    ("istio-testdata-istioctl-listeners.json", 2, 0, 0, 0, 0),
    ("istio-testdata-istioctl-routes.json", 0, 0, 2, 0, 0),
    ("istio-testdata-v2alpha-clusterdump.json", 0, 0, 0, 2, 0),
    (
        "istio-testdata-v2alpha-envoy-1.7-configdump.json",
        2,
        0,
        2,
        3,
        0,
    ),
    (
        "istio-testdata-waypoint-1.21-config_dump.json",
        2,
        0,
        1,
        3,
        2,
    ),
];

const SHARED: &[Counts] = &[
    (
        "istio-1.18.2-deathstarbench-hotelres-geo-sidecar-config_dump.json",
        142,
        0,
        92,
        143,
        143,
    ),
    (
        "istio-1.9.1-bookinfo-productpage-sidecar-config_dump.json",
        22,
        0,
        16,
        37,
        0,
    ),
    ("istio-testdata-compare-configdump.json", 3, 0, 1, 1, 0),
    ("istio-testdata-endpoints-configdump.json", 0, 0, 0, 0, 37),
    (
        "istio-testdata-waypoint-1.21-config_dump.json",
        2,
        0,
        1,
        3,
        2,
    ),
    (
        "ossm-2.6-istio-1.20.8-hello-openshift-sidecar-config_dump.json",
        18,
        0,
        15,
        24,
        0,
    ),
    (
        "ossm-2.6-istio-1.20.8-ingressgateway-config_dump.json",
        3,
        0,
        3,
        21,
        0,
    ),
];

fn read(path: &str) -> AdminDoc {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{path}: {e}"));
    parse_admin(&text).unwrap_or_else(|e| panic!("{path}: {e}"))
}

pub(super) fn dump(name: &str) -> ConfigDump {
    match read(&format!("{}/{DIR}/{name}", env!("CARGO_MANIFEST_DIR"))) {
        AdminDoc::Config(d) => *d,
        AdminDoc::Clusters(_) => panic!("{name}: read as /clusters"),
    }
}

/// Every `.json` in `dir` parses, has no warnings and has exactly the counts of `table`; a
/// file missing from the table fails the test (no file goes unchecked).
fn check_dir(dir: &str, table: &[Counts]) {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("{dir}: {e}"))
        .filter_map(|e| e.ok()?.file_name().into_string().ok())
        .filter(|n| n.ends_with(".json"))
        .collect();
    names.sort();
    let listed: Vec<&str> = table.iter().map(|t| t.0).collect();
    assert_eq!(names, listed, "{dir}: files vs the table");
    for &(name, a, b, c, d, e) in table {
        let got = match read(&format!("{dir}/{name}")) {
            AdminDoc::Config(x) => {
                assert!(x.warnings.is_empty(), "{name}: {:?}", x.warnings);
                (
                    x.listeners.len(),
                    x.warming_listeners.len(),
                    x.route_configs.len(),
                    x.clusters.len(),
                    x.endpoints.len(),
                )
            }
            AdminDoc::Clusters(t) => (
                t.clusters.len(),
                t.clusters.iter().map(|c| c.hosts.len()).sum(),
                0,
                0,
                0,
            ),
        };
        assert_eq!(got, (a, b, c, d, e), "{name}");
    }
}

#[test]
fn every_fixture_parses_with_its_counts() {
    check_dir(
        &format!("{}/{DIR}", env!("CARGO_MANIFEST_DIR")),
        THIRD_PARTY,
    );
    let shared = ["/../shared", "/../../shared"]
        .iter()
        .map(|up| format!("{}{up}/fixtures/envoy", env!("CARGO_MANIFEST_DIR")))
        .find(|d| std::path::Path::new(d).is_dir());
    match shared {
        Some(d) => check_dir(&d, SHARED),
        None => eprintln!("note: ../shared/fixtures/envoy absent, shared dumps not checked"),
    }
}

pub(super) fn sa(s: &str) -> SocketAddr {
    s.parse().unwrap()
}

#[test]
fn v3_envelope_with_v2_resources() {
    let d = dump("istio-fork-v3-envelope-v2-resources-configdump.json");
    // A v2 TcpProxy `typed_config` (envoy.config.filter.network.tcp_proxy.v2.TcpProxy).
    let m = d
        .outbound(sa("10.0.0.5:8081"), None, &[], "raw_buffer")
        .unwrap();
    assert_eq!(
        m.filter_chain.tcp_target(),
        Some(&TcpTarget::Cluster("BlackHoleCluster".into()))
    );
    // A filter named envoy.http_connection_manager with no config at all: no routes known.
    let m = d
        .outbound(sa("10.0.0.5:8082"), None, &[], "raw_buffer")
        .unwrap();
    assert!(m.filter_chain.hcm_routes().is_none());
    // The unnamed static route config (the 15090 prometheus one) is kept.
    assert!(d
        .route_configs
        .iter()
        .any(|r| r.name.is_empty() && r.virtual_hosts[0].name == "backend"));
    assert_eq!(d.node.as_ref().unwrap().cluster, "details");
}

#[test]
fn istioctl_proxy_config_arrays_merged() {
    let mut d = dump("istio-testdata-istioctl-listeners.json");
    for f in [
        "istio-testdata-istioctl-routes.json",
        "istio-testdata-istioctl-clusters.json",
        "istio-testdata-istioctl-endpoints.json",
    ] {
        d.merge(dump(f));
    }
    assert_eq!(
        (
            d.listeners.len(),
            d.route_configs.len(),
            d.clusters.len(),
            d.endpoints.len()
        ),
        (2, 2, 2, 2)
    );
    let m = d
        .outbound(sa("172.21.134.116:443"), None, &[], "tls")
        .unwrap();
    assert_eq!(m.listener.name, "172.21.134.116_443");
    let rds = HcmRoutes::Rds("15004".into());
    let r = d
        .route(&rds, "istio-policy.istio-system.svc:15004", "/", &[])
        .unwrap();
    assert_eq!(
        r.outcome,
        RouteOutcome::Clusters(vec![(
            "outbound|15004||istio-policy.istio-system.svc.cluster.local".into(),
            1.0
        )])
    );
    let c = d.cluster("xds-grpc").unwrap();
    assert_eq!(c.origin, Origin::Unknown);
    // endpoints -o json: ClusterLoadAssignments with health and Istio workload metadata.
    let eps = d.endpoints(
        "outbound|80||istio-ingressgateway.istio-system.svc.cluster.local",
        None,
    );
    assert_eq!(eps.len(), 1);
    assert_eq!(eps[0].address, Address::Socket(sa("10.244.0.176:8080")));
    assert_eq!(eps[0].health_status, "HEALTHY");
    assert_eq!(
        eps[0].workload,
        "istio-ingressgateway;istio-system;istio-ingressgateway;latest;Kubernetes"
    );
}

fn status() -> ClustersText {
    match read(&format!(
        "{}/{DIR}/istio-testdata-clusters-format-json.json",
        env!("CARGO_MANIFEST_DIR")
    )) {
        AdminDoc::Clusters(t) => t,
        AdminDoc::Config(_) => panic!("read as a config dump"),
    }
}

#[test]
fn clusters_format_json() {
    let t = status();
    const REVIEWS: &str = "outbound|9080||reviews.default.svc.cluster.local";
    let r = t.cluster(REVIEWS).unwrap();
    assert_eq!(r.added_via_api, Some(true));
    let ejected: Vec<String> = r
        .hosts
        .iter()
        .filter(|h| h.is_unhealthy())
        .map(|h| format!("{:?} {:?}", h.address, h.health_flags))
        .collect();
    assert_eq!(
        ejected,
        ["Socket(172.17.0.27:9080) [\"failed_outlier_check\"]"]
    );
    let p = t
        .cluster("outbound|15014||istio-policy.istio-system.svc.cluster.local")
        .unwrap();
    assert_eq!(p.hosts[0].health_flags, ["failed_eds_health"]);
    // snake_case inside a camelCase file, a pipe host, string counters.
    let m = t.cluster("inbound_9092").unwrap();
    let h = &m.hosts[0];
    assert_eq!(h.address, HostAddr::Other("unix:/sock/mixer.socket".into()));
    assert_eq!(
        (
            h.stat("rq_total"),
            h.stat("cx_active"),
            h.stat("rq_timeout")
        ),
        (Some(300076), Some(8), Some(0))
    );
    assert_eq!(h.weight, Some(1));
    // With no config for the cluster, /clusters gives the endpoints, minus the ejected one.
    let eps = ConfigDump::default().endpoints(REVIEWS, Some(&t));
    let addrs: Vec<String> = eps.iter().map(|e| e.address.to_string()).collect();
    assert_eq!(addrs, ["172.17.0.24:9080", "172.17.0.26:9080"]);
}

#[test]
fn old_istioctl_endpoints_are_cluster_statuses() {
    // Older istioctl `proxy-config endpoints -o json` printed the `cluster_statuses` entries
    // of /clusters?format=json as a bare array (istioctl/pkg/writer/envoy/clusters
    // PrintEndpoints): build that array from the real file and read it back.
    let path = format!(
        "{}/{DIR}/istio-testdata-clusters-format-json.json",
        env!("CARGO_MANIFEST_DIR")
    );
    let v: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    let array = serde_json::to_string_pretty(&v["cluster_statuses"]).unwrap();
    let AdminDoc::Clusters(t) = parse_admin(&array).unwrap() else {
        panic!("not read as cluster statuses");
    };
    assert_eq!(t, status());
    assert_eq!(parse_clusters_json(&array).unwrap(), t);
}
