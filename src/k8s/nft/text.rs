//! `nft list ruleset` output and `nft -f` input (block syntax and `add …` transactions) into an
//! [`NftRuleset`].
//!
//! The block form (`table ip kube-proxy { chain X { type nat hook prerouting priority dstnat;
//! policy accept; … } map M { type … : verdict; elements = { … } } }`) and the command form
//! (`add table`, `add chain ip T X { … }`, `add rule ip T X …`, `add element ip T S { … }`,
//! `insert rule`, `flush table|chain|set|map|ruleset`, `delete|destroy table|chain|set|map|rule|
//! element`) are applied in order, as `nft -f` would: kube-proxy's own transaction
//! (pkg/proxy/nftables/proxier.go `syncProxyRules`) and istio-cni's goldens both read as the
//! ruleset they leave. It is lenient where nft is strict (adding a rule to a chain not yet
//! declared creates it) and fails only on a shape it cannot place, naming the line.

use super::element::{elements, int_of, matching_brace, span};
use super::lex::{lex, Tok, Token};
use super::rule::statements;
use super::{named_priority, BaseChain, NftChain, NftError, NftRule, NftRuleset, NftSet, NftTable};

const FAMILIES: &[&str] = &["ip", "ip6", "inet", "arp", "bridge", "netdev"];

/// Parses `nft list ruleset` output or an `nft -f` file.
pub fn parse_text(text: &str) -> Result<NftRuleset, NftError> {
    let toks = lex(text);
    let mut p = Parser {
        src: text,
        toks: &toks,
        pos: 0,
        rs: NftRuleset::default(),
    };
    p.top()?;
    Ok(p.rs)
}

pub(super) struct Parser<'a> {
    pub(super) src: &'a str,
    pub(super) toks: &'a [Token],
    pub(super) pos: usize,
    pub(super) rs: NftRuleset,
}

pub(super) fn err(line: usize, msg: impl Into<String>) -> NftError {
    NftError::Text {
        line,
        msg: msg.into(),
    }
}

/// Seconds of an nft duration: `10800s`, `3h`, `1d2h3m4s`, `250ms` (rounded down), `10800`.
pub(crate) fn duration_secs(w: &str) -> Option<u32> {
    if let Some(n) = int_of(w) {
        return u32::try_from(n).ok();
    }
    let mut total: u64 = 0;
    let mut num = String::new();
    let mut chars = w.chars().peekable();
    while let Some(c) = chars.next() {
        if c.is_ascii_digit() {
            num.push(c);
            continue;
        }
        let n: u64 = num.parse().ok()?;
        num.clear();
        let mult = match c {
            'd' => 86_400,
            'h' => 3_600,
            'm' if chars.peek() == Some(&'s') => {
                chars.next();
                0
            }
            'm' => 60,
            's' => 1,
            _ => return None,
        };
        total = total.checked_add(n.checked_mul(mult)?)?;
    }
    if !num.is_empty() {
        return None;
    }
    u32::try_from(total).ok()
}

fn priority_of(words: &[&str]) -> Option<i32> {
    let joined: String = words.concat();
    if let Ok(n) = joined.parse::<i32>() {
        return Some(n);
    }
    let cut = joined.find(['+', '-']).unwrap_or(joined.len());
    let (name, rest) = joined.split_at(cut);
    let base = named_priority(name)?;
    if rest.is_empty() {
        return Some(base);
    }
    let off: i32 = rest.trim_start_matches('+').parse().ok()?;
    base.checked_add(off)
}

impl<'a> Parser<'a> {
    pub(super) fn line(&self) -> usize {
        self.toks
            .get(self.pos)
            .or_else(|| self.toks.last())
            .map_or(1, |t| t.line)
    }

