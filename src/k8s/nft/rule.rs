//! Rule statements in nft's text syntax, read from tokens.
//!
//! Covers what kube-proxy writes (pkg/proxy/nftables/proxier.go: `ip daddr . meta l4proto .
//! th dport vmap @service-ips`, `numgen random mod N vmap { … }`, `dnat to IP:PORT`, `update
//! @affinity-… { ip saddr }`, `mark set mark or 0x4000`) and istio-cni (cni/pkg/nftables:
//! `mark and 0xfff != 0x539`, `redirect to :15001`, `ct mark set …`). A word that starts no
//! statement or expression it knows becomes [`Stmt::Other`]; nothing here fails.

use super::element::{addr_port, elements, int_of, matching_brace, span, value_of, verdict_at};
use super::lex::{Tok, Token};
use super::{Expr, L4Header, MarkOp, MatchOp, NftVerdict, Stmt, Value, VmapRef};

/// Words that begin a statement rather than continue a value list.
const STMT_WORDS: &[&str] = &[
    "counter",
    "comment",
    "accept",
    "drop",
    "return",
    "continue",
    "reject",
    "jump",
    "goto",
    "dnat",
    "snat",
    "redirect",
    "tproxy",
    "masquerade",
    "log",
    "limit",
    "update",
    "notrack",
    "queue",
];

struct RuleReader<'a> {
    src: &'a str,
    toks: &'a [Token],
    pos: usize,
}

