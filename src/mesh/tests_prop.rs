//! Random input never panics the parsers or the lookups.

use proptest::prelude::*;
use serde_json::Value;

use crate::mesh::envoy::{
    parse_admin, parse_clusters, parse_clusters_json, parse_config_dump, AdminDoc, ConfigDump,
};

/// Arbitrary JSON, biased towards the keys the parser looks at.
fn json() -> impl Strategy<Value = Value> {
    let key = prop_oneof![
        Just("configs".to_string()),
        Just("@type".to_string()),
        Just("dynamic_listeners".to_string()),
        Just("active_state".to_string()),
        Just("listener".to_string()),
        Just("filter_chains".to_string()),
        Just("filter_chain_match".to_string()),
        Just("address".to_string()),
        Just("socket_address".to_string()),
        Just("port_value".to_string()),
        Just("prefix_ranges".to_string()),
        Just("cluster".to_string()),
        Just("endpoints".to_string()),
        // older and istioctl shapes
        Just("dynamicActiveListeners".to_string()),
        Just("static_clusters".to_string()),
        Just("static_resources".to_string()),
        Just("bootstrap".to_string()),
        Just("config".to_string()),
        Just("deprecated_v1".to_string()),
        Just("value".to_string()),
        Just("route_config".to_string()),
        Just("routes".to_string()),
        Just("destination_ip_list".to_string()),
        Just("hosts".to_string()),
        Just("tls_context".to_string()),
        Just("hidden_envoy_deprecated_use_original_dst".to_string()),
        Just("virtual_hosts".to_string()),
        Just("cluster_name".to_string()),
        Just("cluster_statuses".to_string()),
        Just("hostStatuses".to_string()),
        Just("health_status".to_string()),
        Just("stats".to_string()),
        Just("name".to_string()),
        "[a-z_]{1,12}",
    ];
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<f64>().prop_map(Value::from),
        prop_oneof![
            Just("type.googleapis.com/envoy.admin.v3.ListenersConfigDump".to_string()),
            Just("type.googleapis.com/envoy.admin.v3.ClustersConfigDump".to_string()),
            Just("type.googleapis.com/envoy.admin.v3.RoutesConfigDump".to_string()),
            Just("type.googleapis.com/envoy.admin.v3.EndpointsConfigDump".to_string()),
            Just("type.googleapis.com/envoy.admin.v3.BootstrapConfigDump".to_string()),
            Just("type.googleapis.com/envoy.admin.v2alpha.ListenersConfigDump".to_string()),
            Just("type.googleapis.com/envoy.api.v2.Listener".to_string()),
            Just("type.googleapis.com/envoy.api.v2.Cluster".to_string()),
            Just("envoy.tcp_proxy".to_string()),
            Just("10.0.0.1/32".to_string()),
            Just("UNHEALTHY".to_string()),
            ".{0,12}",
        ]
        .prop_map(Value::String),
    ];
    leaf.prop_recursive(6, 64, 6, move |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            prop::collection::vec((key.clone(), inner), 0..6)
                .prop_map(|kv| Value::Object(kv.into_iter().collect())),
        ]
    })
}

/// The lookups over whatever a dump held.
fn exercise(d: &ConfigDump) {
    let dst = "10.0.0.1:80".parse().unwrap();
    let _ = d.outbound(dst, Some("a.b.c"), &["http/1.1"], "raw_buffer");
    let _ = d.inbound(dst, None, &[], "tls");
    for l in &d.listeners {
        for fc in &l.filter_chains {
            if let Some(r) = fc.hcm_routes() {
                let _ = d.route(r, "a:80", "/x?y=1", &[("x", "y")]);
            }
        }
    }
    for c in &d.clusters {
        let _ = d.endpoints(&c.name, None);
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn config_dump_never_panics(v in json(), wrap in any::<bool>()) {
        let v = if wrap { serde_json::json!({"configs": [v]}) } else { v };
        if let Ok(d) = parse_config_dump(&v.to_string()) {
            exercise(&d);
        }
    }

    #[test]
    fn any_admin_shape_never_panics(v in json(), shape in 0u8..4) {
        // As Envoy 1.7's configs map, a bare istioctl array, a /clusters status, or as is.
        let v = match shape {
            0 => serde_json::json!({"configs": {"listeners": v}}),
            1 => serde_json::json!([v]),
            2 => serde_json::json!({"cluster_statuses": [v]}),
            _ => v,
        };
        let text = v.to_string();
        let _ = parse_clusters_json(&text);
        match parse_admin(&text) {
            Ok(AdminDoc::Config(d)) => {
                let mut merged = ConfigDump::default();
                merged.merge(*d.clone());
                exercise(&merged);
                let status = crate::mesh::envoy::ClustersText::default();
                for c in &d.clusters {
                    let _ = d.endpoints(&c.name, Some(&status));
                }
            }
            Ok(AdminDoc::Clusters(t)) => {
                let _ = ConfigDump::default().endpoints("c", Some(&t));
            }
            Err(_) => {}
        }
    }

    #[test]
    fn text_never_panics(s in "\\PC{0,200}") {
        let _ = parse_config_dump(&s);
        let _ = parse_clusters(&s);
        let _ = parse_clusters_json(&s);
        let _ = parse_admin(&s);
    }

    #[test]
    fn clusters_lines_never_panic(lines in prop::collection::vec(
        "[a-z|.0-9]{0,10}(::[\\[\\]a-f0-9:./]{0,12}){0,4}", 0..10)) {
        let _ = parse_clusters(&lines.join("\n"));
    }
}
