//! One `configs[]` entry of a `/config_dump` (a `*ConfigDump` message selected by `@type`) into
//! a [`ConfigDump`]: every listener, route configuration, cluster and endpoint assignment in
//! it, and the bootstrap's node and static resources.
//!
//! Layout per envoy/api/envoy/admin/v3/config_dump_shared.proto: listeners live in
//! `static_listeners[].listener` and `dynamic_listeners[].{active,warming}_state.listener`
//! (v2alpha: `dynamic_active_listeners[].listener`, `dynamic_warming_listeners[].listener`);
//! draining and error states are skipped, they no longer take new connections. Envoy 1.7's
//! v2alpha listed static resources bare (`static_clusters: [Cluster]`, not `[{cluster}]`);
//! such items are read as the resource itself. The bootstrap's `static_resources` are kept
//! apart ([`Sections::bootstrap_listeners`]) because later Envoys list the same resources
//! again as static ones. A resource that fails to parse becomes a warning with its JSON
//! pointer and the others are kept. Scoped routes, secrets and ECDS are ignored.

use super::cluster::{Cluster, ClusterLoadAssignment, Origin};
use super::config_dump::{BootstrapNode, ConfigDump, FailedListener};
use super::json_view::At;
use super::listener::Listener;
use super::route_config::RouteConfig;
use super::EnvoyError;

/// A dump being read: the result, and the bootstrap's static resources (merged at the end
/// where no section listed them).
#[derive(Default)]
pub(crate) struct Sections {
    pub(crate) dump: ConfigDump,
    pub(crate) bootstrap_listeners: Vec<Listener>,
    pub(crate) bootstrap_clusters: Vec<Cluster>,
}

/// Keys that only describe a resource's wrapper, never the resource.
const WRAPPER_KEYS: &[&str] = &[
    "version_info",
    "versionInfo",
    "last_updated",
    "lastUpdated",
    "client_status",
    "clientStatus",
    "error_state",
    "errorState",
];

impl Sections {
    /// One `*ConfigDump` message, dispatched on the last component of its `@type`; one
    /// without an admin `@type` is ignored (a future or foreign section).
    pub(crate) fn read(&mut self, c: &At<'_>) -> Result<(), EnvoyError> {
        let c = c.clone().expect_obj()?;
        let ty = c.str("@type")?.unwrap_or_default();
        if !ty.contains("envoy.admin.") {
            return Ok(());
        }
        match ty.rsplit('.').next().unwrap_or_default() {
            "BootstrapConfigDump" => {
                if let Some(b) = c.obj("bootstrap")? {
                    self.bootstrap(&b)?;
                }
            }
            "ListenersConfigDump" => self.listeners(&c)?,
            "ClustersConfigDump" => {
                for (key, origin) in [
                    ("static_clusters", Origin::Static),
                    ("dynamic_active_clusters", Origin::DynamicActive),
                    ("dynamic_warming_clusters", Origin::DynamicWarming),
                ] {
                    self.each(&c, key, "cluster", |a, d| {
                        d.clusters.push(Cluster::parse(a, origin)?);
                        Ok(())
                    })?;
                }
            }
            "RoutesConfigDump" => {
                for key in ["static_route_configs", "dynamic_route_configs"] {
                    self.each(&c, key, "route_config", |a, d| {
                        d.route_configs.push(RouteConfig::parse(a)?);
                        Ok(())
                    })?;
                }
            }
            "EndpointsConfigDump" => {
                for key in ["static_endpoint_configs", "dynamic_endpoint_configs"] {
                    self.each(&c, key, "endpoint_config", |a, d| {
                        d.endpoints.push(ClusterLoadAssignment::parse(a)?);
                        Ok(())
                    })?;
                }
            }
            _ => {}
        }
        Ok(())
    }

    /// A bootstrap (`BootstrapConfigDump.bootstrap`, or an Envoy bootstrap file): the node,
    /// and the listeners and clusters of `static_resources`.
    pub(crate) fn bootstrap(&mut self, b: &At<'_>) -> Result<(), EnvoyError> {
        if let Some(n) = b.obj("node")? {
            self.dump.node = Some(BootstrapNode::parse(&n)?);
        }
        let Some(sr) = b.obj("static_resources")? else {
            return Ok(());
        };
        for l in sr.arr("listeners")? {
            match Listener::parse(&l) {
                Ok(l) => self.bootstrap_listeners.push(l),
                Err(e) => self.dump.warnings.push(e),
            }
        }
        for c in sr.arr("clusters")? {
            match Cluster::parse(&c, Origin::Static) {
                Ok(c) => self.bootstrap_clusters.push(c),
                Err(e) => self.dump.warnings.push(e),
            }
        }
        Ok(())
    }

