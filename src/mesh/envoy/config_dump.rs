//! `/config_dump` → [`ConfigDump`], whatever shape the dump came in:
//!
//! - Envoy's `{"configs": [Any…]}` selected by `@type` (`envoy.admin.v3.*ConfigDump` and the
//!   older `envoy.admin.v2alpha.*`), in Envoy's snake_case or istioctl's lowerCamelCase
//!   (`istioctl proxy-config all -o json`), `?include_eds` or not;
//! - Envoy 1.7's `{"configs": {"listeners": Any, "clusters": Any…}}` (a map, not a list);
//! - one `*ConfigDump` section alone, a bootstrap (`istioctl proxy-config bootstrap -o json`,
//!   or an Envoy bootstrap file with `static_resources`);
//! - a bare array of listeners, route configurations, clusters or endpoint assignments
//!   (`istioctl proxy-config listeners|routes|clusters|endpoints -o json`, see `istioctl`).
//!
//! Reading the sections is `sections`. A resource that fails to parse becomes a warning (with
//! its JSON pointer) and the others are kept; only input that is not JSON, or none of these
//! shapes, is an error. `/clusters?format=json` is not a config dump (`clusters_json`).

use std::net::IpAddr;

use serde_json::Value;

use super::cluster::{Cluster, ClusterLoadAssignment};
use super::json_view::{parse_json, At};
use super::listener::Listener;
use super::route_config::RouteConfig;
use super::sections::Sections;
use super::EnvoyError;

/// Everything the join needs from one proxy's `/config_dump`.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ConfigDump {
    pub node: Option<BootstrapNode>,
    /// Static and active dynamic listeners, in dump order.
    pub listeners: Vec<Listener>,
    /// Listeners still warming (not serving yet).
    pub warming_listeners: Vec<Listener>,
    /// Listener updates Envoy rejected (`dynamic_listeners[].error_state`): the name and
    /// Envoy's `details`. A rejected listener that never had an active state is absent.
    pub failed_listeners: Vec<FailedListener>,
    pub route_configs: Vec<RouteConfig>,
    pub clusters: Vec<Cluster>,
    /// EDS assignments (`?include_eds`), static and dynamic.
    pub endpoints: Vec<ClusterLoadAssignment>,
    /// Resources skipped because they did not parse.
    pub warnings: Vec<EnvoyError>,
}

/// A listener update Envoy rejected.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct FailedListener {
    pub name: String,
    pub details: String,
}

/// `BootstrapConfigDump.bootstrap.node` with Istio's metadata.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct BootstrapNode {
    /// `sidecar~10.244.2.66~productpage-v1-64794f5db4-blnt8.default~default.svc.cluster.local`
    pub id: String,
    pub cluster: String,
    /// First `~` field of the id: `sidecar`, `router` (gateways), `waypoint`.
    pub proxy_type: String,
    /// Second field of the id.
    pub ip: Option<IpAddr>,
    pub pod_name: String,
    pub namespace: String,
    /// Fourth field of the id (`default.svc.cluster.local`).
    pub dns_domain: String,
    /// `INTERCEPTION_MODE`: `REDIRECT`, `TPROXY` or `NONE`.
    pub interception_mode: String,
    /// `INSTANCE_IPS`, comma-separated in the metadata.
    pub instance_ips: Vec<IpAddr>,
    pub istio_version: String,
    /// `user_agent_build_version.version` as `major.minor.patch` (or, in v2 dumps, the version
    /// field of `build_version`).
    pub envoy_version: String,
}

const EXPECTED: &str = "a config dump (an object with \"configs\"), one of its *ConfigDump \
     sections, a bootstrap, or an istioctl proxy-config array";

/// Parses a `/config_dump` body in any of the shapes in the module doc.
pub fn parse_config_dump(text: &str) -> Result<ConfigDump, EnvoyError> {
    from_value(&parse_json(text)?)
}

