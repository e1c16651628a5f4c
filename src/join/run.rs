//! The whole join over every leg of every capture point.

use super::classify::{classify, LegClass, PointFacts, PointKind};
use super::cluster::Cluster;
use super::hops::{leg_path, request_hops, LegCtx, Upstream};
use super::journey::{journeys_with, Journey, LegView, Link};
use super::mtls_paths::{member_path, ms, mtls_facts};
use super::twins::twins;
use crate::model::{AppInfo, Connection, Evidence, Exchange, HopKind, Path};
use std::net::SocketAddr;

/// One captured connection and its exchanges, at one capture point.
pub struct Leg {
    /// Index into the points given to [`join`].
    pub point: usize,
    pub conn: Connection,
    pub exchanges: Vec<Exchange>,
}

/// The join's answer.
pub struct Joined {
    /// Per leg, index for index with the input.
    pub classes: Vec<LegClass>,
    pub paths: Vec<Path>,
    /// Per leg, per exchange: the request's path.
    pub exchange_paths: Vec<Vec<Path>>,
    /// Per leg, per exchange: the journey it belongs to (index into `journeys`).
    pub exchange_journey: Vec<Vec<usize>>,
    pub journeys: Vec<Journey>,
    /// Per journey, per TLS member (`Journey::tls`): the leg's path within that journey.
    pub tls_paths: Vec<Vec<Path>>,
}

/// What the join knows about a point, from the bundle.
pub fn point_facts(kind: &PointKind, cluster: &Cluster) -> PointFacts {
    let mut f = PointFacts::new(kind.clone());
    match kind {
        PointKind::Pod { namespace, name } => {
            if let Some(p) = cluster.pod(namespace, name) {
                f.local_ips = p.ips.clone();
                f.sidecar = p.sidecar;
                f.outbound_port = p.outbound_port.unwrap_or(f.outbound_port);
                f.inbound_port = p.inbound_port.unwrap_or(f.inbound_port);
                if !p.inbound_excluded.is_empty() {
                    f.inbound_excluded = p.inbound_excluded.clone();
                }
            }
        }
        PointKind::Node(name) => {
            if let Some(n) = cluster.nodes.iter().find(|n| &n.name == name) {
                f.local_ips = n.addresses.clone();
            }
        }
        PointKind::Unknown => {}
    }
    f
}

pub fn join(points: &[PointKind], legs: &[Leg], cluster: &Cluster) -> Joined {
    let facts: Vec<PointFacts> = points.iter().map(|p| point_facts(p, cluster)).collect();
    let is_frontend = |a: SocketAddr| cluster.frontend(a).is_some();
    let classes: Vec<LegClass> = legs
        .iter()
        .map(|l| classify(&l.conn, &facts[l.point], &is_frontend))
        .collect();
    let conns: Vec<&Connection> = legs.iter().map(|l| &l.conn).collect();
    let twin_sets = twins(&conns);
    let ctx = |i: usize| LegCtx {
        conn: &legs[i].conn,
        class: classes[i],
        point: &points[legs[i].point],
        twins: twin_sets[i]
            .iter()
            .map(|&j| (&legs[j].conn, &points[legs[j].point]))
            .collect(),
    };
    let paths: Vec<Path> = (0..legs.len())
        .map(|i| leg_path(&ctx(i), cluster))
        .collect();
    let views: Vec<LegView<'_>> = legs
        .iter()
        .zip(&classes)
        .map(|(l, &class)| LegView {
            point: l.point,
            class,
            conn: &l.conn,
            exchanges: &l.exchanges,
        })
        .collect();
    let journeys = journeys_with(
        &views,
        &twin_sets,
        &mtls_facts(points, legs, &classes, cluster),
    );
    let mut exchange_journey: Vec<Vec<usize>> =
        legs.iter().map(|l| vec![0; l.exchanges.len()]).collect();
    for (j, journey) in journeys.iter().enumerate() {
        for &(l, e) in &journey.members {
            exchange_journey[l][e] = j;
        }
    }
    let exchange_paths = legs
        .iter()
        .enumerate()
        .map(|(i, leg)| {
            leg.exchanges
                .iter()
                .enumerate()
                .map(|(e, ex)| {
                    let q = ex.request.as_ref();
                    let host = q.and_then(|q| q.msg.header("host"));
                    let target = q.map(|q| q.target.as_ref());
                    let journey = &journeys[exchange_journey[i][e]];
                    let up = upstream(journey, (i, e), legs, &classes);
                    let mut p =
                        request_hops(&ctx(i), &paths[i], cluster, host, target, up.as_ref());
                    say_unlinked(&mut p, journey, (i, e), legs);
                    p
                })
                .collect()
        })
        .collect();
    let tls_paths = journeys
        .iter()
        .map(|j| {
            j.tls
                .iter()
                .map(|m| member_path(m, &ctx(m.leg), &paths[m.leg], legs, cluster))
                .collect()
        })
        .collect();
    Joined {
        classes,
        paths,
        exchange_paths,
        exchange_journey,
        journeys,
        tls_paths,
    }
}

