//! Message heads: start line and header fields, parsed with httparse, turned into owned values
//! plus the few facts framing needs (RFC 9112 section 6: Content-Length, Transfer-Encoding;
//! RFC 9110 section 8.4: Content-Encoding).
//!
//! It does not buffer: the caller hands it the whole head so far and keeps what is incomplete.
//! httparse runs once per call (twice only past 64 fields). A complete head's bytes are copied
//! once into its [`Fields`], names and values as spans into them: names as sent, values as
//! lossy UTF-8, in order, duplicates included. The framing facts come from one pass over the
//! fields. Nothing is printed here (the report escapes).

use super::skim::{self, Line};
use crate::model::{
    known_or_owned, Dir, Fields, FindField, HttpVersion, KNOWN_METHODS, KNOWN_REASONS,
};
use std::borrow::Cow;
use std::mem::MaybeUninit;

/// Header fields parsed on the first try (a stack array); most heads have fewer than 30.
const HEADERS_FIRST: usize = 64;
/// Header fields allowed at most (the retry uses a heap array this big). The head byte cap
/// bounds them as well.
pub(super) const MAX_HEADERS: usize = 1024;

/// The start line (RFC 9112 sections 3 and 4).
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) enum Start {
    Request {
        method: Cow<'static, str>,
        target: String,
    },
    Response {
        status: u16,
        reason: Cow<'static, str>,
    },
}

/// Content coding of the body, as far as the preview cares (RFC 9110 section 8.4.1).
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub(super) enum Coding {
    Identity,
    Gzip,
    Deflate,
    /// A coding the preview does not decode (br, zstd, compress, a list of several).
    Other,
}

/// How the body is delimited, from the header fields alone (the caller adds the rules that
/// depend on the request method and status code).
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub(super) enum Length {
    /// No Content-Length and no Transfer-Encoding.
    Absent,
    /// `Content-Length: n` (several equal values allowed, section 6.3 item 5).
    Exact(u64),
    /// Transfer-Encoding whose final coding is chunked.
    Chunked,
    /// Transfer-Encoding without a final chunked: read until close (responses, item 4).
    UntilClose,
}

/// A parsed head.
#[derive(Clone, Debug)]
pub(super) struct Head {
    pub start: Start,
    pub version: HttpVersion,
    pub headers: Fields,
    /// Bytes of the head, including the empty line (and leading empty lines httparse skips).
    pub len: usize,
    pub length: Length,
    pub coding: Coding,
    /// An `Upgrade` field is present (RFC 9110 section 7.8).
    pub upgrade: bool,
}

/// Result of parsing a head.
#[derive(Debug)]
pub(super) enum Parsed {
    Complete(Head),
    Partial,
    /// Not a valid head (httparse error, or conflicting Content-Length values).
    Invalid,
    /// More than [`MAX_HEADERS`] header fields.
    TooManyHeaders,
}

/// Parses the head at the start of `buf` for direction `dir`. With `defer`, a plain head's
/// fields are left unsplit for whoever reads them (see `skim`); framing is the same.
pub(super) fn parse(buf: &[u8], dir: Dir, defer: bool) -> Parsed {
    if defer {
        if let Some(parsed) = skimmed(buf, dir) {
            return parsed;
        }
    }
    // Uninitialised slots: httparse writes the ones it fills, so the array is not zeroed
    // (2 KiB of memset per head) on every parse.
    let mut first = [MaybeUninit::uninit(); HEADERS_FIRST];
    match parse_with(buf, dir, &mut first) {
        Err(httparse::Error::TooManyHeaders) => {
            let mut more = vec![MaybeUninit::uninit(); MAX_HEADERS];
            match parse_with(buf, dir, &mut more) {
                Ok(parsed) => parsed,
                Err(httparse::Error::TooManyHeaders) => Parsed::TooManyHeaders,
                Err(_) => Parsed::Invalid,
            }
        }
        Err(_) => Parsed::Invalid,
        Ok(parsed) => parsed,
    }
}

