//! Where a connection's first packet goes through the nat base chains of a ruleset.
//!
//! Follows netfilter's nf_tables semantics (nft(8) "VERDICT STATEMENT"): base chains of type
//! `nat` on the fact's hook run in priority order; `jump` returns to the next rule, `goto` does
//! not (its chain's end returns to the last `jump`); `accept` ends the chain; `dnat`,
//! `redirect`, `tproxy` and `masquerade` are terminal; the first chain that NATs wins (nf_nat
//! binds once per hook). `numgen random mod N` splits into N equal outcomes (kube-proxy
//! `writeServiceToEndpointRules`). Set lookups on `affinity-…` (or any set) are true when the
//! set name is in `facts.affinity_hits`, else they test the set's listed elements. Matches on
//! expressions the model does not know do not match; `ct state new` is true (a first packet).

use std::net::IpAddr;

use super::{
    ElemData, Expr, L4Header, MarkOp, MatchOp, NftElement, NftRuleset, NftTable, NftVerdict, Stmt,
    Value, VmapRef,
};
use crate::k8s::walk::{Affinity, Facts, Hook, Outcome, Proto, Step, Verdict};

/// Deeper jumps than this end the branch (loop guard).
const MAX_DEPTH: usize = 64;
/// At most this many outcomes from one walk.
const MAX_OUTCOMES: usize = 1024;

#[derive(Clone)]
struct State {
    prob: f64,
    steps: Vec<Step>,
    mark: u32,
    masquerade: bool,
    affinity: Option<Affinity>,
}

enum Flow {
    /// Fell off the end or `return`: continue in the caller.
    Next,
    Done(Verdict),
}

/// A fact as a value a rule compares.
enum Fact<'a> {
    Addr(IpAddr),
    Proto(Proto),
    Port(u16),
    Word(&'a str),
    Int(u64),
}

fn proto_name(p: Proto) -> (&'static str, u64) {
    match p {
        Proto::Tcp => ("tcp", 6),
        Proto::Udp => ("udp", 17),
        Proto::Sctp => ("sctp", 132),
    }
}

fn cidr_contains(net: IpAddr, len: u8, a: IpAddr) -> bool {
    match (net, a) {
        (IpAddr::V4(n), IpAddr::V4(a)) if len <= 32 => {
            let m = if len == 0 { 0 } else { u32::MAX << (32 - len) };
            u32::from(n) & m == u32::from(a) & m
        }
        (IpAddr::V6(n), IpAddr::V6(a)) if len <= 128 => {
            let m = if len == 0 {
                0
            } else {
                u128::MAX << (128 - len)
            };
            u128::from(n) & m == u128::from(a) & m
        }
        _ => false,
    }
}

fn port_of(v: &Value) -> Option<u64> {
    match v {
        Value::Int(n) => Some(*n),
        Value::Word(w) => Some(match w.as_str() {
            "http" => 80,
            "https" => 443,
            "domain" => 53,
            "ssh" => 22,
            _ => return None,
        }),
        _ => None,
    }
}

impl<'a> Fact<'a> {
    fn matches(&self, v: &Value) -> bool {
        match (self, v) {
            (_, Value::Anon(vs)) => vs.iter().any(|v| self.matches(v)),
            (Fact::Addr(a), Value::Addr(b)) => a == b,
            (Fact::Addr(a), Value::Cidr(n, l)) => cidr_contains(*n, *l, *a),
            (Fact::Addr(a), Value::Range(lo, hi)) => match (&**lo, &**hi) {
                (Value::Addr(lo), Value::Addr(hi)) => lo <= a && a <= hi,
                _ => false,
            },
            (Fact::Proto(p), Value::Word(w)) => proto_name(*p).0 == w,
            (Fact::Proto(p), Value::Int(n)) => proto_name(*p).1 == *n,
            (Fact::Port(p), Value::Range(lo, hi)) => match (port_of(lo), port_of(hi)) {
                (Some(lo), Some(hi)) => lo <= u64::from(*p) && u64::from(*p) <= hi,
                _ => false,
            },
            (Fact::Port(p), v) => port_of(v) == Some(u64::from(*p)),
            (Fact::Word(a), Value::Word(b)) => a == b,
            (Fact::Int(a), Value::Int(b)) => a == b,
            _ => false,
        }
    }
}

