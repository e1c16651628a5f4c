//! The mTLS links of journeys (domain.md 7.6, "SNI + timing"): between sidecars the HTTP is
//! encrypted, so nothing in the bytes ties the app's plaintext request to the TLS connection
//! that carried it. What does:
//! - outbound (`sni+timing`): the request on an app → sidecar leg (A) is routed to a cluster;
//!   the sidecar's TLS leg (B) names that cluster in its SNI, goes to one of its endpoints, and
//!   its client sent application data after the request's first byte reached the sidecar and
//!   before the response's first byte left it;
//! - inbound (`timing`): on the upstream pod the request reaches the app from 127.0.0.6 (leg D)
//!   after the TLS leg into the pod (C, same port as the app's) began a client burst and
//!   before its next one, and C's server sends again once the app's response began: the
//!   sidecar forwards what it decrypted, then relays the answer;
//! - the same TLS connection seen at two points (twins): the client bursts holding the same
//!   stream bytes (TCP sequence space, the same at both points whatever their clocks).
//!
//! A pooled connection carries several requests, one client burst each (HTTP/1.1 inside), so
//! the unit linked is a burst, never a whole connection. With HTTP/2 inside, concurrent
//! streams share bursts: such requests come out unlinked (`shared-burst`, `several-tls-legs`),
//! not guessed. A link is made only when exactly one
//! burst of one leg fits; when several legs fit, or one burst fits several requests, or a
//! candidate's bursts were not all kept ([`crate::model::MAX_BURSTS`]), the request stays
//! unlinked and the candidates are reported: a guess is never shown as a fact. Requests a
//! plaintext leg already explains (`request-line+timing`) are not offered to TLS legs.

use super::classify::LegClass;
use super::journey::{ExRef, LegView, Link, FORWARD_WINDOW_NS};
use crate::model::{AppInfo, Bursts, Connection, Dir};
use std::collections::HashMap;
use std::net::SocketAddr;

/// A client burst of a TLS leg: (leg index, index into its bursts).
pub type BurstRef = (usize, usize);

/// What Envoy's route chose for one request on an app → sidecar leg.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Routed {
    pub clusters: Vec<String>,
    /// The chosen clusters' endpoints (empty: not known, any upstream fits).
    pub endpoints: Vec<SocketAddr>,
}

/// What the linker needs from the bundle, per leg.
#[derive(Clone, Debug, Default)]
pub struct MtlsFacts {
    /// Per leg, per exchange: the route of requests on app → sidecar legs.
    pub routes: Vec<Vec<Option<Routed>>>,
    /// Per leg: the cluster a TLS leg's SNI names (from the pod's Envoy config, else Istio's
    /// naming: `outbound_.9080_._.reviews…` is `outbound|9080||reviews…`).
    pub sni_clusters: Vec<Option<String>>,
}

/// Why a request with candidate TLS legs was left unlinked.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Ambiguity {
    /// Several TLS legs carried client bytes in the request's window.
    SeveralLegs,
    /// The one burst that fits fits another request too.
    SharedBurst,
    /// A candidate's bursts at that time were not kept (past the per-connection limit).
    BurstsNotKept,
}

impl Ambiguity {
    pub const fn as_str(self) -> &'static str {
        match self {
            Ambiguity::SeveralLegs => "several-tls-legs",
            Ambiguity::SharedBurst => "shared-burst",
            Ambiguity::BurstsNotKept => "bursts-not-kept",
        }
    }
}

/// A link the linker makes: `exchange` rode `burst`.
#[derive(Clone, Debug, PartialEq)]
pub struct Proposal {
    pub exchange: ExRef,
    pub burst: BurstRef,
    /// `SniTiming` (outbound) or `Timing` (inbound).
    pub link: Link,
    /// Request to burst (outbound) or burst to request (inbound), ns.
    pub delay_ns: i64,
}

/// A request left unlinked: its candidates (leg, burst when known) and why.
#[derive(Clone, Debug, PartialEq)]
pub struct Undecided {
    pub exchange: ExRef,
    pub link: Link,
    pub candidates: Vec<(usize, Option<usize>)>,
    pub why: Ambiguity,
}

#[derive(Debug, Default)]
pub struct Found {
    pub links: Vec<Proposal>,
    pub undecided: Vec<Undecided>,
}

enum Fit {
    Burst(usize, i64),
    Unknown,
}

fn bursts(c: &Connection) -> Option<&Bursts> {
    match &c.app {
        AppInfo::Tls { bursts, .. } => Some(bursts),
        _ => None,
    }
}

