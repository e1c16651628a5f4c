//! Envoy `config.cluster.v3.Cluster` (name, discovery type, EDS service name, the mTLS SNI
//! from its transport socket, Istio's service metadata, inline `load_assignment`) and
//! `config.endpoint.v3.ClusterLoadAssignment` (localities, priorities, endpoints with address,
//! health status, weight and Istio workload metadata).
//!
//! Circuit breakers, LB policy, outlier detection and the rest are ignored: they change which
//! endpoint is picked, not the set of candidates. Field names follow
//! envoy/api/envoy/config/{cluster/v3/cluster.proto,endpoint/v3/endpoint*.proto}; the v2 forms
//! `tls_context` (for the SNI) and `hosts` (for the endpoints of a STATIC / STRICT_DNS cluster)
//! are read too, also under their `hidden_envoy_deprecated_` names.

use super::address::Address;
use super::json_view::At;
use super::EnvoyError;

/// Where a resource came from in the dump.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Origin {
    Static,
    DynamicActive,
    /// Received but not yet serving (`dynamic_warming_*`).
    DynamicWarming,
    /// From a list that does not say (`istioctl proxy-config clusters -o json`).
    Unknown,
}

/// `Cluster.type` (proto default `STATIC` when absent) or a custom `cluster_type`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ClusterType {
    Static,
    StrictDns,
    LogicalDns,
    Eds,
    OriginalDst,
    /// `cluster_type.name`, e.g. `envoy.clusters.aggregate`.
    Custom(String),
    Other(String),
}

/// Istio's `metadata.filter_metadata.istio.services[]` entry.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IstioService {
    pub host: String,
    pub name: String,
    pub namespace: String,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Cluster {
    pub name: String,
    pub kind: ClusterType,
    /// `eds_cluster_config.service_name` (EDS key; Envoy uses the cluster name when empty).
    pub eds_service_name: String,
    /// `sni` of the (first) TLS transport socket, e.g.
    /// `outbound_.9080_.v1_.reviews.default.svc.cluster.local`.
    pub sni: String,
    pub services: Vec<IstioService>,
    pub load_assignment: Option<ClusterLoadAssignment>,
    pub origin: Origin,
}

#[derive(Clone, Debug, PartialEq)]
pub struct ClusterLoadAssignment {
    pub cluster_name: String,
    pub localities: Vec<LocalityEndpoints>,
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Locality {
    pub region: String,
    pub zone: String,
    pub sub_zone: String,
}

/// `endpoints[]`: one locality at one priority.
#[derive(Clone, Debug, PartialEq)]
pub struct LocalityEndpoints {
    pub locality: Locality,
    pub priority: u32,
    pub load_balancing_weight: Option<u32>,
    pub lb_endpoints: Vec<LbEndpoint>,
}

#[derive(Clone, Debug, PartialEq)]
pub struct LbEndpoint {
    pub address: Option<Address>,
    /// `health_status` as Envoy spells it (`HEALTHY`, `UNHEALTHY`, `DRAINING`, `TIMEOUT`,
    /// `DEGRADED`); `UNKNOWN` (the proto default) when absent.
    pub health_status: String,
    /// `load_balancing_weight`, 1 when absent (Envoy's default).
    pub load_balancing_weight: u32,
    /// `metadata.filter_metadata.istio.workload`: `name;namespace;app;version;cluster`.
    pub workload: String,
}

fn cluster_type(a: &At<'_>) -> Result<ClusterType, EnvoyError> {
    if let Some(ct) = a.obj("cluster_type")? {
        return Ok(ClusterType::Custom(ct.string("name")?));
    }
    Ok(match a.str("type")?.unwrap_or("STATIC") {
        "STATIC" => ClusterType::Static,
        "STRICT_DNS" => ClusterType::StrictDns,
        "LOGICAL_DNS" => ClusterType::LogicalDns,
        "EDS" => ClusterType::Eds,
        "ORIGINAL_DST" => ClusterType::OriginalDst,
        other => ClusterType::Other(other.to_string()),
    })
}

/// The `sni` of a TLS transport socket: `transport_socket` itself, else the first
/// `transport_socket_matches[]` entry that has one (Istio's `tlsMode-istio`).
fn sni(a: &At<'_>) -> Result<String, EnvoyError> {
    let from_socket = |ts: &At<'_>| -> Result<Option<String>, EnvoyError> {
        // v2 transport sockets may carry a `config` Struct instead of `typed_config`.
        let tc = match ts.obj("typed_config")? {
            Some(tc) => Some(tc),
            None => ts.obj(&ts.v2_name("config"))?,
        };
        match tc {
            Some(tc) => Ok(tc.str("sni")?.map(str::to_string)),
            None => Ok(None),
        }
    };
    // v2: `tls_context` is an UpstreamTlsContext itself.
    if let Some(tls) = a.obj(&a.v2_name("tls_context"))? {
        if let Some(s) = tls.str("sni")? {
            return Ok(s.to_string());
        }
    }
    if let Some(ts) = a.obj("transport_socket")? {
        if let Some(s) = from_socket(&ts)? {
            return Ok(s);
        }
    }
    for m in a.arr("transport_socket_matches")? {
        if let Some(ts) = m.expect_obj()?.obj("transport_socket")? {
            if let Some(s) = from_socket(&ts)? {
                return Ok(s);
            }
        }
    }
    Ok(String::new())
}