struct Walker<'a> {
    table: &'a NftTable,
    facts: &'a Facts,
}

impl<'a> Walker<'a> {
    /// The fact an expression reads, or None when it does not apply (wrong family, header).
    fn fact(&self, e: &Expr, st: &State) -> Option<Fact<'a>> {
        let f = self.facts;
        let l4 = |h: L4Header| {
            matches!(
                (h, f.proto),
                (L4Header::Th, _)
                    | (L4Header::Tcp, Proto::Tcp)
                    | (L4Header::Udp, Proto::Udp)
                    | (L4Header::Sctp, Proto::Sctp)
            )
        };
        Some(match e {
            Expr::Saddr { v6 } if f.src.is_ipv6() == *v6 => Fact::Addr(f.src),
            Expr::Daddr { v6 } if f.dst.is_ipv6() == *v6 => Fact::Addr(f.dst),
            Expr::L4proto => Fact::Proto(f.proto),
            Expr::Dport(h) if l4(*h) => Fact::Port(f.dport),
            Expr::Sport(h) if l4(*h) => Fact::Port(f.sport),
            Expr::FibType { daddr } => {
                let local = if *daddr { f.dst_local } else { f.src_local };
                Fact::Word(if local { "local" } else { "unicast" })
            }
            Expr::Mark { mask } => Fact::Int(u64::from(st.mark & mask.unwrap_or(u32::MAX))),
            Expr::Iifname => Fact::Word(f.in_iface.as_deref().unwrap_or("")),
            Expr::Oifname => Fact::Word(f.out_iface.as_deref().unwrap_or("")),
            Expr::CtState => Fact::Word("new"),
            _ => return None,
        })
    }

    /// Does the set hold the fact(s)?
    fn in_set(&self, name: &str, key: &[Fact<'_>]) -> bool {
        if self.facts.affinity_hits.iter().any(|h| h == name) {
            return true;
        }
        self.table
            .set(name)
            .is_some_and(|s| s.elements.iter().any(|e| elem_matches(e, key)))
    }

    fn test(&self, left: &[Expr], op: MatchOp, right: &Value, st: &State) -> bool {
        let facts: Option<Vec<Fact<'_>>> = left.iter().map(|e| self.fact(e, st)).collect();
        let Some(facts) = facts else { return false };
        let hit = match (right, facts.as_slice()) {
            (Value::SetRef(s), _) => self.in_set(s, &facts),
            (v, [one]) => one.matches(v),
            (Value::Anon(vs), many) => vs.iter().any(|v| match v {
                Value::Concat(parts) => {
                    parts.len() == many.len() && many.iter().zip(parts).all(|(f, p)| f.matches(p))
                }
                _ => false,
            }),
            _ => false,
        };
        hit == (op == MatchOp::Eq)
    }

    fn chain(&self, name: &str, st: State, depth: usize, out: &mut Vec<(State, Flow)>) {
        let Some(chain) = self.table.chain(name) else {
            out.push((st, Flow::Next));
            return;
        };
        if depth > MAX_DEPTH {
            let mut st = st;
            st.steps.push(Step {
                chain: name.to_string(),
                line: chain.line,
                rule: "(jump depth limit reached: a loop?)".to_string(),
            });
            out.push((st, Flow::Done(Verdict::Drop)));
            return;
        }
        // States still running in this chain, each at the next rule to try.
        let mut live = vec![(st, 0usize)];
        while let Some((st, ri)) = live.pop() {
            if out.len() + live.len() >= MAX_OUTCOMES {
                out.push((st, Flow::Next));
                continue;
            }
            let Some(rule) = chain.rules.get(ri) else {
                out.push((st, Flow::Next));
                continue;
            };
            let step = Step {
                chain: name.to_string(),
                line: rule.line,
                rule: rule.text.clone(),
            };
            // Run the rule's statements; each branch ends as Next (go on to rule ri+1),
            // Return (leave this chain) or Done.
            let mut branches = vec![(st, 0usize, false)];
            while let Some((mut st, si, stepped)) = branches.pop() {
                let Some(s) = rule.stmts.get(si) else {
                    live.push((st, ri + 1));
                    continue;
                };
                let mut stepped = stepped;
                let record = |st: &mut State, stepped: &mut bool| {
                    if !*stepped {
                        st.steps.push(step.clone());
                        *stepped = true;
                    }
                };
                match s {
                    Stmt::Match { left, op, right } => {
                        if self.test(left, *op, right, &st) {
                            branches.push((st, si + 1, stepped));
                        } else {
                            live.push((st, ri + 1));
                        }
                    }
                    Stmt::Counter | Stmt::Other(_) => branches.push((st, si + 1, stepped)),
                    Stmt::MarkSet(op) => {
                        record(&mut st, &mut stepped);
                        st.mark = match *op {
                            MarkOp::Set(v) => v,
                            MarkOp::Or(v) => st.mark | v,
                            MarkOp::Xor(v) => st.mark ^ v,
                            MarkOp::And(v) => st.mark & v,
                        };
                        // kube-proxy's masquerade bit (proxier.go `kubeProxyMasqBit` 0x4000).
                        if st.mark & 0x4000 != 0 {
                            st.masquerade = true;
                        }
                        branches.push((st, si + 1, stepped));
                    }
                    Stmt::UpdateSet { set } => {
                        record(&mut st, &mut stepped);
                        let timeout = self.table.set(set).and_then(|s| s.timeout_secs);
                        st.affinity = Some(Affinity {
                            name: set.clone(),
                            timeout_secs: timeout.unwrap_or(0),
                        });
                        branches.push((st, si + 1, stepped));
                    }
                    Stmt::Dnat { addr, port } => {
                        record(&mut st, &mut stepped);
                        let addr = addr.unwrap_or(self.facts.dst);
                        out.push((st, Flow::Done(Verdict::Dnat { addr, port: *port })));
                    }
                    Stmt::Redirect { port } => {
                        record(&mut st, &mut stepped);
                        let port = port.unwrap_or(self.facts.dport);
                        out.push((st, Flow::Done(Verdict::Redirect { port })));
                    }
                    Stmt::Tproxy { addr, port } => {
                        record(&mut st, &mut stepped);
                        let port = port.unwrap_or(self.facts.dport);
                        out.push((st, Flow::Done(Verdict::Tproxy { addr: *addr, port })));
                    }
                    Stmt::Masquerade => {
                        record(&mut st, &mut stepped);
                        st.masquerade = true;
                        out.push((st, Flow::Done(Verdict::Accept)));
                    }
                    Stmt::Verdict(v) => {
                        record(&mut st, &mut stepped);
                        self.verdict(v, st, depth, ri, &mut live, out);
                    }
                    Stmt::Vmap { key, map } => {
                        let hits = self.vmap(key, map, &st);
                        if hits.is_empty() {
                            branches.push((st, si + 1, stepped));
                            continue;
                        }
                        record(&mut st, &mut stepped);
                        let share = 1.0 / hits.len() as f64;
                        let shared = matches!(key.as_slice(), [Expr::Numgen { .. }]);
                        for (el, v, mapname) in hits {
                            let mut st = st.clone();
                            if shared {
                                st.prob *= share;
                            }
                            if let Some(m) = mapname {
                                st.steps.push(Step {
                                    chain: m.to_string(),
                                    line: el.line,
                                    rule: el.text.clone(),
                                });
                            }
                            self.verdict(v, st, depth, ri, &mut live, out);
                        }
                    }
                }
            }
        }
    }

    /// Applies a verdict: `live` gets states that go on in this chain, `out` those that leave it.
    fn verdict(
        &self,
        v: &NftVerdict,
        st: State,
        depth: usize,
        ri: usize,
        live: &mut Vec<(State, usize)>,
        out: &mut Vec<(State, Flow)>,
    ) {
        match v {
            NftVerdict::Accept => out.push((st, Flow::Done(Verdict::Accept))),
            NftVerdict::Drop => out.push((st, Flow::Done(Verdict::Drop))),
            NftVerdict::Reject => out.push((st, Flow::Done(Verdict::Reject))),
            NftVerdict::Return => out.push((st, Flow::Next)),
            NftVerdict::Continue => live.push((st, ri + 1)),
            NftVerdict::Jump(c) => {
                let mut sub = Vec::new();
                self.chain(c, st, depth + 1, &mut sub);
                for (st, f) in sub {
                    match f {
                        Flow::Next => live.push((st, ri + 1)),
                        done => out.push((st, done)),
                    }
                }
            }
            NftVerdict::Goto(c) => self.chain(c, st, depth + 1, out),
        }
    }

    /// The map elements the key selects, with their verdicts and the map's name (for steps).
    fn vmap(
        &self,
        key: &[Expr],
        map: &'a VmapRef,
        st: &State,
    ) -> Vec<(&'a NftElement, &'a NftVerdict, Option<&'a str>)> {
        let (els, name): (&'a [NftElement], Option<&'a str>) = match map {
            VmapRef::Named(n) => match self.table.set(n) {
                Some(s) => (&s.elements, Some(&s.name)),
                None => return Vec::new(),
            },
            VmapRef::Inline(els) => (els, None),
        };
        let verdict_of = |e: &'a NftElement| match &e.data {
            Some(ElemData::Verdict(v)) => Some(v),
            _ => None,
        };
        if let [Expr::Numgen { modulus, offset }] = key {
            // Each value offset..offset+mod is equally likely.
            let (lo, n) = (u64::from(*offset), u64::from(*modulus));
            return (lo..lo.saturating_add(n))
                .filter_map(|k| {
                    els.iter()
                        .find(|e| matches!(e.key.as_slice(), [v] if Fact::Int(k).matches(v)))
                        .and_then(|e| verdict_of(e).map(|v| (e, v, name)))
                })
                .collect();
        }
        let facts: Option<Vec<Fact<'_>>> = key.iter().map(|e| self.fact(e, st)).collect();
        let Some(facts) = facts else {
            return Vec::new();
        };
        els.iter()
            .find(|e| elem_matches(e, &facts))
            .and_then(|e| verdict_of(e).map(|v| vec![(e, v, name)]))
            .unwrap_or_default()
    }
}

