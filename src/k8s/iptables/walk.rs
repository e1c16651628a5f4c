//! Evaluates one table for the first packet of a connection: from the hook's built-in chain,
//! through jumps, gotos and returns, to a verdict, splitting on `-m statistic` and recording
//! every rule that matched and acted (the evidence a `hopscope path` shows).
//!
//! Semantics follow the kernel's `ipt_do_table` (net/ipv4/netfilter/ip_tables.c): rules in
//! order, a jump pushes a return point, `-g` does not, RETURN pops (and on a built-in chain
//! applies its policy), falling off a chain is a RETURN; MARK changes the packet mark for the
//! later `-m mark` tests (xt_MARK.c). Because the facts describe a *new* connection,
//! `--ctstate` is NEW and the connmark is 0. A `statistic --mode random` rule splits the walk:
//! p taken, 1−p falls through, with p snapped to 1/k as kube-proxy meant it (domain.md §1.2).
//! `recent --rcheck/--update` match only lists in `Facts::affinity_hits`.
//!
//! Not modelled (treated as matching): extension matches and options we do not know, which
//! are counters, limits and the like in the dumps we see. Guards: jumps deeper than
//! `MAX_DEPTH`, more than `MAX_LIVE` branches, or more than `MAX_WORK` rule evaluations cut
//! the branch (so probabilities may then sum to less than 1); iptables itself refuses loops.
//!
//! When a table has no built-in chain for the hook (kube-proxy's own restore input and its
//! unit-test dumps leave those out), the jumps kube-proxy installs (proxier.go
//! `iptablesJumpChains`, in the order a real node shows) are implied; their steps carry line
//! 0 and say so.

use std::cell::Cell;
use std::cmp::Ordering;
use std::collections::HashMap;
use std::net::IpAddr;

use super::rule::parse_spec;
use super::token::tokenize;
use super::{Family, MatchKind, RecentOp, Rule, Ruleset, Statistic, Table, Target};
use crate::k8s::walk::{Affinity, Facts, Hook, Outcome, Proto, Step, Verdict};

const MAX_DEPTH: usize = 64;
const MAX_LIVE: usize = 1024;
const MAX_WORK: usize = 200_000;

/// kube-proxy's jump rules into its chains (table, built-in chain, rule).
const KUBE_JUMPS: &[(&str, &str, &str)] = &[
    (
        "nat",
        "PREROUTING",
        r#"-m comment --comment "kubernetes service portals" -j KUBE-SERVICES"#,
    ),
    (
        "nat",
        "OUTPUT",
        r#"-m comment --comment "kubernetes service portals" -j KUBE-SERVICES"#,
    ),
    (
        "filter",
        "INPUT",
        r#"-m conntrack --ctstate NEW -m comment --comment "kubernetes load balancer firewall" -j KUBE-PROXY-FIREWALL"#,
    ),
    (
        "filter",
        "INPUT",
        r#"-m comment --comment "kubernetes health check service ports" -j KUBE-NODEPORTS"#,
    ),
    (
        "filter",
        "INPUT",
        r#"-m conntrack --ctstate NEW -m comment --comment "kubernetes externally-visible service portals" -j KUBE-EXTERNAL-SERVICES"#,
    ),
    ("filter", "INPUT", "-j KUBE-FIREWALL"),
    (
        "filter",
        "FORWARD",
        r#"-m conntrack --ctstate NEW -m comment --comment "kubernetes load balancer firewall" -j KUBE-PROXY-FIREWALL"#,
    ),
    (
        "filter",
        "FORWARD",
        r#"-m comment --comment "kubernetes forwarding rules" -j KUBE-FORWARD"#,
    ),
    (
        "filter",
        "FORWARD",
        r#"-m conntrack --ctstate NEW -m comment --comment "kubernetes service portals" -j KUBE-SERVICES"#,
    ),
    (
        "filter",
        "FORWARD",
        r#"-m conntrack --ctstate NEW -m comment --comment "kubernetes externally-visible service portals" -j KUBE-EXTERNAL-SERVICES"#,
    ),
    (
        "filter",
        "OUTPUT",
        r#"-m conntrack --ctstate NEW -m comment --comment "kubernetes load balancer firewall" -j KUBE-PROXY-FIREWALL"#,
    ),
    (
        "filter",
        "OUTPUT",
        r#"-m conntrack --ctstate NEW -m comment --comment "kubernetes service portals" -j KUBE-SERVICES"#,
    ),
    ("filter", "OUTPUT", "-j KUBE-FIREWALL"),
];

const IMPLIED: &str = "(implied kube-proxy jump) ";

