//! Resolving the hops of one leg (domain.md 7.5 and 7.6), strongest evidence first:
//! observed (a twin view of the connection after the NAT, or the packets themselves),
//! conntrack (the entry in the netns that did the NAT), then the rules (a walk that leaves
//! one endpoint is config-exact, several are weighted candidates). What is missing is said
//! in the hop's note, never filled in.

use super::classify::{LegClass, PointKind};
use super::cluster::{Cluster, EnvoyDecision, NatEntry, PodView};
use crate::k8s::walk::{Facts, Hook, Outcome, Verdict};
use crate::model::{Candidate, Connection, Evidence, Hop, HopKind, Path};
use std::net::SocketAddr;

/// Probabilities closer than this to 1 are certain (iptables stores them in 2^-31 steps).
const CERTAIN: f64 = 0.999;

/// Everything about one leg the resolution reads.
pub struct LegCtx<'a> {
    pub conn: &'a Connection,
    pub class: LegClass,
    pub point: &'a PointKind,
    /// Other views of this connection (twins), with the point each was seen at.
    pub twins: Vec<(&'a Connection, &'a PointKind)>,
}

/// The hops of a leg, without per-request detail (see [`request_hops`]).
pub fn leg_path(leg: &LegCtx<'_>, cluster: &Cluster) -> Path {
    let c = leg.conn;
    let mut hops = Vec::new();
    let mut first = Hop::new(HopKind::Client, Evidence::Observed);
    first.from = Some(c.client);
    first.to = Some(c.original_dst.unwrap_or(c.server));
    first.note = format!(
        "{} → {}",
        cluster.describe(c.client),
        cluster.describe(c.server)
    );
    hops.push(first);
    match leg.class {
        LegClass::ServiceFrontend => hops.push(kube_hop(leg, cluster)),
        LegClass::AppToSidecar => {
            let pod = point_pod(leg.point, cluster);
            hops.push(intercept_outbound(c, pod));
            hops.push(envoy_hop(pod, |m| {
                let orig = c.original_dst?;
                m.outbound(orig, None, None, tls_sni(c))
            }));
        }
        LegClass::DownstreamToSidecar => {
            let pod = point_pod(leg.point, cluster);
            hops.push(intercept_inbound(c, pod));
            hops.push(envoy_hop(pod, |m| m.inbound(c.server, None, None)));
        }
        LegClass::SidecarToApp => {
            let mut h = Hop::new(HopKind::App, Evidence::Observed);
            h.from = Some(c.client);
            h.to = Some(c.server);
            h.note = "Envoy's inbound passthrough to the app (source 127.0.0.6)".into();
            hops.push(h);
        }
        LegClass::SidecarToUpstream => {
            let mut h = Hop::new(HopKind::Envoy, Evidence::Observed);
            h.from = Some(c.client);
            h.to = Some(c.server);
            let pod = point_pod(leg.point, cluster);
            if let (Some(sni), Some(mesh)) = (tls_sni(c), pod.and_then(|p| p.mesh.as_deref())) {
                if let Some(cl) = mesh.cluster_for_sni(sni) {
                    h.via.push(format!("cluster {cl}"));
                }
                h.note = format!("mTLS, SNI {sni}");
            } else {
                h.note = "the sidecar's upstream connection, as chosen".into();
            }
            hops.push(h);
        }
        LegClass::MeshControl | LegClass::Hbone | LegClass::Plain => {}
    }
    Path { hops }
}

