//! One HTTP/1.x request/response pair.

use super::{ConnId, Timestamp};
use std::borrow::Cow;

/// Request methods stored without an allocation (RFC 9110 section 9 and PATCH, RFC 5789).
pub const KNOWN_METHODS: &[&str] = &[
    "GET", "POST", "PUT", "DELETE", "HEAD", "OPTIONS", "PATCH", "CONNECT", "TRACE",
];

/// Reason phrases stored without an allocation: the ones nearly every response carries.
pub const KNOWN_REASONS: &[&str] = &[
    "OK",
    "Created",
    "Accepted",
    "No Content",
    "Moved Permanently",
    "Found",
    "Not Modified",
    "Bad Request",
    "Unauthorized",
    "Forbidden",
    "Not Found",
    "Internal Server Error",
    "Bad Gateway",
    "Service Unavailable",
    "Gateway Timeout",
    "Continue",
    "Switching Protocols",
    "",
];

/// `s` as one of the `known` strings (exact match, no allocation) or an owned copy: method
/// and reason of nearly every message are a handful of short strings, and a `String` each
/// was two of the allocations every exchange made.
pub fn known_or_owned(s: &str, known: &[&'static str]) -> Cow<'static, str> {
    match known.iter().find(|k| **k == s) {
        Some(k) => Cow::Borrowed(k),
        None => Cow::Owned(s.to_owned()),
    }
}

/// The header fields of one message, in order, duplicates included: names as sent, values
/// decoded lossily as UTF-8. Never printed raw.
///
/// Stored as one string holding every name and value back to back plus the end offsets of
/// each, so a message costs two allocations however many fields it has (a `String` per name
/// and value made malloc the largest cost of the HTTP layer).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Fields {
    text: Box<str>,
    /// Per field: (end of the name, end of the value) in `text`; a name starts where the
    /// previous value ended.
    ends: Box<[(u32, u32)]>,
}

impl Fields {
    /// Fields from `(name, value)` byte pairs; invalid UTF-8 becomes U+FFFD. Fields past
    /// 4 GiB of text are dropped (a head is capped far below that).
    pub fn from_bytes<'b, I>(fields: I) -> Fields
    where
        I: IntoIterator<Item = (&'b [u8], &'b [u8])>,
        I::IntoIter: Clone + ExactSizeIterator,
    {
        let fields = fields.into_iter();
        // Nearly every head is valid UTF-8: copy the bytes and validate them once (one call
        // over the whole text instead of one per name and value); only an invalid head pays
        // for the piece-by-piece lossy copy.
        let (bytes, ends) = concat(fields.clone(), Vec::extend_from_slice);
        match String::from_utf8(bytes) {
            Ok(text) => Fields::new(text, ends),
            Err(_) => {
                let (text, ends) = concat(fields, push_lossy);
                Fields::new(text, ends)
            }
        }
    }

    fn new<T: Into<Box<str>>>(text: T, ends: Vec<(u32, u32)>) -> Fields {
        Fields {
            text: text.into(),
            ends: ends.into_boxed_slice(),
        }
    }

    /// `(name, value)` pairs in order.
    pub fn iter(&self) -> impl ExactSizeIterator<Item = (&str, &str)> + Clone + '_ {
        let mut start = 0;
        self.ends.iter().map(move |&(n, v)| {
            let (from, n, v) = (start, n as usize, v as usize);
            start = v;
            (
                self.text.get(from..n).unwrap_or(""),
                self.text.get(n..v).unwrap_or(""),
            )
        })
    }

    /// First value with this name (ASCII case-insensitive).
    pub fn get(&self, name: &str) -> Option<&str> {
        self.iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v)
    }

    pub fn len(&self) -> usize {
        self.ends.len()
    }

    pub fn is_empty(&self) -> bool {
        self.ends.is_empty()
    }
}

/// Text that can be extended with raw bytes: `Vec<u8>` copies them, `String` decodes lossily.
trait Text {
    fn with_capacity(n: usize) -> Self;
    fn len(&self) -> usize;
}

impl Text for Vec<u8> {
    fn with_capacity(n: usize) -> Self {
        Vec::with_capacity(n)
    }
    fn len(&self) -> usize {
        self.len()
    }
}

impl Text for String {
    fn with_capacity(n: usize) -> Self {
        String::with_capacity(n)
    }
    fn len(&self) -> usize {
        self.len()
    }
}

/// Every name and value back to back, sized exactly for the bytes (no regrowth on the valid
/// path), with the end offsets of each.
fn concat<'b, T: Text>(
    fields: impl ExactSizeIterator<Item = (&'b [u8], &'b [u8])> + Clone,
    push: impl Fn(&mut T, &[u8]),
) -> (T, Vec<(u32, u32)>) {
    let size: usize = fields.clone().map(|(n, v)| n.len() + v.len()).sum();
    let mut text = T::with_capacity(size);
    let mut ends = Vec::with_capacity(fields.len());
    for (name, value) in fields {
        push(&mut text, name);
        let name_end = text.len();
        push(&mut text, value);
        match (u32::try_from(name_end), u32::try_from(text.len())) {
            (Ok(n), Ok(v)) => ends.push((n, v)),
            _ => break,
        }
    }
    (text, ends)
}

