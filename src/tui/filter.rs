//! The requests view's filter language, parsed and matched (pure).
//!
//! Space-separated terms, all of which must match (AND), case-insensitive:
//! - free text: a substring of the source, destination, method, host, target, status or path
//!   summary;
//! - `status:5xx`, `status:404`, `status:4xx,5xx` (any of), `status:-` (no response);
//! - `pod:NAME`, `svc:NAME` (a pod or service named on either side or in the path), `host:`,
//!   `path:` (the request target), `port:N` (any port of the connection, the original
//!   destination's too), `id:` (x-request-id, trace id), `point:` (capture point);
//! - a leading `-` negates a term (`-status:2xx`, `-healthz`).
//!
//! Matching reads [`Row`]s only: the rows carry every fact a filter asks about.

use super::rows::Row;

/// A parse error: the byte offset of the offending term and what was expected.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FilterError {
    pub offset: usize,
    pub message: String,
}

impl std::fmt::Display for FilterError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "at {}: {}", self.offset, self.message)
    }
}

/// A status class (`5xx`) or an exact code.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StatusPat {
    Class(u16),
    Code(u16),
    None,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Field {
    Text(String),
    Status(Vec<StatusPat>),
    Pod(String),
    Svc(String),
    Host(String),
    Path(String),
    Port(u16),
    Id(String),
    Point(String),
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Term {
    pub negated: bool,
    pub field: Field,
}

/// A parsed filter; the empty filter matches everything.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Filter {
    pub terms: Vec<Term>,
}

/// The field names, for the help screen and error messages.
pub const FIELDS: &[&str] = &[
    "status", "pod", "svc", "host", "path", "port", "id", "point",
];

/// Longest filter accepted (it is typed by hand).
const MAX_LEN: usize = 1024;

fn status_pat(s: &str) -> Option<StatusPat> {
    let b = s.as_bytes();
    if s == "-" {
        return Some(StatusPat::None);
    }
    if b.len() != 3 {
        return None;
    }
    let first = (b[0] as char)
        .to_digit(10)
        .filter(|d| (1..=5).contains(d))? as u16;
    if s[1..].eq_ignore_ascii_case("xx") {
        return Some(StatusPat::Class(first));
    }
    s.parse::<u16>().ok().map(StatusPat::Code)
}

fn field(key: &str, value: &str, offset: usize) -> Result<Field, FilterError> {
    let err = |message: String| FilterError { offset, message };
    if value.is_empty() {
        return Err(err(format!("{key}: needs a value")));
    }
    let v = value.to_lowercase();
    Ok(match key.to_ascii_lowercase().as_str() {
        "status" => {
            let pats: Option<Vec<StatusPat>> = value.split(',').map(status_pat).collect();
            Field::Status(pats.ok_or_else(|| {
                err(format!(
                    "status:{value}: expected a code (404), a class (5xx) or - (no response)"
                ))
            })?)
        }
        "pod" => Field::Pod(v),
        "svc" | "service" => Field::Svc(v),
        "host" => Field::Host(v),
        "path" => Field::Path(v),
        "port" => Field::Port(
            value
                .parse()
                .map_err(|_| err(format!("port:{value}: expected a port number")))?,
        ),
        "id" => Field::Id(v),
        "point" => Field::Point(v),
        other => {
            return Err(err(format!(
                "unknown field {other}: (known: {})",
                FIELDS.join(", ")
            )))
        }
    })
}

/// Parses a filter. A term `key:value` whose key is not all letters is free text
/// (`10.0.0.1:9080`); one whose key is letters but no field name is an error.
pub fn parse(input: &str) -> Result<Filter, FilterError> {
    if input.len() > MAX_LEN {
        return Err(FilterError {
            offset: MAX_LEN,
            message: format!("longer than {MAX_LEN} bytes"),
        });
    }
    let mut terms = Vec::new();
    let mut offset = 0;
    for word in input.split(' ') {
        let at = offset;
        offset += word.len() + 1;
        if word.is_empty() {
            continue;
        }
        let (negated, body) = match word.strip_prefix('-') {
            Some(rest) if !rest.is_empty() => (true, rest),
            _ => (false, word),
        };
        let field = match body.split_once(':') {
            Some((key, value))
                if !key.is_empty() && key.bytes().all(|b| b.is_ascii_alphabetic()) =>
            {
                field(key, value, at)?
            }
            _ => Field::Text(body.to_lowercase()),
        };
        terms.push(Term { negated, field });
    }
    Ok(Filter { terms })
}

fn has(hay: &str, needle: &str) -> bool {
    // Needles are lowercased at parse time; most hay is ASCII.
    if hay.is_ascii() && needle.is_ascii() {
        let (h, n) = (hay.as_bytes(), needle.as_bytes());
        return n.is_empty() || h.windows(n.len()).any(|w| w.eq_ignore_ascii_case(n));
    }
    hay.to_lowercase().contains(needle)
}

