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

use super::rule::value_of;
use super::{
    named_priority, BaseChain, ElemData, Expr, L4Header, MarkOp, MatchOp, NftChain, NftElement,
    NftError, NftRule, NftRuleset, NftSet, NftTable, NftVerdict, Stmt, Value, VmapRef,
};

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

fn type_list(v: Option<&J>) -> Vec<String> {
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

/// Elements of a set (`[v, …]`) or map (`[[k, d], …]`).
fn elems(v: Option<&J>, line: usize) -> Vec<NftElement> {
    let Some(J::Array(a)) = v else {
        return Vec::new();
    };
    a.iter()
        .map(|e| {
            let (k, d) = match e {
                J::Array(kd) if kd.len() == 2 => (&kd[0], Some(&kd[1])),
                other => (other, None),
            };
            let mut comment = None;
            let k = match k {
                J::Object(o) if o.contains_key("elem") => {
                    let inner = o.get("elem");
                    comment = inner
                        .and_then(|x| x.get("comment"))
                        .and_then(J::as_str)
                        .map(str::to_string);
                    inner.and_then(|x| x.get("val")).unwrap_or(&J::Null)
                }
                other => other,
            };
            let key = match value(k) {
                Value::Concat(vs) => vs,
                v => vec![v],
            };
            let data = d.map(|d| match verdict(d) {
                Some(v) => ElemData::Verdict(v),
                None => ElemData::Value(match value(d) {
                    Value::Concat(vs) => vs,
                    v => vec![v],
                }),
            });
            NftElement {
                key,
                data,
                comment,
                line,
                text: serde_json::to_string(e).unwrap_or_default(),
            }
        })
        .collect()
}

fn verdict(v: &J) -> Option<NftVerdict> {
    let o = v.as_object()?;
    let (k, b) = o.iter().next()?;
    let target = || b.get("target").and_then(J::as_str).map(str::to_string);
    Some(match k.as_str() {
        "accept" => NftVerdict::Accept,
        "drop" => NftVerdict::Drop,
        "reject" => NftVerdict::Reject,
        "return" => NftVerdict::Return,
        "continue" => NftVerdict::Continue,
        "jump" => NftVerdict::Jump(target()?),
        "goto" => NftVerdict::Goto(target()?),
        _ => return None,
    })
}

/// A right-hand value or element key.
fn value(v: &J) -> Value {
    match v {
        J::String(s) => value_of(s),
        J::Number(n) => Value::Int(n.as_u64().unwrap_or(0)),
        J::Bool(b) => Value::Int(u64::from(*b)),
        J::Array(a) => Value::Anon(a.iter().map(value).collect()),
        J::Object(o) => {
            if let Some(p) = o.get("prefix") {
                let addr = p
                    .get("addr")
                    .and_then(J::as_str)
                    .and_then(|a| a.parse().ok());
                let len = p
                    .get("len")
                    .and_then(J::as_u64)
                    .and_then(|l| u8::try_from(l).ok());
                if let (Some(a), Some(l)) = (addr, len) {
                    return Value::Cidr(a, l);
                }
            }
            if let Some(J::Array(r)) = o.get("range") {
                if let [a, b] = r.as_slice() {
                    return Value::Range(Box::new(value(a)), Box::new(value(b)));
                }
            }
            if let Some(J::Array(s)) = o.get("set") {
                return Value::Anon(s.iter().map(value).collect());
            }
            if let Some(J::Array(c)) = o.get("concat") {
                return Value::Concat(c.iter().map(value).collect());
            }
            if let Some(e) = o.get("elem").and_then(|e| e.get("val")) {
                return value(e);
            }
            Value::Word(serde_json::to_string(v).unwrap_or_default())
        }
        J::Null => Value::Word(String::new()),
    }
}

fn header(proto: &str) -> Option<L4Header> {
    Some(match proto {
        "tcp" => L4Header::Tcp,
        "udp" => L4Header::Udp,
        "sctp" => L4Header::Sctp,
        "th" => L4Header::Th,
        _ => return None,
    })
}

/// A match left side or vmap key, as a list of concatenated fields.
fn exprs(v: &J) -> Vec<Expr> {
    if let Some(J::Array(c)) = v.get("concat") {
        return c.iter().map(expr).collect();
    }
    vec![expr(v)]
}

fn expr(v: &J) -> Expr {
    let other = || Expr::Other(serde_json::to_string(v).unwrap_or_default());
    let Some(o) = v.as_object() else {
        return other();
    };
    if let Some(p) = o.get("payload") {
        let proto = p.get("protocol").and_then(J::as_str).unwrap_or("");
        let field = p.get("field").and_then(J::as_str).unwrap_or("");
        return match (proto, field) {
            ("ip", "saddr") => Expr::Saddr { v6: false },
            ("ip", "daddr") => Expr::Daddr { v6: false },
            ("ip6", "saddr") => Expr::Saddr { v6: true },
            ("ip6", "daddr") => Expr::Daddr { v6: true },
            ("ip", "protocol") | ("ip6", "nexthdr") => Expr::L4proto,
            (h, "dport") => header(h).map_or_else(other, Expr::Dport),
            (h, "sport") => header(h).map_or_else(other, Expr::Sport),
            _ => other(),
        };
    }
    if let Some(m) = o.get("meta") {
        return match m.get("key").and_then(J::as_str).unwrap_or("") {
            "l4proto" => Expr::L4proto,
            "mark" => Expr::Mark { mask: None },
            "iifname" => Expr::Iifname,
            "oifname" => Expr::Oifname,
            _ => other(),
        };
    }
    if let Some(c) = o.get("ct") {
        return match c.get("key").and_then(J::as_str).unwrap_or("") {
            "state" => Expr::CtState,
            "mark" => Expr::CtMark { mask: None },
            _ => other(),
        };
    }
    if let Some(f) = o.get("fib") {
        let flags = type_list(f.get("flags"));
        if f.get("result").and_then(J::as_str) == Some("type") {
            return Expr::FibType {
                daddr: flags.iter().any(|f| f == "daddr"),
            };
        }
        return other();
    }
    if let Some(n) = o.get("numgen") {
        let get = |k| {
            n.get(k)
                .and_then(J::as_u64)
                .and_then(|x| u32::try_from(x).ok())
                .unwrap_or(0)
        };
        return Expr::Numgen {
            modulus: get("mod"),
            offset: get("offset"),
        };
    }
    if let Some(J::Array(a)) = o.get("&") {
        if let [l, J::Number(m)] = a.as_slice() {
            let mask = m.as_u64().and_then(|m| u32::try_from(m).ok());
            return match expr(l) {
                Expr::Mark { .. } => Expr::Mark { mask },
                Expr::CtMark { .. } => Expr::CtMark { mask },
                _ => other(),
            };
        }
    }
    other()
}

fn mark_op(v: &J) -> Option<MarkOp> {
    if let Some(n) = v.as_u64() {
        return u32::try_from(n).ok().map(MarkOp::Set);
    }
    let o = v.as_object()?;
    let (op, args) = o.iter().next()?;
    let J::Array(a) = args else { return None };
    let [l, J::Number(n)] = a.as_slice() else {
        return None;
    };
    if expr(l) != (Expr::Mark { mask: None }) {
        return None;
    }
    let n = u32::try_from(n.as_u64()?).ok()?;
    Some(match op.as_str() {
        "|" => MarkOp::Or(n),
        "^" => MarkOp::Xor(n),
        "&" => MarkOp::And(n),
        _ => return None,
    })
}

fn port(v: Option<&J>) -> Option<u16> {
    v.and_then(J::as_u64).and_then(|p| u16::try_from(p).ok())
}

fn stmt(o: &Map<String, J>, line: usize) -> Stmt {
    let _ = line;
    let raw = || Stmt::Other(serde_json::to_string(o).unwrap_or_default());
    let Some((k, b)) = o.iter().next() else {
        return raw();
    };
    if let Some(v) = verdict(&J::Object(o.clone())) {
        return Stmt::Verdict(v);
    }
    match k.as_str() {
        "match" => {
            let op = match b.get("op").and_then(J::as_str) {
                Some("!=") => MatchOp::Ne,
                Some("==" | "in") | None => MatchOp::Eq,
                Some(_) => return raw(),
            };
            match (b.get("left"), b.get("right")) {
                (Some(l), Some(r)) => Stmt::Match {
                    left: exprs(l),
                    op,
                    right: value(r),
                },
                _ => raw(),
            }
        }
        "vmap" => {
            let key = b.get("key").map(exprs).unwrap_or_default();
            match b.get("data") {
                Some(J::String(s)) => Stmt::Vmap {
                    key,
                    map: VmapRef::Named(s.trim_start_matches('@').to_string()),
                },
                Some(d) => match d.get("set") {
                    Some(s) => Stmt::Vmap {
                        key,
                        map: VmapRef::Inline(elems(Some(s), line)),
                    },
                    None => raw(),
                },
                None => raw(),
            }
        }
        "counter" => Stmt::Counter,
        "dnat" => Stmt::Dnat {
            addr: b
                .get("addr")
                .and_then(J::as_str)
                .and_then(|a| a.parse().ok()),
            port: port(b.get("port")),
        },
        "redirect" => Stmt::Redirect {
            port: port(b.get("port")),
        },
        "tproxy" => Stmt::Tproxy {
            addr: b
                .get("addr")
                .and_then(J::as_str)
                .and_then(|a| a.parse().ok()),
            port: port(b.get("port")),
        },
        "masquerade" => Stmt::Masquerade,
        "mangle" => {
            let is_mark = b.get("key").map(expr) == Some(Expr::Mark { mask: None });
            match b.get("value").and_then(mark_op) {
                Some(op) if is_mark => Stmt::MarkSet(op),
                _ => raw(),
            }
        }
        "set" => match (
            b.get("op").and_then(J::as_str),
            b.get("set").and_then(J::as_str),
        ) {
            (Some("update" | "add"), Some(s)) => Stmt::UpdateSet {
                set: s.trim_start_matches('@').to_string(),
            },
            _ => raw(),
        },
        _ => raw(),
    }
}
