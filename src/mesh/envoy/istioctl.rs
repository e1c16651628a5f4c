//! `istioctl proxy-config listeners|routes|clusters|endpoints POD -o json`: a bare JSON array of
//! Envoy resources (istioctl/pkg/writer/envoy/configdump prints the config dump's resources
//! unwrapped, in protobuf-JSON lowerCamelCase). Which kind an array holds is told by shape:
//! an `@type` naming the resource (`envoy.config.listener.v3.Listener`, `envoy.api.v2.Cluster`…)
//! or a field only that kind has (`filter_chains` / `address` for a listener, `virtual_hosts`
//! for a route configuration, `cluster_name` with `endpoints` for an assignment, `type` /
//! `eds_cluster_config` / `connect_timeout`… for a cluster). An item that says nothing takes
//! the kind of the first one that does.
//!
//! Older istioctl printed `proxy-config endpoints -o json` as `/clusters?format=json` host
//! statuses (`[{"name", "hostStatuses"}]`); those are not configuration and are read by
//! `clusters_json` (see [`is_cluster_statuses`]).

use super::cluster::{Cluster, ClusterLoadAssignment, Origin};
use super::json_view::At;
use super::listener::Listener;
use super::route_config::RouteConfig;
use super::sections::Sections;
use super::EnvoyError;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    Listener,
    RouteConfig,
    Cluster,
    Assignment,
    /// A `/clusters` host status list (old `istioctl proxy-config endpoints`).
    Status,
}

const LISTENER_KEYS: &[&str] = &[
    "filter_chains",
    "address",
    "listener_filters",
    "default_filter_chain",
    "use_original_dst",
    "traffic_direction",
    "deprecated_v1",
];
const ROUTE_KEYS: &[&str] = &["virtual_hosts", "vhds"];
const CLUSTER_KEYS: &[&str] = &[
    "type",
    "cluster_type",
    "eds_cluster_config",
    "connect_timeout",
    "lb_policy",
    "hosts",
    "load_assignment",
    "transport_socket",
    "transport_socket_matches",
    "circuit_breakers",
];

fn kind_of(item: &At<'_>) -> Option<Kind> {
    if !item.v.is_object() {
        return None;
    }
    let ty = item.v.get("@type").and_then(|t| t.as_str()).unwrap_or("");
    match ty.rsplit('.').next().unwrap_or("") {
        "Listener" => return Some(Kind::Listener),
        "RouteConfiguration" => return Some(Kind::RouteConfig),
        "Cluster" => return Some(Kind::Cluster),
        "ClusterLoadAssignment" => return Some(Kind::Assignment),
        _ => {}
    }
    let has = |keys: &[&str]| keys.iter().any(|k| item.field(k).is_some());
    if has(&["host_statuses"]) {
        Some(Kind::Status)
    } else if has(ROUTE_KEYS) {
        Some(Kind::RouteConfig)
    } else if has(&["cluster_name"]) && has(&["endpoints"]) {
        Some(Kind::Assignment)
    } else if has(LISTENER_KEYS) {
        Some(Kind::Listener)
    } else if has(CLUSTER_KEYS) {
        Some(Kind::Cluster)
    } else {
        None
    }
}

/// The kind of the first item that shows one.
fn array_kind(items: &[At<'_>]) -> Option<Kind> {
    items.iter().find_map(kind_of)
}

/// Whether `root` is a bare array of `/clusters` host statuses.
pub(crate) fn is_cluster_statuses(root: &At<'_>) -> bool {
    match root.v.as_array() {
        Some(a) => {
            let items: Vec<At<'_>> = (0..a.len())
                .filter_map(|i| {
                    a.get(i).map(|v| At {
                        v,
                        ptr: format!("/{i}"),
                    })
                })
                .collect();
            array_kind(&items) == Some(Kind::Status)
        }
        None => false,
    }
}

/// Reads a bare array of resources into `s`; an item that fails becomes a warning.
pub(crate) fn read_array(root: &At<'_>, s: &mut Sections) -> Result<(), EnvoyError> {
    let items: Vec<At<'_>> = match root.v.as_array() {
        Some(a) => (0..a.len())
            .filter_map(|i| {
                a.get(i).map(|v| At {
                    v,
                    ptr: format!("/{i}"),
                })
            })
            .collect(),
        None => return Err(root.err("an array")),
    };
    let Some(default) = array_kind(&items) else {
        return match items.first() {
            Some(first) => Err(first
                .err("a Listener, RouteConfiguration, Cluster or ClusterLoadAssignment object")),
            None => Ok(()),
        };
    };
    if default == Kind::Status {
        return Err(root.err(
            "Envoy resources, not /clusters host statuses (read those as a clusters status)",
        ));
    }
    for item in &items {
        let d = &mut s.dump;
        let r = match kind_of(item).unwrap_or(default) {
            Kind::Listener => Listener::parse(item).map(|l| d.listeners.push(l)),
            Kind::RouteConfig => RouteConfig::parse(item).map(|r| d.route_configs.push(r)),
            Kind::Cluster => Cluster::parse(item, Origin::Unknown).map(|c| d.clusters.push(c)),
            Kind::Assignment => ClusterLoadAssignment::parse(item).map(|e| d.endpoints.push(e)),
            Kind::Status => Err(item.err("an Envoy resource, not a host status")),
        };
        if let Err(e) = r {
            d.warnings.push(e);
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::super::config_dump::parse_config_dump;

    #[test]
    fn kinds_by_shape() {
        let d = parse_config_dump(
            r#"[{"name": "0.0.0.0_80", "address": {"socketAddress": {"address": "0.0.0.0", "portValue": 80}}},
                {"name": "no-shape"}]"#,
        )
        .unwrap();
        assert_eq!(d.listeners.len(), 2);
        let d = parse_config_dump(
            r#"[{"@type": "type.googleapis.com/envoy.api.v2.Cluster", "name": "c"}]"#,
        )
        .unwrap();
        assert_eq!(d.clusters[0].name, "c");
        let d = parse_config_dump(
            r#"[{"clusterName": "c", "endpoints": []}, {"name": "80", "virtualHosts": []}]"#,
        )
        .unwrap();
        assert_eq!((d.endpoints.len(), d.route_configs.len()), (1, 1));
        assert!(parse_config_dump("[]").unwrap().listeners.is_empty());
    }

    #[test]
    fn unknown_items_are_errors_or_warnings() {
        assert_eq!(
            parse_config_dump("[1]").unwrap_err().to_string(),
            "/0: expected a Listener, RouteConfiguration, Cluster or ClusterLoadAssignment object"
        );
        let d = parse_config_dump(r#"[{"name": "a", "type": "EDS"}, 7]"#).unwrap();
        assert_eq!(d.clusters.len(), 1);
        assert_eq!(d.warnings[0].to_string(), "/1: expected an object");
        assert!(parse_config_dump(r#"[{"name": "c", "hostStatuses": []}]"#)
            .unwrap_err()
            .to_string()
            .contains("not /clusters host statuses"));
    }
}
