//! One HTTP/1.x request/response pair.

use super::{ConnId, Timestamp};
use std::borrow::Cow;
use std::cell::OnceCell;

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
/// Stored as one string plus the byte spans of each name and value in it, so a message costs
/// two allocations however many fields it has (a `String` per name and value made malloc the
/// largest cost of the HTTP layer). The string is normally the head itself as received
/// ([`Fields::from_head`]: one copy and one UTF-8 check, the spans point into it); a head that
/// is not valid UTF-8 keeps its names and values decoded lossily, back to back.
///
/// A head can also be kept unsplit ([`Fields::deferred`]): its bytes are kept, and the fields
/// are found the first time they are read, on whichever thread reads them.
#[derive(Clone, Debug, Default)]
pub struct Fields {
    text: Box<str>,
    spans: Box<[Span]>,
    /// Set by [`Fields::deferred`]: the head, how to split it, and the result once it was
    /// (`text` and `spans` stay empty).
    split: Option<Split>,
}

/// The splitting of a deferred head.
#[derive(Clone, Debug)]
struct Split {
    /// The head as received (checked as UTF-8 when split, on the reading thread).
    head: Box<[u8]>,
    how: fn(&[u8]) -> Fields,
    /// Where the first value of a field lies in `head`, as `how` would split it, without
    /// splitting (for heads whose shape makes that a scan of their lines).
    find: Option<FindField>,
    done: OnceCell<Box<Fields>>,
}

/// Finds the first value of the field named (ASCII case-insensitively) in a head: its byte
/// range in the head, or `None` when there is no such field.
pub type FindField = fn(&[u8], &str) -> Option<(usize, usize)>;

/// Where one field's name and value sit in [`Fields::text`], as byte offsets.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
struct Span {
    name: (u32, u32),
    value: (u32, u32),
}

