//! Envoy `config.listener.v3.Listener` as Istio writes it: address, `use_original_dst`,
//! `bind_to_port`, listener filters, filter chains with their `filter_chain_match`, the network
//! filters the join needs (HTTP connection manager → RDS name or inline route config; TCP
//! proxy → cluster or weighted clusters) and `default_filter_chain`.
//!
//! Other network filters are kept by name only (metadata exchange, stats, RBAC…): they do not
//! change where a connection goes. Field names follow envoy/api/envoy/config/listener/v3/
//! {listener,listener_components}.proto; the older `config` (Struct) form of a filter's config
//! (v2, Istio ≤1.6) is read like `typed_config`, a `udpa.type.v1.TypedStruct` by its `type_url`
//! and `value`, and v2 fields also under Envoy 1.14-1.17's `hidden_envoy_deprecated_` names.
//! The Envoy v1 TCP proxy form (`config.deprecated_v1: true`, routes by destination IP list;
//! Istio ≤1.0) is kept as [`TcpV1Route`]s.

use super::address::{Address, CidrRange};
use super::json_view::At;
use super::route_config::{RouteConfig, WeightedCluster};
use super::tcp_v1::TcpV1Route;
use super::EnvoyError;

/// One listener.
#[derive(Clone, Debug, PartialEq)]
pub struct Listener {
    pub name: String,
    pub address: Option<Address>,
    /// `use_original_dst`: hand the connection to the listener bound at the original
    /// destination (true on `virtualOutbound`, `virtual` before Istio 1.4).
    pub use_original_dst: bool,
    /// `bind_to_port` (default true; `deprecated_v1.bind_to_port` in Istio ≤1.9 dumps).
    pub bind_to_port: bool,
    /// `traffic_direction`: `OUTBOUND`, `INBOUND` or empty.
    pub traffic_direction: String,
    /// Listener filter names (`envoy.filters.listener.original_dst`, `…tls_inspector`,
    /// `…http_inspector`).
    pub listener_filters: Vec<String>,
    pub filter_chains: Vec<FilterChain>,
    pub default_filter_chain: Option<FilterChain>,
}

/// One filter chain: its match and its network filters.
#[derive(Clone, Debug, PartialEq)]
pub struct FilterChain {
    /// `name` (may be empty in old dumps).
    pub name: String,
    pub filter_chain_match: FilterChainMatch,
    pub filters: Vec<NetworkFilter>,
}

/// `config.listener.v3.FilterChainMatch`; empty fields match anything.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct FilterChainMatch {
    pub destination_port: Option<u16>,
    pub prefix_ranges: Vec<CidrRange>,
    pub direct_source_prefix_ranges: Vec<CidrRange>,
    /// `source_type`: `ANY` (empty), `SAME_IP_OR_LOOPBACK` or `EXTERNAL`.
    pub source_type: String,
    pub source_prefix_ranges: Vec<CidrRange>,
    pub source_ports: Vec<u16>,
    pub server_names: Vec<String>,
    /// `transport_protocol`: `tls`, `raw_buffer` or empty.
    pub transport_protocol: String,
    pub application_protocols: Vec<String>,
}

/// The network filters that decide where a connection goes.
#[derive(Clone, Debug, PartialEq)]
pub enum NetworkFilter {
    HttpConnectionManager {
        name: String,
        stat_prefix: String,
        routes: HcmRoutes,
    },
    TcpProxy {
        name: String,
        stat_prefix: String,
        /// The cluster; for a v1 proxy whose routes name one cluster, that cluster, and
        /// `Missing` when they name several (then the destination decides: `v1_routes`).
        target: TcpTarget,
        /// `deprecated_v1` routes in order (empty for v2/v3 proxies).
        v1_routes: Vec<TcpV1Route>,
    },
    /// Any other filter, by name.
    Other { name: String },
}

/// Where an HTTP connection manager takes its routes from.
#[derive(Clone, Debug, PartialEq)]
pub enum HcmRoutes {
    /// `rds.route_config_name`, resolved against the dump's route configs.
    Rds(String),
    /// `route_config`, inline (Istio's inbound chains).
    Inline(Box<RouteConfig>),
    /// `scoped_routes` (gateways with scoped RDS): not resolved here.
    Scoped,
    /// Neither was set.
    Missing,
}

/// Where a TCP proxy sends the connection.
#[derive(Clone, Debug, PartialEq)]
pub enum TcpTarget {
    Cluster(String),
    Weighted(Vec<WeightedCluster>),
    Missing,
}