fn status_matches(p: &StatusPat, status: Option<u16>) -> bool {
    match (p, status) {
        (StatusPat::None, s) => s.is_none(),
        (StatusPat::Class(c), Some(s)) => s / 100 == *c,
        (StatusPat::Code(c), Some(s)) => s == *c,
        _ => false,
    }
}

fn field_matches(f: &Field, row: &Row, point: &str) -> bool {
    match f {
        Field::Text(t) => {
            has(&row.src, t)
                || has(&row.dst, t)
                || has(&row.method, t)
                || has(&row.host, t)
                || has(&row.target, t)
                || has(&row.path, t)
                || row.status.is_some_and(|s| has(&s.to_string(), t))
        }
        Field::Status(pats) => pats.iter().any(|p| status_matches(p, row.status)),
        Field::Pod(n) => row
            .names()
            .any(|name| name.starts_with("pod/") && has(name, n)),
        Field::Svc(n) => {
            row.names()
                .any(|name| name.starts_with("svc/") && has(name, n))
                || has(&row.path, n)
        }
        Field::Host(h) => has(&row.host, h),
        Field::Path(p) => has(&row.target, p),
        Field::Port(p) => row.ports.contains(p),
        Field::Id(id) => row.request_id.as_deref().is_some_and(|r| has(r, id)),
        Field::Point(p) => has(point, p),
    }
}

impl Filter {
    pub fn is_empty(&self) -> bool {
        self.terms.is_empty()
    }

    /// Whether `row` (taken at capture point `point`) passes every term.
    pub fn matches(&self, row: &Row, point: &str) -> bool {
        self.terms
            .iter()
            .all(|t| field_matches(&t.field, row, point) != t.negated)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tui::rows::Flags;
    use std::sync::Arc;

    fn row(status: Option<u16>, target: &str) -> Row {
        Row {
            src: Arc::from("pod/productpage-v1"),
            dst: Arc::from("svc/reviews:9080"),
            method: "GET".into(),
            host: "reviews:9080".into(),
            target: target.into(),
            status,
            ports: [48522, 15001, 9080],
            path: Arc::from("sidecar → cluster reviews → pod/reviews-v2"),
            path_names: Arc::from(vec![Arc::from("pod/reviews-v2")]),
            request_id: Some("ab12-cd".into()),
            flags: Flags::default(),
            ..Row::default()
        }
    }

    #[test]
    fn fields_and_free_text() {
        let r = row(Some(503), "/reviews/1");
        let ok = |f: &str| parse(f).unwrap().matches(&r, "pod default/productpage-v1");
        assert!(ok(""));
        assert!(ok("status:5xx"));
        assert!(ok("status:503"));
        assert!(ok("status:2xx,5xx"));
        assert!(!ok("status:2xx"));
        assert!(!ok("status:-"));
        assert!(ok("-status:2xx"));
        assert!(ok("pod:productpage"));
        assert!(!ok("pod:reviews-v1"));
        assert!(ok("pod:reviews-v2"), "a pod named in the path counts");
        assert!(ok("svc:reviews"));
        assert!(ok("host:REVIEWS"));
        assert!(ok("path:/reviews"));
        assert!(!ok("path:/ratings"));
        assert!(ok("port:9080"));
        assert!(ok("port:15001"));
        assert!(!ok("port:80"));
        assert!(ok("id:ab12"));
        assert!(ok("point:productpage"));
        assert!(ok("reviews/1 get"));
        assert!(ok("503"));
        assert!(!ok("ratings"));
        assert!(ok("-ratings"));
        // An address is free text, not an unknown field.
        let addr = parse("10.0.0.1:9080").unwrap();
        assert_eq!(addr.terms[0].field, Field::Text("10.0.0.1:9080".into()));
    }

    #[test]
    fn errors_say_where_and_what() {
        let e = parse("get status:6xx").unwrap_err();
        assert_eq!(e.offset, 4);
        assert!(e.message.contains("expected a code"), "{e}");
        let e = parse("colour:red").unwrap_err();
        assert!(e.message.contains("unknown field colour"), "{e}");
        assert!(parse("port:http").is_err());
        assert!(parse("pod:").is_err());
        assert!(parse(&"x".repeat(2000)).is_err());
        assert_eq!(parse("  a   b ").unwrap().terms.len(), 2);
    }

    #[test]
    fn no_response_and_non_ascii() {
        let r = row(None, "/é");
        assert!(parse("status:-").unwrap().matches(&r, ""));
        assert!(parse("path:/É").unwrap().matches(&r, ""));
    }
}