/// The hops of one request on a leg: the leg's, with Envoy's decision refined by the request's
/// Host and path, and the upstream actually taken when the journey shows it.
pub fn request_hops(
    leg: &LegCtx<'_>,
    base: &Path,
    cluster: &Cluster,
    host: Option<&str>,
    path: Option<&str>,
    upstream: Option<SocketAddr>,
) -> Path {
    let mut out = base.clone();
    let c = leg.conn;
    let pod = point_pod(leg.point, cluster);
    let decision = match leg.class {
        LegClass::AppToSidecar => Some(envoy_hop(pod, |m| {
            m.outbound(c.original_dst?, host, path, tls_sni(c))
        })),
        LegClass::DownstreamToSidecar => Some(envoy_hop(pod, |m| m.inbound(c.server, host, path))),
        _ => None,
    };
    if let Some(mut hop) = decision {
        if let Some(up) = upstream {
            let listed = hop.candidates.iter().any(|k| k.addr == up);
            hop.to = Some(up);
            hop.note = if hop.candidates.is_empty() || listed {
                format!("observed upstream {}", cluster.describe(up))
            } else {
                format!(
                    "observed upstream {} is NOT among the configured endpoints",
                    cluster.describe(up)
                )
            };
            hop.evidence = Evidence::Observed;
        }
        if let Some(slot) = out.hops.iter_mut().find(|h| h.kind == HopKind::Envoy) {
            *slot = hop;
        }
    }
    out
}

fn point_pod<'c>(point: &PointKind, cluster: &'c Cluster) -> Option<&'c PodView> {
    match point {
        PointKind::Pod { namespace, name } => cluster.pod(namespace, name),
        _ => None,
    }
}

fn tls_sni(c: &Connection) -> Option<&str> {
    match &c.app {
        crate::model::AppInfo::Tls { sni, .. } => sni.as_deref(),
        _ => None,
    }
}

/// kube-proxy's hop for a connection to a service frontend.
fn kube_hop(leg: &LegCtx<'_>, cluster: &Cluster) -> Hop {
    let c = leg.conn;
    let frontend = c.original_dst.unwrap_or(c.server);
    let mut hop = Hop::new(HopKind::KubeService, Evidence::Unknown);
    hop.from = Some(frontend);
    let name = cluster
        .frontend(frontend)
        .map(|f| format!("{} {}", f.kind, f.service));
    let walk = walk_nodes(c.client, frontend, cluster);
    // R1: the same connection seen after the NAT.
    let twin = leg.twins.iter().find(|(t, _)| {
        t.server != c.server && cluster.frontend(t.server).is_none() && t.server != frontend
    });
    // R2: conntrack.
    let entry = cluster
        .nodes
        .iter()
        .flat_map(|n| n.conntrack.iter())
        .find(|e| e.orig_src == c.client && e.orig_dst == frontend && e.dnat().is_some());
    let (to, snat, evidence, proof) = if let Some((t, at)) = twin {
        let snat = (t.client != c.client).then_some(t.client);
        let at = point_label(at);
        (
            Some(t.server),
            snat,
            Evidence::Observed,
            format!("the same SYN seen after DNAT ({at})"),
        )
    } else if let Some(e) = entry {
        (
            e.dnat(),
            e.snat(),
            Evidence::Conntrack,
            "conntrack entry".into(),
        )
    } else {
        (None, None, Evidence::Unknown, String::new())
    };
    hop.to = to;
    hop.snat = snat;
    hop.evidence = evidence;
    match walk {
        Some((mode, outcomes)) => {
            let dnat: Vec<&Outcome> = outcomes
                .iter()
                .filter(|o| matches!(o.verdict, Verdict::Dnat { .. }))
                .collect();
            let taken = to.and_then(|to| dnat.iter().find(|o| dnat_addr(o, frontend) == Some(to)));
            let shown = taken.copied().or(dnat.first().copied());
            if let Some(o) = shown {
                hop.via = chains(o);
            }
            hop.candidates = dnat
                .iter()
                .filter_map(|o| {
                    Some(Candidate {
                        addr: dnat_addr(o, frontend)?,
                        probability: o.probability,
                        via: o.steps.last().map(|s| s.chain.clone()).unwrap_or_default(),
                    })
                })
                .collect();
            if hop.evidence == Evidence::Unknown {
                match hop.candidates.as_slice() {
                    [one] if one.probability > CERTAIN => {
                        hop.to = Some(one.addr);
                        hop.evidence = Evidence::ConfigExact;
                    }
                    [] => {}
                    _ => hop.evidence = Evidence::Weighted,
                }
            }
            let masq = shown.is_some_and(|o| o.masquerade);
            let mut note = format!("{mode} rules");
            if masq {
                note.push_str(", masquerade");
            }
            if let Some(a) = shown.and_then(|o| o.affinity.as_ref()) {
                note.push_str(&format!(", ClientIP affinity {} s", a.timeout_secs));
                let pinned = cluster
                    .nodes
                    .iter()
                    .flat_map(|n| n.affinity.iter())
                    .any(|(name, ips)| *name == a.name && ips.contains(&c.client.ip()));
                if pinned {
                    note.push_str(&format!(" (the client is in the {} list)", a.name));
                }
            }
            if let (Some(to), false) = (to, taken.is_some() || dnat.is_empty()) {
                note.push_str(&format!(
                    "; observed endpoint {to} is NOT in the rules (stale snapshot?)"
                ));
            }
            hop.note = join_notes(&proof, &note);
        }
        None => {
            hop.note = join_notes(&proof, "no node rules in the bundle");
        }
    }
    if let Some(n) = name {
        hop.via.insert(0, n);
    }
    hop
}