/// `metadata.filter_metadata.istio` of a cluster or endpoint.
fn istio_metadata<'a>(a: &At<'a>) -> Result<Option<At<'a>>, EnvoyError> {
    let Some(m) = a.obj("metadata")? else {
        return Ok(None);
    };
    let Some(fm) = m.obj("filter_metadata")? else {
        return Ok(None);
    };
    fm.obj("istio")
}

impl Cluster {
    pub(crate) fn parse(a: &At<'_>, origin: Origin) -> Result<Cluster, EnvoyError> {
        let a = a.clone().expect_obj()?;
        let eds_service_name = match a.obj("eds_cluster_config")? {
            Some(e) => e.string("service_name")?,
            None => String::new(),
        };
        let services = match istio_metadata(&a)? {
            Some(im) => im
                .arr("services")?
                .into_iter()
                .map(|s| {
                    let s = s.expect_obj()?;
                    Ok(IstioService {
                        host: s.string("host")?,
                        name: s.string("name")?,
                        namespace: s.string("namespace")?,
                    })
                })
                .collect::<Result<_, EnvoyError>>()?,
            None => Vec::new(),
        };
        let name = a.string("name")?;
        let load_assignment = match a.obj("load_assignment")? {
            Some(la) => Some(ClusterLoadAssignment::parse(&la)?),
            None => hosts(&a, &name)?,
        };
        Ok(Cluster {
            name,
            kind: cluster_type(&a)?,
            eds_service_name,
            sni: sni(&a)?,
            services,
            load_assignment,
            origin,
        })
    }

    /// The name EDS resources are keyed by: `eds_service_name`, else the cluster name.
    pub fn eds_key(&self) -> &str {
        if self.eds_service_name.is_empty() {
            &self.name
        } else {
            &self.eds_service_name
        }
    }
}

/// v2 `hosts: [Address]` as one assignment (no locality, weight 1, health unknown).
fn hosts(a: &At<'_>, name: &str) -> Result<Option<ClusterLoadAssignment>, EnvoyError> {
    let list = a.arr(&a.v2_name("hosts"))?;
    if list.is_empty() {
        return Ok(None);
    }
    let lb_endpoints = list
        .iter()
        .map(|h| {
            Ok(LbEndpoint {
                address: Address::parse(&h.clone().expect_obj()?)?,
                health_status: "UNKNOWN".into(),
                load_balancing_weight: 1,
                workload: String::new(),
            })
        })
        .collect::<Result<_, EnvoyError>>()?;
    Ok(Some(ClusterLoadAssignment {
        cluster_name: name.to_string(),
        localities: vec![LocalityEndpoints {
            locality: Locality::default(),
            priority: 0,
            load_balancing_weight: None,
            lb_endpoints,
        }],
    }))
}

impl ClusterLoadAssignment {
    pub(crate) fn parse(a: &At<'_>) -> Result<ClusterLoadAssignment, EnvoyError> {
        let a = a.clone().expect_obj()?;
        let localities = a
            .arr("endpoints")?
            .into_iter()
            .map(|l| {
                let l = l.expect_obj()?;
                let locality = match l.obj("locality")? {
                    Some(lo) => Locality {
                        region: lo.string("region")?,
                        zone: lo.string("zone")?,
                        sub_zone: lo.string("sub_zone")?,
                    },
                    None => Locality::default(),
                };
                let lb_endpoints = l
                    .arr("lb_endpoints")?
                    .iter()
                    .map(LbEndpoint::parse)
                    .collect::<Result<_, _>>()?;
                Ok(LocalityEndpoints {
                    locality,
                    priority: l.u32("priority")?.unwrap_or(0),
                    load_balancing_weight: l.u32("load_balancing_weight")?,
                    lb_endpoints,
                })
            })
            .collect::<Result<_, EnvoyError>>()?;
        Ok(ClusterLoadAssignment {
            cluster_name: a.string("cluster_name")?,
            localities,
        })
    }
}

