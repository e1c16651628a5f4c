//! The sidecar's interception hops (domain.md 3.7): leg A's REDIRECT to the outbound port, seen
//! on the wire (the replies come from the original destination) and checked against the pod's
//! rules; leg C's REDIRECT to the inbound port, never on the wire, so taken from the pod's
//! conntrack or its rules.

use super::cluster::{NatEntry, PodView};
use super::hops::chains;
use crate::k8s::walk::{Facts, Hook, Outcome, Verdict};
use crate::model::{Connection, Evidence, Hop, HopKind};
use std::net::SocketAddr;

/// Leg A's REDIRECT to the outbound port, with the pod's rules that did it.
pub(super) fn intercept_outbound(c: &Connection, pod: Option<&PodView>) -> Hop {
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
pub(super) fn intercept_inbound(c: &Connection, pod: Option<&PodView>) -> Hop {
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