/// [`parse_config_dump`] of an already parsed document.
pub(crate) fn from_value(v: &Value) -> Result<ConfigDump, EnvoyError> {
    let root = At::root(v);
    let mut s = Sections::default();
    match v {
        Value::Array(_) => super::istioctl::read_array(&root, &mut s)?,
        Value::Object(_) => {
            if let Some(configs) = root.field("configs") {
                let items: Vec<At<'_>> = match configs.v {
                    Value::Array(_) => root.arr("configs")?,
                    // Envoy 1.7: `map<string, Any> configs`, keyed "listeners", "clusters"…
                    Value::Object(m) => m.keys().filter_map(|k| configs.field(k)).collect(),
                    _ => {
                        return Err(configs
                            .err("an array of config dumps (or, Envoy 1.7, an object of them)"))
                    }
                };
                for c in items {
                    if let Err(e) = s.read(&c) {
                        s.dump.warnings.push(e);
                    }
                }
            } else if root
                .str("@type")?
                .is_some_and(|t| t.contains("envoy.admin."))
            {
                s.read(&root)?;
            } else if let Some(b) = root.obj("bootstrap")? {
                // `istioctl proxy-config bootstrap -o json`: a BootstrapConfigDump without @type.
                s.bootstrap(&b)?;
            } else if ["node", "static_resources", "dynamic_resources"]
                .iter()
                .any(|k| root.field(k).is_some())
            {
                // An Envoy bootstrap file (`envoy-rev0.json`).
                s.bootstrap(&root)?;
            } else if root.field("cluster_statuses").is_some() {
                return Err(root.err(
                    "a config dump, not /clusters?format=json (read that as a clusters status)",
                ));
            } else {
                return Err(root.err(EXPECTED));
            }
        }
        _ => return Err(root.err(EXPECTED)),
    }
    Ok(s.finish())
}

impl ConfigDump {
    /// Adds what `other` knows and `self` does not (resources by name, the node if absent):
    /// a pod's `config_dump.json` with the istioctl files beside it.
    pub fn merge(&mut self, other: ConfigDump) {
        if self.node.is_none() {
            self.node = other.node;
        }
        for l in other.listeners {
            if l.name.is_empty() || self.listener(&l.name).is_none() {
                self.listeners.push(l);
            }
        }
        for l in other.warming_listeners {
            if !self.warming_listeners.iter().any(|k| k.name == l.name) {
                self.warming_listeners.push(l);
            }
        }
        self.failed_listeners.extend(other.failed_listeners);
        for r in other.route_configs {
            if r.name.is_empty() || self.route_config(&r.name).is_none() {
                self.route_configs.push(r);
            }
        }
        for c in other.clusters {
            if !self.clusters.iter().any(|k| k.name == c.name) {
                self.clusters.push(c);
            }
        }
        for e in other.endpoints {
            if !self
                .endpoints
                .iter()
                .any(|k| k.cluster_name == e.cluster_name)
            {
                self.endpoints.push(e);
            }
        }
        self.warnings.extend(other.warnings);
    }
}

