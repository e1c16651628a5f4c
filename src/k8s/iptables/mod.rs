//! `iptables-save` / `iptables-restore` text: parsing ([`parse`]), a typed model of the rules
//! that matter for Kubernetes and Istio, a packet walk ([`Ruleset::walk`]), and the kube-proxy
//! ([`kube`]) and istio-iptables ([`istio`]) views built on it.
//!
//! Accepts the three forms seen in the wild (domain.md §8.1): real `iptables-save` output
//! (counters, `/32` suffixes, quoted comments, iptables' canonical option order), kube-proxy's
//! `iptables-restore` input (its own option order, bare comments), and Istio's dry-run goldens
//! (`* nat`, `-N`, `-I CHAIN N`, the literal `iptables-save` command lines, one v4 and one v6
//! copy of a table in one file). It does not read `nft list ruleset` (see `k8s::nft`), run
//! anything, or resolve host, user or service names.
//!
//! Why a full model rather than grepping for `KUBE-SEP`: kube-proxy drops comments in large
//! clusters and its chain layout changed across versions, so the only reliable answer to
//! "where does this packet go" is to evaluate the rules the kernel has.

pub mod addr;
pub mod istio;
pub mod kube;
mod parse;
pub mod rule;
pub mod target;
mod token;
mod walk;

#[cfg(test)]
mod tests;

pub use addr::{Cidr, PortRange};
pub use parse::parse;
pub use rule::{Match, MatchKind, Recent, RecentOp, Statistic};
pub use target::{ConnmarkOp, Target};

/// A parse failure: the 1-based line and what was expected there.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("line {line}: {message}")]
pub struct ParseError {
    pub line: usize,
    pub message: String,
}

impl ParseError {
    pub(crate) fn new(line: usize, message: impl Into<String>) -> ParseError {
        ParseError {
            line,
            message: message.into(),
        }
    }
}

/// IPv4 (`iptables`) or IPv6 (`ip6tables`) rules, told apart by the addresses they use.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Family {
    V4,
    V6,
}

/// Everything in one dump, tables in input order. A table name may repeat (Istio goldens hold
/// an `iptables` and an `ip6tables` copy); [`Table::family`] tells them apart.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Ruleset {
    pub tables: Vec<Table>,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Table {
    /// `nat`, `filter`, `mangle`, `raw`, `security`.
    pub name: String,
    /// Line of the `*table` header.
    pub line: usize,
    /// The family its addresses belong to; None when it has none (or both).
    pub family: Option<Family>,
    /// Chains in order of first mention.
    pub chains: Vec<Chain>,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Chain {
    pub name: String,
    /// `ACCEPT`/`DROP` for built-in chains; None for user chains (`-`) or when not declared.
    pub policy: Option<String>,
    pub rules: Vec<Rule>,
}

/// One rule, in chain order (after `-I` insertions).
#[derive(Clone, Debug, PartialEq)]
pub struct Rule {
    /// 1-based line of the input.
    pub line: usize,
    /// The line as written (trimmed).
    pub text: String,
    /// `[packets:bytes]` from `iptables-save -c`.
    pub counters: Option<(u64, u64)>,
    pub matches: Vec<Match>,
    pub target: Option<Target>,
    /// `-g` (goto) rather than `-j`.
    pub goto: bool,
}

impl Rule {
    /// The `-m comment` text, if any.
    pub fn comment(&self) -> Option<&str> {
        self.matches.iter().find_map(|m| match &m.kind {
            MatchKind::Comment(c) => Some(c.as_str()),
            _ => None,
        })
    }

    /// The user chain this rule jumps or goes to.
    pub fn jump(&self) -> Option<&str> {
        match &self.target {
            Some(Target::Chain(c)) => Some(c),
            _ => None,
        }
    }

    /// The first un-negated match of a kind, by a selector.
    pub fn find<'a, T>(&'a self, f: impl Fn(&'a MatchKind) -> Option<T>) -> Option<T> {
        self.matches
            .iter()
            .filter(|m| !m.negated)
            .find_map(|m| f(&m.kind))
    }
}

impl Ruleset {
    /// The first table of that name whose family is `family` (or unknown); with `family`
    /// None, the first of that name.
    pub fn table(&self, name: &str, family: Option<Family>) -> Option<&Table> {
        let mut named = self.tables.iter().filter(|t| t.name == name);
        match family {
            None => named.next(),
            Some(f) => {
                let all: Vec<&Table> = named.collect();
                all.iter()
                    .find(|t| t.family == Some(f))
                    .or_else(|| all.iter().find(|t| t.family.is_none()))
                    .copied()
            }
        }
    }

    /// Every rule of every table, with its table and chain.
    pub fn rules(&self) -> impl Iterator<Item = (&Table, &Chain, &Rule)> {
        self.tables.iter().flat_map(|t| {
            t.chains
                .iter()
                .flat_map(move |c| c.rules.iter().map(move |r| (t, c, r)))
        })
    }
}

impl Table {
    pub fn chain(&self, name: &str) -> Option<&Chain> {
        self.chains.iter().find(|c| c.name == name)
    }
}
