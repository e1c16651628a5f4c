//! `hopscope path`: where a connection to a destination would go, from the bundle alone (no
//! capture): every chain, rule, probability, listener, route, cluster and endpoint, in the
//! order the packet meets them.
//!
//! The walk follows the same views as the join: the client pod's own rules (Istio
//! interception) and its Envoy, the node's kube-proxy dataplane, then the destination pod's
//! interception and Envoy inbound. Where the config leaves a choice, every branch is listed
//! with its probability and the walk goes on for each.

use super::cluster::{Cluster, EnvoyDecision, PodView};
use crate::k8s::walk::{Facts, Hook, Outcome, Verdict};
use std::net::{IpAddr, SocketAddr};

/// One stage of the explanation: a title and its detail lines.
#[derive(Clone, Debug, PartialEq)]
pub struct Stage {
    pub title: String,
    pub lines: Vec<String>,
}

/// The request to explain.
pub struct Query<'a> {
    pub dest: SocketAddr,
    /// The client: a pod IP (its sidecar and rules apply) or an outside address.
    pub from: Option<IpAddr>,
    pub host: Option<&'a str>,
    pub path: Option<&'a str>,
}

/// Resolves `ns/svc:port` (a port number or name) to its ClusterIP frontend.
pub fn service_frontend(cluster: &Cluster, spec: &str) -> Option<SocketAddr> {
    let (svc, port) = spec.rsplit_once(':')?;
    let want_number: Option<u16> = port.parse().ok();
    let mut found: Vec<(SocketAddr, &str)> = cluster
        .frontends
        .iter()
        .filter(|(_, f)| f.kind == "cluster IP")
        .filter(|(_, f)| f.service == svc || f.service.starts_with(&format!("{svc}:")))
        .map(|(a, f)| (*a, f.service.as_str()))
        .collect();
    found.sort();
    found
        .iter()
        .find(|(a, spn)| match want_number {
            Some(n) => a.port() == n,
            None => spn.rsplit_once(':').map(|(_, name)| name) == Some(port),
        })
        .map(|(a, _)| *a)
}

pub fn explain(cluster: &Cluster, q: &Query<'_>) -> Vec<Stage> {
    let mut stages = Vec::new();
    let client_pod = q.from.and_then(|ip| cluster.pod_by_ip(ip));
    let client = SocketAddr::new(
        q.from
            .unwrap_or(IpAddr::V4(std::net::Ipv4Addr::new(192, 0, 2, 1))),
        40000,
    );
    let mut title = format!("to {}", cluster.describe(q.dest));
    if let Some(f) = cluster.frontend(q.dest) {
        title.push_str(&format!(" = {} {}", f.kind, f.service));
    }
    match q.from {
        Some(ip) => title.push_str(&format!(
            " from {}",
            cluster.describe(SocketAddr::new(ip, 0))
        )),
        None => title.push_str(" from outside the cluster (no --from)"),
    }
    stages.push(Stage {
        title,
        lines: Vec::new(),
    });
    let mut targets = vec![(q.dest, 1.0)];
    if let Some(pod) = client_pod.filter(|p| p.sidecar) {
        let (stage, next) = outbound(pod, client, q);
        stages.push(stage);
        targets = next;
    }
    let mut after_kube = Vec::new();
    for (t, p) in targets {
        if cluster.frontend(t).is_some() {
            let (stage, next) = kube(cluster, client, t, q.from.is_some());
            stages.push(stage);
            after_kube.extend(next.into_iter().map(|(a, q2)| (a, p * q2)));
        } else {
            after_kube.push((t, p));
        }
    }
    for (t, p) in after_kube {
        let Some(pod) = cluster.pod_by_ip(t.ip()) else {
            stages.push(Stage {
                title: format!("{} {}: not a pod of the bundle", pct(p), t),
                lines: Vec::new(),
            });
            continue;
        };
        stages.push(inbound(pod, client, t, p, q));
    }
    stages
}

fn pct(p: f64) -> String {
    format!("{:>5.1}%", p * 100.0)
}

fn rule_lines(o: &Outcome) -> Vec<String> {
    o.steps
        .iter()
        .map(|s| format!("{} line {}: {}", s.chain, s.line, s.rule))
        .collect()
}

fn verdict(v: &Verdict) -> String {
    match v {
        Verdict::Dnat { addr, port } => match port {
            Some(p) => format!("DNAT {}", SocketAddr::new(*addr, *p)),
            None => format!("DNAT {addr}"),
        },
        Verdict::Redirect { port } => format!("REDIRECT :{port}"),
        Verdict::Tproxy { port, .. } => format!("TPROXY :{port}"),
        Verdict::Accept => "ACCEPT (no NAT)".into(),
        Verdict::Drop => "DROP".into(),
        Verdict::Reject => "REJECT".into(),
    }
}

