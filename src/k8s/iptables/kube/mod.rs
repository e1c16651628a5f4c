//! kube-proxy's iptables-mode view of a dump: per service port (one `<H>` hash), its
//! frontends (ClusterIP, NodePort, external and load-balancer IPs), its endpoints with their
//! dispatch probabilities, session affinity, eTP=Local, source ranges and masquerade rules;
//! plus the chain-name hashes (domain.md §1.3) to tell a stale snapshot.
//!
//! It reads the chain structure, never the comments, for anything but the service name:
//! kube-proxy drops comments above 1000 endpoints (proxier.go `largeClusterEndpointsThreshold`).
//! Layouts followed: the v1.24+ `KUBE-EXT`/`KUBE-SVL` reorg (kubernetes#109060), older
//! `KUBE-XLB`/`KUBE-FW` and NodePort-to-`KUBE-SVC` rules (domain.md §1.5). The userspace
//! proxy's `KUBE-PORTALS-*` chains (≤ v1.2) are out of scope and yield nothing.
//!
//! For a single packet's answer use [`Ruleset::walk`](super::Ruleset::walk); this view is the
//! index the join builds (endpoint IP → service, VIP → service).

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};

use super::walk::snap_probability;
use super::{Cidr, MatchKind, RecentOp, Rule, Ruleset, Table, Target};
use crate::k8s::walk::Proto;

mod hash;
pub use hash::{check, sep_chain_hash, svc_chain_hash};

/// The chain prefixes that carry a service port's hash.
pub const SERVICE_CHAIN_PREFIXES: [&str; 5] = [
    "KUBE-SVC-",
    "KUBE-SVL-",
    "KUBE-EXT-",
    "KUBE-FW-",
    "KUBE-XLB-",
];

/// How a frontend reaches the service.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FrontendKind {
    ClusterIp,
    NodePort,
    ExternalIp,
    LoadBalancer,
    /// An external or load-balancer IP (`-j KUBE-EXT-…` with no comment to tell which).
    External,
}

/// One `-d VIP --dport P` (or `--dport NODEPORT`) rule leading into a service's chains.
#[derive(Clone, Debug, PartialEq)]
pub struct Frontend {
    pub kind: FrontendKind,
    /// The VIP; None for NodePorts (any local address).
    pub addr: Option<IpAddr>,
    pub port: u16,
    pub proto: Option<Proto>,
    /// The chain it jumps to (`KUBE-SVC-…`, `KUBE-EXT-…`, `KUBE-FW-…`).
    pub chain: String,
    pub line: usize,
    /// The service port name from the rule's comment, when there is one.
    pub name: Option<String>,
}

/// A `KUBE-SEP-<E>` chain reached from a service chain.
#[derive(Clone, Debug, PartialEq)]
pub struct KubeEndpoint {
    pub chain: String,
    pub addr: IpAddr,
    pub port: Option<u16>,
    /// Marginal probability of this endpoint for traffic without affinity (1/k each).
    pub probability: f64,
    /// Line of the SEP's DNAT rule.
    pub line: usize,
}

/// Everything kube-proxy built for one service port (one hash `<H>`).
#[derive(Clone, Debug, PartialEq, Default)]
pub struct KubeSvcChain {
    pub hash: String,
    /// `ns/svc:port` (or `ns/svc`, or pre-1.19 `ns/svc:`) from comments, when present.
    pub name: Option<String>,
    pub proto: Option<Proto>,
    /// The chains with this hash that exist (`KUBE-SVC-H`, `KUBE-EXT-H`, …).
    pub chains: Vec<String>,
    pub frontends: Vec<Frontend>,
    /// Cluster-wide dispatch (`KUBE-SVC-H`), in rule order.
    pub endpoints: Vec<KubeEndpoint>,
    /// Node-local dispatch (`KUBE-SVL-H`, or the older `KUBE-XLB-H`).
    pub local_endpoints: Vec<KubeEndpoint>,
    /// ClientIP affinity timeout (`-m recent --rcheck --seconds S`).
    pub affinity_secs: Option<u32>,
    /// eTP=Local: the external chain dispatches to node-local endpoints.
    pub external_local: bool,
    /// `loadBalancerSourceRanges` (`-s CIDR` rules of `KUBE-FW-H`).
    pub source_ranges: Vec<Cidr>,
    /// `! -s CLUSTER_CIDR … -j KUBE-MARK-MASQ` in `KUBE-SVC-H`: off-cluster sources are SNATed.
    pub masquerade_unless_from: Option<Cidr>,
    /// `KUBE-EXT-H` marks all external traffic for masquerade (eTP=Cluster).
    pub external_masquerade: bool,
}

