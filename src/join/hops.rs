//! Resolving the hops of one leg (domain.md 7.5 and 7.6), strongest evidence first:
//! observed (a twin view of the connection after the NAT, or the packets themselves),
//! conntrack (the entry in the netns that did the NAT), then the rules (a walk that leaves
//! one endpoint is config-exact, several are weighted candidates). What is missing is said
//! in the hop's note, never filled in.

use super::classify::{LegClass, PointKind};
use super::cluster::{Cluster, EnvoyDecision, PodView};
use super::intercept::{intercept_inbound, intercept_outbound};
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
            hops.push(envoy_hop(pod, |m| {
                m.inbound(c.server, None, None, tls_alpn(c))
            }));
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

/// The upstream a sidecar used for one request, as the journey shows it.
#[derive(Clone, Debug, PartialEq)]
pub struct Upstream {
    pub addr: SocketAddr,
    /// `Observed` when the forwarded request was seen, `Timing` when only an mTLS leg's
    /// timing ties the request to it.
    pub evidence: Evidence,
    /// How it is known, when not plainly observed (`over mTLS, SNI …`).
    pub how: String,
}

/// The hops of one request on a leg: the leg's, with Envoy's decision refined by the request's
/// Host and path, and the upstream actually taken when the journey shows it.
pub fn request_hops(
    leg: &LegCtx<'_>,
    base: &Path,
    cluster: &Cluster,
    host: Option<&str>,
    path: Option<&str>,
    upstream: Option<&Upstream>,
) -> Path {
    let mut out = base.clone();
    let c = leg.conn;
    let pod = point_pod(leg.point, cluster);
    let decision = match leg.class {
        LegClass::AppToSidecar => Some(envoy_hop(pod, |m| {
            m.outbound(c.original_dst?, host, path, tls_sni(c))
        })),
        LegClass::DownstreamToSidecar => Some(envoy_hop(pod, |m| {
            m.inbound(c.server, host, path, tls_alpn(c))
        })),
        _ => None,
    };
    if let Some(mut hop) = decision {
        if let Some(up) = upstream {
            let listed = hop.candidates.iter().any(|k| k.addr == up.addr);
            hop.to = Some(up.addr);
            let seen = match up.evidence {
                Evidence::Observed => "observed upstream",
                _ => "upstream",
            };
            hop.note = if hop.candidates.is_empty() || listed {
                format!("{seen} {}", cluster.describe(up.addr))
            } else {
                format!(
                    "{seen} {} is NOT among the configured endpoints",
                    cluster.describe(up.addr)
                )
            };
            if !up.how.is_empty() {
                hop.note = format!("{} {}", hop.note, up.how);
            }
            hop.evidence = up.evidence;
        }
        if let Some(slot) = out.hops.iter_mut().find(|h| h.kind == HopKind::Envoy) {
            *slot = hop;
        }
    }
    out
}

pub(super) fn point_pod<'c>(point: &PointKind, cluster: &'c Cluster) -> Option<&'c PodView> {
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

/// The ClientHello's ALPN of a TLS connection (None: not TLS).
pub(super) fn tls_alpn(c: &Connection) -> Option<&[String]> {
    match &c.app {
        crate::model::AppInfo::Tls { alpn, .. } => Some(alpn),
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
pub(super) fn chains(o: &Outcome) -> Vec<String> {
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

/// Envoy's hop from the pod's config.
pub(super) fn envoy_hop(
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
    if d.needs_request {
        hop.note = "routed by the request's Host and path, which this leg does not show".into();
    } else if d.passthrough {
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
