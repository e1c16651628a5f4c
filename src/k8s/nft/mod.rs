//! nftables rulesets (kube-proxy `--proxy-mode=nftables`, Istio ambient's `inet istio-ambient-*`
//! tables): one model read from three inputs, and a walk of its NAT base chains.
//!
//! Inputs: `nft -j list ruleset` ([`parse_json`]), `nft list ruleset` block syntax and `nft -f`
//! transactions (`add table`, `add chain`, `add rule`, `add element`, `flush`, `delete`)
//! ([`parse_text`]). Both give an [`NftRuleset`] of tables, chains, rules, sets and maps.
//!
//! What it does not do: it is not an nft grammar. Rules are read into a small typed list of the
//! statements kube-proxy (pkg/proxy/nftables/proxier.go) and istio-cni (cni/pkg/nftables) write:
//! payload/meta/fib/mark/ct matches, verdicts, `vmap`, `numgen`, `dnat`, `redirect`, `tproxy`,
//! `masquerade`, `mark set`, `update @set`. Anything else is kept as [`Stmt::Other`] with its text
//! (or its JSON), never an error, and a walk treats it as a no-op; a match on an expression it does
//! not know ([`Expr::Other`]) does not match. Why: the join needs the NAT decision, and an
//! honest "did not match" for a construct we do not model is better than a guess.

mod element;
mod json;
mod json_expr;
pub mod kube;
mod lex;
mod rule;
mod text;
mod transaction;
mod walk;

#[cfg(test)]
mod tests;

use std::net::IpAddr;

pub use json::parse_json;
pub use text::parse_text;

/// A parse failure, saying where (line, or JSON pointer) and what was expected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NftError {
    #[error("line {line}: {msg}")]
    Text { line: usize, msg: String },
    #[error("{pointer}: {msg}")]
    Json { pointer: String, msg: String },
}

/// Every table of a ruleset, in input order.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct NftRuleset {
    pub tables: Vec<NftTable>,
}

/// `table FAMILY NAME`.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct NftTable {
    /// `ip`, `ip6`, `inet`, `arp`, `bridge`, `netdev`.
    pub family: String,
    pub name: String,
    pub chains: Vec<NftChain>,
    /// Sets and maps (a map is a set with `data`).
    pub sets: Vec<NftSet>,
    pub comment: Option<String>,
}

/// A chain; `base` is set for base chains (those with `type … hook … priority …`).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct NftChain {
    pub name: String,
    pub base: Option<BaseChain>,
    pub rules: Vec<NftRule>,
    pub comment: Option<String>,
    /// Line (text) or `nftables` array index (JSON) where the chain was declared.
    pub line: usize,
}

/// The hook of a base chain.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BaseChain {
    /// `filter`, `nat`, `route`.
    pub kind: String,
    /// `prerouting`, `input`, `forward`, `output`, `postrouting`, `ingress`.
    pub hook: String,
    /// Numeric priority (`dstnat` = -100, `srcnat` = 100, … per nft(8) "PRIORITY").
    pub priority: i32,
    /// `accept` (the default) or `drop`.
    pub policy: Option<String>,
}

/// One rule: its statements in order, and where and how the input wrote it.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct NftRule {
    pub stmts: Vec<Stmt>,
    pub comment: Option<String>,
    /// `# handle N` (text) or `"handle"` (JSON), when present.
    pub handle: Option<u64>,
    /// Line (text) or `nftables` array index (JSON).
    pub line: usize,
    /// The rule as written (text) or its compact JSON `expr` (JSON).
    pub text: String,
}

/// A set or map. `key_type` is the `type` (concatenations split on ` . `).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct NftSet {
    pub name: String,
    pub key_type: Vec<String>,
    /// For a map, the data type (`verdict`, `ipv4_addr . inet_service`, …).
    pub data_type: Option<String>,
    pub flags: Vec<String>,
    /// Default element timeout in seconds (`timeout 10800s`).
    pub timeout_secs: Option<u32>,
    pub elements: Vec<NftElement>,
    pub comment: Option<String>,
    pub line: usize,
}

impl NftSet {
    pub fn is_map(&self) -> bool {
        self.data_type.is_some()
    }
}

/// One element: key (one value per concatenated field) and, for maps, its data.
#[derive(Clone, Debug, PartialEq)]
pub struct NftElement {
    pub key: Vec<Value>,
    pub data: Option<ElemData>,
    pub comment: Option<String>,
    pub line: usize,
    /// The element as written, for display.
    pub text: String,
}

/// Data of a map element.
#[derive(Clone, Debug, PartialEq)]
pub enum ElemData {
    Verdict(NftVerdict),
    Value(Vec<Value>),
}

