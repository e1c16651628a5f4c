//! The parsed inputs as the join's views: iptables, nftables and IPVS as [`Dataplane`]s,
//! an Envoy config_dump (with `/clusters` health when given) as a [`Mesh`].

use super::cluster::{Dataplane, EnvoyDecision, Mesh};
use crate::k8s::iptables::Ruleset;
use crate::k8s::walk::{Facts, Outcome, Verdict};
use crate::k8s::{ipvs, nft};
use crate::mesh::envoy::Address;
use crate::mesh::envoy::{
    ClustersText, ConfigDump, FilterChain, HcmRoutes, NetworkFilter, TcpTarget,
};
use crate::mesh::{ListenerMatch, RouteOutcome};
use crate::model::Candidate;
use std::net::SocketAddr;

/// iptables: the nat table decides (and the mangle table for TPROXY inbound, which the nat
/// walk does not see).
pub struct Iptables(pub Ruleset);

impl Dataplane for Iptables {
    fn mode(&self) -> &'static str {
        "iptables"
    }
    fn walk(&self, facts: &Facts) -> Vec<Outcome> {
        let nat = self.0.walk("nat", facts);
        let nat_does_nothing = nat.iter().all(|o| o.verdict == Verdict::Accept);
        if nat_does_nothing && self.0.table("mangle", None).is_some() {
            let mangle = self.0.walk("mangle", facts);
            if mangle
                .iter()
                .any(|o| matches!(o.verdict, Verdict::Tproxy { .. }))
            {
                return mangle;
            }
        }
        nat
    }
}

pub struct Nftables(pub nft::NftRuleset);

impl Dataplane for Nftables {
    fn mode(&self) -> &'static str {
        "nftables"
    }
    fn walk(&self, facts: &Facts) -> Vec<Outcome> {
        self.0.walk(facts)
    }
}

pub struct Ipvs(pub ipvs::Ipvs);

impl Dataplane for Ipvs {
    fn mode(&self) -> &'static str {
        "ipvs"
    }
    fn walk(&self, facts: &Facts) -> Vec<Outcome> {
        self.0.walk(facts)
    }
}

/// A pod's Envoy: its config_dump, and `/clusters` for endpoint health when present.
pub struct Envoy {
    pub dump: ConfigDump,
    pub clusters: Option<ClustersText>,
}

fn chain_label(m: &ListenerMatch<'_>) -> Vec<String> {
    let mut v = Vec::new();
    if let Some(by) = m.accepted_by {
        if by.name != m.listener.name {
            v.push(format!("listener {}", by.name));
        }
    }
    v.push(format!("listener {}", m.listener.name));
    let name = if m.filter_chain.name.is_empty() {
        match m.chain_index {
            Some(i) => format!("#{i}"),
            None => "default".into(),
        }
    } else {
        m.filter_chain.name.clone()
    };
    v.push(format!("filter-chain {name}"));
    v
}

fn hcm(chain: &FilterChain) -> Option<&HcmRoutes> {
    chain.filters.iter().find_map(|f| match f {
        NetworkFilter::HttpConnectionManager { routes, .. } => Some(routes),
        _ => None,
    })
}

fn tcp_clusters(chain: &FilterChain) -> Option<Vec<(String, f64)>> {
    chain.filters.iter().find_map(|f| match f {
        NetworkFilter::TcpProxy { target, .. } => match target {
            TcpTarget::Cluster(c) => Some(vec![(c.clone(), 1.0)]),
            TcpTarget::Weighted(ws) => {
                let total: u64 = ws.iter().map(|w| u64::from(w.weight)).sum();
                Some(
                    ws.iter()
                        .map(|w| {
                            let share = if total == 0 {
                                0.0
                            } else {
                                f64::from(w.weight) / total as f64
                            };
                            (w.name.clone(), share)
                        })
                        .collect(),
                )
            }
            TcpTarget::Missing => None,
        },
        _ => None,
    })
}

/// Clusters that use the original destination rather than endpoints of their own.
fn is_passthrough(name: &str) -> bool {
    name == "PassthroughCluster" || name.starts_with("InboundPassthroughCluster")
}

