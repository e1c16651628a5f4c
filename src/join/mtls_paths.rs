//! The hops of an mTLS leg's part in one journey, and the facts the mTLS linker needs from the
//! bundle (`mtls.rs`): each request's route on the app → sidecar legs, the cluster each TLS
//! leg's SNI names.
//!
//! A TLS leg's own path (`hops.rs leg_path`) says where the connection went; within a journey
//! its Envoy hop also says which request it carried, and that rests on timing: the hop's
//! evidence is [`Evidence::Timing`]. On the receiving pod the linked plaintext request gives
//! the inbound route its Host and path (the sidecar decrypted and forwarded it unchanged), so
//! the decision is resolved to the app's address the request was seen reaching.

use super::classify::{LegClass, PointKind};
use super::cluster::Cluster;
use super::hops::{envoy_hop, point_pod, tls_alpn, LegCtx};
use super::journey::{Link, TlsMember};
use super::mtls::{MtlsFacts, Routed};
use super::run::Leg;
use crate::mesh::IstioName;
use crate::model::{AppInfo, Evidence, HopKind, Path};

/// `0.21 ms`: join notes are plain text, the report formats its own durations.
pub(super) fn ms(ns: i64) -> String {
    format!("{:.2} ms", ns as f64 / 1e6)
}

/// Routes and SNI clusters for [`super::mtls::link`].
pub(super) fn mtls_facts(
    points: &[PointKind],
    legs: &[Leg],
    classes: &[LegClass],
    cluster: &Cluster,
) -> MtlsFacts {
    let mesh = |l: &Leg| point_pod(&points[l.point], cluster).and_then(|p| p.mesh.as_deref());
    let routes = legs
        .iter()
        .zip(classes)
        .map(|(l, &class)| {
            l.exchanges
                .iter()
                .map(|ex| {
                    if class != LegClass::AppToSidecar {
                        return None;
                    }
                    let q = ex.request.as_ref()?;
                    let d = mesh(l)?.outbound(
                        l.conn.original_dst?,
                        q.msg.header("host"),
                        Some(q.target.as_ref()),
                        None,
                    )?;
                    Some(Routed {
                        clusters: d.clusters.into_iter().map(|(c, _)| c).collect(),
                        endpoints: d.endpoints.iter().map(|c| c.addr).collect(),
                    })
                })
                .collect()
        })
        .collect();
    let sni_clusters = legs
        .iter()
        .map(|l| {
            let AppInfo::Tls { sni: Some(sni), .. } = &l.conn.app else {
                return None;
            };
            match mesh(l) {
                Some(m) => m.cluster_for_sni(sni),
                None => IstioName::parse_sni(sni).map(|n| n.cluster_name()),
            }
        })
        .collect();
    MtlsFacts {
        routes,
        sni_clusters,
    }
}

/// The path of TLS member `m` of a journey: its leg's path, with the Envoy hop saying which
/// request it carried and on what evidence.
pub(super) fn member_path(
    m: &TlsMember,
    leg: &LegCtx<'_>,
    base: &Path,
    legs: &[Leg],
    cluster: &Cluster,
) -> Path {
    let mut out = base.clone();
    let Some((l, e)) = m.with else {
        return out;
    };
    let Some(q) = legs
        .get(l)
        .and_then(|x| x.exchanges.get(e)?.request.as_ref())
    else {
        return out;
    };
    let other = &legs[l].conn;
    let hop = match m.link {
        Link::SniTiming => {
            let Some(mut hop) = out.hops.iter().find(|h| h.kind == HopKind::Envoy).cloned() else {
                return out;
            };
            hop.note = format!(
                "{}; carried {} {} from {}: the one TLS leg to the routed cluster whose client sent bytes {} after the request reached the sidecar",
                hop.note,
                q.method,
                q.target,
                cluster.describe(other.client),
                ms(m.delay_ns)
            );
            hop
        }
        Link::Timing => {
            let pod = point_pod(leg.point, cluster);
            let c = leg.conn;
            let host = q.msg.header("host");
            let mut hop = envoy_hop(pod, |mesh| {
                mesh.inbound(c.server, host, Some(q.target.as_ref()), tls_alpn(c))
            });
            hop.to = Some(other.server);
            hop.note = format!(
                "decrypted and forwarded as {} {} on {} → {}, {} after this TLS burst began (the only TLS leg into port {} with a burst then)",
                q.method,
                q.target,
                other.client,
                cluster.describe(other.server),
                ms(m.delay_ns),
                c.server.port()
            );
            hop
        }
        _ => return out,
    };
    let mut hop = hop;
    hop.evidence = Evidence::Timing;
    match out.hops.iter_mut().find(|h| h.kind == HopKind::Envoy) {
        Some(slot) => *slot = hop,
        None => out.hops.push(hop),
    }
    out
}
