//! One HTTP/1.x request/response pair.

use super::{ConnId, Timestamp};

/// A header as received: name as sent, value decoded lossily as UTF-8. Never printed raw.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Header {
    pub name: String,
    pub value: String,
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
    pub headers: Vec<Header>,
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
        self.headers
            .iter()
            .find(|h| h.name.eq_ignore_ascii_case(name))
            .map(|h| h.value.as_str())
    }
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Request {
    pub method: String,
    pub target: String,
    pub msg: Message,
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Response {
    pub status: u16,
    pub reason: String,
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
