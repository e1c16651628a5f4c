//! Values and set/map elements in nft's text syntax: `10.0.0.0/8`, `0x4000`, `80-90`, `@set`,
//! and `k1 . k2 . k3 [comment "…"] : goto CHAIN` elements, comma-separated, wrapping lines.
//!
//! Shared by rules (anonymous sets, inline vmaps) and `elements = { … }` / `add element`. Keys are
//! typed by their spelling, not by the set's declared type: the walk compares them with facts of
//! the right kind, so a word that is both a protocol and a service name needs no type context.

use std::net::IpAddr;

use super::lex::{Tok, Token};
use super::{ElemData, NftElement, NftVerdict, Value};

/// A word as a value: `@set`, CIDR, address, number (decimal or 0x), range, or a plain word.
pub(crate) fn value_of(w: &str) -> Value {
    if let Some(s) = w.strip_prefix('@') {
        return Value::SetRef(s.to_string());
    }
    if let Some((a, l)) = w.split_once('/') {
        if let (Ok(a), Ok(l)) = (a.parse::<IpAddr>(), l.parse::<u8>()) {
            return Value::Cidr(a, l);
        }
    }
    if let Ok(a) = w.parse::<IpAddr>() {
        return Value::Addr(a);
    }
    if let Some(n) = int_of(w) {
        return Value::Int(n);
    }
    if let Some((a, b)) = w.split_once('-') {
        let (va, vb) = (value_of(a), value_of(b));
        let ok = matches!(
            (&va, &vb),
            (Value::Addr(_), Value::Addr(_)) | (Value::Int(_), Value::Int(_))
        );
        if ok {
            return Value::Range(Box::new(va), Box::new(vb));
        }
    }
    Value::Word(w.to_string())
}

pub(crate) fn int_of(w: &str) -> Option<u64> {
    match w.strip_prefix("0x") {
        Some(h) => u64::from_str_radix(h, 16).ok(),
        None if !w.is_empty() && w.bytes().all(|b| b.is_ascii_digit()) => w.parse().ok(),
        None => None,
    }
}

/// `ADDR`, `ADDR:PORT`, `[V6]:PORT`, `:PORT`.
pub(crate) fn addr_port(w: &str) -> (Option<IpAddr>, Option<u16>) {
    if let Some(p) = w.strip_prefix(':') {
        return (None, p.parse().ok());
    }
    if let Some(rest) = w.strip_prefix('[') {
        if let Some((a, p)) = rest.split_once(']') {
            return (
                a.parse().ok(),
                p.strip_prefix(':').and_then(|p| p.parse().ok()),
            );
        }
    }
    if let Ok(a) = w.parse::<IpAddr>() {
        return (Some(a), None);
    }
    match w.rsplit_once(':') {
        Some((a, p)) => (a.parse().ok(), p.parse().ok()),
        None => (None, w.parse().ok()),
    }
}

/// The text a token span covers.
pub(crate) fn span(src: &str, toks: &[Token]) -> String {
    match (toks.first(), toks.last()) {
        (Some(a), Some(b)) => src.get(a.start..b.end).unwrap_or("").trim().to_string(),
        _ => String::new(),
    }
}

/// A verdict at `toks[0..]`, and how many tokens it used.
pub(crate) fn verdict_at(toks: &[Token]) -> Option<(NftVerdict, usize)> {
    let w = toks.first()?.word()?;
    let target = || toks.get(1).and_then(|t| t.name()).map(str::to_string);
    Some(match w {
        "accept" => (NftVerdict::Accept, 1),
        "drop" => (NftVerdict::Drop, 1),
        "return" => (NftVerdict::Return, 1),
        "continue" => (NftVerdict::Continue, 1),
        "reject" => (NftVerdict::Reject, 1),
        "jump" => (NftVerdict::Jump(target()?), 2),
        "goto" => (NftVerdict::Goto(target()?), 2),
        _ => return None,
    })
}

/// The elements between a `{` and its `}` (exclusive), comma-separated, newlines ignored.
pub(crate) fn elements(src: &str, toks: &[Token]) -> Vec<NftElement> {
    let mut out = Vec::new();
    let mut depth = 0usize;
    let mut cur: Vec<Token> = Vec::new();
    for t in toks {
        match t.tok {
            Tok::LBrace => depth += 1,
            Tok::RBrace => depth = depth.saturating_sub(1),
            Tok::Comma if depth == 0 => {
                if !cur.is_empty() {
                    out.push(element(src, &cur));
                }
                cur.clear();
                continue;
            }
            Tok::Newline | Tok::Handle(_) => continue,
            _ => {}
        }
        cur.push(t.clone());
    }
    if !cur.is_empty() {
        out.push(element(src, &cur));
    }
    out
}

/// Values separated by `.` words, skipping element options (`comment`, `timeout`, `expires`,
/// `counter packets N bytes M`).
fn concat_values(toks: &[Token], comment: &mut Option<String>) -> Vec<Value> {
    let mut vals = Vec::new();
    let mut i = 0;
    while let Some(t) = toks.get(i) {
        match &t.tok {
            Tok::Word(w) if w == "." => {}
            Tok::Word(w) if w == "comment" => {
                if let Some(Tok::Str(s)) = toks.get(i + 1).map(|t| &t.tok) {
                    *comment = Some(s.clone());
                }
                i += 1;
            }
            Tok::Word(w) if w == "timeout" || w == "expires" => i += 1,
            Tok::Word(w) if w == "counter" => {
                while toks
                    .get(i + 1)
                    .and_then(|t| t.word())
                    .is_some_and(|w| matches!(w, "packets" | "bytes") || int_of(w).is_some())
                {
                    i += 1;
                }
            }
            Tok::Word(w) => vals.push(value_of(w)),
            Tok::Str(s) => vals.push(Value::Word(s.clone())),
            _ => {}
        }
        i += 1;
    }
    vals
}

fn element(src: &str, toks: &[Token]) -> NftElement {
    let colon = toks.iter().position(|t| t.is_word(":"));
    let (key, data) = match colon {
        Some(c) => (&toks[..c], Some(&toks[c + 1..])),
        None => (toks, None),
    };
    let mut comment = None;
    let key = concat_values(key, &mut comment);
    let data = data.map(|d| match verdict_at(d) {
        Some((v, _)) => ElemData::Verdict(v),
        None => ElemData::Value(concat_values(d, &mut comment)),
    });
    NftElement {
        key,
        data,
        comment,
        line: toks.first().map_or(0, |t| t.line),
        text: span(src, toks),
    }
}

/// The index of the `}` matching the `{` at `open`, or the end.
pub(crate) fn matching_brace(toks: &[Token], open: usize) -> usize {
    let mut depth = 0usize;
    for (i, t) in toks.iter().enumerate().skip(open) {
        match t.tok {
            Tok::LBrace => depth += 1,
            Tok::RBrace => {
                depth = depth.saturating_sub(1);
                if depth == 0 {
                    return i;
                }
            }
            _ => {}
        }
    }
    toks.len()
}
