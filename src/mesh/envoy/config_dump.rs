//! `/config_dump` → [`ConfigDump`]: the envelope `{"configs": [Any…]}` selected by `@type`
//! (`envoy.admin.v3.*ConfigDump` and the older `envoy.admin.v2alpha.*`), the bootstrap node,
//! and every listener, route configuration, cluster and endpoint assignment in it.
//!
//! Layout per envoy/api/envoy/admin/v3/config_dump_shared.proto: listeners live in
//! `static_listeners[].listener` and `dynamic_listeners[].{active,warming}_state.listener`
//! (v2alpha: `dynamic_active_listeners[].listener`, `dynamic_warming_listeners[].listener`);
//! draining and error states are skipped, they no longer take new connections. A resource that
//! fails to parse becomes a warning (with its JSON pointer) and the others are kept; only input
//! that is not JSON or has no `configs` array is an error. Scoped routes, secrets and ECDS are
//! ignored (not needed for the join).

use std::net::IpAddr;

use serde_json::Value;

use super::cluster::{Cluster, ClusterLoadAssignment, Origin};
use super::json_view::At;
use super::listener::Listener;
use super::route_config::RouteConfig;
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
    /// `user_agent_build_version.version` as `major.minor.patch`.
    pub envoy_version: String,
}

/// Parses a `/config_dump` (or `istioctl proxy-config all -o json`) body.
pub fn parse_config_dump(text: &str) -> Result<ConfigDump, EnvoyError> {
    let v: Value = serde_json::from_str(text).map_err(|e| EnvoyError::Syntax {
        line: e.line(),
        column: e.column(),
        message: e.to_string(),
    })?;
    let root = At::root(&v);
    if !v.is_object() {
        return Err(root.err("an object with a \"configs\" array"));
    }
    let configs = root.arr("configs")?;
    if root.field("configs").is_none() {
        return Err(root.err("an object with a \"configs\" array"));
    }
    let mut dump = ConfigDump::default();
    for c in configs {
        if let Err(e) = read_config(&c, &mut dump) {
            dump.warnings.push(e);
        }
    }
    Ok(dump)
}

/// One `configs[]` entry, dispatched on the last component of its `@type`.
fn read_config(c: &At<'_>, dump: &mut ConfigDump) -> Result<(), EnvoyError> {
    let c = c.clone().expect_obj()?;
    let ty = c.str("@type")?.unwrap_or_default();
    if !ty.contains("envoy.admin.") {
        return Ok(());
    }
    let kind = ty.rsplit('.').next().unwrap_or_default();
    match kind {
        "BootstrapConfigDump" => {
            if let Some(b) = c.obj("bootstrap")? {
                if let Some(n) = b.obj("node")? {
                    dump.node = Some(BootstrapNode::parse(&n)?);
                }
            }
        }
        "ListenersConfigDump" => read_listeners(&c, dump)?,
        "ClustersConfigDump" => {
            for (key, origin) in [
                ("static_clusters", Origin::Static),
                ("dynamic_active_clusters", Origin::DynamicActive),
                ("dynamic_warming_clusters", Origin::DynamicWarming),
            ] {
                each(&c, key, "cluster", dump, |a, d| {
                    d.clusters.push(Cluster::parse(a, origin)?);
                    Ok(())
                })?;
            }
        }
        "RoutesConfigDump" => {
            for key in ["static_route_configs", "dynamic_route_configs"] {
                each(&c, key, "route_config", dump, |a, d| {
                    d.route_configs.push(RouteConfig::parse(a)?);
                    Ok(())
                })?;
            }
        }
        "EndpointsConfigDump" => {
            for key in ["static_endpoint_configs", "dynamic_endpoint_configs"] {
                each(&c, key, "endpoint_config", dump, |a, d| {
                    d.endpoints.push(ClusterLoadAssignment::parse(a)?);
                    Ok(())
                })?;
            }
        }
        _ => {}
    }
    Ok(())
}

/// For each `c[key][i][inner]`, run `f`; a failing item becomes a warning.
fn each(
    c: &At<'_>,
    key: &str,
    inner: &str,
    dump: &mut ConfigDump,
    mut f: impl FnMut(&At<'_>, &mut ConfigDump) -> Result<(), EnvoyError>,
) -> Result<(), EnvoyError> {
    for item in c.arr(key)? {
        let r = item
            .expect_obj()
            .and_then(|i| i.obj(inner))
            .and_then(|o| match o {
                Some(o) => f(&o, dump),
                None => Ok(()),
            });
        if let Err(e) = r {
            dump.warnings.push(e);
        }
    }
    Ok(())
}

fn read_listeners(c: &At<'_>, dump: &mut ConfigDump) -> Result<(), EnvoyError> {
    // v3 and v2alpha
    each(c, "static_listeners", "listener", dump, |a, d| {
        d.listeners.push(Listener::parse(a)?);
        Ok(())
    })?;
    // v3: dynamic_listeners[].{active_state, warming_state}.listener
    for item in c.arr("dynamic_listeners")? {
        let r = (|| -> Result<(), EnvoyError> {
            let item = item.expect_obj()?;
            if let Some(s) = item.obj("active_state")? {
                if let Some(l) = s.obj("listener")? {
                    dump.listeners.push(Listener::parse(&l)?);
                }
            }
            if let Some(s) = item.obj("error_state")? {
                let mut name = item.string("name")?;
                if name.is_empty() {
                    if let Some(f) = s.obj("failed_configuration")? {
                        name = f.string("name")?;
                    }
                }
                dump.failed_listeners.push(FailedListener {
                    name,
                    details: s.string("details")?,
                });
            }
            if let Some(s) = item.obj("warming_state")? {
                if let Some(l) = s.obj("listener")? {
                    dump.warming_listeners.push(Listener::parse(&l)?);
                }
            }
            Ok(())
        })();
        if let Err(e) = r {
            dump.warnings.push(e);
        }
    }
    // v2alpha (Envoy ≤1.12)
    each(c, "dynamic_active_listeners", "listener", dump, |a, d| {
        d.listeners.push(Listener::parse(a)?);
        Ok(())
    })?;
    each(c, "dynamic_warming_listeners", "listener", dump, |a, d| {
        d.warming_listeners.push(Listener::parse(a)?);
        Ok(())
    })?;
    Ok(())
}

impl BootstrapNode {
    fn parse(n: &At<'_>) -> Result<BootstrapNode, EnvoyError> {
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
        assert_eq!(
            parse_config_dump("[1]").unwrap_err().to_string(),
            "/: expected an object with a \"configs\" array"
        );
        assert!(parse_config_dump("{\"configs\": 1}")
            .unwrap_err()
            .to_string()
            .starts_with("/configs: expected an array"));
        assert!(matches!(
            parse_config_dump("{\n x"),
            Err(EnvoyError::Syntax { line: 2, .. })
        ));
    }
}