/// The kube-proxy view of a whole dump.
#[derive(Clone, Debug, PartialEq, Default)]
pub struct KubeProxyView {
    /// Service ports in order of their first chain.
    pub services: Vec<KubeSvcChain>,
    /// Frontends that filter `REJECT`s or `DROP`s (services with no (local) endpoints, and
    /// traffic refused by `KUBE-PROXY-FIREWALL`).
    pub refused: Vec<Frontend>,
    /// The masquerade mark `KUBE-MARK-MASQ` sets (0 without that chain).
    pub masquerade_mark: u32,
}

/// A chain whose name does not hash from the service (and endpoint) it serves.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HashMismatch {
    pub chain: String,
    pub name: String,
    /// The name kube-proxy would use now.
    pub expected: String,
}

/// The `<H>` of a chain name with one of [`SERVICE_CHAIN_PREFIXES`].
pub fn service_hash(chain: &str) -> Option<&str> {
    SERVICE_CHAIN_PREFIXES
        .iter()
        .find_map(|p| chain.strip_prefix(p))
        .filter(|h| is_hash(h))
}

fn is_hash(h: &str) -> bool {
    h.len() == 16
        && h.bytes()
            .all(|b| b.is_ascii_uppercase() || (b'2'..=b'7').contains(&b))
}

/// The service port name a kube-proxy comment names, in any of its forms
/// (`ns/svc:p cluster IP`, `ns/svc:p -> 10.0.0.1:80`, `masquerade traffic for ns/svc:p
/// external destinations`, `ns/svc:p has no endpoints`, pre-1.19 `ns/svc: cluster IP`).
pub fn comment_service_name(comment: &str) -> Option<&str> {
    const PREFIXES: [&str; 6] = [
        "masquerade LOCAL traffic for ",
        "masquerade traffic for ",
        "route LOCAL traffic for ",
        "pod traffic for ",
        "other traffic to ",
        "portal for ",
    ];
    let c = comment.trim();
    let rest = PREFIXES.iter().find_map(|p| c.strip_prefix(p)).unwrap_or(c);
    let rest = match rest.strip_prefix("Balancing rule ") {
        Some(r) => r.split_once(" for ").map(|(_, n)| n)?,
        None => rest,
    };
    let word = rest.split_whitespace().next()?;
    let (ns, svc) = word.split_once('/')?;
    (!ns.is_empty() && !svc.is_empty() && !svc.starts_with(':')).then_some(word)
}

fn proto_name(p: Proto) -> &'static str {
    match p {
        Proto::Tcp => "tcp",
        Proto::Udp => "udp",
        Proto::Sctp => "sctp",
    }
}

fn rule_proto(r: &Rule) -> Option<Proto> {
    r.find(|k| match k {
        MatchKind::Protocol(p) => match p.as_str() {
            "tcp" | "6" => Some(Proto::Tcp),
            "udp" | "17" => Some(Proto::Udp),
            "sctp" | "132" => Some(Proto::Sctp),
            _ => None,
        },
        _ => None,
    })
}

fn rule_dport(r: &Rule) -> Option<u16> {
    r.find(|k| match k {
        MatchKind::DPort(p) => p.single(),
        _ => None,
    })
}

fn rule_dst(r: &Rule) -> Option<IpAddr> {
    r.find(|k| match k {
        MatchKind::Destination(c) if c.prefix == if c.addr.is_ipv4() { 32 } else { 128 } => {
            Some(c.addr)
        }
        _ => None,
    })
}

fn frontend(r: &Rule, kind: FrontendKind, chain: &str) -> Option<Frontend> {
    let kind = match r.comment() {
        Some(c) if c.ends_with(" external IP") => FrontendKind::ExternalIp,
        Some(c) if c.ends_with(" loadbalancer IP") => FrontendKind::LoadBalancer,
        Some(c) if c.ends_with(" cluster IP") => FrontendKind::ClusterIp,
        _ => kind,
    };
    Some(Frontend {
        kind,
        addr: rule_dst(r),
        port: rule_dport(r)?,
        proto: rule_proto(r),
        chain: chain.to_string(),
        line: r.line,
        name: r
            .comment()
            .and_then(comment_service_name)
            .map(str::to_string),
    })
}