fn join_notes(a: &str, b: &str) -> String {
    match (a.is_empty(), b.is_empty()) {
        (true, _) => b.to_string(),
        (_, true) => a.to_string(),
        _ => format!("{a}; {b}"),
    }
}

fn point_label(p: &PointKind) -> String {
    match p {
        PointKind::Node(n) => format!("node {n}"),
        PointKind::Pod { namespace, name } => format!("pod {namespace}/{name}"),
        PointKind::Unknown => "capture".into(),
    }
}

/// The address a DNAT outcome sends `frontend` to (the port stays when the rule gives none).
fn dnat_addr(o: &Outcome, frontend: SocketAddr) -> Option<SocketAddr> {
    match o.verdict {
        Verdict::Dnat { addr, port } => {
            Some(SocketAddr::new(addr, port.unwrap_or(frontend.port())))
        }
        _ => None,
    }
}

/// Chain names an outcome passed, each once, in the order first entered (a chain returned
/// to after a jump, `KUBE-EXT-… → KUBE-MARK-MASQ → KUBE-EXT-…`, is not named twice).
fn chains(o: &Outcome) -> Vec<String> {
    let mut v: Vec<String> = Vec::new();
    for s in &o.steps {
        if !v.contains(&s.chain) {
            v.push(s.chain.clone());
        }
    }
    v
}

/// Walks the first node dataplane of the bundle for `client → frontend`.
fn walk_nodes(
    client: SocketAddr,
    frontend: SocketAddr,
    cluster: &Cluster,
) -> Option<(&'static str, Vec<Outcome>)> {
    let node = cluster.nodes.iter().find(|n| n.dataplane.is_some())?;
    let plane = node.dataplane.as_deref()?;
    let mut facts = Facts::tcp_in(client, frontend);
    facts.dst_local = node.addresses.contains(&frontend.ip());
    facts.src_local = node.addresses.contains(&client.ip());
    facts.affinity_hits = node
        .affinity
        .iter()
        .filter(|(_, ips)| ips.contains(&client.ip()))
        .map(|(name, _)| name.clone())
        .collect();
    if facts.src_local {
        facts.hook = Hook::Output;
    }
    Some((plane.mode(), plane.walk(&facts)))
}

