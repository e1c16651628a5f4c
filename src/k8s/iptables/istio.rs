//! What istio-iptables / istio-cni set up in a pod's netns, read back from the `ISTIO_*`
//! chains: the interception mode, the capture ports, and the include/exclude lists that the
//! injector's flags and annotations became (domain.md §3.1–3.6).
//!
//! Follows the rule builders in istio/istio `tools/istio-iptables/pkg/capture/run.go`
//! (sidecar: `ISTIO_INBOUND`, `ISTIO_IN_REDIRECT`, `ISTIO_OUTPUT`, `ISTIO_REDIRECT`,
//! `ISTIO_DIVERT`/`ISTIO_TPROXY`, `ISTIO_OUTPUT_DNS`) and `cni/pkg/iptables/iptables.go`
//! (ambient: `ISTIO_PRERT`, `ISTIO_OUTPUT`, mark 0x539). It reads rule shapes, not comments
//! (Istio writes none). It does not say where a given packet goes: that is
//! [`Ruleset::walk`](super::Ruleset::walk) on the same rules.

use std::net::IpAddr;

use super::{Cidr, Family, MatchKind, Rule, Ruleset, Table, Target};

/// How inbound traffic is captured.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum InterceptionMode {
    /// Sidecar, nat `REDIRECT` (the default).
    Redirect,
    /// Sidecar, mangle `TPROXY` (`sidecar.istio.io/interceptionMode: TPROXY`).
    Tproxy,
    /// Ambient in-pod rules for ztunnel (`ISTIO_PRERT`).
    Ambient,
}

/// The interception a pod's rules implement.
#[derive(Clone, Debug, PartialEq)]
pub struct Interception {
    pub mode: InterceptionMode,
    /// PREROUTING jumps into the inbound chain (`-b` not empty).
    pub inbound_enabled: bool,
    /// Where inbound is sent (15006): REDIRECT `--to-ports` or TPROXY `--on-port`.
    pub inbound_capture_port: Option<u16>,
    /// Where outbound is sent (15001).
    pub outbound_capture_port: Option<u16>,
    /// `-b '*'`: every inbound TCP port not excluded is captured.
    pub inbound_all_ports: bool,
    /// `-b P,…` (when not `*`).
    pub inbound_ports_included: Vec<u16>,
    /// `--dport P -j RETURN` in the inbound chain (15008, 15090, 15021, 15020, `-d`).
    pub inbound_ports_excluded: Vec<u16>,
    /// `-i '*'`: a final unconditional `-j ISTIO_REDIRECT`.
    pub outbound_all: bool,
    /// `-i CIDR,…`.
    pub outbound_cidrs_included: Vec<Cidr>,
    /// `-x CIDR,…` (plus the loopback `-d 127.0.0.1/32 -j RETURN` Istio always writes).
    pub outbound_cidrs_excluded: Vec<Cidr>,
    /// `-q P,…`.
    pub outbound_ports_included: Vec<u16>,
    /// `-o P,…`.
    pub outbound_ports_excluded: Vec<u16>,
    /// `-u` / `-g`: owners whose traffic is never captured.
    pub proxy_uids: Vec<u32>,
    pub proxy_gids: Vec<u32>,
    /// Ambient: the ztunnel socket mark (0x539) that bypasses capture.
    pub proxy_mark: Option<u32>,
    /// DNS capture (`--redirect-dns`): the agent's port (15053).
    pub dns_redirect_port: Option<u16>,
    /// The nameservers DNS capture is limited to (empty with `--capture-all-dns`).
    pub dns_servers: Vec<IpAddr>,
    /// `-k`: inbound on these interfaces is treated as outbound.
    pub kube_virt_interfaces: Vec<String>,
    /// `-c`: interfaces whose traffic is never captured.
    pub excluded_interfaces: Vec<String>,
    /// TPROXY mode's `--tproxy-mark` value (1337).
    pub tproxy_mark: Option<u32>,
    /// `--drop-invalid`: ctstate INVALID is dropped.
    pub drop_invalid: bool,
}

fn rules<'a>(t: Option<&'a Table>, chain: &str) -> &'a [Rule] {
    t.and_then(|t| t.chain(chain))
        .map(|c| c.rules.as_slice())
        .unwrap_or(&[])
}

