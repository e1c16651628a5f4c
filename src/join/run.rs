//! The whole join over every leg of every capture point.

use super::classify::{classify, LegClass, PointFacts, PointKind};
use super::cluster::Cluster;
use super::hops::{leg_path, request_hops, LegCtx};
use super::journey::{journeys, Journey, LegView};
use super::twins::twins;
use crate::model::{Connection, Exchange, Path};
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
    let journeys = journeys(&views, &twin_sets);
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
                    let up = upstream(&journeys[exchange_journey[i][e]], i, legs, &classes);
                    request_hops(&ctx(i), &paths[i], cluster, host, target, up)
                })
                .collect()
        })
        .collect();
    Joined {
        classes,
        paths,
        exchange_paths,
        exchange_journey,
        journeys,
    }
}

/// The upstream a sidecar actually used for leg `leg`'s request: the next leg of the journey
/// at the same point that leaves the sidecar (leg B, or leg D inbound).
fn upstream(j: &Journey, leg: usize, legs: &[Leg], classes: &[LegClass]) -> Option<SocketAddr> {
    let next = match classes[leg] {
        LegClass::AppToSidecar => [LegClass::SidecarToUpstream, LegClass::ServiceFrontend],
        LegClass::DownstreamToSidecar => [LegClass::SidecarToApp, LegClass::SidecarToApp],
        _ => return None,
    };
    let pos = j.members.iter().position(|&(l, _)| l == leg)?;
    j.members[pos + 1..]
        .iter()
        .map(|&(l, _)| l)
        .find(|&l| legs[l].point == legs[leg].point && next.contains(&classes[l]))
        .map(|l| legs[l].conn.server)
}