/// Links requests on A and D legs (`exchanges`, skipping those `plain` marks) to TLS bursts.
pub fn link(legs: &[LegView<'_>], exchanges: &[ExRef], plain: &[bool], facts: &MtlsFacts) -> Found {
    let mut out = Found::default();
    let tls_legs = |class: LegClass| -> Vec<usize> {
        (0..legs.len())
            .filter(|&l| legs[l].class == class && bursts(legs[l].conn).is_some())
            .collect()
    };
    for (link, from, to) in [
        (
            Link::SniTiming,
            LegClass::AppToSidecar,
            tls_legs(LegClass::SidecarToUpstream),
        ),
        (
            Link::Timing,
            LegClass::SidecarToApp,
            tls_legs(LegClass::DownstreamToSidecar),
        ),
    ] {
        if to.is_empty() {
            continue;
        }
        let mut proposals: Vec<Proposal> = Vec::new();
        for (i, &(l, e)) in exchanges.iter().enumerate() {
            if legs[l].class != from || plain.get(i).copied().unwrap_or(false) {
                continue;
            }
            let fits: Vec<(usize, Fit)> = to
                .iter()
                .filter(|&&l2| legs[l2].point == legs[l].point)
                .filter_map(|&l2| {
                    let fit = match link {
                        Link::SniTiming => outbound_fit(legs, (l, e), l2, facts),
                        _ => inbound_fit(legs, (l, e), l2),
                    };
                    fit.map(|f| (l2, f))
                })
                .collect();
            match fits.as_slice() {
                [] => {}
                [(l2, Fit::Burst(b, delay))] => proposals.push(Proposal {
                    exchange: (l, e),
                    burst: (*l2, *b),
                    link,
                    delay_ns: *delay,
                }),
                _ => out.undecided.push(Undecided {
                    exchange: (l, e),
                    link,
                    candidates: fits
                        .iter()
                        .map(|(l2, f)| match f {
                            Fit::Burst(b, _) => (*l2, Some(*b)),
                            Fit::Unknown => (*l2, None),
                        })
                        .collect(),
                    why: if fits.len() == 1 {
                        Ambiguity::BurstsNotKept
                    } else {
                        Ambiguity::SeveralLegs
                    },
                }),
            }
        }
        // One burst, one request: a burst two requests claim is neither's proof.
        let mut claims: HashMap<BurstRef, usize> = HashMap::new();
        for p in &proposals {
            *claims.entry(p.burst).or_default() += 1;
        }
        for p in proposals {
            if claims.get(&p.burst) == Some(&1) {
                out.links.push(p);
            } else {
                out.undecided.push(Undecided {
                    exchange: p.exchange,
                    link,
                    candidates: vec![(p.burst.0, Some(p.burst.1))],
                    why: Ambiguity::SharedBurst,
                });
            }
        }
    }
    out
}

/// Leg `l2` as the TLS leg B that carried the request `(l, e)` of leg A: the first client
/// burst between the request's first byte and its response's, answered before that response.
fn outbound_fit(legs: &[LegView<'_>], (l, e): ExRef, l2: usize, facts: &MtlsFacts) -> Option<Fit> {
    let (a, b) = (&legs[l], &legs[l2]);
    if b.class != LegClass::SidecarToUpstream || b.point != a.point {
        return None;
    }
    let bursts = bursts(b.conn)?;
    let routed = facts.routes.get(l)?.get(e)?.as_ref()?;
    let cluster = facts.sni_clusters.get(l2)?.as_ref()?;
    if !routed.clusters.contains(cluster)
        || !(routed.endpoints.is_empty() || routed.endpoints.contains(&b.conn.server))
    {
        return None;
    }
    let ex = &a.exchanges[e];
    let t0 = ex.request.as_ref()?.msg.first_byte.nanos();
    let answered = ex.response.as_ref().map(|r| r.msg.first_byte.nanos());
    let t1 = answered.unwrap_or(t0.saturating_add(FORWARD_WINDOW_NS));
    let hit = bursts
        .client()
        .map(|(i, x)| (i, x.first.nanos()))
        .find(|&(_, t)| t >= t0 && t <= t1);
    match hit {
        Some((i, t)) => {
            let replied = bursts.reply_to(i).is_some_and(|r| r.first.nanos() <= t1);
            (answered.is_none() || replied).then_some(Fit::Burst(i, t.saturating_sub(t0)))
        }
        None => unknown_after(bursts, b.conn, t0),
    }
}

/// Leg `l2` as the TLS leg C whose burst the sidecar forwarded as request `(l, e)` of leg D:
/// the last client burst that began before the request (within the forward window), with the
/// server sending data after the app's response began and before the client's next burst.
/// (Not "before the server's first data": a TLS 1.3 server sends its session tickets right
/// after the client's Finished, before the request is forwarded.)
fn inbound_fit(legs: &[LegView<'_>], (l, e): ExRef, l2: usize) -> Option<Fit> {
    let (d, c) = (&legs[l], &legs[l2]);
    if c.class != LegClass::DownstreamToSidecar || c.point != d.point {
        return None;
    }
    let bursts = bursts(c.conn)?;
    // The inbound cluster forwards to the port the downstream connected to.
    let app = d.conn.server;
    if app.port() != c.conn.server.port()
        || !(app.ip().is_loopback() || app.ip() == c.conn.server.ip())
    {
        return None;
    }
    let ex = &d.exchanges[e];
    let td = ex.request.as_ref()?.msg.first_byte.nanos();
    if let Some(unknown) = unknown_after(bursts, c.conn, td) {
        return Some(unknown);
    }
    let (i, x) = bursts
        .client()
        .filter(|(_, x)| x.first.nanos() <= td)
        .last()?;
    let delay = td.saturating_sub(x.first.nanos());
    if delay > FORWARD_WINDOW_NS {
        return None;
    }
    let answered = match ex.response.as_ref() {
        None => true,
        Some(r) => {
            let tr = r.msg.first_byte.nanos();
            let after = bursts.list.get(i + 1..).unwrap_or_default();
            after
                .iter()
                .take_while(|b| b.dir == Dir::ToClient)
                .any(|b| {
                    b.last.nanos() >= tr && b.first.nanos() <= tr.saturating_add(FORWARD_WINDOW_NS)
                })
        }
    };
    answered.then_some(Fit::Burst(i, delay))
}

/// A leg whose bursts past the limit were dropped, still open at `t`, may have carried the
/// request in a burst nobody kept.
fn unknown_after(bursts: &Bursts, conn: &Connection, t: i64) -> Option<Fit> {
    let kept_until = bursts.list.last().map_or(i64::MIN, |b| b.last.nanos());
    (bursts.dropped > 0 && kept_until < t && conn.stats.last.nanos() >= t).then_some(Fit::Unknown)
}

/// The client bursts of twin TLS legs that hold the same bytes: a burst's first byte lies in
/// the other view's burst whose stream range holds it (positions are TCP sequence space, which
/// NAT does not rewrite, so no clock is compared), looked up both ways so that a burst one
/// point saw in two pieces (a server record crossing it in flight) joins whole.
pub fn twin_bursts(legs: &[LegView<'_>], twins: &[Vec<usize>]) -> Vec<(BurstRef, BurstRef)> {
    let mut out = Vec::new();
    for (l, others) in twins.iter().enumerate() {
        let Some(a) = bursts(legs[l].conn) else {
            continue;
        };
        for &o in others.iter().filter(|&&o| o > l) {
            let Some(b) = bursts(legs[o].conn) else {
                continue;
            };
            let (ra, rb) = (ranges(a), ranges(b));
            for &(i, start, _) in &ra {
                if let Some(j) = holding(&rb, start) {
                    out.push(((l, i), (o, j)));
                }
            }
            for &(j, start, _) in &rb {
                if let Some(i) = holding(&ra, start) {
                    out.push(((l, i), (o, j)));
                }
            }
        }
    }
    out.sort_unstable();
    out.dedup();
    out
}

/// Client bursts as stream ranges `(index, start, end)`: to the next client burst, the last
/// one to its own bytes' end.
fn ranges(b: &Bursts) -> Vec<(usize, u64, u64)> {
    let client: Vec<(usize, u64, u64)> = b
        .client()
        .map(|(i, x)| (i, x.offset, x.offset.saturating_add(x.bytes)))
        .collect();
    let mut out = client.clone();
    for (k, r) in out.iter_mut().enumerate() {
        if let Some(next) = client.get(k + 1) {
            r.2 = next.1;
        }
    }
    out
}

/// The burst of `v` (ranges in stream order) whose range holds position `at`.
fn holding(v: &[(usize, u64, u64)], at: u64) -> Option<usize> {
    let k = v.partition_point(|r| r.1 <= at).checked_sub(1)?;
    let r = v.get(k)?;
    (at < r.2).then_some(r.0)
}