impl Ruleset {
    /// Where a packet with these facts goes in `table` (`nat`, `mangle`, `filter`, `raw`),
    /// entering at the hook's built-in chain: PREROUTING or OUTPUT; for `filter`, INPUT when
    /// `facts.dst_local` and FORWARD otherwise on the PREROUTING hook. The table copy of the
    /// packet's address family is used. Empty when the dump has no such table.
    ///
    /// Tables are walked one at a time on the facts given: `filter` sees the packet after
    /// nat PREROUTING, so pass it the DNATed destination when nat rewrote one.
    pub fn walk(&self, table: &str, facts: &Facts) -> Vec<Outcome> {
        let chain = match (table, facts.hook) {
            ("filter" | "security", Hook::Prerouting) if facts.dst_local => "INPUT",
            ("filter" | "security", Hook::Prerouting) => "FORWARD",
            (_, Hook::Prerouting) => "PREROUTING",
            (_, Hook::Output) => "OUTPUT",
        };
        self.walk_chain(table, chain, facts)
    }

    /// Like [`Ruleset::walk`], entering at any chain (a RETURN from it is ACCEPT).
    pub fn walk_chain(&self, table: &str, chain: &str, facts: &Facts) -> Vec<Outcome> {
        let family = if facts.dst.is_ipv4() {
            Family::V4
        } else {
            Family::V6
        };
        let Some(t) = self.table(table, Some(family)) else {
            return Vec::new();
        };
        let w = Walker {
            table: t,
            facts,
            masq_bit: self.masquerade_bit(),
            affinity_secs: affinity_seconds(t),
            work: Cell::new(0),
        };
        let start = State {
            prob: 1.0,
            mark: facts.mark,
            steps: Vec::new(),
            masquerade: false,
            affinity: None,
        };
        let policy = match t.chain(chain).and_then(|c| c.policy.as_deref()) {
            Some("DROP") => Verdict::Drop,
            _ => Verdict::Accept,
        };
        let ends = w.chain(chain, start, 0);
        let outcomes = ends
            .into_iter()
            .map(|(st, end)| {
                let verdict = end.unwrap_or_else(|| policy.clone());
                st.into_outcome(verdict, w.masq_bit)
            })
            .collect();
        merge(outcomes)
    }

    /// kube-proxy's masquerade mark: what `KUBE-MARK-MASQ` sets (0x4000 by default), or 0
    /// when the dump has no such chain.
    pub fn masquerade_bit(&self) -> u32 {
        let Some(t) = self.table("nat", None) else {
            return 0;
        };
        let Some(c) = t.chain("KUBE-MARK-MASQ") else {
            return 0;
        };
        c.rules
            .iter()
            .find_map(|r| match r.target {
                Some(Target::Mark { value, .. }) if value != 0 => Some(value),
                _ => None,
            })
            .unwrap_or(0x4000)
    }
}

/// `--seconds` of each `recent` list checked anywhere in the table.
fn affinity_seconds(t: &Table) -> HashMap<String, u32> {
    let mut m = HashMap::new();
    for r in t.chains.iter().flat_map(|c| &c.rules) {
        for x in &r.matches {
            if let MatchKind::Recent(rc) = &x.kind {
                if let Some(s) = rc.seconds {
                    m.entry(rc.name.clone()).or_insert(s);
                }
            }
        }
    }
    m
}

#[derive(Clone, Debug)]
struct State {
    prob: f64,
    mark: u32,
    steps: Vec<Step>,
    masquerade: bool,
    affinity: Option<Affinity>,
}

impl State {
    fn into_outcome(self, verdict: Verdict, masq_bit: u32) -> Outcome {
        Outcome {
            // Snapped to 1e-12 so that 1/3 reached as 1/3 and as (2/3)(1/2) compare equal.
            probability: (self.prob * 1e12).round() / 1e12,
            steps: self.steps,
            verdict,
            masquerade: self.masquerade || self.mark & masq_bit != 0,
            affinity: self.affinity,
        }
    }
}

/// A branch's end: Some(verdict), or None for RETURN / falling off the chain.
type End = (State, Option<Verdict>);

struct Walker<'a> {
    table: &'a Table,
    facts: &'a Facts,
    masq_bit: u32,
    affinity_secs: HashMap<String, u32>,
    work: Cell<usize>,
}