    /// The dump, with the bootstrap's static listeners and clusters that no section listed
    /// (by name; an unnamed listener by address) added after the others.
    pub(crate) fn finish(mut self) -> ConfigDump {
        for l in std::mem::take(&mut self.bootstrap_listeners) {
            let known = self.dump.listeners.iter().any(|k| {
                if l.name.is_empty() {
                    k.address == l.address
                } else {
                    k.name == l.name
                }
            });
            if !known {
                self.dump.listeners.push(l);
            }
        }
        for c in std::mem::take(&mut self.bootstrap_clusters) {
            if !self.dump.clusters.iter().any(|k| k.name == c.name) {
                self.dump.clusters.push(c);
            }
        }
        self.dump
    }

    /// For each `c[key][i][inner]` (or `c[key][i]` itself when it is a bare resource), run
    /// `f`; a failing item becomes a warning.
    fn each(
        &mut self,
        c: &At<'_>,
        key: &str,
        inner: &str,
        mut f: impl FnMut(&At<'_>, &mut ConfigDump) -> Result<(), EnvoyError>,
    ) -> Result<(), EnvoyError> {
        for item in c.arr(key)? {
            let r = item.expect_obj().and_then(|i| match i.obj(inner)? {
                Some(o) => f(&o, &mut self.dump),
                None if is_bare_resource(&i) => f(&i, &mut self.dump),
                None => Ok(()),
            });
            if let Err(e) = r {
                self.dump.warnings.push(e);
            }
        }
        Ok(())
    }

    fn listeners(&mut self, c: &At<'_>) -> Result<(), EnvoyError> {
        // v3 and v2alpha
        self.each(c, "static_listeners", "listener", |a, d| {
            d.listeners.push(Listener::parse(a)?);
            Ok(())
        })?;
        // v3: dynamic_listeners[].{active_state, warming_state}.listener
        for item in c.arr("dynamic_listeners")? {
            if let Err(e) = dynamic_listener(item, &mut self.dump) {
                self.dump.warnings.push(e);
            }
        }
        // v2alpha (Envoy ≤1.12)
        self.each(c, "dynamic_active_listeners", "listener", |a, d| {
            d.listeners.push(Listener::parse(a)?);
            Ok(())
        })?;
        self.each(c, "dynamic_warming_listeners", "listener", |a, d| {
            d.warming_listeners.push(Listener::parse(a)?);
            Ok(())
        })?;
        Ok(())
    }
}

/// An array item with something besides wrapper keys: the resource itself.
fn is_bare_resource(item: &At<'_>) -> bool {
    item.v
        .as_object()
        .is_some_and(|m| m.keys().any(|k| !WRAPPER_KEYS.contains(&k.as_str())))
}

/// v3 `dynamic_listeners[]`: active, warming and error states of one listener name.
fn dynamic_listener(item: At<'_>, dump: &mut ConfigDump) -> Result<(), EnvoyError> {
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
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bare_static_items_and_wrappers() {
        // Envoy 1.7 v2alpha: static clusters bare, dynamic ones wrapped (istioctl testdata
        // clusterdump.json shape).
        let v = serde_json::json!({"@type": "type.googleapis.com/envoy.admin.v2alpha.ClustersConfigDump",
            "staticClusters": [{"name": "xds-grpc", "type": "STRICT_DNS"}, {"lastUpdated": "x"}],
            "dynamicActiveClusters": [{"versionInfo": "1", "cluster": {"name": "outbound|15004||p", "type": "EDS"}}]});
        let mut s = Sections::default();
        s.read(&At::root(&v)).unwrap();
        let d = s.finish();
        let names: Vec<&str> = d.clusters.iter().map(|c| c.name.as_str()).collect();
        assert_eq!(names, ["xds-grpc", "outbound|15004||p"]);
        assert_eq!(d.clusters[0].origin, Origin::Static);
    }

    #[test]
    fn bootstrap_static_resources_fill_in() {
        let v = serde_json::json!({"node": {"id": "sidecar~10.0.0.1~a.b~b.svc.cluster.local"},
            "static_resources": {"listeners": [{"address": {"socket_address": {"address": "0.0.0.0", "port_value": 15090}}}],
                "clusters": [{"name": "prometheus_stats"}, {"name": "zipkin"}, 5]}});
        let mut s = Sections::default();
        s.bootstrap(&At::root(&v)).unwrap();
        s.dump.clusters.push(
            Cluster::parse(
                &At::root(&serde_json::json!({"name": "zipkin"})),
                Origin::Static,
            )
            .unwrap(),
        );
        let d = s.finish();
        assert_eq!(d.node.as_ref().unwrap().pod_name, "a");
        assert_eq!(d.listeners.len(), 1);
        assert_eq!(d.clusters.len(), 2, "zipkin once");
        assert_eq!(
            d.warnings[0].to_string(),
            "/static_resources/clusters/2: expected an object"
        );
    }
}