fn decision_lines(d: &EnvoyDecision) -> Vec<String> {
    let mut v: Vec<String> = d.via.iter().map(|s| format!("  {s}")).collect();
    for (c, share) in &d.clusters {
        v.push(format!("  cluster {c} {}", pct(*share)));
    }
    for e in &d.endpoints {
        v.push(format!(
            "  endpoint {} {} ({})",
            e.addr,
            pct(e.probability),
            e.via
        ));
    }
    if d.passthrough {
        v.push("  passthrough: connects to the original destination".into());
    }
    v
}

/// The client pod's interception and its Envoy's outbound decision.
fn outbound(pod: &PodView, client: SocketAddr, q: &Query<'_>) -> (Stage, Vec<(SocketAddr, f64)>) {
    let mut lines = Vec::new();
    if let Some(rules) = pod.rules.as_deref() {
        let mut facts = Facts::tcp_in(client, q.dest);
        facts.hook = Hook::Output;
        for o in rules.walk(&facts) {
            lines.push(format!("{} {}", pct(o.probability), verdict(&o.verdict)));
            lines.extend(rule_lines(&o).into_iter().map(|l| format!("  {l}")));
        }
    } else {
        lines.push("no iptables-save of the pod in the bundle: REDIRECT to 15001 assumed".into());
    }
    let title = format!("pod {}/{}: sidecar outbound", pod.namespace, pod.name);
    let Some(mesh) = pod.mesh.as_deref() else {
        lines.push("no Envoy config_dump: the destination is taken as is".into());
        return (Stage { title, lines }, vec![(q.dest, 1.0)]);
    };
    match mesh.outbound(q.dest, q.host, q.path, None) {
        Some(d) => {
            lines.push("envoy:".into());
            lines.extend(decision_lines(&d));
            let next = if d.passthrough || d.endpoints.is_empty() {
                vec![(q.dest, 1.0)]
            } else {
                d.endpoints
                    .iter()
                    .map(|e| (e.addr, e.probability))
                    .collect()
            };
            (Stage { title, lines }, next)
        }
        None => {
            lines.push("envoy: no listener matches".into());
            (Stage { title, lines }, vec![(q.dest, 1.0)])
        }
    }
}

/// kube-proxy on the node.
fn kube(
    cluster: &Cluster,
    client: SocketAddr,
    frontend: SocketAddr,
    from_pod: bool,
) -> (Stage, Vec<(SocketAddr, f64)>) {
    let Some(node) = cluster.nodes.iter().find(|n| n.dataplane.is_some()) else {
        let title = format!("kube-proxy for {frontend}: no node rules in the bundle");
        return (
            Stage {
                title,
                lines: Vec::new(),
            },
            Vec::new(),
        );
    };
    let plane = node.dataplane.as_deref().expect("filtered above");
    let mut facts = Facts::tcp_in(client, frontend);
    facts.dst_local = node.addresses.contains(&frontend.ip());
    if !from_pod && facts.dst_local {
        // An outside client reaching a NodePort arrives from the uplink.
        facts.in_iface = None;
    }
    let mut lines = Vec::new();
    let mut next = Vec::new();
    for o in plane.walk(&facts) {
        let mut l = format!("{} {}", pct(o.probability), verdict(&o.verdict));
        if o.masquerade {
            l.push_str(", masquerade");
        }
        if let Some(a) = &o.affinity {
            l.push_str(&format!(", affinity {} ({} s)", a.name, a.timeout_secs));
        }
        lines.push(l);
        lines.extend(rule_lines(&o).into_iter().map(|l| format!("  {l}")));
        if let Verdict::Dnat { addr, port } = o.verdict {
            next.push((
                SocketAddr::new(addr, port.unwrap_or(frontend.port())),
                o.probability,
            ));
        }
    }
    let title = format!("node {}: kube-proxy ({})", node.name, plane.mode());
    (Stage { title, lines }, next)
}

/// The destination pod's interception and Envoy inbound.
fn inbound(pod: &PodView, client: SocketAddr, to: SocketAddr, p: f64, q: &Query<'_>) -> Stage {
    let mut lines = Vec::new();
    let title = format!("{} pod {}/{} at {to}", pct(p), pod.namespace, pod.name);
    if !pod.sidecar {
        lines.push("no sidecar: delivered to the app".into());
        return Stage { title, lines };
    }
    if let Some(rules) = pod.rules.as_deref() {
        for o in rules.walk(&Facts::tcp_in(client, to)) {
            lines.push(format!("{} {}", pct(o.probability), verdict(&o.verdict)));
            lines.extend(rule_lines(&o).into_iter().map(|l| format!("  {l}")));
        }
    }
    match pod
        .mesh
        .as_deref()
        .and_then(|m| m.inbound(to, q.host, q.path, None))
    {
        Some(d) => {
            lines.push("envoy inbound:".into());
            lines.extend(decision_lines(&d));
        }
        None => lines.push("envoy inbound: no config_dump or no matching listener".into()),
    }
    lines.push(format!("app at {to} (from 127.0.0.6)"));
    Stage { title, lines }
}