fn elem_matches(e: &NftElement, key: &[Fact<'_>]) -> bool {
    e.key.len() == key.len() && key.iter().zip(&e.key).all(|(f, v)| f.matches(v))
}

fn family_applies(family: &str, dst: IpAddr) -> bool {
    match family {
        "ip" => dst.is_ipv4(),
        "ip6" => dst.is_ipv6(),
        "inet" => true,
        _ => false,
    }
}

impl NftRuleset {
    /// Every way the facts' packet can leave the nat base chains of its hook.
    ///
    /// Outcomes are ordered by probability (highest first), then verdict address and port.
    /// A packet no nat chain changes gets one `Accept` outcome.
    pub fn walk(&self, facts: &Facts) -> Vec<Outcome> {
        let hook = match facts.hook {
            Hook::Prerouting => "prerouting",
            Hook::Output => "output",
        };
        let mut bases: Vec<(&NftTable, &str, i32, bool)> = Vec::new();
        for t in self
            .tables
            .iter()
            .filter(|t| family_applies(&t.family, facts.dst))
        {
            for c in &t.chains {
                if let Some(b) = c
                    .base
                    .as_ref()
                    .filter(|b| b.kind == "nat" && b.hook == hook)
                {
                    bases.push((t, &c.name, b.priority, b.policy.as_deref() == Some("drop")));
                }
            }
        }
        bases.sort_by_key(|b| b.2);
        let start = State {
            prob: 1.0,
            steps: Vec::new(),
            mark: facts.mark,
            masquerade: false,
            affinity: None,
        };
        let mut pending = vec![start];
        let mut done: Vec<(State, Verdict)> = Vec::new();
        for (table, chain, _, policy_drop) in bases {
            let w = Walker { table, facts };
            let mut next = Vec::new();
            for st in pending {
                let mut out = Vec::new();
                w.chain(chain, st, 0, &mut out);
                for (st, f) in out {
                    match f {
                        Flow::Next if policy_drop => done.push((st, Verdict::Drop)),
                        Flow::Next | Flow::Done(Verdict::Accept) => next.push(st),
                        Flow::Done(v) => done.push((st, v)),
                    }
                }
            }
            pending = next;
        }
        done.extend(pending.into_iter().map(|s| (s, Verdict::Accept)));
        let mut outcomes: Vec<Outcome> = done
            .into_iter()
            .map(|(s, verdict)| Outcome {
                probability: s.prob,
                steps: s.steps,
                verdict,
                masquerade: s.masquerade,
                affinity: s.affinity,
            })
            .collect();
        outcomes.sort_by(|a, b| {
            b.probability
                .total_cmp(&a.probability)
                .then_with(|| a.verdict.sort_key().cmp(&b.verdict.sort_key()))
        });
        outcomes
    }
}
