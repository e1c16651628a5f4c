//! Node objects: the node's name, its addresses (`status.addresses[]`, typed InternalIP,
//! ExternalIP, Hostname, …) and pod CIDRs (`spec.podCIDR`, `spec.podCIDRs`).
//!
//! What it does not keep: conditions, capacity, taints. Addresses stay text because the
//! `Hostname` and DNS kinds are names, not IPs; [`Node::ips`] gives the IP ones.

use std::net::IpAddr;

use super::field::At;
use super::{KubeError, Meta};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NodeAddress {
    /// `InternalIP`, `ExternalIP`, `Hostname`, `InternalDNS`, `ExternalDNS`.
    pub kind: String,
    pub address: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Node {
    pub name: String,
    pub addresses: Vec<NodeAddress>,
    pub pod_cidrs: Vec<String>,
}

impl Node {
    /// The addresses that parse as IPs (InternalIP and ExternalIP in practice).
    pub fn ips(&self) -> impl Iterator<Item = IpAddr> + '_ {
        self.addresses
            .iter()
            .filter_map(|a| a.address.trim().parse().ok())
    }
}

pub(crate) fn parse(at: At<'_, '_>) -> Result<Node, KubeError> {
    let meta = Meta::read(at)?;
    let mut pod_cidrs = Vec::new();
    if let Some(spec) = at.get("spec") {
        let spec = spec.at();
        if let Some(c) = spec.str_opt("podCIDR")? {
            pod_cidrs.push(c);
        }
        for c in spec.strings("podCIDRs")? {
            if !pod_cidrs.contains(&c) {
                pod_cidrs.push(c);
            }
        }
    }
    let mut addresses = Vec::new();
    if let Some(status) = at.get("status") {
        for a in status.at().items("addresses")? {
            let a = a.at();
            addresses.push(NodeAddress {
                kind: a.string("type")?,
                address: a.string("address")?,
            });
        }
    }
    Ok(Node {
        name: meta.name,
        addresses,
        pod_cidrs,
    })
}