    pub(super) fn peek(&self) -> Option<&'a Tok> {
        self.toks.get(self.pos).map(|t| &t.tok)
    }

    pub(super) fn word(&self) -> Option<&'a str> {
        self.toks.get(self.pos).and_then(|t| t.word())
    }

    pub(super) fn name(&mut self, what: &str) -> Result<String, NftError> {
        match self.toks.get(self.pos).and_then(|t| t.name()) {
            Some(n) => {
                self.pos += 1;
                Ok(n.to_string())
            }
            None => Err(err(self.line(), format!("expected {what}"))),
        }
    }

    /// `[FAMILY] TABLE`
    pub(super) fn family_table(&mut self) -> Result<(String, String), NftError> {
        let fam = match self.word() {
            Some(f) if FAMILIES.contains(&f) => {
                self.pos += 1;
                f.to_string()
            }
            _ => "ip".to_string(),
        };
        let t = self.name("a table name")?;
        Ok((fam, t))
    }

    /// Tokens up to the end of the statement (`;`, newline or an unmatched `}`), braces balanced
    /// and newlines inside braces skipped. Leaves `pos` after a `;`/newline, at an unmatched `}`.
    pub(super) fn statement(&mut self) -> &'a [Token] {
        let start = self.pos;
        let mut depth = 0usize;
        while let Some(t) = self.toks.get(self.pos) {
            match t.tok {
                Tok::LBrace => depth += 1,
                Tok::RBrace if depth == 0 => return &self.toks[start..self.pos],
                Tok::RBrace => depth -= 1,
                Tok::Semi | Tok::Newline if depth == 0 => {
                    self.pos += 1;
                    return &self.toks[start..self.pos - 1];
                }
                _ => {}
            }
            self.pos += 1;
        }
        &self.toks[start..]
    }

    pub(super) fn expect_lbrace(&mut self) -> Result<(), NftError> {
        match self.peek() {
            Some(Tok::LBrace) => {
                self.pos += 1;
                Ok(())
            }
            _ => Err(err(self.line(), "expected '{'")),
        }
    }

    pub(super) fn expect_rbrace(&mut self) -> Result<(), NftError> {
        match self.peek() {
            Some(Tok::RBrace) => {
                self.pos += 1;
                Ok(())
            }
            _ => Err(err(self.line(), "expected '}'")),
        }
    }

    pub(super) fn table_mut(&mut self, fam: &str, name: &str) -> &mut NftTable {
        let i = match self
            .rs
            .tables
            .iter()
            .position(|t| t.family == fam && t.name == name)
        {
            Some(i) => i,
            None => {
                self.rs.tables.push(NftTable {
                    family: fam.to_string(),
                    name: name.to_string(),
                    ..NftTable::default()
                });
                self.rs.tables.len() - 1
            }
        };
        &mut self.rs.tables[i]
    }

    pub(super) fn top(&mut self) -> Result<(), NftError> {
        while let Some(t) = self.toks.get(self.pos) {
            match &t.tok {
                Tok::Newline | Tok::Semi | Tok::Handle(_) => self.pos += 1,
                Tok::Word(w) => {
                    let w = w.clone();
                    self.pos += 1;
                    match w.as_str() {
                        "table" => {
                            let (f, n) = self.family_table()?;
                            self.skip_handle();
                            self.expect_lbrace()?;
                            self.table_body(&f, &n)?;
                            self.expect_rbrace()?;
                        }
                        "add" | "create" | "insert" | "replace" => self.add(&w)?,
                        "flush" | "delete" | "destroy" => self.remove(&w)?,
                        _ => return Err(err(t.line, format!("expected a table block or an add/insert/flush/delete command, found '{w}'"))),
                    }
                }
                _ => return Err(err(t.line, "expected a table block or a command")),
            }
        }
        Ok(())
    }

    pub(super) fn skip_handle(&mut self) {
        while matches!(self.peek(), Some(Tok::Handle(_) | Tok::Newline)) {
            self.pos += 1;
        }
    }

    pub(super) fn table_body(&mut self, fam: &str, tname: &str) -> Result<(), NftError> {
        self.table_mut(fam, tname);
        loop {
            match self.peek() {
                None => return Err(err(self.line(), "expected '}' closing the table")),
                Some(Tok::RBrace) => return Ok(()),
                Some(Tok::Newline | Tok::Semi | Tok::Handle(_)) => self.pos += 1,
                Some(_) => {
                    let line = self.line();
                    let kw = self.word().unwrap_or("");
                    match kw {
                        "chain" | "set" | "map" => {
                            self.pos += 1;
                            let name = self.name("a name")?;
                            self.skip_handle();
                            self.expect_lbrace()?;
                            if kw == "chain" {
                                self.chain_body(fam, tname, &name, line)?;
                            } else {
                                self.set_body(fam, tname, &name, line)?;
                            }
                            self.expect_rbrace()?;
                        }
                        "comment" => {
                            let st = self.statement();
                            if let Some(Tok::Str(s)) = st.get(1).map(|t| &t.tok) {
                                self.table_mut(fam, tname).comment = Some(s.clone());
                            }
                        }
                        _ => {
                            // flags, flowtables, counters, quotas, ct helpers: skipped whole.
                            let st = self.statement();
                            let _ = st;
                            if let Some(Tok::LBrace) = self.peek() {
                                self.pos = matching_brace(self.toks, self.pos) + 1;
                            }
                        }
                    }
                }
            }
        }
    }

    pub(super) fn chain_mut(&mut self, fam: &str, t: &str, c: &str, line: usize) -> &mut NftChain {
        let table = self.table_mut(fam, t);
        let i = match table.chains.iter().position(|x| x.name == c) {
            Some(i) => i,
            None => {
                table.chains.push(NftChain {
                    name: c.to_string(),
                    line,
                    ..NftChain::default()
                });
                table.chains.len() - 1
            }
        };
        &mut table.chains[i]
    }

    pub(super) fn set_mut(&mut self, fam: &str, t: &str, s: &str, line: usize) -> &mut NftSet {
        let table = self.table_mut(fam, t);
        let i = match table.sets.iter().position(|x| x.name == s) {
            Some(i) => i,
            None => {
                table.sets.push(NftSet {
                    name: s.to_string(),
                    line,
                    ..NftSet::default()
                });
                table.sets.len() - 1
            }
        };
        &mut table.sets[i]
    }

    /// Statements until the `}` closing the chain: base-chain spec, policy, comment, rules.
    pub(super) fn chain_body(
        &mut self,
        fam: &str,
        t: &str,
        c: &str,
        line: usize,
    ) -> Result<(), NftError> {
        self.chain_mut(fam, t, c, line);
        loop {
            match self.peek() {
                None => return Err(err(self.line(), "expected '}' closing the chain")),
                Some(Tok::RBrace) => return Ok(()),
                _ => {}
            }
            let st = self.statement();
            let handle = st.iter().find_map(|t| match t.tok {
                Tok::Handle(h) => Some(h),
                _ => None,
            });
            let st: Vec<Token> = st
                .iter()
                .filter(|t| !matches!(t.tok, Tok::Handle(_) | Tok::Newline))
                .cloned()
                .collect();
            let Some(first) = st.first() else { continue };
            let words: Vec<&str> = st.iter().filter_map(|t| t.word()).collect();
            match first.word() {
                Some("type") if words.contains(&"hook") => {
                    let kind = words.get(1).copied().unwrap_or("").to_string();
                    let hook = words
                        .iter()
                        .position(|w| *w == "hook")
                        .and_then(|i| words.get(i + 1))
                        .copied()
                        .unwrap_or("")
                        .to_string();
                    let prio_words = words
                        .iter()
                        .position(|w| *w == "priority")
                        .map(|i| &words[i + 1..])
                        .unwrap_or(&[]);
                    let priority = priority_of(prio_words)
                        .ok_or_else(|| err(first.line, "expected a numeric or named priority"))?;
                    let ch = self.chain_mut(fam, t, c, line);
                    let policy = ch.base.as_ref().and_then(|b| b.policy.clone());
                    ch.base = Some(BaseChain {
                        kind,
                        hook,
                        priority,
                        policy,
                    });
                }
                Some("policy") => {
                    let pol = words.get(1).map(|s| s.to_string());
                    if let Some(b) = self.chain_mut(fam, t, c, line).base.as_mut() {
                        b.policy = pol;
                    }
                }
                Some("comment") if st.len() == 2 => {
                    if let Some(Tok::Str(s)) = st.get(1).map(|t| &t.tok) {
                        self.chain_mut(fam, t, c, line).comment = Some(s.clone());
                    }
                }
                Some("devices") => {}
                _ => {
                    let rule = self.rule(&st, handle);
                    self.chain_mut(fam, t, c, line).rules.push(rule);
                }
            }
        }
    }

    pub(super) fn rule(&self, st: &[Token], handle: Option<u64>) -> NftRule {
        let (stmts, comment) = statements(self.src, st);
        NftRule {
            stmts,
            comment,
            handle,
            line: st.first().map_or(0, |t| t.line),
            text: span(self.src, st),
        }
    }

    /// Statements until the `}` closing a set or map.
    pub(super) fn set_body(
        &mut self,
        fam: &str,
        t: &str,
        s: &str,
        line: usize,
    ) -> Result<(), NftError> {
        self.set_mut(fam, t, s, line);
        loop {
            match self.peek() {
                None => return Err(err(self.line(), "expected '}' closing the set")),
                Some(Tok::RBrace) => return Ok(()),
                _ => {}
            }
            let st = self.statement();
            let words: Vec<&str> = st.iter().filter_map(|t| t.word()).collect();
            let src = self.src;
            let set = self.set_mut(fam, t, s, line);
            match words.first().copied() {
                Some("type" | "typeof") => {
                    let rest = &words[1..];
                    let colon = rest.iter().position(|w| *w == ":");
                    let key = colon.map_or(rest, |c| &rest[..c]);
                    set.key_type = key
                        .split(|w| *w == ".")
                        .map(|p| p.join(" "))
                        .filter(|p| !p.is_empty())
                        .collect();
                    set.data_type = colon.map(|c| rest[c + 1..].join(" "));
                }
                Some("flags") => set.flags = words[1..].iter().map(|w| w.to_string()).collect(),
                Some("timeout") => set.timeout_secs = words.get(1).and_then(|w| duration_secs(w)),
                Some("comment") => {
                    if let Some(Tok::Str(c)) = st.get(1).map(|t| &t.tok) {
                        set.comment = Some(c.clone());
                    }
                }
                Some("elements") => {
                    if let Some(open) = st.iter().position(|t| t.tok == Tok::LBrace) {
                        let close = matching_brace(st, open);
                        let inner = st.get(open + 1..close).unwrap_or(&[]);
                        set.elements.extend(elements(src, inner));
                    }
                }
                _ => {}
            }
        }
    }
}