/// Leg A's REDIRECT to the outbound port, with the pod's rules that did it.
fn intercept_outbound(c: &Connection, pod: Option<&PodView>) -> Hop {
    let mut hop = Hop::new(HopKind::Intercept, Evidence::Observed);
    hop.from = c.original_dst;
    hop.to = Some(c.server);
    hop.note = match c.original_dst {
        Some(_) => "REDIRECT seen: replies come from the original destination".into(),
        None => "redirected to the sidecar; original destination not seen".into(),
    };
    if let (Some(pod), Some(orig)) = (pod, c.original_dst) {
        if let Some(rules) = pod.rules.as_deref() {
            let mut facts = Facts::tcp_in(c.client, orig);
            facts.hook = Hook::Output;
            let outcomes = rules.walk(&facts);
            if let Some(o) = outcomes.iter().find(
                |o| matches!(o.verdict, Verdict::Redirect { port } if port == c.server.port()),
            ) {
                hop.via = chains(o);
            } else {
                hop.note
                    .push_str("; the pod's rules do not redirect this (stale snapshot?)");
            }
        }
    }
    hop
}

/// Leg C's REDIRECT to the inbound port: invisible on the wire, so from conntrack or rules.
fn intercept_inbound(c: &Connection, pod: Option<&PodView>) -> Hop {
    let mut hop = Hop::new(HopKind::Intercept, Evidence::Unknown);
    hop.from = Some(c.server);
    let Some(pod) = pod else {
        hop.note = "no state for this pod in the bundle".into();
        return hop;
    };
    let entry: Option<&NatEntry> = pod
        .conntrack
        .iter()
        .find(|e| e.orig_src == c.client && e.orig_dst == c.server && e.dnat().is_some());
    let mut walked = None;
    if let Some(rules) = pod.rules.as_deref() {
        let outcomes = rules.walk(&Facts::tcp_in(c.client, c.server));
        walked = outcomes
            .into_iter()
            .find(|o| matches!(o.verdict, Verdict::Redirect { .. } | Verdict::Tproxy { .. }));
    }
    let port = |o: &Outcome| match o.verdict {
        Verdict::Redirect { port } | Verdict::Tproxy { port, .. } => Some(port),
        _ => None,
    };
    if let Some(e) = entry {
        hop.to = e.dnat();
        hop.evidence = Evidence::Conntrack;
        hop.note = "pod conntrack shows the REDIRECT".into();
    } else if let Some(o) = &walked {
        hop.to = port(o).map(|p| SocketAddr::new(c.server.ip(), p));
        hop.evidence = Evidence::ConfigExact;
        hop.note = "the pod's rules redirect it (15006 is never on the wire)".into();
    } else if pod.rules.is_some() {
        hop.note = "the pod's rules do not redirect this port".into();
    } else {
        hop.note = "no pod rules or conntrack in the bundle".into();
    }
    if let Some(o) = &walked {
        hop.via = chains(o);
    }
    hop
}

/// Envoy's hop from the pod's config.
fn envoy_hop(
    pod: Option<&PodView>,
    decide: impl FnOnce(&dyn super::cluster::Mesh) -> Option<EnvoyDecision>,
) -> Hop {
    let mut hop = Hop::new(HopKind::Envoy, Evidence::Unknown);
    let Some(mesh) = pod.and_then(|p| p.mesh.as_deref()) else {
        hop.note = "no Envoy config_dump for this pod in the bundle".into();
        return hop;
    };
    let Some(d) = decide(mesh) else {
        hop.note = "no listener of the config matches".into();
        return hop;
    };
    hop.via = d.via;
    hop.candidates = d.endpoints;
    if d.passthrough {
        hop.evidence = Evidence::ConfigExact;
        hop.note = "passthrough: Envoy connects to the original destination".into();
    } else {
        match hop.candidates.as_slice() {
            [one] if one.probability > CERTAIN => {
                hop.to = Some(one.addr);
                hop.evidence = Evidence::ConfigExact;
            }
            [] => hop.note = "cluster without endpoints in the dump".into(),
            _ => hop.evidence = Evidence::Weighted,
        }
    }
    hop
}
