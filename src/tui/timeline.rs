//! Timing facts for the Timing tab (pure): each journey leg's exchange as a span relative to
//! the journey's start, and one exchange's phases on its connection: TCP handshake, request
//! sent, server time (request complete to first response byte), response sent. All from the
//! timestamps the pipeline recorded; nothing is estimated.

use crate::join::{Journey, Leg};
use crate::model::{Exchange, Timestamp};

/// One span, nanoseconds from the reference start; `end` None when it never completed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Span {
    pub label: String,
    pub start: i64,
    pub end: Option<i64>,
}

fn start_of(ex: &Exchange) -> Option<Timestamp> {
    ex.request
        .as_ref()
        .map(|q| q.msg.first_byte)
        .or(ex.response.as_ref().map(|r| r.msg.first_byte))
}

fn end_of(ex: &Exchange) -> Option<Timestamp> {
    let r = ex.response.as_ref()?;
    Some(r.msg.complete.unwrap_or(r.msg.first_byte))
}

/// The journey's member exchanges as spans from the first one's start; `name(l)` labels leg
/// `l`. Returns the spans and the journey's whole length.
pub fn journey_spans(
    journey: &Journey,
    legs: &[Leg],
    name: &dyn Fn(usize) -> String,
) -> (Vec<Span>, i64) {
    let ex = |&(l, e): &(usize, usize)| legs.get(l).and_then(|leg| leg.exchanges.get(e));
    let t0 = journey
        .members
        .iter()
        .filter_map(|m| ex(m).and_then(start_of))
        .min();
    let Some(t0) = t0 else {
        return (Vec::new(), 0);
    };
    let mut total = 0;
    let spans = journey
        .members
        .iter()
        .filter_map(|m| {
            let x = ex(m)?;
            let start = start_of(x)?.since(t0);
            let end = end_of(x).map(|t| t.since(t0));
            total = total.max(end.unwrap_or(start));
            Some(Span {
                label: name(m.0),
                start,
                end,
            })
        })
        .collect();
    (spans, total)
}

/// An exchange's phases on its connection, from the connection's first packet. The
/// handshake is shown only for the connection's first exchange (later ones reuse it).
pub fn phases(leg: &Leg, ex: &Exchange) -> Vec<Span> {
    let s = &leg.conn.stats;
    let t0 = match (ex.index, s.syn) {
        (0, Some(syn)) => syn,
        _ => start_of(ex).unwrap_or(s.first),
    };
    let rel = |t: Timestamp| t.since(t0);
    let mut v = Vec::new();
    if ex.index == 0 {
        if let Some(syn) = s.syn {
            v.push(Span {
                label: "TCP handshake".into(),
                start: rel(syn),
                end: s.ack.map(rel),
            });
        }
    }
    if let Some(q) = &ex.request {
        v.push(Span {
            label: "request".into(),
            start: rel(q.msg.first_byte),
            end: q.msg.complete.map(rel),
        });
        if let (Some(done), Some(r)) = (q.msg.complete, &ex.response) {
            v.push(Span {
                label: "server time".into(),
                start: rel(done),
                end: Some(rel(r.msg.first_byte)),
            });
        }
    }
    if let Some(r) = &ex.response {
        v.push(Span {
            label: "response".into(),
            start: rel(r.msg.first_byte),
            end: r.msg.complete.map(rel),
        });
    }
    v
}

/// A leg's label on the journey waterfall: the join's class and the capture point
/// (`app→sidecar        pod/productpage-v1-…`).
pub fn journey_phases_label(r: &super::data::Results, l: usize) -> String {
    let class = r.joined.classes.get(l).map_or("", |c| c.as_str());
    format!("{class:<18} {}", super::rows::short_name(r.point_of(l)))
}