/// Lenient like a browser for responses (obsolete line folding, spaces before the colon), and
/// invalid field lines (e.g. a control character in a value) are skipped rather than failing
/// the whole head: an observer must read what peers accept.
fn config() -> httparse::ParserConfig {
    let mut c = httparse::ParserConfig::default();
    c.allow_spaces_after_header_name_in_responses(true)
        .allow_obsolete_multiline_headers_in_responses(true)
        .allow_multiple_spaces_in_request_line_delimiters(true)
        .allow_multiple_spaces_in_response_status_delimiters(true)
        .ignore_invalid_headers_in_requests(true)
        .ignore_invalid_headers_in_responses(true);
    c
}

fn parse_with<'b>(
    buf: &'b [u8],
    dir: Dir,
    headers: &mut [MaybeUninit<httparse::Header<'b>>],
) -> Result<Parsed, httparse::Error> {
    let (status, start, version, fields) = match dir {
        Dir::ToServer => {
            let mut req = httparse::Request::new(&mut []);
            let status = config().parse_request_with_uninit_headers(&mut req, buf, headers)?;
            let start = match (req.method, req.path) {
                (Some(m), Some(p)) => Some(Start::Request {
                    method: known_or_owned(m, KNOWN_METHODS),
                    target: p.to_string(),
                }),
                _ => None,
            };
            (status, start, req.version, &*req.headers)
        }
        Dir::ToClient => {
            let mut resp = httparse::Response::new(&mut []);
            let status = config().parse_response_with_uninit_headers(&mut resp, buf, headers)?;
            let start = resp.code.map(|code| Start::Response {
                status: code,
                reason: known_or_owned(resp.reason.unwrap_or(""), KNOWN_REASONS),
            });
            (status, start, resp.version, &*resp.headers)
        }
    };
    let len = match status {
        httparse::Status::Partial => return Ok(Parsed::Partial),
        httparse::Status::Complete(len) => len,
    };
    let Some(start) = start else {
        return Ok(Parsed::Invalid);
    };
    let Some(facts) = Facts::of(fields.iter().map(|h| (h.name.as_bytes(), h.value))) else {
        return Ok(Parsed::Invalid);
    };
    // The head's bytes are kept once; names and values become spans into them.
    let head = buf.get(..len).unwrap_or(buf);
    let headers = Fields::from_head(head, fields.iter().map(|h| (h.name.as_bytes(), h.value)));
    Ok(Parsed::Complete(Head {
        start,
        version: minor(version),
        headers,
        len,
        length: facts.length,
        coding: facts.coding,
        upgrade: facts.upgrade,
    }))
}

fn minor(version: Option<u8>) -> HttpVersion {
    match version {
        Some(0) => HttpVersion::Http10,
        _ => HttpVersion::Http11,
    }
}

/// A plain head (see `skim`) with its fields deferred; `None` for any other head.
fn skimmed(buf: &[u8], dir: Dir) -> Option<Parsed> {
    let s = skim::skim(buf, dir)?;
    let head = buf.get(..s.len)?;
    let split = match dir {
        Dir::ToServer => split_request,
        Dir::ToClient => split_response,
    };
    // A request's fields can be found by a scan; a response's rules (a space before the colon,
    // folding) are left to the split.
    let find: Option<FindField> = match dir {
        Dir::ToServer => Some(skim::request_field),
        Dir::ToClient => None,
    };
    let Some(facts) = Facts::of(s.framing()) else {
        return Some(Parsed::Invalid);
    };
    let headers = Fields::deferred(head, split, find);
    let start = match s.line {
        Line::Request { method, target } => Start::Request {
            method: known_or_owned(method, KNOWN_METHODS),
            target: target.to_string(),
        },
        Line::Response { status, reason } => Start::Response {
            status,
            reason: known_or_owned(reason, KNOWN_REASONS),
        },
    };
    Some(Parsed::Complete(Head {
        start,
        version: minor(Some(s.minor)),
        headers,
        len: s.len,
        length: facts.length,
        coding: facts.coding,
        upgrade: facts.upgrade,
    }))
}

/// The fields of a deferred request head (`Fields::deferred`): the head parsed in full.
fn split_request(head: &[u8]) -> Fields {
    split(head, Dir::ToServer)
}

