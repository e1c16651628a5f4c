//! Journeys: the legs of one request across sidecars, pods and capture points, stitched
//! together (domain.md 7.6). One journey is one user request: the client's connection to a
//! NodePort, its post-NAT view, the sidecar's inbound leg and its passthrough to the app, the
//! app's calls out through its sidecar, and theirs.
//!
//! Links, strongest first; each is evidence the report names:
//! - `same-connection`: one TCP connection seen at two points or on both sides of a NAT
//!   (same client SYN ISN and TSval, see `twins.rs`): the n-th exchange of one is the n-th of
//!   the other.
//! - `x-request-id`: Envoy stamps it on the first hop and the apps propagate it (so do `b3`
//!   and `traceparent`, used when there is no request id).
//! - `request-line+timing`: through a sidecar (leg A → leg B, leg C → leg D) the request line
//!   and Host are forwarded unchanged, a few milliseconds later, in the same pod; the earliest
//!   unclaimed forward within `FORWARD_WINDOW_NS` is taken. Envoy may pool and reuse upstream
//!   connections, so this is per request, never per connection.
//! - `sni+timing` and `timing`: an mTLS leg between sidecars has no readable request; one of
//!   its client bursts joins the journey when it is the only one that fits the request on the
//!   plaintext leg before it (SNI names the routed cluster, bytes inside the request's window)
//!   or after it (the request reached the app within the burst), see `mtls.rs`. Requests with
//!   several fitting bursts stay unlinked, their candidates listed in [`Journey::unlinked`].

use super::classify::LegClass;
use super::mtls::{self, Ambiguity, BurstRef, MtlsFacts};
use crate::model::{Connection, Exchange};
use std::collections::HashMap;

/// How long a sidecar may take to forward a request's head.
pub const FORWARD_WINDOW_NS: i64 = 1_000_000_000;

/// One captured connection as the journey builder sees it.
pub struct LegView<'a> {
    pub point: usize,
    pub class: LegClass,
    pub conn: &'a Connection,
    pub exchanges: &'a [Exchange],
}

/// What joined two exchanges.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Link {
    SameConnection,
    RequestId,
    TraceId,
    RequestLineTiming,
    /// A request on leg A to a TLS leg B: B's SNI names the routed cluster, its client sent
    /// bytes inside the request's window.
    SniTiming,
    /// A TLS leg C's client burst to the request the sidecar forwarded from it (leg D).
    Timing,
}

impl Link {
    pub const fn as_str(self) -> &'static str {
        match self {
            Link::SameConnection => "same-connection",
            Link::RequestId => "x-request-id",
            Link::TraceId => "trace-id",
            Link::RequestLineTiming => "request-line+timing",
            Link::SniTiming => "sni+timing",
            Link::Timing => "timing",
        }
    }
}

/// An exchange's place: (leg index, exchange index on that leg).
pub type ExRef = (usize, usize);

/// A TLS leg's part in a journey: the client burst that carried the request.
#[derive(Clone, Debug, PartialEq)]
pub struct TlsMember {
    pub leg: usize,
    /// Index into the leg's bursts.
    pub burst: usize,
    /// What joined it: `SniTiming` or `Timing` to `with`, or `SameConnection` to another view
    /// of the same TLS connection.
    pub link: Link,
    /// The exchange it was linked to (`SniTiming`: the request before it on leg A; `Timing`:
    /// the request after it on leg D).
    pub with: Option<ExRef>,
    /// Request to burst (`SniTiming`) or burst to request (`Timing`), ns.
    pub delay_ns: i64,
}

/// A request the mTLS linker could not pin to one TLS burst.
#[derive(Clone, Debug, PartialEq)]
pub struct Unlinked {
    pub exchange: ExRef,
    /// The link it would have been.
    pub link: Link,
    /// The fitting TLS legs, each with its burst when known.
    pub candidates: Vec<(usize, Option<usize>)>,
    pub why: Ambiguity,
}

/// One request's exchanges over all legs, in time order, and what joined them; the TLS bursts
/// that carried it, and what could not be linked.
#[derive(Clone, Debug, PartialEq)]
pub struct Journey {
    pub members: Vec<ExRef>,
    pub links: Vec<Link>,
    /// In time order.
    pub tls: Vec<TlsMember>,
    pub unlinked: Vec<Unlinked>,
}

struct Union {
    parent: Vec<usize>,
    links: Vec<Vec<Link>>,
}

impl Union {
    fn add(&mut self) -> usize {
        self.parent.push(self.parent.len());
        self.links.push(Vec::new());
        self.parent.len() - 1
    }
    fn find(&mut self, mut i: usize) -> usize {
        while self.parent[i] != i {
            self.parent[i] = self.parent[self.parent[i]];
            i = self.parent[i];
        }
        i
    }
    fn join(&mut self, a: usize, b: usize, link: Link) {
        let (ra, rb) = (self.find(a), self.find(b));
        if ra != rb {
            self.parent[rb] = ra;
            let moved = std::mem::take(&mut self.links[rb]);
            self.links[ra].extend(moved);
        }
        if !self.links[ra].contains(&link) {
            self.links[ra].push(link);
        }
    }
}

