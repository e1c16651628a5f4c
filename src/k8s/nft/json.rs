//! `nft -j list ruleset` (libnftables-json(5)) into an [`NftRuleset`].
//!
//! Reads the `{"nftables": [{"metainfo": …}, {"table": …}, {"chain": …}, {"rule": …}, {"set":
//! …}, {"map": …}, {"element": …}]}` envelope. Rule `expr` statements become the same
//! [`Stmt`]s the text parser gives (`match` on `payload`/`meta`/`fib`/`ct`/`&`/`concat`,
//! `vmap`, `numgen`, verdicts, `dnat`, `redirect`, `tproxy`, `masquerade`, `mangle` of the mark,
//! `set` updates); an expression it does not know is kept as [`Stmt::Other`] holding its JSON,
//! never an error. Errors are only for a shape that cannot be placed (a rule with no chain name,
//! an `expr` that is not a list), and give the JSON pointer (`/nftables/17/rule/expr/2`).
//!
//! `line` in the model is the index of the object in the `nftables` array.

use serde_json::{Map, Value as J};

use super::json_expr::{elems, stmt};
use super::{named_priority, BaseChain, NftChain, NftError, NftRule, NftRuleset, NftSet, NftTable};

fn err(pointer: impl Into<String>, msg: &str) -> NftError {
    NftError::Json {
        pointer: pointer.into(),
        msg: msg.to_string(),
    }
}

/// Parses `nft -j list ruleset` (or `list table`) output.
pub fn parse_json(text: &str) -> Result<NftRuleset, NftError> {
    let root: J = serde_json::from_str(text).map_err(|e| {
        err(
            "",
            &format!(
                "expected JSON (line {} column {}: {e})",
                e.line(),
                e.column()
            ),
        )
    })?;
    let items = root
        .as_object()
        .ok_or_else(|| err("/", "expected an object"))?
        .get("nftables")
        .and_then(J::as_array)
        .ok_or_else(|| err("/nftables", "expected an array"))?;
    let mut rs = NftRuleset::default();
    for (i, item) in items.iter().enumerate() {
        let p = format!("/nftables/{i}");
        let obj = item
            .as_object()
            .ok_or_else(|| err(&p, "expected an object"))?;
        for (kind, body) in obj {
            let p = format!("{p}/{kind}");
            match kind.as_str() {
                "table" => {
                    let b = object(body, &p)?;
                    let (fam, name) = (string(b, &p, "family")?, string(b, &p, "name")?);
                    let t = table_mut(&mut rs, &fam, &name);
                    t.comment = b.get("comment").and_then(J::as_str).map(str::to_string);
                }
                "chain" => chain(&mut rs, object(body, &p)?, &p, i)?,
                "rule" => rule(&mut rs, object(body, &p)?, &p, i)?,
                "set" | "map" => set(&mut rs, object(body, &p)?, &p, i)?,
                "element" => {
                    let b = object(body, &p)?;
                    let (fam, tn) = (string(b, &p, "family")?, string(b, &p, "table")?);
                    let name = string(b, &p, "name")?;
                    let els = elems(b.get("elem"), i);
                    let t = table_mut(&mut rs, &fam, &tn);
                    match t.sets.iter_mut().find(|s| s.name == name) {
                        Some(s) => s.elements.extend(els),
                        None => t.sets.push(NftSet {
                            name,
                            elements: els,
                            line: i,
                            ..NftSet::default()
                        }),
                    }
                }
                _ => {} // metainfo, flowtable, counter, quota, ct helper…
            }
        }
    }
    Ok(rs)
}

fn object<'a>(v: &'a J, p: &str) -> Result<&'a Map<String, J>, NftError> {
    v.as_object().ok_or_else(|| err(p, "expected an object"))
}

fn string(o: &Map<String, J>, p: &str, key: &str) -> Result<String, NftError> {
    o.get(key)
        .and_then(J::as_str)
        .map(str::to_string)
        .ok_or_else(|| err(format!("{p}/{key}"), "expected a string"))
}