impl LbEndpoint {
    fn parse(a: &At<'_>) -> Result<LbEndpoint, EnvoyError> {
        let a = a.clone().expect_obj()?;
        let address = match a.obj("endpoint")? {
            Some(e) => match e.obj("address")? {
                Some(ad) => Address::parse(&ad)?,
                None => None,
            },
            None => None,
        };
        let workload = match istio_metadata(&a)? {
            Some(im) => im.string("workload")?,
            None => String::new(),
        };
        Ok(LbEndpoint {
            address,
            health_status: a.str("health_status")?.unwrap_or("UNKNOWN").to_string(),
            load_balancing_weight: a.u32("load_balancing_weight")?.unwrap_or(1),
            workload,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn missing_type_is_static_and_sni_from_socket_matches() {
        let v = serde_json::json!({"name": "outbound|9080|v1|reviews.default.svc.cluster.local",
            "transportSocketMatches": [{"name": "tlsMode-istio", "transportSocket": {"typedConfig": {"sni": "outbound_.9080_.v1_.reviews.default.svc.cluster.local"}}}]});
        let c = Cluster::parse(&At::root(&v), Origin::DynamicActive).unwrap();
        assert_eq!(c.kind, ClusterType::Static);
        assert_eq!(
            c.sni,
            "outbound_.9080_.v1_.reviews.default.svc.cluster.local"
        );
        assert_eq!(c.eds_key(), c.name);
    }

    #[test]
    fn v2_tls_context_and_hosts() {
        // The Istio ≤1.5 shape: the SNI in v2 `tls_context`, DNS `hosts` instead of load_assignment.
        let v = serde_json::json!({"name": "outbound|15004||istio-telemetry.istio-system.svc.cluster.local",
            "type": "STRICT_DNS",
            "tls_context": {"common_tls_context": {}, "sni": "outbound_.15004_._.istio-telemetry.istio-system.svc.cluster.local"},
            "hosts": [{"socket_address": {"address": "istio-telemetry.istio-system.svc.cluster.local", "port_value": 15004}}]});
        let c = Cluster::parse(&At::root(&v), Origin::DynamicActive).unwrap();
        assert_eq!(c.kind, ClusterType::StrictDns);
        assert_eq!(
            c.sni,
            "outbound_.15004_._.istio-telemetry.istio-system.svc.cluster.local"
        );
        let la = c.load_assignment.unwrap();
        assert_eq!(la.cluster_name, c.name);
        assert_eq!(
            la.localities[0].lb_endpoints[0]
                .address
                .as_ref()
                .unwrap()
                .to_string(),
            "istio-telemetry.istio-system.svc.cluster.local:15004"
        );
        // Envoy 1.14-1.17 print the same fields renamed.
        let v = serde_json::json!({"name": "x", "hiddenEnvoyDeprecatedTlsContext": {"sni": "s"},
            "hiddenEnvoyDeprecatedHosts": [{"socketAddress": {"address": "10.0.0.1", "portValue": 80}}, 7]});
        let e = Cluster::parse(&At::root(&v), Origin::Static).unwrap_err();
        assert_eq!(
            e.to_string(),
            "/hiddenEnvoyDeprecatedHosts/1: expected an object"
        );
    }

    #[test]
    fn endpoint_defaults() {
        let v = serde_json::json!({"cluster_name": "c", "endpoints": [{"lb_endpoints": [
            {"endpoint": {"address": {"socket_address": {"address": "fd00::1", "port_value": 9080}}}}]}]});
        let la = ClusterLoadAssignment::parse(&At::root(&v)).unwrap();
        let e = &la.localities[0].lb_endpoints[0];
        assert_eq!(e.health_status, "UNKNOWN");
        assert_eq!(e.load_balancing_weight, 1);
        assert_eq!(e.address.as_ref().unwrap().to_string(), "[fd00::1]:9080");
    }
}
