//! Cluster → candidate upstream endpoints: from the EDS assignment (`?include_eds`) keyed by
//! the cluster's EDS service name, or the cluster's inline `load_assignment` (STATIC,
//! STRICT_DNS), or, when the dump has neither, the hosts `/clusters` lists for it.
//!
//! With a `/clusters` text, hosts it flags `/failed_active_hc`, `/failed_outlier_check` or
//! `/failed_eds_health` are removed: Envoy's load balancer skips them. EDS `health_status` is
//! kept on each endpoint for display; [`Endpoint::routable`] says whether Envoy would use it
//! (envoy source/common/upstream/upstream_impl.cc: `UNHEALTHY`, `DRAINING` and `TIMEOUT` EDS
//! hosts get FAILED_EDS_HEALTH). Which endpoint the LB picks is not decided here.

use crate::mesh::envoy::{
    Address, ClusterLoadAssignment, ClusterType, ClustersText, ConfigDump, HostAddr, Locality,
};

/// One candidate upstream host.
#[derive(Clone, Debug, PartialEq)]
pub struct Endpoint {
    pub cluster: String,
    pub address: Address,
    pub locality: Locality,
    pub priority: u32,
    pub locality_weight: Option<u32>,
    pub weight: u32,
    /// EDS `health_status` (`UNKNOWN` when not given or from `/clusters` only).
    pub health_status: String,
    /// `/clusters` `health_flags` when a text was given.
    pub health_flags: Vec<String>,
    /// Istio workload metadata `name;namespace;app;version;cluster`.
    pub workload: String,
    /// Where the endpoint was found: `eds`, `load_assignment` or `/clusters`.
    pub source: &'static str,
}

impl Endpoint {
    /// Whether Envoy's LB would send to this host (EDS health not failed).
    pub fn routable(&self) -> bool {
        !matches!(
            self.health_status.as_str(),
            "UNHEALTHY" | "DRAINING" | "TIMEOUT"
        )
    }
}

fn from_assignment(
    cluster: &str,
    cla: &ClusterLoadAssignment,
    source: &'static str,
) -> Vec<Endpoint> {
    let mut out = Vec::new();
    for l in &cla.localities {
        for e in &l.lb_endpoints {
            let Some(address) = e.address.clone() else {
                continue;
            };
            out.push(Endpoint {
                cluster: cluster.to_string(),
                address,
                locality: l.locality.clone(),
                priority: l.priority,
                locality_weight: l.load_balancing_weight,
                weight: e.load_balancing_weight,
                health_status: e.health_status.clone(),
                health_flags: Vec::new(),
                workload: e.workload.clone(),
                source,
            });
        }
    }
    out
}

impl ConfigDump {
    /// The endpoints of `cluster`, minus the hosts `/clusters` marks unhealthy.
    pub fn endpoints(&self, cluster: &str, status: Option<&ClustersText>) -> Vec<Endpoint> {
        let c = self.cluster(cluster);
        let eds = c
            .filter(|c| c.kind == ClusterType::Eds)
            .map(|c| c.eds_key())
            .or(c.is_none().then_some(cluster))
            .and_then(|key| self.endpoints.iter().find(|e| e.cluster_name == key))
            .map(|cla| from_assignment(cluster, cla, "eds"));
        let inline = || {
            c.and_then(|c| c.load_assignment.as_ref())
                .map(|cla| from_assignment(cluster, cla, "load_assignment"))
        };
        let text = status.and_then(|s| s.cluster(cluster));
        let mut out = match eds.or_else(inline) {
            Some(v) => v,
            None => text
                .map(|t| {
                    t.hosts
                        .iter()
                        .filter_map(|h| match &h.address {
                            HostAddr::Socket(a) => Some(Endpoint {
                                cluster: cluster.to_string(),
                                address: Address::Socket(*a),
                                locality: Locality {
                                    region: h.region.clone(),
                                    zone: h.zone.clone(),
                                    sub_zone: h.sub_zone.clone(),
                                },
                                priority: h.priority.unwrap_or(0),
                                locality_weight: None,
                                weight: h.weight.unwrap_or(1),
                                health_status: "UNKNOWN".into(),
                                health_flags: Vec::new(),
                                workload: String::new(),
                                source: "/clusters",
                            }),
                            HostAddr::Other(_) => None,
                        })
                        .collect()
                })
                .unwrap_or_default(),
        };
        if let Some(t) = text {
            out.retain_mut(|e| {
                let host = t.hosts.iter().find(|h| match (&h.address, &e.address) {
                    (HostAddr::Socket(a), Address::Socket(b)) => a == b,
                    _ => false,
                });
                match host {
                    Some(h) => {
                        e.health_flags = h.health_flags.clone();
                        !h.is_unhealthy()
                    }
                    None => true,
                }
            });
        }
        out
    }
}
