//! kube-proxy's view of an nftables ruleset: service ports with their frontends (ClusterIP,
//! external/LB IPs, NodePorts) and endpoints, and the chain-name hash kube-proxy uses.
//!
//! Follows pkg/proxy/nftables/proxier.go: `service-ips` maps `ip . proto . port` and
//! `service-nodeports` maps `proto . port` to `goto service-H-ns/svc/proto/port` (cluster) or
//! `goto external-H-…`; the service chain's `numgen random mod N vmap` names the
//! `endpoint-H-…__ip/port` chains, each ending in `dnat to ip:port`; affinity is an
//! `affinity-…` set with a timeout. Chain names are `servicePortChainNameBase` /
//! `servicePortEndpointChainNameBase`: base32(sha256(n))[0:8] + "-" + n.
//!
//! It does not walk: [`super::NftRuleset::walk`] answers for given facts. This is the index the
//! join builds once (which service owns a frontend, what its endpoints are).

use std::net::IpAddr;

use super::{ElemData, NftRuleset, NftTable, NftVerdict, Stmt, Value, VmapRef};
use crate::k8s::walk::Proto;

/// `B32(sha256(n))[0:8] + "-" + n`: the base of kube-proxy's per-service and per-endpoint
/// chain names (`service-`, `external-`, `local-`, `firewall-`, `endpoint-`, `affinity-`).
pub fn chain_name_base(n: &str) -> String {
    format!("{}-{n}", crate::k8s::chain_hash::sha256_base32(n, 8))
}

/// `ns/svc/proto/portName` as kube-proxy spells it (`tcp`, `udp`, `sctp`).
pub fn service_port_name(ns: &str, svc: &str, proto: Proto, port_name: &str) -> String {
    let p = match proto {
        Proto::Tcp => "tcp",
        Proto::Udp => "udp",
        Proto::Sctp => "sctp",
    };
    format!("{ns}/{svc}/{p}/{port_name}")
}

/// `n + "__" + ip (':' → '.') + "/" + port`.
pub fn endpoint_name(service_port: &str, ip: IpAddr, port: u16) -> String {
    format!(
        "{service_port}__{}/{port}",
        ip.to_string().replace(':', ".")
    )
}

/// The IP and port at the end of an `endpoint-…__IP/PORT` chain name. IPv6 addresses have
/// `.` for `:`; an address with more than three dots or an empty group is read as IPv6.
pub fn endpoint_of_chain(chain: &str) -> Option<(IpAddr, u16)> {
    let (_, tail) = chain.rsplit_once("__")?;
    let (ip, port) = tail.rsplit_once('/')?;
    let port = port.parse().ok()?;
    if let Ok(a) = ip.parse::<IpAddr>() {
        return Some((a, port));
    }
    ip.replace('.', ":").parse().ok().map(|a| (a, port))
}

/// How traffic reaches a service port.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum FrontendKind {
    /// `service-ips` element going to `service-…`: a ClusterIP.
    ClusterIp,
    /// `service-ips` element going to `external-…`: an external or LoadBalancer IP.
    ExternalIp,
    /// `service-nodeports` element.
    NodePort,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Frontend {
    pub kind: FrontendKind,
    /// None for a NodePort (any node address).
    pub addr: Option<IpAddr>,
    pub proto: String,
    pub port: u16,
    /// The chain the map element goes to.
    pub target: String,
}

#[derive(Clone, Debug, PartialEq)]
pub struct KubeEndpoint {
    pub chain: String,
    /// From the chain's `dnat to` (else from its name).
    pub addr: IpAddr,
    pub port: u16,
    /// 1/N of the service chain's `numgen`.
    pub share: f64,
    /// The `dnat to` agrees with the IP/port encoded after `__` in the chain name.
    pub name_agrees: bool,
}

/// One service port (`ns/svc/proto/portName`) and how kube-proxy wired it.
#[derive(Clone, Debug, PartialEq)]
pub struct KubeServicePort {
    /// `ns/svc/proto/portName`.
    pub name: String,
    /// `service-H-…`.
    pub chain: String,
    pub frontends: Vec<Frontend>,
    pub endpoints: Vec<KubeEndpoint>,
    pub external_chain: Option<String>,
    pub local_chain: Option<String>,
    pub firewall_chain: Option<String>,
    /// `timeout` of the service's `affinity-…` sets (sessionAffinity ClientIP).
    pub affinity_timeout_secs: Option<u32>,
}

/// The name part after `PREFIX-HHHHHHHH-`.
fn strip(chain: &str, prefix: &str) -> Option<String> {
    let rest = chain.strip_prefix(prefix)?.strip_prefix('-')?;
    let (hash, name) = rest.split_once('-')?;
    (hash.len() == 8).then(|| name.to_string())
}