/// The rule's matches other than `-p` and comments.
fn conditions(r: &Rule) -> impl Iterator<Item = &super::Match> {
    r.matches
        .iter()
        .filter(|m| !matches!(m.kind, MatchKind::Protocol(_) | MatchKind::Comment(_)))
}

fn only_dport(r: &Rule) -> Option<u16> {
    let mut c = conditions(r);
    match (c.next(), c.next()) {
        (Some(m), None) if !m.negated => match &m.kind {
            MatchKind::DPort(p) => p.single(),
            _ => None,
        },
        _ => None,
    }
}

fn only_dst(r: &Rule) -> Option<Cidr> {
    let mut c = conditions(r);
    match (c.next(), c.next()) {
        (Some(m), None) if !m.negated => match &m.kind {
            MatchKind::Destination(d) => Some(*d),
            _ => None,
        },
        _ => None,
    }
}

fn push<T: PartialEq>(v: &mut Vec<T>, x: T) {
    if !v.contains(&x) {
        v.push(x);
    }
}

fn redirect_port(r: &Rule) -> Option<u16> {
    match r.target {
        Some(Target::Redirect { port }) => port,
        Some(Target::Tproxy { port, .. }) => Some(port),
        _ => None,
    }
}

fn has_dport(r: &Rule, port: u16) -> bool {
    r.matches
        .iter()
        .any(|m| !m.negated && matches!(&m.kind, MatchKind::DPort(p) if p.contains(port)))
}