/// The upstream a sidecar actually used for request `(leg, e)`: the TLS leg the journey's
/// `sni+timing` link gives it (by timing), else the next leg of the journey at the same point
/// that leaves the sidecar with the same request line (leg B, or leg D inbound: observed).
fn upstream(
    j: &Journey,
    (leg, e): (usize, usize),
    legs: &[Leg],
    classes: &[LegClass],
) -> Option<Upstream> {
    let next = match classes[leg] {
        LegClass::AppToSidecar => [LegClass::SidecarToUpstream, LegClass::ServiceFrontend],
        LegClass::DownstreamToSidecar => [LegClass::SidecarToApp, LegClass::SidecarToApp],
        _ => return None,
    };
    if let Some(m) = j
        .tls
        .iter()
        .find(|m| m.link == Link::SniTiming && m.with == Some((leg, e)))
    {
        let tls = &legs[m.leg].conn;
        let sni = match &tls.app {
            AppInfo::Tls { sni: Some(s), .. } => format!(", SNI {s}"),
            _ => String::new(),
        };
        return Some(Upstream {
            addr: tls.server,
            evidence: Evidence::Timing,
            how: format!(
                "over mTLS ({} → {}{sni}): the one TLS leg to the routed cluster whose client sent bytes {} after the request",
                tls.client,
                tls.server,
                ms(m.delay_ns)
            ),
        });
    }
    let q = legs[leg].exchanges.get(e)?.request.as_ref()?;
    let pos = j.members.iter().position(|&r| r == (leg, e))?;
    j.members[pos + 1..]
        .iter()
        .find(|&&(l, e2)| {
            legs[l].point == legs[leg].point
                && next.contains(&classes[l])
                && legs[l]
                    .exchanges
                    .get(e2)
                    .and_then(|x| x.request.as_ref())
                    .is_some_and(|q2| q2.method == q.method && q2.target == q.target)
        })
        .map(|&(l, _)| Upstream {
            addr: legs[l].conn.server,
            evidence: Evidence::Observed,
            how: String::new(),
        })
}

/// A request the mTLS linker left unlinked says so on its Envoy hop (or, on leg D, its app
/// hop): which TLS legs fit, and why none is taken.
fn say_unlinked(path: &mut Path, j: &Journey, ex: (usize, usize), legs: &[Leg]) {
    let Some(u) = j.unlinked.iter().find(|u| u.exchange == ex) else {
        return;
    };
    let kind = match u.link {
        Link::SniTiming => HopKind::Envoy,
        _ => HopKind::App,
    };
    let Some(hop) = path.hops.iter_mut().find(|h| h.kind == kind) else {
        return;
    };
    let cands: Vec<String> = u
        .candidates
        .iter()
        .map(|&(l, _)| format!("{} → {}", legs[l].conn.client, legs[l].conn.server))
        .collect();
    let note = format!(
        "not linked to an mTLS leg ({}): {} fit",
        u.why.as_str(),
        cands.join(", ")
    );
    hop.note = if hop.note.is_empty() {
        note
    } else {
        format!("{}; {note}", hop.note)
    };
}