impl Walker<'_> {
    fn implied_rules(&self, chain: &str) -> Vec<Rule> {
        KUBE_JUMPS
            .iter()
            .filter(|(t, c, _)| *t == self.table.name && *c == chain)
            .filter_map(|(_, _, text)| {
                let spec = parse_spec(&tokenize(text, 0).ok()?, 0).ok()?;
                let target = spec.target?;
                match &target {
                    Target::Chain(c) if self.table.chain(c).is_some() => {}
                    _ => return None,
                }
                Some(Rule {
                    line: 0,
                    text: format!("{IMPLIED}-A {chain} {text}"),
                    counters: None,
                    matches: spec.matches,
                    target: Some(target),
                    goto: false,
                })
            })
            .collect()
    }

    fn chain(&self, name: &str, start: State, depth: usize) -> Vec<End> {
        if depth > MAX_DEPTH {
            return Vec::new();
        }
        let implied;
        let rules: &[Rule] = match self.table.chain(name) {
            Some(c) => &c.rules,
            None => {
                implied = self.implied_rules(name);
                &implied
            }
        };
        let mut live = vec![start];
        let mut done: Vec<End> = Vec::new();
        for rule in rules {
            if live.is_empty() {
                break;
            }
            let mut next = Vec::new();
            for st in live {
                let w = self.work.get() + 1;
                self.work.set(w);
                if w > MAX_WORK {
                    continue;
                }
                let p = self.match_probability(rule, &st);
                if p < 1.0 {
                    let mut miss = st.clone();
                    miss.prob *= 1.0 - p;
                    next.push(miss);
                }
                if p > 0.0 {
                    let mut hit = st;
                    hit.prob *= p;
                    self.act(name, rule, hit, depth, &mut next, &mut done);
                }
            }
            if next.len() > MAX_LIVE {
                next.sort_by(|a, b| b.prob.total_cmp(&a.prob));
                next.truncate(MAX_LIVE);
            }
            live = next;
        }
        done.extend(live.into_iter().map(|st| (st, None)));
        done
    }

    /// Applies a matched rule's target: continuing branches go to `next`, ended ones to `done`.
    fn act(
        &self,
        chain: &str,
        rule: &Rule,
        mut st: State,
        depth: usize,
        next: &mut Vec<State>,
        done: &mut Vec<End>,
    ) {
        let Some(target) = &rule.target else {
            next.push(st); // a rule with no target only counts packets
            return;
        };
        st.steps.push(Step {
            chain: chain.to_string(),
            line: rule.line,
            rule: rule.text.clone(),
        });
        for m in &rule.matches {
            if let MatchKind::Recent(r) = &m.kind {
                if r.op == RecentOp::Set && !m.negated {
                    st.affinity = Some(Affinity {
                        name: r.name.clone(),
                        timeout_secs: self.affinity_secs.get(&r.name).copied().unwrap_or(0),
                    });
                }
            }
        }
        let f = self.facts;
        let verdict = match target {
            Target::Chain(c) => {
                if self.table.chain(c).is_none() {
                    next.push(st); // not a chain of this table: an extension we do not know
                    return;
                }
                for (sub, end) in self.chain(c, st, depth + 1) {
                    match end {
                        Some(v) => done.push((sub, Some(v))),
                        None if rule.goto => done.push((sub, None)),
                        None => next.push(sub),
                    }
                }
                return;
            }
            Target::Mark { value, mask } => {
                st.mark = (st.mark & !mask) ^ value;
                next.push(st);
                return;
            }
            Target::Connmark(_) | Target::Ct { .. } | Target::Other { .. } => {
                next.push(st);
                return;
            }
            Target::Return => {
                done.push((st, None));
                return;
            }
            Target::Dnat { addr, port } => Verdict::Dnat {
                addr: addr.unwrap_or(f.dst),
                port: *port,
            },
            Target::Redirect { port } => Verdict::Redirect {
                port: port.unwrap_or(f.dport),
            },
            Target::Tproxy { port, addr, .. } => Verdict::Tproxy {
                addr: *addr,
                port: if *port == 0 { f.dport } else { *port },
            },
            Target::Masquerade { .. } => {
                st.masquerade = true;
                Verdict::Accept
            }
            Target::Snat { .. } | Target::Accept => Verdict::Accept,
            Target::Drop => Verdict::Drop,
            Target::Reject { .. } => Verdict::Reject,
        };
        done.push((st, Some(verdict)));
    }

    /// The probability that `rule` matches (0 or 1 unless it has a statistic match).
    fn match_probability(&self, rule: &Rule, st: &State) -> f64 {
        let mut p = 1.0;
        for m in &rule.matches {
            let f = self.facts;
            let hit = match &m.kind {
                MatchKind::Statistic(s) => {
                    let q = match *s {
                        Statistic::Random { probability } => snap_probability(probability),
                        Statistic::Nth { every, .. } => 1.0 / f64::from(every.max(1)),
                    };
                    p *= if m.negated { 1.0 - q } else { q };
                    continue;
                }
                MatchKind::Source(c) => c.contains(f.src),
                MatchKind::Destination(c) => c.contains(f.dst),
                MatchKind::InIface(i) => iface_matches(i, f.in_iface.as_deref()),
                MatchKind::OutIface(i) => iface_matches(i, f.out_iface.as_deref()),
                MatchKind::Protocol(p) => proto_matches(p, f.proto),
                MatchKind::DPort(r) => r.contains(f.dport),
                MatchKind::SPort(r) => r.contains(f.sport),
                MatchKind::DPorts(rs) => rs.iter().any(|r| r.contains(f.dport)),
                MatchKind::SPorts(rs) => rs.iter().any(|r| r.contains(f.sport)),
                MatchKind::Ports(rs) => rs
                    .iter()
                    .any(|r| r.contains(f.dport) || r.contains(f.sport)),
                MatchKind::Comment(_) => true,
                MatchKind::Recent(r) => r.op == RecentOp::Set || f.affinity_hits.contains(&r.name),
                MatchKind::SrcType(t) => addr_type_matches(t, f.src, f.src_local),
                MatchKind::DstType(t) => addr_type_matches(t, f.dst, f.dst_local),
                MatchKind::Mark { value, mask } => st.mark & mask == *value,
                // A new connection's connmark is 0, so only `--mark 0/M` matches.
                MatchKind::ConnMark { value, .. } => *value == 0,
                MatchKind::CtState(s) => s.iter().any(|s| s == "NEW"),
                MatchKind::UidOwner { first, last } => {
                    f.uid.is_some_and(|u| *first <= u && u <= *last)
                }
                MatchKind::GidOwner { first, last } => {
                    f.gid.is_some_and(|g| *first <= g && g <= *last)
                }
                MatchKind::Set { .. } => false,
                MatchKind::Unknown { .. } => continue,
            };
            if hit == m.negated {
                return 0.0;
            }
        }
        p
    }
}

