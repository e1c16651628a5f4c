//! Where a connection or request went: the ordered hops of its forwarding path, each with the
//! evidence for it (domain.md 7.8). Plain data, made by `join`, printed by `report`.
//!
//! The rule this shape enforces: a hop that was not observed says how it was inferred, and a
//! choice the capture cannot show (a kube-proxy endpoint picked at random, an Envoy weighted
//! cluster) is a list of candidates with probabilities, never a sampled guess.

use std::net::SocketAddr;

/// How a hop is known, strongest first. A path is as strong as its weakest hop.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Evidence {
    /// Seen in a capture (both sides of the NAT, or the packets themselves).
    Observed,
    /// A conntrack entry of the netns where the NAT happened.
    Conntrack,
    /// The configuration leaves one possibility (one endpoint, one route).
    ConfigExact,
    /// The configuration leaves several; each candidate carries its probability.
    Weighted,
    /// Matched by timing and volume only (an mTLS leg).
    Timing,
    /// Not enough evidence; the hop is named so the gap is visible.
    Unknown,
}

impl Evidence {
    pub const fn as_str(self) -> &'static str {
        match self {
            Evidence::Observed => "observed",
            Evidence::Conntrack => "conntrack",
            Evidence::ConfigExact => "config-exact",
            Evidence::Weighted => "weighted",
            Evidence::Timing => "timing",
            Evidence::Unknown => "unknown",
        }
    }
}

/// What kind of forwarding step a hop is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum HopKind {
    /// The client's connection as it left (or was seen): the first hop.
    Client,
    /// kube-proxy's service frontend (ClusterIP, NodePort, external or LB IP) to an endpoint.
    KubeService,
    /// A sidecar's iptables interception (REDIRECT to 15001 / 15006, or TPROXY).
    Intercept,
    /// Envoy's decision: listener → route → cluster → endpoint.
    Envoy,
    /// Delivered to the application (the sidecar's inbound leg, or a plain connection).
    App,
}

impl HopKind {
    pub const fn as_str(self) -> &'static str {
        match self {
            HopKind::Client => "client",
            HopKind::KubeService => "kube-service",
            HopKind::Intercept => "intercept",
            HopKind::Envoy => "envoy",
            HopKind::App => "app",
        }
    }
}

/// One possible destination of a hop with several.
#[derive(Clone, Debug, PartialEq)]
pub struct Candidate {
    pub addr: SocketAddr,
    pub probability: f64,
    /// The rule or object that leads there (`KUBE-SEP-…`, an Envoy endpoint's cluster).
    pub via: String,
}

/// One step of a path.
#[derive(Clone, Debug, PartialEq)]
pub struct Hop {
    pub kind: HopKind,
    /// Addresses before the hop (what the packet carried) and after it (where it went);
    /// `to` is None when only candidates are known.
    pub from: Option<SocketAddr>,
    pub to: Option<SocketAddr>,
    /// The source address after the hop when it was rewritten (MASQUERADE / SNAT).
    pub snat: Option<SocketAddr>,
    /// Names of the rules or config objects passed, in order
    /// (`KUBE-NODEPORTS`, `KUBE-EXT-…`, `listener 0.0.0.0_9080`, `route 9080`, …).
    pub via: Vec<String>,
    /// When `to` is not decided: every possibility with its probability.
    pub candidates: Vec<Candidate>,
    pub evidence: Evidence,
    /// A short human explanation (what proved it, or what was missing).
    pub note: String,
}

impl Hop {
    pub fn new(kind: HopKind, evidence: Evidence) -> Hop {
        Hop {
            kind,
            from: None,
            to: None,
            snat: None,
            via: Vec::new(),
            candidates: Vec::new(),
            evidence,
            note: String::new(),
        }
    }
}

/// The ordered hops of one connection or request.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Path {
    pub hops: Vec<Hop>,
}

impl Path {
    /// The weakest evidence of any hop (a path is no surer than its least sure hop).
    pub fn confidence(&self) -> Evidence {
        self.hops
            .iter()
            .map(|h| h.evidence)
            .max()
            .unwrap_or(Evidence::Unknown)
    }
}