/// Appends `b` as UTF-8, lossily.
fn push_lossy(text: &mut String, b: &[u8]) {
    text.push_str(&String::from_utf8_lossy(b));
}

/// The protocol version a message was sent with (RFC 9112 section 2.3; RFC 1945 for 0.9).
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq, Hash)]
pub enum HttpVersion {
    /// A simple request (`GET target CRLF`) and its head-less response: the body runs to the
    /// close of the connection.
    Http09,
    Http10,
    /// Also the version assumed for a head whose version could not be read.
    #[default]
    Http11,
}

impl HttpVersion {
    /// The spelling on the wire: `"HTTP/1.1"`.
    pub fn as_str(self) -> &'static str {
        match self {
            HttpVersion::Http09 => "HTTP/0.9",
            HttpVersion::Http10 => "HTTP/1.0",
            HttpVersion::Http11 => "HTTP/1.1",
        }
    }
}

/// Fields both messages share.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Message {
    pub version: HttpVersion,
    pub headers: Fields,
    /// Time of the first byte of the head.
    pub first_byte: Timestamp,
    /// Time of the last byte, when the message completed.
    pub complete: Option<Timestamp>,
    pub head_len: u32,
    /// Body bytes on the wire (after chunk framing is removed), including bytes lost in gaps.
    pub body_len: u64,
    /// The first bytes of the body, de-chunked and decoded (gzip/deflate), capped.
    pub body_preview: Vec<u8>,
    /// Bytes of this message the capture missed.
    pub gap_bytes: u64,
    /// Body was not fully decodable (bad gzip, cut preview, gap in the compressed stream).
    pub preview_note: Option<String>,
}

impl Message {
    /// First header value with this name (ASCII case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name)
    }

    /// `(name, value)` of every header field, in order.
    pub fn headers(&self) -> impl ExactSizeIterator<Item = (&str, &str)> + Clone + '_ {
        self.headers.iter()
    }
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Request {
    /// Borrowed for the standard methods (see [`known_or_owned`]).
    pub method: Cow<'static, str>,
    pub target: String,
    pub msg: Message,
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Response {
    pub status: u16,
    /// Borrowed for the common reason phrases (see [`known_or_owned`]).
    pub reason: Cow<'static, str>,
    pub msg: Message,
    /// 1xx responses (100 Continue, 103) that came before this final one.
    pub informational: Vec<u16>,
}

/// A request paired FIFO with its response on one connection. Either side may be missing: a
/// request with no response yet at capture end, or a response whose request the capture missed.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Exchange {
    pub conn: ConnId,
    /// 0-based position on the connection.
    pub index: u32,
    pub request: Option<Request>,
    pub response: Option<Response>,
    /// Short machine-readable notes: `gap`, `upgrade`, `connect`, `head-too-large`,
    /// `bad-head`, `no-request`, `capture-end`, ... (listed in docs/json.md).
    pub notes: Vec<&'static str>,
}

impl Exchange {
    /// Request first byte to response complete (or to response first byte if it never
    /// completed), in nanoseconds.
    pub fn latency(&self) -> Option<i64> {
        let req = self.request.as_ref()?;
        let resp = self.response.as_ref()?;
        let end = resp.msg.complete.unwrap_or(resp.msg.first_byte);
        Some(end.since(req.msg.first_byte))
    }

    /// Incomplete: a side is missing or did not complete.
    pub fn incomplete(&self) -> bool {
        match (&self.request, &self.response) {
            (Some(q), Some(r)) => q.msg.complete.is_none() || r.msg.complete.is_none(),
            _ => true,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_keep_order_case_and_duplicates() {
        let f = Fields::from_bytes([
            (&b"Host"[..], &b"a"[..]),
            (b"X-Empty", b""),
            (b"set-Cookie", b"1"),
            (b"Set-Cookie", b"2"),
            (b"X-Bin", b"\xffok"),
            (b"\xc3\xa9", b"\xe2\x82"),
        ]);
        assert_eq!(f.len(), 6);
        let all: Vec<_> = f.iter().collect();
        assert_eq!(
            all,
            [
                ("Host", "a"),
                ("X-Empty", ""),
                ("set-Cookie", "1"),
                ("Set-Cookie", "2"),
                ("X-Bin", "\u{fffd}ok"),
                ("é", "\u{fffd}"),
            ]
        );
        assert_eq!(f.get("SET-COOKIE"), Some("1"));
        assert_eq!(f.get("x-empty"), Some(""));
        assert_eq!(f.get("absent"), None);
        let m = Message {
            headers: f,
            ..Message::default()
        };
        assert_eq!(m.header("host"), Some("a"));
        assert_eq!(m.headers().len(), 6);
        let none = Fields::from_bytes(std::iter::empty::<(&[u8], &[u8])>());
        assert!(none.is_empty() && none.iter().next().is_none());
        assert_eq!(none, Fields::default());
    }

    #[test]
    fn known_strings_are_borrowed() {
        let get = known_or_owned("GET", KNOWN_METHODS);
        assert!(matches!(get, Cow::Borrowed("GET")));
        let lower = known_or_owned("get", KNOWN_METHODS);
        assert!(matches!(lower, Cow::Owned(ref s) if s == "get"));
        assert!(matches!(
            known_or_owned("", KNOWN_REASONS),
            Cow::Borrowed("")
        ));
    }
}
