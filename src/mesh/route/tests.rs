//! Hand-written routing edge cases: Envoy's virtual-host order and route matchers.

use super::*;
use crate::mesh::envoy::{parse_config_dump, RouteConfig};

/// A route config built from JSON through the real parser.
fn rc(json: serde_json::Value) -> RouteConfig {
    let text = serde_json::json!({"configs": [{
        "@type": "type.googleapis.com/envoy.admin.v3.RoutesConfigDump",
        "dynamic_route_configs": [{"route_config": json}]}]})
    .to_string();
    let mut d = parse_config_dump(&text).unwrap();
    assert!(d.warnings.is_empty(), "{:?}", d.warnings);
    d.route_configs.remove(0)
}

fn vh_name<'a>(r: &'a RouteConfig, host: &str) -> Option<&'a str> {
    r.virtual_host(host).map(|v| v.name.as_str())
}

fn req<'a>(host: &'a str, path: &'a str, headers: &'a [(&'a str, &'a str)]) -> RouteRequest<'a> {
    RouteRequest {
        host,
        path,
        headers,
    }
}

#[test]
fn virtual_host_order() {
    let r = rc(serde_json::json!({"name": "r", "virtual_hosts": [
        {"name": "any", "domains": ["*"]},
        {"name": "prefix", "domains": ["api.*"]},
        {"name": "short-suffix", "domains": ["*.com"]},
        {"name": "long-suffix", "domains": ["*.example.com"]},
        {"name": "exact", "domains": ["www.example.com", "www.example.com:80"]}]}));
    assert_eq!(vh_name(&r, "WWW.example.com"), Some("exact"));
    assert_eq!(vh_name(&r, "www.example.com:80"), Some("exact"));
    assert_eq!(vh_name(&r, "a.example.com"), Some("long-suffix"));
    assert_eq!(vh_name(&r, "a.other.com"), Some("short-suffix"));
    // Suffix wildcards beat prefix wildcards.
    assert_eq!(vh_name(&r, "api.example.com"), Some("long-suffix"));
    assert_eq!(vh_name(&r, "api.internal"), Some("prefix"));
    // The `*` of a wildcard must match at least one character.
    assert_eq!(vh_name(&r, ".example.com"), Some("short-suffix"));
    assert_eq!(vh_name(&r, "api."), Some("any"));
    // The port is part of the Host unless ignore_port_in_host_matching: `*.example.com` does
    // not match `www.example.com:8080`.
    assert_eq!(vh_name(&r, "www.example.com:8080"), Some("any"));
    let r = rc(
        serde_json::json!({"name": "r", "ignore_port_in_host_matching": true,
        "virtual_hosts": [{"name": "exact", "domains": ["www.example.com"]},
                          {"name": "v6", "domains": ["[fd00::1]"]}]}),
    );
    assert_eq!(vh_name(&r, "www.example.com:8080"), Some("exact"));
    assert_eq!(vh_name(&r, "[fd00::1]:80"), Some("v6"));
    assert_eq!(vh_name(&r, "nope"), None);
}