fn split_response(head: &[u8]) -> Fields {
    split(head, Dir::ToClient)
}

fn split(head: &[u8], dir: Dir) -> Fields {
    match parse(head, dir, false) {
        Parsed::Complete(h) => h.headers,
        // A skimmed head always parses (src/http/tests/skim.rs); were it not to, no
        // fields rather than wrong ones.
        _ => Fields::default(),
    }
}

/// What framing and the state machine need from the fields, found in one pass over them
/// (a later lookup by name would scan every field again).
struct Facts {
    length: Length,
    coding: Coding,
    upgrade: bool,
}

impl Facts {
    /// Framing facts from the fields; `None` when Content-Length is unusable (section 6.3
    /// item 5: an invalid length is an unrecoverable framing error).
    fn of<'b>(fields: impl Iterator<Item = (&'b [u8], &'b [u8])>) -> Option<Facts> {
        let mut content_length: Option<u64> = None;
        let mut te: Option<bool> = None; // Some(final coding is chunked)
        let mut coding = Coding::Identity;
        let mut upgrade = false;
        for (name, value) in fields {
            // The length first: most fields (Host, User-Agent, X-B3-*, ...) match none of the
            // four names, and one compare of lengths rules each of them out.
            let is =
                |wanted: &[u8]| name.len() == wanted.len() && name.eq_ignore_ascii_case(wanted);
            if is(b"content-length") {
                for part in value.split(|&b| b == b',') {
                    let n = parse_decimal(trim(part))?;
                    if content_length.is_some_and(|old| old != n) {
                        return None;
                    }
                    content_length = Some(n);
                }
            } else if is(b"transfer-encoding") {
                // Several fields form one list (RFC 9110 section 5.3); the last coding counts.
                let last = value
                    .rsplit(|&b| b == b',')
                    .map(trim)
                    .find(|c| !c.is_empty());
                if let Some(last) = last {
                    te = Some(last.eq_ignore_ascii_case(b"chunked"));
                }
            } else if is(b"content-encoding") {
                coding = match (coding, coding_of(value)) {
                    (Coding::Identity, c) => c,
                    (c, Coding::Identity) => c,
                    _ => Coding::Other,
                };
            } else if is(b"upgrade") {
                upgrade = true;
            }
        }
        // Transfer-Encoding overrides Content-Length (section 6.3 item 3).
        let length = match (te, content_length) {
            (Some(true), _) => Length::Chunked,
            (Some(false), _) => Length::UntilClose,
            (None, Some(n)) => Length::Exact(n),
            (None, None) => Length::Absent,
        };
        Some(Facts {
            length,
            coding,
            upgrade,
        })
    }
}

fn coding_of(value: &[u8]) -> Coding {
    let mut codings = value
        .split(|&b| b == b',')
        .map(trim)
        .filter(|c| !c.is_empty());
    let (Some(one), None) = (codings.next(), codings.next()) else {
        return if value.iter().all(|b| b.is_ascii_whitespace() || *b == b',') {
            Coding::Identity
        } else {
            Coding::Other
        };
    };
    if one.eq_ignore_ascii_case(b"gzip") || one.eq_ignore_ascii_case(b"x-gzip") {
        Coding::Gzip
    } else if one.eq_ignore_ascii_case(b"deflate") {
        Coding::Deflate
    } else if one.eq_ignore_ascii_case(b"identity") {
        Coding::Identity
    } else {
        Coding::Other
    }
}

fn trim(b: &[u8]) -> &[u8] {
    let start = b
        .iter()
        .position(|c| !c.is_ascii_whitespace())
        .unwrap_or(b.len());
    let end = b
        .iter()
        .rposition(|c| !c.is_ascii_whitespace())
        .map_or(start, |e| e + 1);
    b.get(start..end).unwrap_or(&[])
}

/// `1*DIGIT` as u64, `None` on anything else or overflow.
fn parse_decimal(b: &[u8]) -> Option<u64> {
    if b.is_empty() {
        return None;
    }
    b.iter().try_fold(0u64, |n, &c| {
        if c.is_ascii_digit() {
            n.checked_mul(10)?.checked_add(u64::from(c - b'0'))
        } else {
            None
        }
    })
}

