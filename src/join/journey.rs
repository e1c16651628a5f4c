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

use super::classify::LegClass;
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
}

impl Link {
    pub const fn as_str(self) -> &'static str {
        match self {
            Link::SameConnection => "same-connection",
            Link::RequestId => "x-request-id",
            Link::TraceId => "trace-id",
            Link::RequestLineTiming => "request-line+timing",
        }
    }
}

/// An exchange's place: (leg index, exchange index on that leg).
pub type ExRef = (usize, usize);

/// One request's exchanges over all legs, in time order, and what joined them.
#[derive(Clone, Debug, PartialEq)]
pub struct Journey {
    pub members: Vec<ExRef>,
    pub links: Vec<Link>,
}

struct Union {
    parent: Vec<usize>,
    links: Vec<Vec<Link>>,
}

impl Union {
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
/// views of leg `i` (see `twins.rs`).
pub fn journeys(legs: &[LegView<'_>], twins: &[Vec<usize>]) -> Vec<Journey> {
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
    // Through a sidecar: A → B and C → D in the same pod, by request line and time.
    for (from, to) in [
        (LegClass::AppToSidecar, LegClass::SidecarToUpstream),
        (LegClass::AppToSidecar, LegClass::ServiceFrontend),
        (LegClass::DownstreamToSidecar, LegClass::SidecarToApp),
    ] {
        forward(legs, &refs, &index, &mut u, from, to);
    }

    let mut groups: HashMap<usize, Vec<usize>> = HashMap::new();
    for i in 0..refs.len() {
        let r = u.find(i);
        groups.entry(r).or_default().push(i);
    }
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
            Journey {
                members: members.into_iter().map(|i| refs[i]).collect(),
                links,
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
/// the same point carrying the same method, target and Host within the forward window.
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
) {
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
            .take_while(|&&(t, _)| t - at <= FORWARD_WINDOW_NS)
            .find(|&&(_, j)| {
                let (l2, e2) = refs[j];
                let q2 = legs[l2].exchanges[e2].request.as_ref();
                !claimed[j] && same_host(host, q2.and_then(|q2| q2.msg.header("host")))
            });
        if let Some(&(_, j)) = best {
            claimed[j] = true;
            u.join(index[&(l, e)], j, Link::RequestLineTiming);
        }
    }
}

/// Envoy forwards Host unchanged on the outbound path; on the inbound path too. A missing
/// Host on either side does not contradict.
fn same_host(a: Option<&str>, b: Option<&str>) -> bool {
    match (a, b) {
        (Some(a), Some(b)) => a.eq_ignore_ascii_case(b),
        _ => true,
    }
}
