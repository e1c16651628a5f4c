//! The line grammar of iptables-save / iptables-restore input (domain.md §8.1), as
//! iptables-restore reads it (iptables/iptables-restore.c): `*table`, `:CHAIN POLICY [p:b]`,
//! `[p:b] -A|-I|-N|-P|-F|-X …`, `COMMIT`, `#` comments and blank lines. Lines that start with
//! an `iptables`/`ip6tables` command are Istio dry-run records: `…-save`/`…-restore` is skipped,
//! and `iptables -t T -A …` is applied to table T.
//!
//! It does not check what the kernel would (unknown chains, loops): the walk guards those.

use super::rule::parse_spec;
use super::token::{tokenize, Token};
use super::{Chain, Family, MatchKind, ParseError, Rule, Ruleset, Table, Target};

/// Parses a whole dump. Errors name the line and what was expected there.
pub fn parse(text: &str) -> Result<Ruleset, ParseError> {
    let mut rs = Ruleset::default();
    let mut current: Option<usize> = None;
    for (idx, raw) in text.lines().enumerate() {
        let line_no = idx + 1;
        let line = raw.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        if let Some(name) = line.strip_prefix('*') {
            let name = name.trim();
            if name.is_empty() || name.contains(char::is_whitespace) {
                return Err(ParseError::new(line_no, "expected a table name after '*'"));
            }
            rs.tables.push(Table {
                name: name.to_string(),
                line: line_no,
                family: None,
                chains: Vec::new(),
            });
            current = Some(rs.tables.len() - 1);
            continue;
        }
        if line == "COMMIT" {
            current = None;
            continue;
        }
        let mut tokens = tokenize(line, line_no)?;
        if let Some(decl) = line.strip_prefix(':') {
            let table = table_at(&mut rs, current, line_no)?;
            let mut words = decl.split_whitespace();
            let name = words
                .next()
                .ok_or_else(|| ParseError::new(line_no, "expected a chain name after ':'"))?;
            let policy = words.next().filter(|p| *p != "-").map(str::to_string);
            chain_mut(table, name).policy = policy;
            continue;
        }
        let first = tokens.first().map(|t| t.text.as_str()).unwrap_or("");
        if first.starts_with("iptables") || first.starts_with("ip6tables") {
            if first.contains("-save") || first.contains("-restore") {
                continue;
            }
            // `iptables [-w] -t nat -A …`: pull out -t, apply the rest to that table.
            let mut table_name = "filter".to_string();
            let mut rest: Vec<Token> = Vec::new();
            let mut it = tokens.into_iter().skip(1);
            while let Some(t) = it.next() {
                if t.text == "-t" || t.text == "--table" {
                    if let Some(n) = it.next() {
                        table_name = n.text;
                    }
                } else if rest.is_empty() && (t.text == "-w" || t.text == "--wait") {
                    continue;
                } else {
                    rest.push(t);
                }
            }
            let is_command = rest.first().is_some_and(|t| {
                matches!(
                    t.text.as_str(),
                    "-A" | "--append"
                        | "-I"
                        | "--insert"
                        | "-N"
                        | "--new-chain"
                        | "-P"
                        | "--policy"
                )
            });
            if !is_command {
                continue; // -L, -S, --version…: nothing to apply.
            }
            let pos = match rs.tables.iter().rposition(|t| t.name == table_name) {
                Some(p) => p,
                None => {
                    rs.tables.push(Table {
                        name: table_name,
                        line: line_no,
                        family: None,
                        chains: Vec::new(),
                    });
                    rs.tables.len() - 1
                }
            };
            apply(&mut rs.tables[pos], &rest, line_no, line, None)?;
            continue;
        }
        let counters = match tokens.first() {
            Some(t) if t.text.starts_with('[') => {
                let c = parse_counters(&t.text)
                    .ok_or_else(|| ParseError::new(line_no, "expected counters [PACKETS:BYTES]"))?;
                tokens.remove(0);
                Some(c)
            }
            _ => None,
        };
        let table = table_at(&mut rs, current, line_no)?;
        apply(table, &tokens, line_no, line, counters)?;
    }
    for t in &mut rs.tables {
        t.family = family_of(t);
    }
    pair_families(&mut rs.tables);
    Ok(rs)
}

fn table_at(
    rs: &mut Ruleset,
    current: Option<usize>,
    line: usize,
) -> Result<&mut Table, ParseError> {
    current
        .and_then(|i| rs.tables.get_mut(i))
        .ok_or_else(|| ParseError::new(line, "expected a *table line before this one"))
}