fn table_mut<'a>(rs: &'a mut NftRuleset, fam: &str, name: &str) -> &'a mut NftTable {
    let i = match rs
        .tables
        .iter()
        .position(|t| t.family == fam && t.name == name)
    {
        Some(i) => i,
        None => {
            rs.tables.push(NftTable {
                family: fam.to_string(),
                name: name.to_string(),
                ..NftTable::default()
            });
            rs.tables.len() - 1
        }
    };
    &mut rs.tables[i]
}

fn chain(rs: &mut NftRuleset, b: &Map<String, J>, p: &str, i: usize) -> Result<(), NftError> {
    let (fam, tn, name) = (
        string(b, p, "family")?,
        string(b, p, "table")?,
        string(b, p, "name")?,
    );
    let base = match (b.get("type"), b.get("hook")) {
        (Some(t), Some(h)) => {
            let priority = match b.get("prio") {
                Some(J::Number(n)) => n.as_i64().and_then(|n| i32::try_from(n).ok()),
                Some(J::String(s)) => named_priority(s),
                _ => None,
            }
            .ok_or_else(|| err(format!("{p}/prio"), "expected a priority number"))?;
            Some(BaseChain {
                kind: t.as_str().unwrap_or("").to_string(),
                hook: h.as_str().unwrap_or("").to_string(),
                priority,
                policy: b.get("policy").and_then(J::as_str).map(str::to_string),
            })
        }
        _ => None,
    };
    let comment = b.get("comment").and_then(J::as_str).map(str::to_string);
    let t = table_mut(rs, &fam, &tn);
    match t.chains.iter_mut().find(|c| c.name == name) {
        Some(c) => {
            c.base = base.or(c.base.take());
            c.comment = comment.or(c.comment.take());
        }
        None => t.chains.push(NftChain {
            name,
            base,
            rules: Vec::new(),
            comment,
            line: i,
        }),
    }
    Ok(())
}

fn rule(rs: &mut NftRuleset, b: &Map<String, J>, p: &str, i: usize) -> Result<(), NftError> {
    let (fam, tn, cn) = (
        string(b, p, "family")?,
        string(b, p, "table")?,
        string(b, p, "chain")?,
    );
    let exprs = b
        .get("expr")
        .and_then(J::as_array)
        .ok_or_else(|| err(format!("{p}/expr"), "expected an array"))?;
    let mut stmts = Vec::new();
    for (k, e) in exprs.iter().enumerate() {
        let o = e
            .as_object()
            .ok_or_else(|| err(format!("{p}/expr/{k}"), "expected an object"))?;
        stmts.push(stmt(o, i));
    }
    let rule = NftRule {
        stmts,
        comment: b.get("comment").and_then(J::as_str).map(str::to_string),
        handle: b.get("handle").and_then(J::as_u64),
        line: i,
        text: serde_json::to_string(exprs).unwrap_or_default(),
    };
    let t = table_mut(rs, &fam, &tn);
    match t.chains.iter_mut().find(|c| c.name == cn) {
        Some(c) => c.rules.push(rule),
        None => t.chains.push(NftChain {
            name: cn,
            rules: vec![rule],
            line: i,
            ..NftChain::default()
        }),
    }
    Ok(())
}

pub(super) fn type_list(v: Option<&J>) -> Vec<String> {
    match v {
        Some(J::String(s)) => vec![s.clone()],
        Some(J::Array(a)) => a.iter().filter_map(J::as_str).map(str::to_string).collect(),
        _ => Vec::new(),
    }
}

fn set(rs: &mut NftRuleset, b: &Map<String, J>, p: &str, i: usize) -> Result<(), NftError> {
    let (fam, tn, name) = (
        string(b, p, "family")?,
        string(b, p, "table")?,
        string(b, p, "name")?,
    );
    let data = type_list(b.get("map"));
    let s = NftSet {
        name,
        key_type: type_list(b.get("type")),
        data_type: (!data.is_empty()).then(|| data.join(" . ")),
        flags: type_list(b.get("flags")),
        timeout_secs: b
            .get("timeout")
            .and_then(J::as_u64)
            .and_then(|t| u32::try_from(t).ok()),
        elements: elems(b.get("elem"), i),
        comment: b.get("comment").and_then(J::as_str).map(str::to_string),
        line: i,
    };
    let t = table_mut(rs, &fam, &tn);
    t.sets.retain(|x| x.name != s.name);
    t.sets.push(s);
    Ok(())
}