impl<'a> RuleReader<'a> {
    fn word(&self, off: usize) -> Option<&'a str> {
        self.toks.get(self.pos + off).and_then(|t| t.word())
    }

    /// One expression (`ip saddr`, `meta mark and 0xfff`, `numgen random mod 2`), or None.
    fn expr(&mut self) -> Option<Expr> {
        let w = self.word(0)?;
        let next = self.word(1).unwrap_or("");
        let (e, used) = match (w, next) {
            ("ip", "saddr") => (Expr::Saddr { v6: false }, 2),
            ("ip", "daddr") => (Expr::Daddr { v6: false }, 2),
            ("ip6", "saddr") => (Expr::Saddr { v6: true }, 2),
            ("ip6", "daddr") => (Expr::Daddr { v6: true }, 2),
            ("ip", "protocol") | ("ip6", "nexthdr") | ("meta", "l4proto") => (Expr::L4proto, 2),
            ("meta", "mark") => (Expr::Mark { mask: None }, 2),
            ("mark", _) => (Expr::Mark { mask: None }, 1),
            ("meta", "iifname") => (Expr::Iifname, 2),
            ("meta", "oifname") => (Expr::Oifname, 2),
            ("iifname", _) => (Expr::Iifname, 1),
            ("oifname", _) => (Expr::Oifname, 1),
            ("ct", "state") => (Expr::CtState, 2),
            ("ct", "mark") => (Expr::CtMark { mask: None }, 2),
            ("tcp" | "udp" | "sctp" | "th", "dport" | "sport") => {
                let h = match w {
                    "tcp" => L4Header::Tcp,
                    "udp" => L4Header::Udp,
                    "sctp" => L4Header::Sctp,
                    _ => L4Header::Th,
                };
                if next == "dport" {
                    (Expr::Dport(h), 2)
                } else {
                    (Expr::Sport(h), 2)
                }
            }
            ("fib", _) => {
                let mut n = 1;
                let mut daddr = false;
                while let Some(x) = self.word(n) {
                    n += 1;
                    match x {
                        "type" => break,
                        "daddr" => daddr = true,
                        _ => {}
                    }
                }
                let typed = self.word(n - 1) == Some("type");
                let e = if typed {
                    Expr::FibType { daddr }
                } else {
                    Expr::Other(span(self.src, &self.toks[self.pos..self.pos + n]))
                };
                (e, n)
            }
            ("numgen", _) => {
                // numgen random|inc mod N [offset O]
                let mut n = 2;
                let mut modulus = 0;
                let mut offset = 0;
                if self.word(2) == Some("mod") {
                    modulus = self.word(3).and_then(int_of).unwrap_or(0) as u32;
                    n = 4;
                }
                if self.word(n) == Some("offset") {
                    offset = self.word(n + 1).and_then(int_of).unwrap_or(0) as u32;
                    n += 2;
                }
                (Expr::Numgen { modulus, offset }, n)
            }
            (
                "ip" | "ip6" | "meta" | "ct" | "tcp" | "udp" | "th" | "sctp" | "icmp" | "icmpv6",
                _,
            ) if !next.is_empty() => (Expr::Other(format!("{w} {next}")), 2),
            _ => return None,
        };
        self.pos += used;
        // `and MASK` / `& MASK`
        if matches!(self.word(0), Some("and" | "&")) {
            if let Some(m) = self.word(1).and_then(int_of) {
                self.pos += 2;
                let m = Some(m as u32);
                return Some(match e {
                    Expr::Mark { .. } => Expr::Mark { mask: m },
                    Expr::CtMark { .. } => Expr::CtMark { mask: m },
                    other => Expr::Other(format!("{other:?} & {m:?}")),
                });
            }
        }
        Some(e)
    }

    /// A right-hand value: `{ … }`, a word, or a comma list of words (`established,related`).
    fn value(&mut self) -> Option<Value> {
        let t = self.toks.get(self.pos)?;
        match &t.tok {
            Tok::LBrace => {
                let close = matching_brace(self.toks, self.pos);
                let inner = self.toks.get(self.pos + 1..close).unwrap_or(&[]);
                self.pos = close + 1;
                let vals = elements(self.src, inner)
                    .into_iter()
                    .map(|e| match e.key.len() {
                        1 => e.key.into_iter().next().unwrap_or(Value::Anon(Vec::new())),
                        _ => Value::Concat(e.key),
                    })
                    .collect();
                Some(Value::Anon(vals))
            }
            Tok::Word(w) if !STMT_WORDS.contains(&w.as_str()) => {
                self.pos += 1;
                let first = value_of(w);
                let mut list = vec![first];
                while matches!(self.toks.get(self.pos).map(|t| &t.tok), Some(Tok::Comma)) {
                    match self.word(1) {
                        Some(w) => {
                            list.push(value_of(w));
                            self.pos += 2;
                        }
                        None => break,
                    }
                }
                Some(if list.len() == 1 {
                    list.pop().unwrap_or(Value::Anon(Vec::new()))
                } else {
                    Value::Anon(list)
                })
            }
            Tok::Str(s) => {
                self.pos += 1;
                Some(Value::Word(s.clone()))
            }
            _ => None,
        }
    }

    /// The words of a `set` right-hand side, up to the next statement.
    fn set_operand(&mut self) -> Vec<&'a str> {
        let mut ws = Vec::new();
        while let Some(w) = self.word(0) {
            if STMT_WORDS.contains(&w) {
                break;
            }
            ws.push(w);
            self.pos += 1;
        }
        ws
    }

    fn stmt(&mut self, comment: &mut Option<String>) -> Option<Stmt> {
        let t = self.toks.get(self.pos)?;
        let Some(w) = t.word() else {
            self.pos += 1;
            return Some(Stmt::Other(span(self.src, std::slice::from_ref(t))));
        };
        if let Some((v, n)) = verdict_at(&self.toks[self.pos..]) {
            self.pos += n;
            if v == NftVerdict::Reject && self.word(0) == Some("with") {
                self.pos += 1;
                self.set_operand();
            }
            return Some(Stmt::Verdict(v));
        }
        let start = self.pos;
        match w {
            "counter" => {
                self.pos += 1;
                while self
                    .word(0)
                    .is_some_and(|w| matches!(w, "packets" | "bytes") || int_of(w).is_some())
                {
                    self.pos += 1;
                }
                return Some(Stmt::Counter);
            }
            "comment" => {
                if let Some(Tok::Str(s)) = self.toks.get(self.pos + 1).map(|t| &t.tok) {
                    *comment = Some(s.clone());
                }
                self.pos += 2;
                return None;
            }
            "dnat" | "tproxy" | "snat" => {
                self.pos += 1;
                if matches!(self.word(0), Some("ip" | "ip6")) {
                    self.pos += 1;
                }
                if self.word(0) == Some("to") {
                    self.pos += 1;
                }
                let (addr, port) = self.word(0).map(addr_port).unwrap_or((None, None));
                self.pos += 1;
                return Some(match w {
                    "dnat" => Stmt::Dnat { addr, port },
                    "tproxy" => Stmt::Tproxy { addr, port },
                    _ => Stmt::Other(span(
                        self.src,
                        &self.toks[start..self.pos.min(self.toks.len())],
                    )),
                });
            }
            "redirect" => {
                self.pos += 1;
                let mut port = None;
                if self.word(0) == Some("to") {
                    port = self.word(1).and_then(|p| addr_port(p).1);
                    self.pos += 2;
                }
                return Some(Stmt::Redirect { port });
            }
            "masquerade" => {
                self.pos += 1;
                while matches!(self.word(0), Some("random" | "fully-random" | "persistent")) {
                    self.pos += 1;
                }
                return Some(Stmt::Masquerade);
            }
            "update" | "add" | "delete" if self.word(1).is_some_and(|s| s.starts_with('@')) => {
                let set = self
                    .word(1)
                    .unwrap_or("@")
                    .trim_start_matches('@')
                    .to_string();
                self.pos += 2;
                if matches!(self.toks.get(self.pos).map(|t| &t.tok), Some(Tok::LBrace)) {
                    self.pos = matching_brace(self.toks, self.pos) + 1;
                }
                return Some(Stmt::UpdateSet { set });
            }
            _ => {}
        }
        let Some(first) = self.expr() else {
            self.pos += 1;
            return Some(Stmt::Other(w.to_string()));
        };
        let mut key = vec![first];
        while self.word(0) == Some(".") {
            self.pos += 1;
            match self.expr() {
                Some(e) => key.push(e),
                None => break,
            }
        }
        match self.word(0) {
            Some("set") => {
                self.pos += 1;
                let ops = self.set_operand();
                let is_mark = matches!(key.as_slice(), [Expr::Mark { mask: None }]);
                let ops: Vec<&str> = ops.into_iter().filter(|w| *w != "meta").collect();
                let op = match ops.as_slice() {
                    ["mark", "or" | "|", v] => int_of(v).map(|v| MarkOp::Or(v as u32)),
                    ["mark", "xor" | "^", v] => int_of(v).map(|v| MarkOp::Xor(v as u32)),
                    ["mark", "and" | "&", v] => int_of(v).map(|v| MarkOp::And(v as u32)),
                    [v] => int_of(v).map(|v| MarkOp::Set(v as u32)),
                    _ => None,
                };
                let text = span(self.src, &self.toks[start..self.pos]);
                return Some(match op {
                    Some(op) if is_mark => Stmt::MarkSet(op),
                    _ => Stmt::Other(text),
                });
            }
            Some("vmap") => {
                self.pos += 1;
                let map = match self.toks.get(self.pos).map(|t| &t.tok) {
                    Some(Tok::LBrace) => {
                        let close = matching_brace(self.toks, self.pos);
                        let inner = self.toks.get(self.pos + 1..close).unwrap_or(&[]);
                        self.pos = close + 1;
                        VmapRef::Inline(elements(self.src, inner))
                    }
                    _ => {
                        let n = self
                            .word(0)
                            .unwrap_or("")
                            .trim_start_matches('@')
                            .to_string();
                        self.pos += 1;
                        VmapRef::Named(n)
                    }
                };
                return Some(Stmt::Vmap { key, map });
            }
            _ => {}
        }
        let op = match self.word(0) {
            Some("==" | "eq") => {
                self.pos += 1;
                MatchOp::Eq
            }
            Some("!=" | "ne") => {
                self.pos += 1;
                MatchOp::Ne
            }
            _ => MatchOp::Eq,
        };
        match self.value() {
            Some(right) => Some(Stmt::Match {
                left: key,
                op,
                right,
            }),
            None => Some(Stmt::Other(span(
                self.src,
                &self.toks[start..self.pos.min(self.toks.len())],
            ))),
        }
    }
}

/// The statements of one rule, and its `comment`.
pub(crate) fn statements(src: &str, toks: &[Token]) -> (Vec<Stmt>, Option<String>) {
    let mut r = RuleReader { src, toks, pos: 0 };
    let mut out = Vec::new();
    let mut comment = None;
    while r.pos < toks.len() {
        let before = r.pos;
        if let Some(s) = r.stmt(&mut comment) {
            out.push(s);
        }
        if r.pos <= before {
            r.pos = before + 1;
        }
    }
    (out, comment)
}
