//! The Envoy v1 TCP proxy (`{"name": "envoy.tcp_proxy", "config": {"deprecated_v1": true,
//! "value": {"route_config": {"routes": […]}}}}`), as Istio ≤1.0 wrote it on per-service
//! listeners: routes matched in order by destination and source IP lists and port ranges.
//!
//! Only parsed here; [`super::NetworkFilter::TcpProxy`] keeps the routes and names a single
//! target when every route names the same cluster.

use super::address::CidrRange;
use super::json_view::At;
use super::EnvoyError;

/// One route of an Envoy v1 TCP proxy (`route_config.routes[]`): the first route whose lists
/// match the connection names its cluster; an empty list matches anything.
#[derive(Clone, Debug, PartialEq)]
pub struct TcpV1Route {
    pub cluster: String,
    pub destination_ip_list: Vec<CidrRange>,
    /// Port ranges as written (`"80,8000-8080"`).
    pub destination_ports: String,
    pub source_ip_list: Vec<CidrRange>,
    pub source_ports: String,
}

/// A v1 `destination_ip_list` entry: `"10.0.0.1/32"` (or a bare address).
fn v1_cidr(a: &At<'_>) -> Result<CidrRange, EnvoyError> {
    let text = a.v.as_str().ok_or_else(|| a.err("a CIDR string"))?;
    let (ip, len) = text.split_once('/').unwrap_or((text, ""));
    let prefix: std::net::IpAddr = ip.parse().map_err(|_| a.err("a CIDR (address/length)"))?;
    let max = if prefix.is_ipv4() { 32 } else { 128 };
    let len = if len.is_empty() {
        max
    } else {
        len.parse::<u8>()
            .map_err(|_| a.err("a CIDR (address/length)"))?
            .min(max)
    };
    Ok(CidrRange { prefix, len })
}

impl TcpV1Route {
    /// `route_config.routes` of a v1 proxy's `value` (empty when absent).
    pub(crate) fn parse_list(value: &At<'_>) -> Result<Vec<TcpV1Route>, EnvoyError> {
        match value.obj("route_config")? {
            Some(rc) => rc.arr("routes")?.iter().map(TcpV1Route::parse).collect(),
            None => Ok(Vec::new()),
        }
    }

    fn parse(a: &At<'_>) -> Result<TcpV1Route, EnvoyError> {
        let a = a.clone().expect_obj()?;
        let list = |key: &str| -> Result<Vec<CidrRange>, EnvoyError> {
            a.arr(key)?.iter().map(v1_cidr).collect()
        };
        Ok(TcpV1Route {
            cluster: a.string("cluster")?,
            destination_ip_list: list("destination_ip_list")?,
            destination_ports: a.string("destination_ports")?,
            source_ip_list: list("source_ip_list")?,
            source_ports: a.string("source_ports")?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::super::listener::{FilterChain, Listener, NetworkFilter, TcpTarget};
    use super::*;

    #[test]
    fn v1_tcp_proxy_and_hidden_deprecated_fields() {
        // The Istio 1.0 shape (istioctl testdata listenerdump.json, trimmed to the proxy).
        let v = serde_json::json!({"name": "172.21.134.116_443",
            "hiddenEnvoyDeprecatedUseOriginalDst": true,
            "filterChains": [{"filters": [{"name": "envoy.tcp_proxy", "config": {
                "deprecated_v1": true, "value": {"stat_prefix": "outbound|tcp|443", "route_config": {"routes": [
                    {"cluster": "outbound|443||istio-galley.istio-system.svc.cluster.local",
                     "destination_ip_list": ["172.21.134.116/32"]},
                    {"cluster": "other", "destination_ip_list": ["fd00::/8", "10.1.1.1"]}]}}}}]}],
            "deprecatedV1": {"bindToPort": false}});
        let l = Listener::parse(&At::root(&v)).unwrap();
        assert!(l.use_original_dst && !l.bind_to_port);
        let NetworkFilter::TcpProxy {
            stat_prefix,
            target,
            v1_routes,
            ..
        } = &l.filter_chains[0].filters[0]
        else {
            panic!("not a tcp proxy");
        };
        assert_eq!(stat_prefix, "outbound|tcp|443");
        // Two clusters: which one depends on the destination.
        assert_eq!(target, &TcpTarget::Missing);
        assert_eq!(
            v1_routes[0].destination_ip_list[0].to_string(),
            "172.21.134.116/32"
        );
        assert_eq!(
            v1_routes[1].destination_ip_list[1].to_string(),
            "10.1.1.1/32"
        );
        let v = serde_json::json!({"filters": [{"name": "envoy.tcp_proxy", "config": {
            "deprecated_v1": true, "value": {"route_config": {"routes": [{"cluster": "c", "destination_ip_list": ["x/1"]}]}}}}]});
        assert_eq!(
            FilterChain::parse(&At::root(&v)).unwrap_err().to_string(),
            "/filters/0/config/value/route_config/routes/0/destination_ip_list/0: expected a CIDR (address/length)"
        );
    }
}