#[test]
fn first_matching_route_and_weights() {
    let r = rc(
        serde_json::json!({"name": "9080", "virtual_hosts": [{"name": "reviews", "domains": ["*"],
        "routes": [
          {"name": "jason", "match": {"prefix": "/", "headers": [{"name": "end-user", "string_match": {"exact": "jason"}}]},
           "route": {"cluster": "outbound|9080|v2|reviews.default.svc.cluster.local"}},
          {"name": "exact", "match": {"path": "/health", "case_sensitive": false}, "direct_response": {"status": 200}},
          {"name": "regex", "match": {"safe_regex": {"regex": "/reviews/[0-9]+"}},
           "route": {"weighted_clusters": {"clusters": [
              {"name": "outbound|9080|v1|reviews.default.svc.cluster.local", "weight": 75},
              {"name": "outbound|9080|v3|reviews.default.svc.cluster.local", "weight": 25}]}}},
          {"name": "sep", "match": {"path_separated_prefix": "/api"}, "route": {"cluster": "api"}},
          {"name": "q", "match": {"prefix": "/q", "query_parameters": [{"name": "v", "string_match": {"exact": "2"}}]},
           "route": {"cluster_header": "X-Target"}},
          {"name": "redirect", "match": {"prefix": "/old"}, "redirect": {"path_redirect": "/new"}}]}]}),
    );
    let name = |h: &str, p: &str, hs: &[(&str, &str)]| {
        r.route(&req(h, p, hs)).map(|m| m.route.name.clone())
    };
    assert_eq!(
        name("x", "/reviews/1", &[("End-User", "jason")]).as_deref(),
        Some("jason")
    );
    assert_eq!(name("x", "/HEALTH?full=1", &[]).as_deref(), Some("exact"));
    assert_eq!(name("x", "/health/x", &[]), None);
    let m = r.route(&req("x", "/reviews/12?x=1", &[])).unwrap();
    assert_eq!(
        m.outcome,
        RouteOutcome::Clusters(vec![
            (
                "outbound|9080|v1|reviews.default.svc.cluster.local".into(),
                0.75
            ),
            (
                "outbound|9080|v3|reviews.default.svc.cluster.local".into(),
                0.25
            ),
        ])
    );
    // A regex must match the whole path.
    assert_eq!(name("x", "/reviews/12/x", &[]), None);
    assert_eq!(name("x", "/api", &[]).as_deref(), Some("sep"));
    assert_eq!(name("x", "/api/v1", &[]).as_deref(), Some("sep"));
    assert_eq!(name("x", "/apiv1", &[]), None);
    let m = r
        .route(&req("x", "/q?a=1&v=2", &[("x-target", "c1")]))
        .unwrap();
    assert_eq!(
        m.outcome,
        RouteOutcome::ClusterHeader {
            header: "x-target".into(),
            cluster: Some("c1".into())
        }
    );
    assert_eq!(name("x", "/q?v=3", &[]), None);
    let m = r.route(&req("x", "/old/page", &[])).unwrap();
    assert_eq!(
        m.outcome,
        RouteOutcome::Redirect {
            host: String::new(),
            path: "/new".into()
        }
    );
}

#[test]
fn header_matcher_semantics() {
    let r = rc(
        serde_json::json!({"name": "h", "virtual_hosts": [{"name": "v", "domains": ["*"], "routes": [
        {"name": "absent", "match": {"prefix": "/a", "headers": [{"name": "x-canary", "present_match": false}]}, "route": {"cluster": "stable"}},
        {"name": "inverted", "match": {"prefix": "/b", "headers": [{"name": "x-v", "exact_match": "1", "invert_match": true}]}, "route": {"cluster": "not-v1"}},
        {"name": "regex", "match": {"prefix": "/c", "headers": [{"name": "x-v", "safe_regex_match": {"regex": "v[0-9]"}}]}, "route": {"cluster": "re"}},
        {"name": "joined", "match": {"prefix": "/d", "headers": [{"name": "x-m", "exact_match": "a,b"}]}, "route": {"cluster": "multi"}},
        {"name": "bad-regex", "match": {"prefix": "/e", "headers": [{"name": "x-v", "safe_regex_match": {"regex": "("}}]}, "route": {"cluster": "never"}}]}]}),
    );
    let name =
        |p: &str, hs: &[(&str, &str)]| r.route(&req("h", p, hs)).map(|m| m.route.name.clone());
    assert_eq!(name("/a", &[]).as_deref(), Some("absent"));
    assert_eq!(name("/a", &[("x-canary", "1")]), None);
    assert_eq!(name("/b", &[("x-v", "2")]).as_deref(), Some("inverted"));
    assert_eq!(name("/b", &[]).as_deref(), Some("inverted"));
    assert_eq!(name("/b", &[("x-v", "1")]), None);
    assert_eq!(name("/c", &[("x-v", "v7")]).as_deref(), Some("regex"));
    assert_eq!(name("/c", &[("x-v", "v77")]), None);
    assert_eq!(
        name("/d", &[("x-m", "a"), ("X-M", "b")]).as_deref(),
        Some("joined")
    );
    assert_eq!(name("/e", &[("x-v", "(")]), None);
}