impl BootstrapNode {
    pub(crate) fn parse(n: &At<'_>) -> Result<BootstrapNode, EnvoyError> {
        let id = n.string("id")?;
        // Istio's node id: type~ip~pod.namespace~namespace.svc.cluster.local
        // (istio/istio pkg/model/context.go ParseServiceNodeWithMetadata).
        let parts: Vec<&str> = id.split('~').collect();
        let (proxy_type, ip, pod_ns, dns_domain) = if parts.len() == 4 {
            (parts[0], parts[1].parse().ok(), parts[2], parts[3])
        } else {
            ("", None, "", "")
        };
        let mut node = BootstrapNode {
            proxy_type: proxy_type.to_string(),
            ip,
            dns_domain: dns_domain.to_string(),
            cluster: n.string("cluster")?,
            ..BootstrapNode::default()
        };
        if let Some((pod, ns)) = pod_ns.rsplit_once('.') {
            node.pod_name = pod.to_string();
            node.namespace = ns.to_string();
        }
        if let Some(m) = n.obj("metadata")? {
            // Metadata keys are data (SCREAMING_CASE), looked up as written.
            let meta = |k: &str| m.v.get(k).and_then(Value::as_str).unwrap_or_default();
            if !meta("POD_NAME").is_empty() {
                node.pod_name = meta("POD_NAME").to_string();
            } else if !meta("NAME").is_empty() {
                node.pod_name = meta("NAME").to_string();
            }
            if !meta("NAMESPACE").is_empty() {
                node.namespace = meta("NAMESPACE").to_string();
            }
            node.interception_mode = meta("INTERCEPTION_MODE").to_string();
            node.istio_version = meta("ISTIO_VERSION").to_string();
            node.instance_ips = meta("INSTANCE_IPS")
                .split(',')
                .filter_map(|s| s.trim().parse().ok())
                .collect();
        }
        if let Some(b) = n.obj("user_agent_build_version")? {
            if let Some(v) = b.obj("version")? {
                node.envoy_version = format!(
                    "{}.{}.{}",
                    v.u32("major_number")?.unwrap_or(0),
                    v.u32("minor_number")?.unwrap_or(0),
                    v.u32("patch")?.unwrap_or(0)
                );
            }
        }
        if node.envoy_version.is_empty() {
            // v2 `build_version`: `<sha>/1.12.6/Clean/RELEASE/BoringSSL-FIPS`.
            let bv = n.string("build_version")?;
            let version = bv.split('/').nth(1).unwrap_or_default();
            if !version.is_empty() && version.chars().all(|c| c.is_ascii_digit() || c == '.') {
                node.envoy_version = version.to_string();
            }
        }
        node.id = id;
        Ok(node)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_bad_listener_keeps_the_others() {
        let text = r#"{"configs": [{"@type": "type.googleapis.com/envoy.admin.v3.ListenersConfigDump",
            "dynamic_listeners": [
              {"name": "a", "active_state": {"listener": {"name": "a"}}},
              {"name": "b", "active_state": {"listener": {"name": "b", "address": 5}}},
              {"name": "c", "active_state": {"listener": {"name": "c"}}}]}]}"#;
        let d = parse_config_dump(text).unwrap();
        assert_eq!(d.listeners.len(), 2);
        assert_eq!(
            d.warnings[0].to_string(),
            "/configs/0/dynamic_listeners/1/active_state/listener/address: expected an object"
        );
    }

    #[test]
    fn v2alpha_listeners_and_camel_case() {
        let text = r#"{"configs": [{"@type": "type.googleapis.com/envoy.admin.v2alpha.ListenersConfigDump",
            "dynamicActiveListeners": [{"listener": {"name": "virtual", "useOriginalDst": true}}]}]}"#;
        let d = parse_config_dump(text).unwrap();
        assert_eq!(d.listeners[0].name, "virtual");
        assert!(d.listeners[0].use_original_dst);
    }

    #[test]
    fn not_a_dump() {
        assert!(parse_config_dump("\"x\"")
            .unwrap_err()
            .to_string()
            .starts_with("/: expected a config dump"));
        assert!(parse_config_dump("{\"configs\": 1}")
            .unwrap_err()
            .to_string()
            .starts_with("/configs: expected an array"));
        assert!(parse_config_dump("{\"other\": 1}").is_err());
        assert!(parse_config_dump("{\"cluster_statuses\": []}")
            .unwrap_err()
            .to_string()
            .contains("not /clusters?format=json"));
        assert!(matches!(
            parse_config_dump("{\n x"),
            Err(EnvoyError::Syntax { line: 2, .. })
        ));
    }

    #[test]
    fn envoy_1_7_configs_map_and_single_section() {
        let text = r#"{"configs": {"listeners": {"@type": "type.googleapis.com/envoy.admin.v2alpha.ListenersConfigDump",
            "dynamicActiveListeners": [{"listener": {"name": "0.0.0.0_8080"}}, {"listener": 3}]},
            "bootstrap": {"@type": "type.googleapis.com/envoy.admin.v2alpha.BootstrapConfigDump",
              "bootstrap": {"node": {"id": "sidecar~172.30.77.243~details-v1-9cb87c69-t2fdz.default~default.svc.cluster.local"}}}}}"#;
        let d = parse_config_dump(text).unwrap();
        assert_eq!(d.listeners[0].name, "0.0.0.0_8080");
        assert_eq!(
            d.node.as_ref().unwrap().pod_name,
            "details-v1-9cb87c69-t2fdz"
        );
        assert_eq!(
            d.warnings[0].to_string(),
            "/configs/listeners/dynamicActiveListeners/1/listener: expected an object"
        );
        let d = parse_config_dump(
            r#"{"@type": "type.googleapis.com/envoy.admin.v3.RoutesConfigDump", "dynamic_route_configs": [{"route_config": {"name": "80"}}]}"#,
        )
        .unwrap();
        assert_eq!(d.route_configs[0].name, "80");
    }

    #[test]
    fn merge_keeps_the_first_of_a_name() {
        let mut a = parse_config_dump(r#"[{"name": "c", "type": "EDS"}]"#).unwrap();
        let b = parse_config_dump(
            r#"[{"name": "c", "type": "STATIC"}, {"name": "d", "type": "STATIC"}]"#,
        )
        .unwrap();
        a.merge(b);
        let kinds: Vec<_> = a
            .clusters
            .iter()
            .map(|c| (c.name.as_str(), c.kind.clone()))
            .collect();
        assert_eq!(
            kinds,
            [
                ("c", crate::mesh::envoy::ClusterType::Eds),
                ("d", crate::mesh::envoy::ClusterType::Static)
            ]
        );
    }
}
