//! Rule expressions and set elements of libnftables-json(5): `match` (`payload`, `meta`, `fib`,
//! `ct`, `&`, `concat`, `numgen` on the left; strings, numbers, `prefix`, `range`, `set` on the
//! right), `vmap`, verdicts, `dnat`/`redirect`/`tproxy`/`masquerade`, `mangle` of the mark and
//! `set` updates, into the same [`Stmt`]s the text parser gives. Anything else is kept as
//! [`Stmt::Other`] with its JSON: an unknown expression is never an error.

use serde_json::{Map, Value as J};

use super::element::value_of;
use super::json::type_list;
use super::{
    ElemData, Expr, L4Header, MarkOp, MatchOp, NftElement, NftVerdict, Stmt, Value, VmapRef,
};

/// Elements of a set (`[v, …]`) or map (`[[k, d], …]`).
pub(super) fn elems(v: Option<&J>, line: usize) -> Vec<NftElement> {
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

pub(super) fn stmt(o: &Map<String, J>, line: usize) -> Stmt {
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