fn frontends(t: &NftTable, map: &str, kind_of: impl Fn(&str) -> FrontendKind) -> Vec<Frontend> {
    let Some(s) = t.set(map) else {
        return Vec::new();
    };
    s.elements
        .iter()
        .filter_map(|e| {
            let Some(ElemData::Verdict(NftVerdict::Goto(c) | NftVerdict::Jump(c))) = &e.data else {
                return None;
            };
            let (addr, proto, port) = match e.key.as_slice() {
                [Value::Addr(a), Value::Word(p), Value::Int(n)] => (Some(*a), p, n),
                [Value::Word(p), Value::Int(n)] => (None, p, n),
                _ => return None,
            };
            Some(Frontend {
                kind: kind_of(c),
                addr,
                proto: proto.clone(),
                port: u16::try_from(*port).ok()?,
                target: c.clone(),
            })
        })
        .collect()
}

/// Service ports of the `kube-proxy` table (`ip`, then `ip6`), in chain order.
pub fn kube_services(rs: &NftRuleset) -> Vec<KubeServicePort> {
    let mut out = Vec::new();
    for t in rs.tables.iter().filter(|t| t.name == "kube-proxy") {
        let mut fronts = frontends(t, "service-ips", |c| {
            if c.starts_with("external-") {
                FrontendKind::ExternalIp
            } else {
                FrontendKind::ClusterIp
            }
        });
        fronts.extend(frontends(t, "service-nodeports", |_| {
            FrontendKind::NodePort
        }));
        for c in &t.chains {
            let Some(name) = strip(&c.name, "service") else {
                continue;
            };
            let other = |prefix: &str| {
                t.chains
                    .iter()
                    .find(|x| strip(&x.name, prefix).as_deref() == Some(&name))
                    .map(|x| x.name.clone())
            };
            let external_chain = other("external");
            let local_chain = other("local");
            let firewall_chain = other("firewall");
            let mine = |target: &str| {
                Some(target) == Some(c.name.as_str())
                    || external_chain.as_deref() == Some(target)
                    || local_chain.as_deref() == Some(target)
            };
            let endpoints = endpoints(t, &c.rules);
            let affinity_timeout_secs = t
                .sets
                .iter()
                .filter(|s| {
                    strip(&s.name, "affinity").is_some_and(|n| n.starts_with(&format!("{name}__")))
                })
                .find_map(|s| s.timeout_secs);
            out.push(KubeServicePort {
                frontends: fronts.iter().filter(|f| mine(&f.target)).cloned().collect(),
                endpoints,
                chain: c.name.clone(),
                name,
                external_chain,
                local_chain,
                firewall_chain,
                affinity_timeout_secs,
            });
        }
    }
    out
}

fn endpoints(t: &NftTable, rules: &[super::NftRule]) -> Vec<KubeEndpoint> {
    let mut chains = Vec::new();
    for r in rules {
        for s in &r.stmts {
            if let Stmt::Vmap {
                map: VmapRef::Inline(els),
                ..
            } = s
            {
                for e in els {
                    if let Some(ElemData::Verdict(NftVerdict::Goto(c) | NftVerdict::Jump(c))) =
                        &e.data
                    {
                        chains.push(c.clone());
                    }
                }
            }
        }
    }
    let share = if chains.is_empty() {
        0.0
    } else {
        1.0 / chains.len() as f64
    };
    chains
        .into_iter()
        .filter_map(|c| {
            let named = endpoint_of_chain(&c);
            let dnat = t.chain(&c).and_then(|ch| {
                ch.rules
                    .iter()
                    .flat_map(|r| &r.stmts)
                    .find_map(|s| match s {
                        Stmt::Dnat {
                            addr: Some(a),
                            port: Some(p),
                        } => Some((*a, *p)),
                        _ => None,
                    })
            });
            let (addr, port) = dnat.or(named)?;
            Some(KubeEndpoint {
                name_agrees: named == Some((addr, port)),
                chain: c,
                addr,
                port,
                share,
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chain_hash_matches_the_verified_vectors() {
        // domain.md 2.2: verified against a real dump and kube-proxy's test comment.
        assert_eq!(
            chain_name_base("default/kubernetes/tcp/https"),
            "2QRHZV4L-default/kubernetes/tcp/https"
        );
        let ep = endpoint_name(
            "default/kubernetes/tcp/https",
            "10.128.0.16".parse().unwrap(),
            6443,
        );
        assert!(chain_name_base(&ep).starts_with("573J25N3-"));
        assert!(chain_name_base("ns1/svc1/tcp/p80__10.180.0.1/80").starts_with("5OJB2KTY-"));
        assert_eq!(
            service_port_name("ns1", "svc1", Proto::Tcp, "p80"),
            "ns1/svc1/tcp/p80"
        );
    }

    #[test]
    fn endpoint_names_round_trip_v4_and_v6() {
        let v6: IpAddr = "fd00::10:1".parse().unwrap();
        let n = endpoint_name("ns/s/tcp/", v6, 8080);
        assert_eq!(n, "ns/s/tcp/__fd00..10.1/8080");
        assert_eq!(
            endpoint_of_chain(&format!("endpoint-AAAAAAAA-{n}")),
            Some((v6, 8080))
        );
        assert_eq!(
            endpoint_of_chain("endpoint-5OJB2KTY-ns1/svc1/tcp/p80__10.180.0.1/80"),
            Some(("10.180.0.1".parse().unwrap(), 80))
        );
        assert_eq!(endpoint_of_chain("service-X-ns/s/tcp/p"), None);
    }
}