impl Interception {
    /// Reads the `family` copy of the rules; None when there are no `ISTIO_*` chains.
    pub fn from_ruleset(rs: &Ruleset, family: Family) -> Option<Interception> {
        // Every mode writes nat rules; without a nat copy for this family there is nothing.
        let nat = Some(rs.table("nat", Some(family))?);
        let mangle = rs.table("mangle", Some(family));
        let has = |t: Option<&Table>, c: &str| t.and_then(|t| t.chain(c)).is_some();
        let mode = if has(nat, "ISTIO_PRERT") || has(mangle, "ISTIO_PRERT") {
            InterceptionMode::Ambient
        } else if rules(mangle, "ISTIO_TPROXY")
            .iter()
            .any(|r| matches!(r.target, Some(Target::Tproxy { .. })))
        {
            InterceptionMode::Tproxy
        } else if has(nat, "ISTIO_REDIRECT")
            || has(nat, "ISTIO_IN_REDIRECT")
            || has(nat, "ISTIO_OUTPUT")
        {
            InterceptionMode::Redirect
        } else {
            return None;
        };
        let mut i = Interception {
            mode,
            inbound_enabled: false,
            inbound_capture_port: None,
            outbound_capture_port: None,
            inbound_all_ports: false,
            inbound_ports_included: Vec::new(),
            inbound_ports_excluded: Vec::new(),
            outbound_all: false,
            outbound_cidrs_included: Vec::new(),
            outbound_cidrs_excluded: Vec::new(),
            outbound_ports_included: Vec::new(),
            outbound_ports_excluded: Vec::new(),
            proxy_uids: Vec::new(),
            proxy_gids: Vec::new(),
            proxy_mark: None,
            dns_redirect_port: None,
            dns_servers: Vec::new(),
            kube_virt_interfaces: Vec::new(),
            excluded_interfaces: Vec::new(),
            tproxy_mark: None,
            drop_invalid: false,
        };
        for t in [nat, mangle] {
            for r in rules(t, "PREROUTING") {
                let iface = r.find(|k| match k {
                    MatchKind::InIface(n) => Some(n.clone()),
                    _ => None,
                });
                match (r.jump(), &r.target, iface) {
                    (Some("ISTIO_REDIRECT"), _, Some(n)) => push(&mut i.kube_virt_interfaces, n),
                    (_, Some(Target::Return), Some(n)) => push(&mut i.excluded_interfaces, n),
                    (Some("ISTIO_INBOUND" | "ISTIO_PRERT"), _, None) => i.inbound_enabled = true,
                    _ => {}
                }
                if r.matches.iter().any(|m| !m.negated && matches!(&m.kind, MatchKind::CtState(s) if s.iter().any(|s| s == "INVALID")))
                    && (r.jump() == Some("ISTIO_DROP") || matches!(r.target, Some(Target::Drop)))
                {
                    i.drop_invalid = true;
                }
            }
        }
        if mode == InterceptionMode::Ambient {
            for t in [nat, mangle] {
                for r in rules(t, "ISTIO_PRERT") {
                    if let Some(p) = redirect_port(r) {
                        if !has_dport(r, 15008) {
                            i.inbound_capture_port.get_or_insert(p);
                            i.inbound_all_ports = true;
                        }
                    }
                }
                for r in rules(t, "ISTIO_PRERT")
                    .iter()
                    .chain(rules(t, "ISTIO_OUTPUT"))
                {
                    for m in r.matches.iter().filter(|m| m.negated) {
                        if let MatchKind::Mark { value, .. } = m.kind {
                            i.proxy_mark.get_or_insert(value);
                        }
                    }
                }
            }
            for r in rules(nat, "ISTIO_OUTPUT") {
                let Some(p) = redirect_port(r) else { continue };
                if has_dport(r, 53) {
                    i.dns_redirect_port.get_or_insert(p);
                } else {
                    i.outbound_capture_port.get_or_insert(p);
                    i.outbound_all = true;
                }
            }
            return Some(i);
        }
        i.outbound_capture_port = rules(nat, "ISTIO_REDIRECT").iter().find_map(redirect_port);
        let (inbound, capture) = match mode {
            InterceptionMode::Tproxy => (mangle, "ISTIO_TPROXY"),
            _ => (nat, "ISTIO_IN_REDIRECT"),
        };
        i.inbound_capture_port = rules(inbound, capture).iter().find_map(redirect_port);
        i.tproxy_mark = rules(mangle, "ISTIO_TPROXY")
            .iter()
            .find_map(|r| match r.target {
                Some(Target::Tproxy {
                    mark: Some((v, _)), ..
                }) => Some(v),
                _ => None,
            });
        for r in rules(inbound, "ISTIO_INBOUND") {
            match (&r.target, r.jump()) {
                (Some(Target::Return), _) => {
                    if let Some(p) = only_dport(r) {
                        push(&mut i.inbound_ports_excluded, p);
                    }
                }
                (_, Some(c)) if c == capture => match only_dport(r) {
                    Some(p) => push(&mut i.inbound_ports_included, p),
                    None if conditions(r).next().is_none() => i.inbound_all_ports = true,
                    None => {}
                },
                _ => {}
            }
        }
        for r in rules(nat, "ISTIO_OUTPUT") {
            let owner_only = {
                let mut c = conditions(r);
                match (c.next(), c.next()) {
                    (Some(m), None) if !m.negated => match m.kind {
                        MatchKind::UidOwner { first, .. } => Some((true, first)),
                        MatchKind::GidOwner { first, .. } => Some((false, first)),
                        _ => None,
                    },
                    _ => None,
                }
            };
            match (&r.target, r.jump()) {
                (Some(Target::Return), _) => {
                    if let Some(p) = only_dport(r) {
                        push(&mut i.outbound_ports_excluded, p);
                    } else if let Some(c) = only_dst(r) {
                        push(&mut i.outbound_cidrs_excluded, c);
                    } else if let Some((uid, id)) = owner_only {
                        push(
                            if uid {
                                &mut i.proxy_uids
                            } else {
                                &mut i.proxy_gids
                            },
                            id,
                        );
                    }
                }
                (_, Some("ISTIO_REDIRECT")) => {
                    if let Some(p) = only_dport(r) {
                        push(&mut i.outbound_ports_included, p);
                    } else if let Some(c) = only_dst(r) {
                        push(&mut i.outbound_cidrs_included, c);
                    } else if conditions(r).next().is_none() {
                        i.outbound_all = true;
                    }
                }
                _ => {}
            }
        }
        for r in rules(nat, "ISTIO_OUTPUT_DNS")
            .iter()
            .chain(rules(nat, "ISTIO_OUTPUT"))
        {
            if let (Some(p), true) = (redirect_port(r), has_dport(r, 53)) {
                i.dns_redirect_port.get_or_insert(p);
                if let Some(d) = r.find(|k| match k {
                    MatchKind::Destination(c) => Some(c.addr),
                    _ => None,
                }) {
                    push(&mut i.dns_servers, d);
                }
            }
        }
        Some(i)
    }
}
