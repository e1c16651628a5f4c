//! Envoy `config.core.v3.Address` (`socket_address`, `pipe`, `envoy_internal_address`) and
//! `CidrRange`, as they appear in listeners, filter-chain matches and endpoints.
//!
//! A `socket_address.address` may be a DNS name (STRICT_DNS / LOGICAL_DNS endpoints such as
//! `zipkin.istio-system`), so [`Address::Dns`] keeps it as text; only IP literals become a
//! `SocketAddr`. Named ports (`named_port`) are not resolved.

use std::net::{IpAddr, SocketAddr};

use super::json_view::At;
use super::EnvoyError;

/// Where a listener binds or an endpoint lives.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Address {
    /// An IP literal and port.
    Socket(SocketAddr),
    /// A host name and port (resolved by Envoy, not here).
    Dns { host: String, port: u16 },
    /// A Unix domain socket path.
    Pipe(String),
    /// An Envoy internal listener (`envoy_internal_address.server_listener_name`), as used by
    /// ambient waypoints (`main_internal`, `connect_originate`).
    Internal(String),
}

impl Address {
    /// The socket address when this is an IP literal.
    pub fn socket(&self) -> Option<SocketAddr> {
        match self {
            Address::Socket(s) => Some(*s),
            _ => None,
        }
    }

    pub(crate) fn parse(a: &At<'_>) -> Result<Option<Address>, EnvoyError> {
        if let Some(sa) = a.obj("socket_address")? {
            let host = sa.string("address")?;
            let port = match sa.u32("port_value")? {
                Some(p) => u16::try_from(p).map_err(|_| match sa.field("port_value") {
                    Some(f) => f.err("a port (0-65535)"),
                    None => sa.err("a port (0-65535)"),
                })?,
                None => 0,
            };
            return Ok(Some(match host.parse::<IpAddr>() {
                Ok(ip) => Address::Socket(SocketAddr::new(ip, port)),
                Err(_) => Address::Dns { host, port },
            }));
        }
        if let Some(p) = a.obj("pipe")? {
            return Ok(Some(Address::Pipe(p.string("path")?)));
        }
        if let Some(i) = a.obj("envoy_internal_address")? {
            return Ok(Some(Address::Internal(i.string("server_listener_name")?)));
        }
        Ok(None)
    }
}

impl std::fmt::Display for Address {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Address::Socket(s) => write!(f, "{s}"),
            Address::Dns { host, port } => write!(f, "{host}:{port}"),
            Address::Pipe(p) => write!(f, "unix:{p}"),
            Address::Internal(n) => write!(f, "internal:{n}"),
        }
    }
}

/// `config.core.v3.CidrRange`: `address_prefix` / `prefix_len`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CidrRange {
    pub prefix: IpAddr,
    pub len: u8,
}

impl CidrRange {
    /// Whether `ip` lies in the range (families must agree).
    pub fn contains(&self, ip: IpAddr) -> bool {
        match (self.prefix, ip) {
            (IpAddr::V4(p), IpAddr::V4(i)) => {
                let len = u32::from(self.len.min(32));
                let mask = u32::MAX.checked_shl(32 - len).unwrap_or(0);
                u32::from(p) & mask == u32::from(i) & mask
            }
            (IpAddr::V6(p), IpAddr::V6(i)) => {
                let len = u32::from(self.len.min(128));
                let mask = u128::MAX.checked_shl(128 - len).unwrap_or(0);
                u128::from(p) & mask == u128::from(i) & mask
            }
            _ => false,
        }
    }

    pub(crate) fn parse(a: &At<'_>) -> Result<CidrRange, EnvoyError> {
        let a = a.clone().expect_obj()?;
        let text = a.string("address_prefix")?;
        let prefix = text
            .parse::<IpAddr>()
            .map_err(|_| match a.field("address_prefix") {
                Some(f) => f.err("an IP address"),
                None => a.err("an address_prefix"),
            })?;
        let max = if prefix.is_ipv4() { 32 } else { 128 };
        // Envoy rejects a prefix_len above the family width at config time; clamp here.
        let len = a.u32("prefix_len")?.unwrap_or(0).min(max) as u8;
        Ok(CidrRange { prefix, len })
    }
}

impl std::fmt::Display for CidrRange {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.prefix, self.len)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cidr_contains() {
        let r = CidrRange {
            prefix: "10.244.0.0".parse().unwrap(),
            len: 16,
        };
        assert!(r.contains("10.244.2.66".parse().unwrap()));
        assert!(!r.contains("10.245.0.1".parse().unwrap()));
        assert!(!r.contains("::1".parse().unwrap()));
        let any = CidrRange {
            prefix: "0.0.0.0".parse().unwrap(),
            len: 0,
        };
        assert!(any.contains("1.2.3.4".parse().unwrap()));
    }

    #[test]
    fn dns_and_internal_addresses() {
        let v = serde_json::json!({"socket_address": {"address": "zipkin.istio-system", "port_value": 9411}});
        assert_eq!(
            Address::parse(&At::root(&v)).unwrap(),
            Some(Address::Dns {
                host: "zipkin.istio-system".into(),
                port: 9411
            })
        );
        let v =
            serde_json::json!({"envoyInternalAddress": {"serverListenerName": "main_internal"}});
        assert_eq!(
            Address::parse(&At::root(&v)).unwrap(),
            Some(Address::Internal("main_internal".into()))
        );
        let v = serde_json::json!({"socket_address": {"address": "1.2.3.4", "port_value": 70000}});
        assert_eq!(
            Address::parse(&At::root(&v)).unwrap_err().to_string(),
            "/socket_address/port_value: expected a port (0-65535)"
        );
    }
}