impl Fields {
    /// Fields whose names and values are slices of `head` (what httparse returns): `head` is
    /// copied once and validated once; names and values become spans into the copy. Falls
    /// back to [`Fields::from_bytes`] when `head` is not valid UTF-8 (or a slice is not
    /// inside it, or it is past 4 GiB).
    pub fn from_head<'b, I>(head: &'b [u8], fields: I) -> Fields
    where
        I: IntoIterator<Item = (&'b [u8], &'b [u8])>,
        I::IntoIter: Clone + ExactSizeIterator,
    {
        let fields = fields.into_iter();
        let mut spans = Vec::with_capacity(fields.len());
        for (name, value) in fields.clone() {
            match (span_in(head, name), span_in(head, value)) {
                (Some(name), Some(value)) => spans.push(Span { name, value }),
                _ => return Fields::from_bytes(fields),
            }
        }
        // Spans end next to ASCII delimiters (`:`, spaces, CR LF), so in a valid UTF-8 head
        // they are on character boundaries.
        match std::str::from_utf8(head) {
            Ok(text) => Fields {
                text: text.into(),
                spans: spans.into_boxed_slice(),
                split: None,
            },
            Err(_) => Fields::from_bytes(fields),
        }
    }

    /// The fields of `head`, split by `how` the first time they are read (`how` gets the
    /// head's bytes). For a parser whose caller needs none of them at once: the analysis
    /// copies the head and moves on, and the report's thread splits it. `find`, if given,
    /// answers [`Fields::get`] before the head is split, without splitting it (the text
    /// report reads one field of each request: a scan of its lines is ~5× cheaper than the
    /// split).
    pub fn deferred(head: &[u8], how: fn(&[u8]) -> Fields, find: Option<FindField>) -> Fields {
        Fields {
            split: Some(Split {
                head: head.into(),
                how,
                find,
                done: OnceCell::new(),
            }),
            ..Fields::default()
        }
    }

    /// Forgets what splitting a deferred head made (it is split again if read again): lets
    /// the thread that split it free it.
    pub fn drop_split(&mut self) {
        if let Some(s) = &mut self.split {
            s.done.take();
        }
    }

    /// Whether these are a deferred head's (split or not yet).
    pub fn is_deferred(&self) -> bool {
        self.split.is_some()
    }

    /// The split fields: these, or a deferred head's once split.
    fn table(&self) -> &Fields {
        match &self.split {
            None => self,
            Some(s) => s.done.get_or_init(|| {
                let mut f = (s.how)(&s.head);
                // A splitter that defers again would recurse forever; it gets no second go.
                f.split = None;
                Box::new(f)
            }),
        }
    }

    /// Fields from `(name, value)` byte pairs; invalid UTF-8 becomes U+FFFD. Fields past
    /// 4 GiB of text are dropped (a head is capped far below that).
    pub fn from_bytes<'b, I>(fields: I) -> Fields
    where
        I: IntoIterator<Item = (&'b [u8], &'b [u8])>,
        I::IntoIter: ExactSizeIterator,
    {
        let fields = fields.into_iter();
        let mut text = String::new();
        let mut spans = Vec::with_capacity(fields.len());
        for (name, value) in fields {
            let name = push_lossy(&mut text, name);
            let value = push_lossy(&mut text, value);
            match (name, value) {
                (Some(name), Some(value)) => spans.push(Span { name, value }),
                _ => break,
            }
        }
        Fields {
            text: text.into(),
            spans: spans.into_boxed_slice(),
            split: None,
        }
    }

    /// `(name, value)` pairs in order.
    pub fn iter(&self) -> impl ExactSizeIterator<Item = (&str, &str)> + Clone + '_ {
        let t = self.table();
        let at = |(from, to): (u32, u32)| t.text.get(from as usize..to as usize).unwrap_or("");
        t.spans.iter().map(move |s| (at(s.name), at(s.value)))
    }

    /// First value with this name (ASCII case-insensitive).
    pub fn get(&self, name: &str) -> Option<&str> {
        if let Some(found) = self.find_unsplit(name) {
            return found;
        }
        self.iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v)
    }

    /// [`Fields::get`] answered by a deferred head's finder, before the head is split; `None`
    /// (the split decides) without a finder, once split, or for a value that is not text.
    fn find_unsplit(&self, name: &str) -> Option<Option<&str>> {
        let s = self.split.as_ref()?;
        let find = s.find.filter(|_| s.done.get().is_none())?;
        match find(&s.head, name) {
            None => Some(None),
            Some((from, to)) => std::str::from_utf8(s.head.get(from..to)?).ok().map(Some),
        }
    }

    pub fn len(&self) -> usize {
        self.table().spans.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// Equal when the `(name, value)` pairs are: how they are stored (the whole head, or names and
/// values alone) does not matter.
impl PartialEq for Fields {
    fn eq(&self, other: &Fields) -> bool {
        self.len() == other.len() && self.iter().eq(other.iter())
    }
}

impl Eq for Fields {}

/// Offsets of `part` inside `whole` (`part` must be a subslice of it), if they fit in u32.
fn span_in(whole: &[u8], part: &[u8]) -> Option<(u32, u32)> {
    // Address arithmetic only, no dereference: a `part` from elsewhere fails the bound check.
    let from = (part.as_ptr() as usize).checked_sub(whole.as_ptr() as usize)?;
    let to = from.checked_add(part.len())?;
    if to > whole.len() {
        return None;
    }
    Some((u32::try_from(from).ok()?, u32::try_from(to).ok()?))
}

/// Appends `b` as UTF-8, lossily; returns where it landed (`None` past 4 GiB).
fn push_lossy(text: &mut String, b: &[u8]) -> Option<(u32, u32)> {
    let from = u32::try_from(text.len()).ok()?;
    text.push_str(&String::from_utf8_lossy(b));
    Some((from, u32::try_from(text.len()).ok()?))
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
    /// One of a few fixed notes (`truncated`, `gap`, `gzip error`, ...), so no allocation.
    pub preview_note: Option<&'static str>,
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
    fn fields_from_head_are_spans_or_lossy_copies() {
        let head = b"GET / HTTP/1.1\r\nHost: a\r\nX-Empty:\r\n\r\n";
        let pairs = [
            (&head[16..20], &head[22..23]),
            (&head[25..32], &head[33..33]),
        ];
        let f = Fields::from_head(head, pairs);
        assert_eq!(
            f.iter().collect::<Vec<_>>(),
            [("Host", "a"), ("X-Empty", "")]
        );
        assert_eq!(f, Fields::from_bytes(pairs));
        let bad = b"GET / HTTP/1.1\r\nX: \xff\r\n\r\n";
        let f = Fields::from_head(bad, [(&bad[16..17], &bad[19..20])]);
        assert_eq!(f.iter().collect::<Vec<_>>(), [("X", "\u{fffd}")]);
        // Slices from outside the head are copied, not trusted.
        let f = Fields::from_head(head, [(&b"Y"[..], &b"z"[..])]);
        assert_eq!(f.iter().collect::<Vec<_>>(), [("Y", "z")]);
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
