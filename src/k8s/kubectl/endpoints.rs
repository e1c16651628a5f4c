//! EndpointSlices (discovery.k8s.io v1 and v1beta1) and the older v1 Endpoints, read into one
//! shape: endpoints with addresses, conditions, node and target, plus the slice's ports.
//!
//! Conditions are kept as given (`None` when absent); [`Endpoint::ready`] and friends apply
//! kube-proxy's reading (pkg/proxy/endpointslicecache.go: ready and serving default to true when
//! unset, terminating to false). v1beta1's `topology` map is ignored; its
//! `kubernetes.io/hostname` key stands for `nodeName` only when `nodeName` is absent. A v1
//! Endpoints subset becomes one slice: `addresses` are ready, `notReadyAddresses` are not.
//!
//! What it does not keep: zones, hints, hostnames, appProtocol.

use std::net::IpAddr;

use super::field::At;
use super::{protocol, KubeError, Meta};
use crate::k8s::walk::Proto;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AddressType {
    IPv4,
    IPv6,
    Fqdn,
    Other(String),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TargetRef {
    pub kind: String,
    pub namespace: Option<String>,
    pub name: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Endpoint {
    /// As given: IP text for IPv4/IPv6 slices, a name for FQDN ones.
    pub addresses: Vec<String>,
    pub cond_ready: Option<bool>,
    pub cond_serving: Option<bool>,
    pub cond_terminating: Option<bool>,
    pub node_name: Option<String>,
    pub target_ref: Option<TargetRef>,
}

impl Endpoint {
    pub fn ready(&self) -> bool {
        self.cond_ready.unwrap_or(true)
    }
    pub fn serving(&self) -> bool {
        self.cond_serving.unwrap_or(true)
    }
    pub fn terminating(&self) -> bool {
        self.cond_terminating.unwrap_or(false)
    }
    /// The addresses that are IPs.
    pub fn ips(&self) -> impl Iterator<Item = IpAddr> + '_ {
        self.addresses.iter().filter_map(|a| a.trim().parse().ok())
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EndpointPort {
    /// Empty when unnamed; equals the Service port's name it serves.
    pub name: String,
    /// The resolved targetPort.
    pub port: Option<u16>,
    pub protocol: Proto,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EndpointSlice {
    pub namespace: String,
    pub name: String,
    /// Label `kubernetes.io/service-name` (for v1 Endpoints: the object's name).
    pub service: Option<String>,
    pub address_type: AddressType,
    pub endpoints: Vec<Endpoint>,
    pub ports: Vec<EndpointPort>,
}

/// A v1 Endpoints object: one slice-shaped value per subset.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Endpoints {
    pub namespace: String,
    pub name: String,
    pub subsets: Vec<EndpointSlice>,
}

fn target_ref(at: At<'_, '_>) -> Result<Option<TargetRef>, KubeError> {
    let Some(t) = at.get("targetRef") else {
        return Ok(None);
    };
    let t = t.at();
    Ok(Some(TargetRef {
        kind: t.string("kind")?,
        namespace: t.str_opt("namespace")?,
        name: t.string("name")?,
    }))
}

fn ports(at: At<'_, '_>) -> Result<Vec<EndpointPort>, KubeError> {
    at.items("ports")?
        .iter()
        .map(|p| {
            let p = p.at();
            Ok(EndpointPort {
                name: p.string("name")?,
                port: p.u16_opt("port")?,
                protocol: protocol(p)?,
            })
        })
        .collect()
}

pub(crate) fn parse_slice(at: At<'_, '_>) -> Result<EndpointSlice, KubeError> {
    let meta = Meta::read(at)?;
    let address_type = match at.str_opt("addressType")?.as_deref() {
        Some("IPv6") => AddressType::IPv6,
        Some("FQDN") => AddressType::Fqdn,
        Some("IPv4") | None => AddressType::IPv4,
        Some(other) => AddressType::Other(other.to_string()),
    };
    let mut endpoints = Vec::new();
    for e in at.items("endpoints")? {
        let e = e.at();
        let (mut ready, mut serving, mut terminating) = (None, None, None);
        if let Some(c) = e.get("conditions") {
            let c = c.at();
            ready = c.bool_opt("ready")?;
            serving = c.bool_opt("serving")?;
            terminating = c.bool_opt("terminating")?;
        }
        let mut node_name = e.str_opt("nodeName")?;
        if node_name.is_none() {
            if let Some(topo) = e.get("topology") {
                node_name = topo.at().str_opt("kubernetes.io/hostname")?;
            }
        }
        endpoints.push(Endpoint {
            addresses: e.strings("addresses")?,
            cond_ready: ready,
            cond_serving: serving,
            cond_terminating: terminating,
            node_name,
            target_ref: target_ref(e)?,
        });
    }
    Ok(EndpointSlice {
        service: meta.labels.get("kubernetes.io/service-name").cloned(),
        namespace: meta.namespace,
        name: meta.name,
        address_type,
        endpoints,
        ports: ports(at)?,
    })
}

pub(crate) fn parse_endpoints(at: At<'_, '_>) -> Result<Endpoints, KubeError> {
    let meta = Meta::read(at)?;
    let mut subsets = Vec::new();
    for s in at.items("subsets")? {
        let s = s.at();
        let mut endpoints = Vec::new();
        for (key, ready) in [("addresses", true), ("notReadyAddresses", false)] {
            for a in s.items(key)? {
                let a = a.at();
                endpoints.push(Endpoint {
                    addresses: a.str_opt("ip")?.into_iter().collect(),
                    cond_ready: Some(ready),
                    cond_serving: Some(ready),
                    cond_terminating: None,
                    node_name: a.str_opt("nodeName")?,
                    target_ref: target_ref(a)?,
                });
            }
        }
        let v6 = endpoints
            .iter()
            .flat_map(|e| e.ips())
            .next()
            .is_some_and(|ip| ip.is_ipv6());
        subsets.push(EndpointSlice {
            namespace: meta.namespace.clone(),
            name: meta.name.clone(),
            service: Some(meta.name.clone()),
            address_type: if v6 {
                AddressType::IPv6
            } else {
                AddressType::IPv4
            },
            endpoints,
            ports: ports(s)?,
        });
    }
    Ok(Endpoints {
        namespace: meta.namespace,
        name: meta.name,
        subsets,
    })
}