impl KubeProxyView {
    /// Builds the view from the first `nat` table (and the `filter` table for refusals).
    pub fn from_ruleset(rs: &Ruleset) -> KubeProxyView {
        let mut view = KubeProxyView {
            masquerade_mark: rs.masquerade_bit(),
            ..KubeProxyView::default()
        };
        if let Some(filter) = rs.table("filter", None) {
            for name in [
                "KUBE-SERVICES",
                "KUBE-EXTERNAL-SERVICES",
                "KUBE-PROXY-FIREWALL",
            ] {
                for r in filter
                    .chain(name)
                    .map(|c| c.rules.as_slice())
                    .unwrap_or(&[])
                {
                    let target = match r.target {
                        Some(Target::Reject { .. }) => "REJECT",
                        Some(Target::Drop) => "DROP",
                        _ => continue,
                    };
                    let kind = if rule_dst(r).is_some() {
                        FrontendKind::ClusterIp
                    } else {
                        FrontendKind::NodePort
                    };
                    view.refused.extend(frontend(r, kind, target));
                }
            }
        }
        let Some(nat) = rs.table("nat", None) else {
            return view;
        };
        let mut index: HashMap<String, usize> = HashMap::new();
        for c in &nat.chains {
            if let Some(h) = service_hash(&c.name) {
                let i = *index.entry(h.to_string()).or_insert_with(|| {
                    view.services.push(KubeSvcChain {
                        hash: h.to_string(),
                        ..KubeSvcChain::default()
                    });
                    view.services.len() - 1
                });
                view.services[i].chains.push(c.name.clone());
            }
        }
        for (chain, kind) in [
            ("KUBE-SERVICES", FrontendKind::ClusterIp),
            ("KUBE-NODEPORTS", FrontendKind::NodePort),
        ] {
            for r in nat.chain(chain).map(|c| c.rules.as_slice()).unwrap_or(&[]) {
                let Some(target) = r.jump() else { continue };
                let Some(&i) = service_hash(target).and_then(|h| index.get(h)) else {
                    continue;
                };
                let default_kind = match (kind, target.get(..8).unwrap_or("")) {
                    (FrontendKind::NodePort, _) => FrontendKind::NodePort,
                    (_, "KUBE-FW-") => FrontendKind::LoadBalancer,
                    (_, "KUBE-EXT" | "KUBE-XLB") => FrontendKind::External,
                    _ => FrontendKind::ClusterIp,
                };
                let mut fe = frontend(r, default_kind, target);
                if let (Some(f), FrontendKind::NodePort) = (&mut fe, kind) {
                    f.kind = FrontendKind::NodePort;
                    f.addr = None;
                }
                view.services[i].frontends.extend(fe);
            }
        }
        for s in &mut view.services {
            fill_service(nat, s);
        }
        view
    }

    /// Service and endpoint chains whose names do not hash from their comment's service name
    /// (a snapshot older than the rules, or edited rules). Services without a name or
    /// protocol cannot be checked and are skipped.
    pub fn check(&self) -> Vec<HashMismatch> {
        let mut out = Vec::new();
        for s in &self.services {
            let (Some(name), Some(proto)) = (&s.name, s.proto) else {
                continue;
            };
            let proto = proto_name(proto);
            for c in &s.chains {
                if !check(c, name, proto, None) {
                    let prefix = c.len().saturating_sub(16);
                    out.push(HashMismatch {
                        chain: c.clone(),
                        name: name.clone(),
                        expected: format!(
                            "{}{}",
                            c.get(..prefix).unwrap_or(""),
                            svc_chain_hash(name, proto)
                        ),
                    });
                }
            }
            for e in s.endpoints.iter().chain(&s.local_endpoints) {
                let Some(port) = e.port else { continue };
                let ep = SocketAddr::new(e.addr, port).to_string();
                if !check(&e.chain, name, proto, Some(&ep)) {
                    out.push(HashMismatch {
                        chain: e.chain.clone(),
                        name: name.clone(),
                        expected: format!("KUBE-SEP-{}", sep_chain_hash(name, proto, &ep)),
                    });
                }
            }
        }
        out.dedup();
        out
    }
}

/// The endpoint a `KUBE-SEP-E` chain DNATs to, with its rule.
fn sep_endpoint<'a>(nat: &'a Table, sep: &str) -> Option<(IpAddr, Option<u16>, &'a Rule)> {
    nat.chain(sep)?.rules.iter().find_map(|r| match r.target {
        Some(Target::Dnat {
            addr: Some(a),
            port,
        }) => Some((a, port, r)),
        _ => None,
    })
}