/// Stitches the exchanges of `legs` into journeys; `twins[i]` lists the legs that are other
/// views of leg `i` (see `twins.rs`). Without [`MtlsFacts`], requests on app → sidecar legs
/// are not offered to TLS legs (their route is unknown).
pub fn journeys(legs: &[LegView<'_>], twins: &[Vec<usize>]) -> Vec<Journey> {
    journeys_with(legs, twins, &MtlsFacts::default())
}

/// [`journeys`], with the routes and SNI clusters the mTLS linker needs.
pub fn journeys_with(
    legs: &[LegView<'_>],
    twins: &[Vec<usize>],
    facts: &MtlsFacts,
) -> Vec<Journey> {
    let mut refs: Vec<ExRef> = Vec::new();
    let mut index: HashMap<ExRef, usize> = HashMap::new();
    for (l, leg) in legs.iter().enumerate() {
        for e in 0..leg.exchanges.len() {
            index.insert((l, e), refs.len());
            refs.push((l, e));
        }
    }
    let mut u = Union {
        parent: (0..refs.len()).collect(),
        links: vec![Vec::new(); refs.len()],
    };
    // Same connection at two points: exchange n with exchange n.
    for (l, others) in twins.iter().enumerate() {
        for &o in others {
            let n = legs[l].exchanges.len().min(legs[o].exchanges.len());
            for e in 0..n {
                u.join(index[&(l, e)], index[&(o, e)], Link::SameConnection);
            }
        }
    }
    // Request ids, then trace ids.
    for (header, link) in [
        ("x-request-id", Link::RequestId),
        ("x-b3-traceid", Link::TraceId),
        ("traceparent", Link::TraceId),
    ] {
        let mut first: HashMap<&str, usize> = HashMap::new();
        for (i, &(l, e)) in refs.iter().enumerate() {
            let Some(q) = legs[l].exchanges[e].request.as_ref() else {
                continue;
            };
            let Some(v) = q.msg.header(header).map(trace_key) else {
                continue;
            };
            if v.is_empty() {
                continue;
            }
            match first.get(v) {
                Some(&j) => u.join(j, i, link),
                None => {
                    first.insert(v, i);
                }
            }
        }
    }
    // Through a sidecar: A → B and C → D in the same pod, by request line and time. A
    // request forwarded in plaintext is not offered to TLS legs.
    let mut plain = vec![false; refs.len()];
    for (from, to) in [
        (LegClass::AppToSidecar, LegClass::SidecarToUpstream),
        (LegClass::AppToSidecar, LegClass::ServiceFrontend),
        (LegClass::DownstreamToSidecar, LegClass::SidecarToApp),
    ] {
        for (i, j) in forward(legs, &refs, &index, &mut u, from, to) {
            plain[if from == LegClass::DownstreamToSidecar {
                j
            } else {
                i
            }] = true;
        }
    }
    // mTLS legs: their client bursts are nodes too.
    let mut bursts: HashMap<BurstRef, usize> = HashMap::new();
    let mut meta: HashMap<usize, TlsMember> = HashMap::new();
    let found = mtls::link(legs, &refs, &plain, facts);
    for p in &found.links {
        let node = *bursts.entry(p.burst).or_insert_with(|| u.add());
        u.join(index[&p.exchange], node, p.link);
        meta.entry(node).or_insert(TlsMember {
            leg: p.burst.0,
            burst: p.burst.1,
            link: p.link,
            with: Some(p.exchange),
            delay_ns: p.delay_ns,
        });
    }
    // Twin views of a burst (a group no request reached is no journey, and is left out).
    for (a, b) in mtls::twin_bursts(legs, twins) {
        let na = *bursts.entry(a).or_insert_with(|| u.add());
        let nb = *bursts.entry(b).or_insert_with(|| u.add());
        u.join(na, nb, Link::SameConnection);
        for (node, (leg, burst)) in [(na, a), (nb, b)] {
            meta.entry(node).or_insert(TlsMember {
                leg,
                burst,
                link: Link::SameConnection,
                with: None,
                delay_ns: 0,
            });
        }
    }

    let mut groups: HashMap<usize, Vec<usize>> = HashMap::new();
    for i in 0..refs.len() {
        let r = u.find(i);
        groups.entry(r).or_default().push(i);
    }
    let mut tls_of: HashMap<usize, Vec<TlsMember>> = HashMap::new();
    for (&node, m) in &meta {
        let r = u.find(node);
        tls_of.entry(r).or_default().push(m.clone());
    }
    let mut unlinked_of: HashMap<usize, Vec<Unlinked>> = HashMap::new();
    for d in found.undecided {
        let r = u.find(index[&d.exchange]);
        unlinked_of.entry(r).or_default().push(Unlinked {
            exchange: d.exchange,
            link: d.link,
            candidates: d.candidates,
            why: d.why,
        });
    }
    let burst_at = |m: &TlsMember| match &legs[m.leg].conn.app {
        crate::model::AppInfo::Tls { bursts, .. } => bursts
            .list
            .get(m.burst)
            .map_or(i64::MAX, |b| b.first.nanos()),
        _ => i64::MAX,
    };
    let start = |i: usize| {
        let (l, e) = refs[i];
        let ex = &legs[l].exchanges[e];
        ex.request
            .as_ref()
            .map(|q| q.msg.first_byte)
            .or(ex.response.as_ref().map(|r| r.msg.first_byte))
            .map_or(i64::MAX, |t| t.nanos())
    };
    let mut out: Vec<Journey> = groups
        .into_iter()
        .map(|(root, mut members)| {
            members.sort_by_key(|&i| (start(i), i));
            let mut links = u.links[root].clone();
            links.sort();
            let mut tls = tls_of.remove(&root).unwrap_or_default();
            tls.sort_by_key(|m| (burst_at(m), m.leg));
            Journey {
                members: members.into_iter().map(|i| refs[i]).collect(),
                links,
                tls,
                unlinked: unlinked_of.remove(&root).unwrap_or_default(),
            }
        })
        .collect();
    out.sort_by_key(|j| {
        let (l, e) = j.members[0];
        (start(index[&(l, e)]), l, e)
    });
    out
}

/// The part of a trace header that names the whole trace (`traceparent`:
/// `00-<trace-id>-<span-id>-<flags>`; the others are the id itself).
fn trace_key(v: &str) -> &str {
    let v = v.trim();
    match v.split('-').nth(1) {
        Some(id) if v.starts_with("00-") => id,
        _ => v,
    }
}

/// Joins each exchange of a `from` leg with the earliest unclaimed exchange of a `to` leg at
/// the same point carrying the same method, target and Host within the forward window; says
/// which (from, to) it joined, as indexes into `refs`.
///
/// The `to` exchanges are indexed by (point, method, target) in time order, so each lookup
/// reads only the forwards of that request line inside the window: O(n log n) over a capture,
/// not O(n²) (a million exchanges took hours). Ties go to the earlier exchange in `refs`, as
/// a scan of `refs` in order would.
fn forward(
    legs: &[LegView<'_>],
    refs: &[ExRef],
    index: &HashMap<ExRef, usize>,
    u: &mut Union,
    from: LegClass,
    to: LegClass,
) -> Vec<(usize, usize)> {
    type Key<'k> = (usize, &'k str, &'k str);
    let mut by_line: HashMap<Key<'_>, Vec<(i64, usize)>> = HashMap::new();
    for (j, &(l2, e2)) in refs.iter().enumerate() {
        if legs[l2].class != to {
            continue;
        }
        let Some(q2) = legs[l2].exchanges[e2].request.as_ref() else {
            continue;
        };
        let key = (legs[l2].point, q2.method.as_ref(), q2.target.as_str());
        by_line
            .entry(key)
            .or_default()
            .push((q2.msg.first_byte.nanos(), j));
    }
    for v in by_line.values_mut() {
        v.sort_unstable();
    }
    let mut claimed = vec![false; refs.len()];
    let mut joined = Vec::new();
    for &(l, e) in refs.iter().filter(|(l, _)| legs[*l].class == from) {
        let Some(q) = legs[l].exchanges[e].request.as_ref() else {
            continue;
        };
        let key = (legs[l].point, q.method.as_ref(), q.target.as_str());
        let Some(cands) = by_line.get(&key) else {
            continue;
        };
        let at = q.msg.first_byte.nanos();
        let start = cands.partition_point(|&(t, _)| t < at);
        let host = q.msg.header("host");
        let best = cands[start..]
            .iter()
            .take_while(|&&(t, _)| t.saturating_sub(at) <= FORWARD_WINDOW_NS)
            .find(|&&(_, j)| {
                let (l2, e2) = refs[j];
                let q2 = legs[l2].exchanges[e2].request.as_ref();
                !claimed[j] && same_host(host, q2.and_then(|q2| q2.msg.header("host")))
            });
        if let Some(&(_, j)) = best {
            claimed[j] = true;
            u.join(index[&(l, e)], j, Link::RequestLineTiming);
            joined.push((index[&(l, e)], j));
        }
    }
    joined
}

/// Envoy forwards Host unchanged on the outbound path; on the inbound path too. A missing
/// Host on either side does not contradict.
fn same_host(a: Option<&str>, b: Option<&str>) -> bool {
    match (a, b) {
        (Some(a), Some(b)) => a.eq_ignore_ascii_case(b),
        _ => true,
    }
}