fn parse_counters(s: &str) -> Option<(u64, u64)> {
    let (p, b) = s.strip_prefix('[')?.strip_suffix(']')?.split_once(':')?;
    Some((p.parse().ok()?, b.parse().ok()?))
}

fn chain_mut<'a>(table: &'a mut Table, name: &str) -> &'a mut Chain {
    let pos = match table.chains.iter().position(|c| c.name == name) {
        Some(p) => p,
        None => {
            table.chains.push(Chain {
                name: name.to_string(),
                policy: None,
                rules: Vec::new(),
            });
            table.chains.len() - 1
        }
    };
    &mut table.chains[pos]
}

/// Applies one command (`-A`, `-I`, `-N`, `-P`, `-F`, `-X`) to a table.
fn apply(
    table: &mut Table,
    tokens: &[Token],
    line: usize,
    text: &str,
    counters: Option<(u64, u64)>,
) -> Result<(), ParseError> {
    let Some(cmd) = tokens.first() else {
        return Ok(());
    };
    let chain_name = tokens
        .get(1)
        .filter(|t| !t.is_option())
        .map(|t| t.text.as_str());
    let need_chain = || ParseError::new(line, format!("{} needs a chain name", cmd.text));
    match cmd.text.as_str() {
        "-A" | "--append" | "-I" | "--insert" => {
            let chain = chain_name.ok_or_else(need_chain)?;
            let mut rest = &tokens[2..];
            let mut at = None;
            if cmd.text.starts_with("-I") || cmd.text == "--insert" {
                at = Some(0);
                if let Some(n) = rest.first().and_then(|t| t.text.parse::<usize>().ok()) {
                    at = Some(n.saturating_sub(1));
                    rest = &rest[1..];
                }
            }
            let spec = parse_spec(rest, line)?;
            let rule = Rule {
                line,
                text: text.to_string(),
                counters,
                matches: spec.matches,
                target: spec.target,
                goto: spec.goto,
            };
            let rules = &mut chain_mut(table, chain).rules;
            match at {
                Some(i) => rules.insert(i.min(rules.len()), rule),
                None => rules.push(rule),
            }
        }
        "-N" | "--new-chain" => {
            chain_mut(table, chain_name.ok_or_else(need_chain)?);
        }
        "-P" | "--policy" => {
            let chain = chain_name.ok_or_else(need_chain)?;
            let policy = tokens
                .get(2)
                .ok_or_else(|| ParseError::new(line, "-P needs a chain and a policy"))?;
            chain_mut(table, chain).policy = Some(policy.text.clone());
        }
        "-F" | "--flush" => match chain_name {
            Some(c) => chain_mut(table, c).rules.clear(),
            None => table.chains.iter_mut().for_each(|c| c.rules.clear()),
        },
        "-X" | "--delete-chain" => match chain_name {
            Some(c) => table.chains.retain(|ch| ch.name != c),
            None => table.chains.retain(|ch| ch.policy.is_some()),
        },
        other => {
            return Err(ParseError::new(
                line,
                format!("expected a rule command (-A, -I, -N, -P, -F, -X), got {other:?}"),
            ))
        }
    }
    Ok(())
}

/// A table name given twice is an `iptables` then an `ip6tables` copy (how Istio's dry run
/// records them): a copy with no addresses gets the family its twin does not have.
fn pair_families(tables: &mut [Table]) {
    let opposite = |f: Option<Family>| match f {
        Some(Family::V6) => Family::V4,
        Some(Family::V4) => Family::V6,
        None => Family::V4,
    };
    for i in 0..tables.len() {
        let twins: Vec<usize> = (0..tables.len())
            .filter(|&j| tables[j].name == tables[i].name)
            .collect();
        if let [a, b] = twins[..] {
            if tables[a].family.is_none() {
                tables[a].family = Some(opposite(tables[b].family));
            }
            if tables[b].family.is_none() {
                tables[b].family = Some(opposite(tables[a].family));
            }
        }
    }
}

/// The family of a table's addresses: V6 if all are IPv6, V4 if all are IPv4.
fn family_of(t: &Table) -> Option<Family> {
    let (mut v4, mut v6) = (false, false);
    for r in t.chains.iter().flat_map(|c| &c.rules) {
        for m in &r.matches {
            if let MatchKind::Source(c) | MatchKind::Destination(c) = &m.kind {
                if c.addr.is_ipv4() {
                    v4 = true
                } else {
                    v6 = true
                }
            }
        }
        if let Some(Target::Dnat { addr: Some(a), .. }) = &r.target {
            if a.is_ipv4() {
                v4 = true
            } else {
                v6 = true
            }
        }
    }
    match (v4, v6) {
        (true, false) => Some(Family::V4),
        (false, true) => Some(Family::V6),
        _ => None,
    }
}