/// An HTTP/0.9 simple request (RFC 1945 section 4.1: `Simple-Request = "GET" SP
/// Request-URI CRLF`) filling all of `buf`: `GET`, one SP, a target of visible ASCII, CRLF or
/// LF, then nothing but empty lines. Returns the target and the length of the line.
///
/// Strict on purpose: garbage, a request line with a version, other methods, or anything after
/// the line (header fields) are not 0.9; they stay `bad-head`.
pub(super) fn http09_request(buf: &[u8]) -> Option<(&str, usize)> {
    let rest = buf.strip_prefix(b"GET ")?;
    let n = rest.iter().take_while(|b| b.is_ascii_graphic()).count();
    let (target, after) = rest.split_at(n);
    let eol = match after {
        [b'\r', b'\n', ..] => 2,
        [b'\n', ..] => 1,
        _ => return None,
    };
    if target.is_empty() || !after.iter().all(|&b| b == b'\r' || b == b'\n') {
        return None;
    }
    let target = std::str::from_utf8(target).ok()?;
    Some((target, 4 + n + eol))
}

/// Bytes of a start line read by [`lax_start`] at most.
const LAX_LINE_MAX: usize = 8 * 1024;

/// The start line of a head that could not be parsed (cut by a gap, too large, malformed),
/// read laxly so the report can still say what it was: `(start, version)`.
pub(super) fn lax_start(buf: &[u8], dir: Dir) -> Option<(Start, HttpVersion)> {
    // The line may be cut (a gap, the cap): keep what there is.
    let end = buf
        .iter()
        .position(|&b| b == b'\n')
        .unwrap_or(buf.len())
        .min(LAX_LINE_MAX);
    let line = buf.get(..end)?;
    let line = line.strip_suffix(b"\r").unwrap_or(line);
    let mut parts = line.splitn(3, |&b| b == b' ');
    let (a, b, c) = (parts.next()?, parts.next()?, parts.next().unwrap_or(&[]));
    let text = |x: &[u8]| String::from_utf8_lossy(x).into_owned();
    let minor = |v: &[u8]| {
        if v == b"HTTP/1.0" {
            HttpVersion::Http10
        } else {
            HttpVersion::Http11
        }
    };
    match dir {
        Dir::ToServer => Some((
            Start::Request {
                method: text(a).into(),
                target: text(b),
            },
            minor(c),
        )),
        Dir::ToClient => {
            let status = std::str::from_utf8(b).ok()?.parse().ok()?;
            Some((
                Start::Response {
                    status,
                    reason: text(c).into(),
                },
                minor(a),
            ))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn complete(buf: &[u8], dir: Dir) -> Head {
        match parse(buf, dir, false) {
            Parsed::Complete(h) => h,
            other => panic!("not complete: {other:?}"),
        }
    }

    #[test]
    fn request_head() {
        let buf = b"GET /a?b HTTP/1.0\r\nHost: x\r\nContent-Length: 5, 5\r\n\r\nhello";
        let h = complete(buf, Dir::ToServer);
        assert_eq!(
            h.start,
            Start::Request {
                method: "GET".into(),
                target: "/a?b".into()
            }
        );
        assert_eq!(
            (h.version, h.len, h.length),
            (HttpVersion::Http10, buf.len() - 5, Length::Exact(5))
        );
        assert_eq!(h.headers.len(), 2);
    }

    #[test]
    fn response_facts() {
        let h = complete(
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\nContent-Length: 3\r\nContent-Encoding: x-gzip\r\n\r\n",
            Dir::ToClient,
        );
        assert_eq!((h.length, h.coding), (Length::Chunked, Coding::Gzip));
        let h = complete(
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\n",
            Dir::ToClient,
        );
        assert_eq!(h.length, Length::UntilClose);
        let h = complete(
            b"HTTP/1.1 200 OK\r\nContent-Encoding: br\r\n\r\n",
            Dir::ToClient,
        );
        assert_eq!((h.length, h.coding), (Length::Absent, Coding::Other));
    }

    #[test]
    fn partial_and_invalid() {
        assert!(matches!(
            parse(b"GET / HTTP/1.1\r\nHo", Dir::ToServer, false),
            Parsed::Partial
        ));
        assert!(matches!(
            parse(
                b"GET / HTTP/1.1\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n",
                Dir::ToServer,
                false
            ),
            Parsed::Invalid
        ));
        assert!(matches!(
            parse(
                b"GET / HTTP/1.1\r\nContent-Length: -1\r\n\r\n",
                Dir::ToServer,
                false
            ),
            Parsed::Invalid
        ));
        assert!(matches!(
            parse(b"\x00\x01garbage\r\n\r\n", Dir::ToServer, false),
            Parsed::Invalid
        ));
        assert!(matches!(
            parse(b"HTTP/2 200\r\n\r\n", Dir::ToClient, false),
            Parsed::Invalid
        ));
    }

    #[test]
    fn many_headers_retry() {
        let mut buf = b"HTTP/1.1 200 OK\r\n".to_vec();
        for i in 0..300 {
            buf.extend_from_slice(format!("X-{i}: v\r\n").as_bytes());
        }
        buf.extend_from_slice(b"\r\n");
        assert_eq!(complete(&buf, Dir::ToClient).headers.len(), 300);
        buf.truncate(buf.len() - 2);
        for i in 0..MAX_HEADERS {
            buf.extend_from_slice(format!("Y-{i}: v\r\n").as_bytes());
        }
        buf.extend_from_slice(b"\r\n");
        let r = parse(&buf, Dir::ToClient, false);
        assert!(matches!(r, Parsed::TooManyHeaders), "{r:?}");
    }

    #[test]
    fn http09_only_when_clear() {
        assert_eq!(
            http09_request(b"GET /bad.html\r\n"),
            Some(("/bad.html", 15))
        );
        assert_eq!(http09_request(b"GET /\r\n\r\n"), Some(("/", 7)));
        assert_eq!(http09_request(b"GET /x\n"), Some(("/x", 7)));
        for no in [
            &b"GET /x"[..],               // no line end yet (or cut at capture end)
            b"GET /x HTTP/1.1\r\n",       // has a version
            b"GET /x\r\nHost: y\r\n\r\n", // header fields: a 1.x head missing its version
            b"POST /x\r\n",               // only GET exists in 0.9
            b"get /x\r\n",
            b"GET  /x\r\n",
            b"GET \r\n",
            b"GET /\x01x\r\n",
            b"GET /\xc3\xa9\r\n",
            b"\x00\x01garbage\r\n",
        ] {
            assert_eq!(
                http09_request(no),
                None,
                "{:?}",
                String::from_utf8_lossy(no)
            );
        }
        // httparse rejects the simple request, so the caller gets to try 0.9 on it.
        assert!(matches!(
            parse(b"GET /bad.html\r\n", Dir::ToServer, false),
            Parsed::Invalid
        ));
    }

    #[test]
    fn lax() {
        let (s, v) = lax_start(b"GET /x HTTP/1.0\r\nHost", Dir::ToServer).unwrap();
        assert_eq!(
            (s, v),
            (
                Start::Request {
                    method: "GET".into(),
                    target: "/x".into()
                },
                HttpVersion::Http10
            )
        );
        let (s, _) = lax_start(b"HTTP/1.1 502 Bad Gateway\r\n", Dir::ToClient).unwrap();
        assert_eq!(
            s,
            Start::Response {
                status: 502,
                reason: "Bad Gateway".into()
            }
        );
        let (s, v) = lax_start(b"GET /x HTT", Dir::ToServer).unwrap();
        assert_eq!(
            (s, v),
            (
                Start::Request {
                    method: "GET".into(),
                    target: "/x".into()
                },
                HttpVersion::Http11
            )
        );
        assert!(lax_start(b"GET", Dir::ToServer).is_none());
        assert!(lax_start(b"HTTP/1.1 abc", Dir::ToClient).is_none());
    }
}
