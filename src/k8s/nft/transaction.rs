//! The command form of `nft -f` input: `add|create|insert|replace` and `flush|delete|destroy` of
//! tables, chains, rules, sets, maps and elements, applied in order to the ruleset being built.
//!
//! Semantics follow nft(8) "COMMANDS": `insert rule` prepends, `flush table` empties every chain
//! and set of the table, `delete rule … handle N` removes by handle. Rule placement by
//! `position`/`index`/`handle` is not modelled (the rule is appended), which kube-proxy and
//! istio-cni never use.

use super::element::{elements, int_of, matching_brace};
use super::lex::{Tok, Token};
use super::text::{err, Parser};
use super::NftError;

impl Parser<'_> {
    /// `add|create|insert|replace OBJECT …`
    pub(super) fn add(&mut self, verb: &str) -> Result<(), NftError> {
        let line = self.line();
        let obj = self.name("an object (table, chain, rule, set, map, element)")?;
        match obj.as_str() {
            "table" => {
                let (f, n) = self.family_table()?;
                self.table_mut(&f, &n);
                if let Some(Tok::LBrace) = self.peek() {
                    self.pos += 1;
                    self.table_body(&f, &n)?;
                    self.expect_rbrace()?;
                }
            }
            "chain" => {
                let (f, tn) = self.family_table()?;
                let c = self.name("a chain name")?;
                self.chain_mut(&f, &tn, &c, line);
                if let Some(Tok::LBrace) = self.peek() {
                    self.pos += 1;
                    self.chain_body(&f, &tn, &c, line)?;
                    self.expect_rbrace()?;
                }
            }
            "set" | "map" => {
                let (f, tn) = self.family_table()?;
                let s = self.name("a set name")?;
                self.set_mut(&f, &tn, &s, line);
                if let Some(Tok::LBrace) = self.peek() {
                    self.pos += 1;
                    self.set_body(&f, &tn, &s, line)?;
                    self.expect_rbrace()?;
                }
            }
            "rule" => {
                let (f, tn) = self.family_table()?;
                let c = self.name("a chain name")?;
                let mut st = self.statement();
                // `position N`, `index N`, `handle N` place the rule; the model keeps order only.
                while st
                    .first()
                    .and_then(|t| t.word())
                    .is_some_and(|w| matches!(w, "position" | "index" | "handle"))
                {
                    st = st.get(2..).unwrap_or(&[]);
                }
                let st: Vec<Token> = st
                    .iter()
                    .filter(|t| !matches!(t.tok, Tok::Handle(_) | Tok::Newline))
                    .cloned()
                    .collect();
                let rule = self.rule(&st, None);
                let ch = self.chain_mut(&f, &tn, &c, line);
                if verb == "insert" {
                    ch.rules.insert(0, rule);
                } else {
                    ch.rules.push(rule);
                }
            }
            "element" => {
                let (f, tn) = self.family_table()?;
                let s = self.name("a set name")?;
                let open = self.pos;
                self.expect_lbrace()?;
                let close = matching_brace(self.toks, open);
                if close >= self.toks.len() {
                    return Err(err(line, "expected '}' closing the elements"));
                }
                let els = elements(self.src, &self.toks[open + 1..close]);
                self.pos = close + 1;
                self.set_mut(&f, &tn, &s, line).elements.extend(els);
            }
            other => {
                return Err(err(line, format!("expected table, chain, rule, set, map or element after '{verb}', found '{other}'")))
            }
        }
        Ok(())
    }

    /// `flush|delete|destroy OBJECT …`
    pub(super) fn remove(&mut self, verb: &str) -> Result<(), NftError> {
        let line = self.line();
        let obj = self.name("an object")?;
        if obj == "ruleset" {
            self.statement();
            if verb == "flush" {
                self.rs.tables.clear();
            }
            return Ok(());
        }
        let (f, tn) = self.family_table()?;
        let flush = verb == "flush";
        match obj.as_str() {
            "table" => {
                if flush {
                    let t = self.table_mut(&f, &tn);
                    t.chains.iter_mut().for_each(|c| c.rules.clear());
                    t.sets.iter_mut().for_each(|s| s.elements.clear());
                } else {
                    self.rs.tables.retain(|t| !(t.family == f && t.name == tn));
                }
            }
            "chain" => {
                let c = self.name("a chain name")?;
                let t = self.table_mut(&f, &tn);
                if flush {
                    t.chains.iter_mut().filter(|x| x.name == c).for_each(|x| x.rules.clear());
                } else {
                    t.chains.retain(|x| x.name != c);
                }
            }
            "set" | "map" => {
                let s = self.name("a set name")?;
                let t = self.table_mut(&f, &tn);
                if flush {
                    t.sets.iter_mut().filter(|x| x.name == s).for_each(|x| x.elements.clear());
                } else {
                    t.sets.retain(|x| x.name != s);
                }
            }
            "rule" => {
                let c = self.name("a chain name")?;
                let st = self.statement();
                let words: Vec<&str> = st.iter().filter_map(|t| t.word()).collect();
                let h = match words.as_slice() {
                    ["handle", h] => int_of(h),
                    _ => None,
                }
                .ok_or_else(|| err(line, "expected 'handle N' after the chain name"))?;
                let t = self.table_mut(&f, &tn);
                for ch in t.chains.iter_mut().filter(|x| x.name == c) {
                    ch.rules.retain(|r| r.handle != Some(h));
                }
                return Ok(());
            }
            "element" => {
                let s = self.name("a set name")?;
                let open = self.pos;
                self.expect_lbrace()?;
                let close = matching_brace(self.toks, open);
                let gone = elements(self.src, self.toks.get(open + 1..close).unwrap_or(&[]));
                self.pos = close.saturating_add(1).min(self.toks.len());
                let t = self.table_mut(&f, &tn);
                for set in t.sets.iter_mut().filter(|x| x.name == s) {
                    set.elements.retain(|e| !gone.iter().any(|g| g.key == e.key));
                }
                return Ok(());
            }
            other => return Err(err(line, format!("expected table, chain, set, map, rule or element after '{verb}', found '{other}'"))),
        }
        self.statement();
        Ok(())
    }
}