const HCM_NAMES: &[&str] = &[
    "envoy.filters.network.http_connection_manager",
    "envoy.http_connection_manager",
];
const TCP_PROXY_NAMES: &[&str] = &["envoy.filters.network.tcp_proxy", "envoy.tcp_proxy"];

impl Listener {
    pub(crate) fn parse(a: &At<'_>) -> Result<Listener, EnvoyError> {
        let a = a.clone().expect_obj()?;
        let address = match a.obj("address")? {
            Some(ad) => Address::parse(&ad)?,
            None => None,
        };
        let bind_to_port = match a.bool("bind_to_port")? {
            Some(b) => b,
            None => match a.obj(&a.v2_name("deprecated_v1"))? {
                Some(d) => d.bool("bind_to_port")?.unwrap_or(true),
                None => true,
            },
        };
        let listener_filters = a
            .arr("listener_filters")?
            .into_iter()
            .map(|f| f.expect_obj().and_then(|f| f.string("name")))
            .collect::<Result<_, _>>()?;
        let filter_chains = a
            .arr("filter_chains")?
            .iter()
            .map(FilterChain::parse)
            .collect::<Result<_, _>>()?;
        let default_filter_chain = match a.obj("default_filter_chain")? {
            Some(d) => Some(FilterChain::parse(&d)?),
            None => None,
        };
        Ok(Listener {
            name: a.string("name")?,
            address,
            use_original_dst: a.bool(&a.v2_name("use_original_dst"))?.unwrap_or(false),
            bind_to_port,
            traffic_direction: a.string("traffic_direction")?,
            listener_filters,
            filter_chains,
            default_filter_chain,
        })
    }
}

impl FilterChain {
    pub(crate) fn parse(a: &At<'_>) -> Result<FilterChain, EnvoyError> {
        let a = a.clone().expect_obj()?;
        let filter_chain_match = match a.obj("filter_chain_match")? {
            Some(m) => FilterChainMatch::parse(&m)?,
            None => FilterChainMatch::default(),
        };
        let filters = a
            .arr("filters")?
            .iter()
            .map(NetworkFilter::parse)
            .collect::<Result<_, _>>()?;
        Ok(FilterChain {
            name: a.string("name")?,
            filter_chain_match,
            filters,
        })
    }

    /// The HTTP connection manager's routes, if this chain terminates HTTP.
    pub fn hcm_routes(&self) -> Option<&HcmRoutes> {
        self.filters.iter().find_map(|f| match f {
            NetworkFilter::HttpConnectionManager { routes, .. } => Some(routes),
            _ => None,
        })
    }

    /// The TCP proxy's target, if this chain proxies TCP.
    pub fn tcp_target(&self) -> Option<&TcpTarget> {
        self.filters.iter().find_map(|f| match f {
            NetworkFilter::TcpProxy { target, .. } => Some(target),
            _ => None,
        })
    }
}

fn ranges(a: &At<'_>, key: &str) -> Result<Vec<CidrRange>, EnvoyError> {
    a.arr(key)?.iter().map(CidrRange::parse).collect()
}

fn port(a: &At<'_>, key: &str) -> Result<Option<u16>, EnvoyError> {
    match a.u32(key)? {
        Some(p) => u16::try_from(p).map(Some).map_err(|_| match a.field(key) {
            Some(f) => f.err("a port (0-65535)"),
            None => a.err("a port (0-65535)"),
        }),
        None => Ok(None),
    }
}

impl FilterChainMatch {
    pub(crate) fn parse(a: &At<'_>) -> Result<FilterChainMatch, EnvoyError> {
        let source_ports = a
            .arr("source_ports")?
            .into_iter()
            .map(|p| {
                p.v.as_u64()
                    .and_then(|n| u16::try_from(n).ok())
                    .ok_or_else(|| p.err("a port (0-65535)"))
            })
            .collect::<Result<_, _>>()?;
        Ok(FilterChainMatch {
            destination_port: port(a, "destination_port")?,
            prefix_ranges: ranges(a, "prefix_ranges")?,
            direct_source_prefix_ranges: ranges(a, "direct_source_prefix_ranges")?,
            source_type: a.string("source_type")?,
            source_prefix_ranges: ranges(a, "source_prefix_ranges")?,
            source_ports,
            server_names: {
                // `sni_domains` is the Envoy ≤1.7 name of `server_names`.
                let mut v = a.strings("server_names")?;
                v.extend(a.strings("sni_domains")?);
                v
            },
            transport_protocol: a.string("transport_protocol")?,
            application_protocols: a.strings("application_protocols")?,
        })
    }
}