/// Endpoints a dispatch chain (SVC/SVL/XLB) jumps to, with marginal probabilities.
fn dispatch(nat: &Table, chain: &str, s: &mut KubeSvcChain) -> Vec<KubeEndpoint> {
    let mut out = Vec::new();
    let mut remaining = 1.0;
    for r in nat.chain(chain).map(|c| c.rules.as_slice()).unwrap_or(&[]) {
        let Some(target) = r.jump() else { continue };
        if target == "KUBE-MARK-MASQ" {
            if let Some(m) = r
                .matches
                .iter()
                .find(|m| m.negated && matches!(m.kind, MatchKind::Source(_)))
            {
                if let MatchKind::Source(c) = m.kind {
                    s.masquerade_unless_from = Some(c);
                }
            }
            continue;
        }
        if !target.starts_with("KUBE-SEP-") {
            continue;
        }
        let affinity = r.matches.iter().find_map(|m| match &m.kind {
            MatchKind::Recent(rc) if rc.op != RecentOp::Set => Some(rc.seconds),
            _ => None,
        });
        if let Some(secs) = affinity {
            s.affinity_secs = s.affinity_secs.or(secs);
            continue; // an affinity rule, not a dispatch step
        }
        let p = r
            .matches
            .iter()
            .find_map(|m| match m.kind {
                MatchKind::Statistic(super::Statistic::Random { probability }) => {
                    Some(snap_probability(probability))
                }
                MatchKind::Statistic(super::Statistic::Nth { every, .. }) => {
                    Some(1.0 / f64::from(every.max(1)))
                }
                _ => None,
            })
            .unwrap_or(1.0);
        let here = remaining * p;
        remaining *= 1.0 - p;
        if s.proto.is_none() {
            s.proto = rule_proto(r);
        }
        if let Some((addr, port, dnat)) = sep_endpoint(nat, target) {
            if s.proto.is_none() {
                s.proto = rule_proto(dnat);
            }
            out.push(KubeEndpoint {
                chain: target.to_string(),
                addr,
                port,
                probability: (here * 1e12).round() / 1e12,
                line: dnat.line,
            });
        }
        if remaining <= 0.0 {
            break;
        }
    }
    out
}

fn fill_service(nat: &Table, s: &mut KubeSvcChain) {
    let h = s.hash.clone();
    s.proto = s.frontends.iter().find_map(|f| f.proto);
    s.endpoints = dispatch(nat, &format!("KUBE-SVC-{h}"), s);
    let mut local = dispatch(nat, &format!("KUBE-SVL-{h}"), s);
    local.extend(dispatch(nat, &format!("KUBE-XLB-{h}"), s));
    s.local_endpoints = local;
    for prefix in ["KUBE-EXT-", "KUBE-XLB-"] {
        for r in nat
            .chain(&format!("{prefix}{h}"))
            .map(|c| c.rules.as_slice())
            .unwrap_or(&[])
        {
            match r.jump() {
                Some(t) if t == format!("KUBE-SVL-{h}") => s.external_local = true,
                Some(t) if t.starts_with("KUBE-SEP-") && prefix == "KUBE-XLB-" => {
                    s.external_local = true
                }
                Some("KUBE-MARK-MASQ")
                    if r.matches
                        .iter()
                        .all(|m| matches!(m.kind, MatchKind::Comment(_))) =>
                {
                    s.external_masquerade = true
                }
                _ => {}
            }
        }
    }
    for r in nat
        .chain(&format!("KUBE-FW-{h}"))
        .map(|c| c.rules.as_slice())
        .unwrap_or(&[])
    {
        if r.jump().and_then(service_hash) == Some(h.as_str()) {
            if let Some(c) = r.find(|k| match k {
                MatchKind::Source(c) => Some(*c),
                _ => None,
            }) {
                s.source_ranges.push(c);
            }
        }
    }
    let chains: Vec<&Rule> = s
        .chains
        .iter()
        .filter_map(|c| nat.chain(c))
        .flat_map(|c| &c.rules)
        .collect();
    s.name = s
        .frontends
        .iter()
        .find_map(|f| f.name.clone())
        .or_else(|| {
            chains
                .iter()
                .find_map(|r| r.comment().and_then(comment_service_name))
                .map(str::to_string)
        })
        .or_else(|| {
            s.endpoints.iter().chain(&s.local_endpoints).find_map(|e| {
                nat.chain(&e.chain)?
                    .rules
                    .iter()
                    .find_map(|r| r.comment().and_then(comment_service_name))
                    .map(str::to_string)
            })
        });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn comment_names() {
        for (c, n) in [
            ("ns1/svc1:p80 cluster IP", Some("ns1/svc1:p80")),
            ("ns4/svc4:p80 -> 10.180.0.4:80", Some("ns4/svc4:p80")),
            (
                "masquerade traffic for ns4/svc4:p80 external destinations",
                Some("ns4/svc4:p80"),
            ),
            (
                "pod traffic for ns2/svc2:p80 external destinations",
                Some("ns2/svc2:p80"),
            ),
            (
                "other traffic to ns5/svc5:p80 will be dropped by KUBE-PROXY-FIREWALL",
                Some("ns5/svc5:p80"),
            ),
            ("default/nginx: cluster IP", Some("default/nginx:")),
            ("Balancing rule 0 for ns/svc:http", Some("ns/svc:http")),
            (
                "kubernetes service nodeports; NOTE: this must be the last rule in this chain",
                None,
            ),
            ("", None),
        ] {
            assert_eq!(comment_service_name(c), n, "{c}");
        }
    }
}