impl Envoy {
    fn decide(
        &self,
        m: Option<ListenerMatch<'_>>,
        host: Option<&str>,
        path: Option<&str>,
    ) -> Option<EnvoyDecision> {
        let m = m?;
        let mut d = EnvoyDecision {
            via: chain_label(&m),
            ..EnvoyDecision::default()
        };
        let clusters = match (hcm(m.filter_chain), host) {
            (Some(routes), Some(host)) => {
                let path = path.unwrap_or("/");
                let Some(r) = self.dump.route(routes, host, path, &[]) else {
                    d.via.push(format!("no route for Host {host}"));
                    return Some(d);
                };
                d.via.push(format!("route-config {}", r.route_config.name));
                d.via.push(format!("virtual-host {}", r.virtual_host.name));
                let rname = if r.route.name.is_empty() {
                    format!("#{}", r.route_index)
                } else {
                    r.route.name.clone()
                };
                d.via.push(format!("route {rname}"));
                match r.outcome {
                    RouteOutcome::Clusters(c) => c,
                    RouteOutcome::ClusterHeader { cluster, header } => match cluster {
                        Some(c) => vec![(c, 1.0)],
                        None => {
                            d.via.push(format!("cluster from header {header} (absent)"));
                            return Some(d);
                        }
                    },
                    other => {
                        d.via.push(format!("{other:?}"));
                        return Some(d);
                    }
                }
            }
            (Some(routes), None) => {
                // An HTTP chain without a request: name the route config and stop.
                d.needs_request = true;
                match routes {
                    HcmRoutes::Rds(n) => d.via.push(format!("route-config {n}")),
                    HcmRoutes::Inline(rc) => d.via.push(format!("route-config {}", rc.name)),
                    _ => {}
                }
                return Some(d);
            }
            (None, _) => tcp_clusters(m.filter_chain).unwrap_or_default(),
        };
        for (name, share) in &clusters {
            d.via.push(format!("cluster {name}"));
            if is_passthrough(name) {
                d.passthrough = true;
                continue;
            }
            let eps: Vec<_> = self
                .dump
                .endpoints(name, self.clusters.as_ref())
                .into_iter()
                .filter(|e| e.routable() && e.health_flags.iter().all(|f| f == "healthy"))
                .collect();
            let total: u64 = eps.iter().map(|e| u64::from(e.weight.max(1))).sum();
            for e in &eps {
                if let Address::Socket(addr) = e.address {
                    d.endpoints.push(Candidate {
                        addr,
                        probability: share * f64::from(e.weight.max(1)) / total.max(1) as f64,
                        via: name.clone(),
                    });
                }
            }
        }
        d.clusters = clusters;
        Some(d)
    }
}

impl Mesh for Envoy {
    fn outbound(
        &self,
        orig_dst: SocketAddr,
        host: Option<&str>,
        path: Option<&str>,
        sni: Option<&str>,
    ) -> Option<EnvoyDecision> {
        let (transport, alpn): (&str, &[&str]) = match sni {
            Some(_) => ("tls", &[]),
            None if host.is_some() => ("raw_buffer", &["http/1.1"]),
            None => ("raw_buffer", &[]),
        };
        self.decide(
            self.dump.outbound(orig_dst, sni, alpn, transport),
            host,
            path,
        )
    }

    fn inbound(
        &self,
        local: SocketAddr,
        host: Option<&str>,
        path: Option<&str>,
        tls_alpn: Option<&[String]>,
    ) -> Option<EnvoyDecision> {
        let (transport, alpn): (&str, Vec<&str>) = match tls_alpn {
            Some(offered) => ("tls", offered.iter().map(String::as_str).collect()),
            None if host.is_some() => ("raw_buffer", vec!["http/1.1"]),
            None => ("raw_buffer", Vec::new()),
        };
        self.decide(self.dump.inbound(local, None, &alpn, transport), host, path)
    }

    fn cluster_for_sni(&self, sni: &str) -> Option<String> {
        self.dump.cluster_for_sni(sni).map(|c| c.name.clone())
    }
}