/// A verdict statement.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum NftVerdict {
    Accept,
    Drop,
    Reject,
    Return,
    Continue,
    Jump(String),
    Goto(String),
}

/// Which transport header a port expression reads; `th` is any of them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum L4Header {
    Tcp,
    Udp,
    Sctp,
    Th,
}

/// The left side of a match, or a `vmap` key field.
#[derive(Clone, Debug, PartialEq)]
pub enum Expr {
    /// `ip saddr` / `ip6 saddr` (`v6` for ip6).
    Saddr {
        v6: bool,
    },
    Daddr {
        v6: bool,
    },
    /// `meta l4proto`, `ip protocol`, `ip6 nexthdr`.
    L4proto,
    Dport(L4Header),
    Sport(L4Header),
    /// `fib daddr type` (`daddr` false means `fib saddr type`).
    FibType {
        daddr: bool,
    },
    /// `meta mark` / `mark`, with `and|& MASK` when given.
    Mark {
        mask: Option<u32>,
    },
    /// `ct mark`, with mask.
    CtMark {
        mask: Option<u32>,
    },
    CtState,
    Iifname,
    Oifname,
    /// `numgen random mod N [offset O]`.
    Numgen {
        modulus: u32,
        offset: u32,
    },
    /// Anything else, as written.
    Other(String),
}

/// A right-hand value or an element key field.
#[derive(Clone, Debug, PartialEq)]
pub enum Value {
    Addr(IpAddr),
    Cidr(IpAddr, u8),
    Int(u64),
    /// A word: protocol name, interface, fib type, ct state, service name.
    Word(String),
    Range(Box<Value>, Box<Value>),
    /// `@name`.
    SetRef(String),
    /// `{ a, b, … }`.
    Anon(Vec<Value>),
    /// `a . b . c` inside an anonymous set.
    Concat(Vec<Value>),
}

/// The operator of a match.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MatchOp {
    Eq,
    Ne,
}

/// How a `mark set` changes the mark.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MarkOp {
    /// `mark set V`.
    Set(u32),
    /// `mark set mark or V` / `meta mark set meta mark | V`.
    Or(u32),
    /// `mark set mark xor V`.
    Xor(u32),
    /// `mark set mark and V`.
    And(u32),
}

/// The map a `vmap` looks up: a named map or an inline one.
#[derive(Clone, Debug, PartialEq)]
pub enum VmapRef {
    Named(String),
    Inline(Vec<NftElement>),
}

/// One statement of a rule.
#[derive(Clone, Debug, PartialEq)]
pub enum Stmt {
    Match {
        left: Vec<Expr>,
        op: MatchOp,
        right: Value,
    },
    Vmap {
        key: Vec<Expr>,
        map: VmapRef,
    },
    Verdict(NftVerdict),
    /// `dnat [ip|ip6] to ADDR[:PORT]`.
    Dnat {
        addr: Option<IpAddr>,
        port: Option<u16>,
    },
    /// `redirect [to :PORT]`.
    Redirect {
        port: Option<u16>,
    },
    /// `tproxy [ip|ip6] to [ADDR]:PORT`.
    Tproxy {
        addr: Option<IpAddr>,
        port: Option<u16>,
    },
    Masquerade,
    /// `[meta] mark set …`.
    MarkSet(MarkOp),
    /// `update @set { … }` / `add @set { … }`.
    UpdateSet {
        set: String,
    },
    Counter,
    /// Kept as written (text) or as JSON.
    Other(String),
}

/// Numeric value of a named base-chain priority (nft(8), "PRIORITY"; `dstnat` is -100 in the
/// `ip`/`ip6`/`inet` families, as kube-proxy relies on in `nftablesBaseChains`).
pub(crate) fn named_priority(name: &str) -> Option<i32> {
    Some(match name {
        "raw" => -300,
        "mangle" => -150,
        "dstnat" => -100,
        "filter" => 0,
        "security" => 50,
        "srcnat" => 100,
        "out" => 100,
        _ => return None,
    })
}

impl NftRuleset {
    /// The table with this family and name.
    pub fn table(&self, family: &str, name: &str) -> Option<&NftTable> {
        self.tables
            .iter()
            .find(|t| t.family == family && t.name == name)
    }
}

impl NftTable {
    pub fn chain(&self, name: &str) -> Option<&NftChain> {
        self.chains.iter().find(|c| c.name == name)
    }
    pub fn set(&self, name: &str) -> Option<&NftSet> {
        self.sets.iter().find(|s| s.name == name)
    }
}