impl NetworkFilter {
    pub(crate) fn parse(a: &At<'_>) -> Result<NetworkFilter, EnvoyError> {
        let a = a.clone().expect_obj()?;
        let name = a.string("name")?;
        let config = match a.obj("typed_config")? {
            Some(c) => Some(c),
            None => a.obj(&a.v2_name("config"))?,
        };
        let mut type_url = match &config {
            Some(c) => c.str("@type")?.unwrap_or_default(),
            None => "",
        };
        // A TypedStruct carries the real type in `type_url` and the config in `value`.
        let config = match config {
            Some(c) if type_url.ends_with(".TypedStruct") => {
                type_url = c.str("type_url")?.unwrap_or_default();
                c.obj("value")?
            }
            other => other,
        };
        let is_hcm =
            HCM_NAMES.contains(&name.as_str()) || type_url.ends_with(".HttpConnectionManager");
        let is_tcp = TCP_PROXY_NAMES.contains(&name.as_str()) || type_url.ends_with(".TcpProxy");
        let Some(c) = config.filter(|_| is_hcm || is_tcp) else {
            return Ok(NetworkFilter::Other { name });
        };
        // Envoy v1 TCP proxy: `{"deprecated_v1": true, "value": {routes…, stat_prefix}}`.
        let v1 = if is_tcp && c.bool("deprecated_v1")? == Some(true) {
            c.obj("value")?
        } else {
            None
        };
        let c = v1.clone().unwrap_or(c);
        let stat_prefix = c.string("stat_prefix")?;
        if is_hcm {
            let routes = if let Some(rds) = c.obj("rds")? {
                HcmRoutes::Rds(rds.string("route_config_name")?)
            } else if let Some(rc) = c.obj("route_config")? {
                HcmRoutes::Inline(Box::new(RouteConfig::parse(&rc)?))
            } else if c.field("scoped_routes").is_some() {
                HcmRoutes::Scoped
            } else {
                HcmRoutes::Missing
            };
            return Ok(NetworkFilter::HttpConnectionManager {
                name,
                stat_prefix,
                routes,
            });
        }
        if v1.is_some() {
            let v1_routes = TcpV1Route::parse_list(&c)?;
            let target = match v1_routes.first() {
                Some(r) if v1_routes.iter().all(|o| o.cluster == r.cluster) => {
                    TcpTarget::Cluster(r.cluster.clone())
                }
                _ => TcpTarget::Missing,
            };
            return Ok(NetworkFilter::TcpProxy {
                name,
                stat_prefix,
                target,
                v1_routes,
            });
        }
        let target = if let Some(cl) = c.str("cluster")? {
            TcpTarget::Cluster(cl.to_string())
        } else if let Some(w) = c.obj("weighted_clusters")? {
            TcpTarget::Weighted(WeightedCluster::parse_list(&w)?)
        } else {
            TcpTarget::Missing
        };
        Ok(NetworkFilter::TcpProxy {
            name,
            stat_prefix,
            target,
            v1_routes: Vec::new(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn camel_case_listener_with_tcp_proxy() {
        let v = serde_json::json!({
            "name": "10.96.0.10_3306",
            "address": {"socketAddress": {"address": "10.96.0.10", "portValue": 3306}},
            "bindToPort": false,
            "filterChains": [{"filters": [{"name": "envoy.filters.network.tcp_proxy",
                "typedConfig": {"@type": "type.googleapis.com/envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy",
                    "statPrefix": "outbound|3306||mysql.default.svc.cluster.local",
                    "weightedClusters": {"clusters": [{"name": "a", "weight": 80}, {"name": "b", "weight": 20}]}}}]}]
        });
        let l = Listener::parse(&At::root(&v)).unwrap();
        assert!(!l.bind_to_port);
        assert_eq!(l.address.unwrap().to_string(), "10.96.0.10:3306");
        match l.filter_chains[0].tcp_target() {
            Some(TcpTarget::Weighted(w)) => {
                assert_eq!(w.len(), 2);
                assert_eq!(w[1].weight, 20);
            }
            other => panic!("unexpected {other:?}"),
        }
    }

    #[test]
    fn bad_chain_match_is_an_error_with_pointer() {
        let v = serde_json::json!({"name": "x", "filter_chains": [{}, {"filter_chain_match": {"destination_port": "http"}}]});
        let e = Listener::parse(&At::root(&v)).unwrap_err();
        assert_eq!(
            e.to_string(),
            "/filter_chains/1/filter_chain_match/destination_port: expected an unsigned integer"
        );
    }
}
