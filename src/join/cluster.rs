//! The cluster as the join sees it: names for IPs, service frontends, and per node and per
//! pod netns the dataplane that decides (as a [`Dataplane`] walk), the conntrack NAT entries
//! and the Envoy config (as a [`Mesh`]).
//!
//! Why traits here and not the parsers' types: the join must not care whether kube-proxy
//! ran in iptables, nftables or IPVS mode, or which Envoy API shape the dump had. `adapt.rs`
//! makes the parsed inputs into these views; tests build them by hand.

use crate::k8s::walk::{Facts, Outcome};
use crate::model::Candidate;
use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};

/// A NAT dataplane that answers "where does this packet go" (iptables, nft, IPVS). `Send` so
/// a loaded cluster can move from the thread that read the bundle to the one that shows it.
pub trait Dataplane: Send {
    /// `iptables`, `nftables`, `ipvs`.
    fn mode(&self) -> &'static str;
    fn walk(&self, facts: &Facts) -> Vec<Outcome>;
}

/// One conntrack entry, reduced to the two tuples (domain.md 6).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct NatEntry {
    pub orig_src: SocketAddr,
    pub orig_dst: SocketAddr,
    pub reply_src: SocketAddr,
    pub reply_dst: SocketAddr,
}

impl NatEntry {
    /// The post-DNAT destination, when the destination was rewritten.
    pub fn dnat(&self) -> Option<SocketAddr> {
        (self.orig_dst != self.reply_src).then_some(self.reply_src)
    }
    /// What the destination saw as the source, when the source was rewritten.
    pub fn snat(&self) -> Option<SocketAddr> {
        (self.orig_src != self.reply_dst).then_some(self.reply_dst)
    }
}

/// Envoy's answer for one connection or request.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct EnvoyDecision {
    /// Objects passed, in order: `listener virtualOutbound`, `filter-chain 0.0.0.0_9080`,
    /// `route-config 9080`, `virtual-host reviews…:9080`, `route default`, `cluster outbound|…`.
    pub via: Vec<String>,
    /// The cluster(s) chosen with their shares (weighted clusters), by name.
    pub clusters: Vec<(String, f64)>,
    /// Endpoints over all chosen clusters with probability = cluster share × endpoint share.
    pub endpoints: Vec<Candidate>,
    /// The original destination is used as is (PassthroughCluster, InboundPassthrough).
    pub passthrough: bool,
    /// The filter chain routes HTTP by the request's Host and path, and none was given (the
    /// leg carries no readable request: encrypted, or not HTTP): `via` ends at the route config.
    pub needs_request: bool,
}

/// A pod's Envoy config (`Send`, like [`Dataplane`]).
pub trait Mesh: Send {
    /// An outbound connection to `orig_dst` (leg A), and when it carries HTTP, its Host and path.
    fn outbound(
        &self,
        orig_dst: SocketAddr,
        host: Option<&str>,
        path: Option<&str>,
        sni: Option<&str>,
    ) -> Option<EnvoyDecision>;
    /// An inbound connection to `local` (leg C) with Host and path when HTTP; `tls_alpn` is
    /// the ClientHello's ALPN when the downstream spoke TLS (an mTLS leg from another sidecar).
    fn inbound(
        &self,
        local: SocketAddr,
        host: Option<&str>,
        path: Option<&str>,
        tls_alpn: Option<&[String]>,
    ) -> Option<EnvoyDecision>;
    /// The cluster an mTLS SNI names (`outbound_.9080_.v1_.reviews…` → `outbound|9080|v1|…`).
    fn cluster_for_sni(&self, sni: &str) -> Option<String>;
}

/// State of one node netns.
#[derive(Default)]
pub struct NodeView {
    pub name: String,
    pub addresses: Vec<IpAddr>,
    pub dataplane: Option<Box<dyn Dataplane>>,
    pub conntrack: Vec<NatEntry>,
    /// Affinity lists (`-m recent` / nft affinity sets) and the sources each holds.
    pub affinity: Vec<(String, Vec<IpAddr>)>,
}

/// State of one pod netns.
#[derive(Default)]
pub struct PodView {
    pub namespace: String,
    pub name: String,
    pub ips: Vec<IpAddr>,
    pub node: Option<String>,
    pub sidecar: bool,
    /// The pod netns's own rules (Istio interception).
    pub rules: Option<Box<dyn Dataplane>>,
    pub outbound_port: Option<u16>,
    pub inbound_port: Option<u16>,
    pub inbound_excluded: Vec<u16>,
    pub proxy_uid: Option<u32>,
    pub conntrack: Vec<NatEntry>,
    pub mesh: Option<Box<dyn Mesh>>,
}

/// A kube-proxy frontend: which service port answers at an address.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Frontend {
    /// `ns/svc:port` (kube-proxy's service port name).
    pub service: String,
    /// `cluster IP`, `node port`, `external IP`, `load balancer IP`.
    pub kind: &'static str,
}

/// Everything the bundle told.
#[derive(Default)]
pub struct Cluster {
    /// `pod default/productpage-v1`, `service default/reviews`, `node node-1`.
    pub names: HashMap<IpAddr, String>,
    /// ClusterIP / external / LB IP:port → service port.
    pub frontends: HashMap<SocketAddr, Frontend>,
    /// NodePort → service port (any node address).
    pub node_ports: HashMap<u16, Frontend>,
    pub nodes: Vec<NodeView>,
    pub pods: Vec<PodView>,
    /// What the bundle lacked, said once per kind (`no node conntrack`, …).
    pub missing: Vec<String>,
    /// Files that could not be read or parsed, with the reason.
    pub warnings: Vec<String>,
}

impl Cluster {
    pub fn node_ips(&self) -> impl Iterator<Item = IpAddr> + '_ {
        self.nodes.iter().flat_map(|n| n.addresses.iter().copied())
    }

    pub fn is_node_ip(&self, ip: IpAddr) -> bool {
        self.node_ips().any(|a| a == ip)
    }

    /// The service frontend at `addr`, if any.
    pub fn frontend(&self, addr: SocketAddr) -> Option<&Frontend> {
        self.frontends.get(&addr).or_else(|| {
            self.is_node_ip(addr.ip())
                .then(|| self.node_ports.get(&addr.port()))
                .flatten()
        })
    }

    pub fn pod_by_ip(&self, ip: IpAddr) -> Option<&PodView> {
        self.pods.iter().find(|p| p.ips.contains(&ip))
    }

    pub fn pod(&self, namespace: &str, name: &str) -> Option<&PodView> {
        self.pods
            .iter()
            .find(|p| p.namespace == namespace && p.name == name)
    }

    /// `10.244.1.5 (pod default/productpage-v1)`, or the bare address.
    pub fn describe(&self, addr: SocketAddr) -> String {
        match self.names.get(&addr.ip()) {
            Some(n) => format!("{addr} ({n})"),
            None => addr.to_string(),
        }
    }
}