/// kube-proxy writes 1/k as `%0.10f` (before ~2017, `%0.5f`) and the kernel keeps
/// round(p·2^31), so a saved p is within 1e-5 of 1/k: use 1/k exactly then.
pub(super) fn snap_probability(p: f64) -> f64 {
    if p.is_nan() || p <= 0.0 {
        return 0.0;
    }
    if p >= 1.0 {
        return 1.0;
    }
    let k = (1.0 / p).round();
    if k >= 1.0 && (1.0 / k - p).abs() < 1e-5 {
        1.0 / k
    } else {
        p
    }
}

/// `-i eth+` matches any name starting `eth`; an unknown interface matches no name.
fn iface_matches(pattern: &str, iface: Option<&str>) -> bool {
    let Some(iface) = iface else {
        return false;
    };
    match pattern.strip_suffix('+') {
        Some(prefix) => iface.starts_with(prefix),
        None => iface == pattern,
    }
}

fn proto_matches(p: &str, proto: Proto) -> bool {
    match p {
        "all" | "0" => true,
        "tcp" | "6" => proto == Proto::Tcp,
        "udp" | "17" => proto == Proto::Udp,
        "sctp" | "132" => proto == Proto::Sctp,
        _ => false,
    }
}

/// `-m addrtype`: LOCAL from the facts; the few other types that follow from the address.
fn addr_type_matches(types: &[String], ip: IpAddr, local: bool) -> bool {
    types.iter().any(|t| match t.as_str() {
        "LOCAL" => local,
        "MULTICAST" => ip.is_multicast(),
        "UNICAST" => !ip.is_multicast() && !ip.is_unspecified(),
        "UNSPEC" => ip.is_unspecified(),
        _ => false,
    })
}

/// Merges outcomes with the same verdict, masquerade and affinity (summing probabilities and
/// keeping the steps of the likeliest), then sorts: probability descending, then verdict.
fn merge(mut outs: Vec<Outcome>) -> Vec<Outcome> {
    let order = |a: &Outcome, b: &Outcome| -> Ordering {
        b.probability
            .total_cmp(&a.probability)
            .then_with(|| a.verdict.sort_key().cmp(&b.verdict.sort_key()))
            .then_with(|| a.masquerade.cmp(&b.masquerade))
    };
    outs.sort_by(order);
    let mut merged: Vec<Outcome> = Vec::new();
    for o in outs {
        match merged.iter_mut().find(|m| {
            m.verdict == o.verdict && m.masquerade == o.masquerade && m.affinity == o.affinity
        }) {
            Some(m) => m.probability = ((m.probability + o.probability) * 1e12).round() / 1e12,
            None => merged.push(o),
        }
    }
    merged.sort_by(order);
    merged
}
