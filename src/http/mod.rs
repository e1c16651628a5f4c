//! HTTP/1.x exchanges over the reassembled byte streams of one TCP connection (RFC 9112).
//!
//! [`HttpConn`] takes each direction's in-order bytes as they come, plus gaps and ends, and
//! yields [`Exchange`]s: request and response heads (httparse), body sizes and a short decoded
//! preview, timing, and notes. HTTP/0.9 is recognised only from an unmistakable simple
//! request (RFC 1945 section 4.1) opening a connection. Requests queue FIFO and pair with
//! responses in order, so pipelining and keep-alive work; 1xx responses are recorded on the
//! final one; 101 and a 2xx to CONNECT end parsing (the bytes after are another protocol).
//! Client bytes sent after a CONNECT or Upgrade request before its response are held (up to
//! `HttpLimits::max_head`; more counts as a gap) until the response decides: dropped for a
//! tunnel, parsed as the next request otherwise, and dropped unparsed if no response comes.
//! Bodies are never kept: bodies of known length are skipped without scanning, which keeps the
//! layer at memory speed.
//!
//! It does not decrypt, parse HTTP/2, or interpret semantics beyond framing (no caching,
//! cookies, auth). After a gap it resynchronises at the next plausible message start; a
//! message cut by a gap or by the end is reported incomplete, never dropped.
//!
//! Modules: [`sniff`] (is this HTTP?), `head` (start line and fields), `body` (framing),
//! `preview` (gzip/deflate), `queue` (pairing), `conn` (the per-direction state machine) and
//! `conn::message` (heads into messages, framing per RFC 9112 section 6.3).
//!
//! # Exchange notes
//!
//! `Exchange.notes` holds only these strings (docs/json.md copies this list):
//!
//! | note | meaning |
//! |---|---|
//! | `gap` | the capture missed bytes of this exchange (see `Message.gap_bytes`) |
//! | `resync` | this message was found by searching after sync was lost: earlier messages may be missing, so pairing may be off |
//! | `upgrade` | 101 Switching Protocols: later bytes are another protocol, not parsed |
//! | `connect` | a 2xx to CONNECT: later bytes are a tunnel, not parsed |
//! | `http/0.9` | an HTTP/0.9 simple request (`GET target CRLF`, the first and only one on its connection); its response, unless the server sent a status line, has no head: status 0, reason "", version 0.9, the body runs until the server closes |
//! | `head-too-large` | a head exceeded `HttpLimits::max_head` (or had more than 1024 fields) |
//! | `bad-head` | a head httparse rejects, or an invalid Content-Length |
//! | `bad-framing` | a request with a Transfer-Encoding that does not end in chunked |
//! | `bad-chunk` | malformed chunked framing (size line, CRLF after data) |
//! | `chunk-line-too-long` | a chunk-size line over 4096 bytes |
//! | `trailer-too-large` | trailer section over 64 KiB |
//! | `no-request` | a response with no request left to pair with |
//! | `no-response` | a request that got no response (server side ended, or capture end) |
//! | `closed-mid-message` | a direction ended (FIN/RST) inside a message |
//! | `capture-end` | the capture ended inside a message |
//! | `queue-full` | more than `HttpLimits::max_pending` requests waited: the oldest was flushed (its late response is reported alone with this note) |

mod body;
mod conn;
mod head;
mod preview;
mod queue;
mod skim;
mod sniff;

#[cfg(test)]
mod tests;

pub use conn::HttpConn;
pub use sniff::{sniff, Sniff, METHODS};

/// Limits that bound the memory one connection can use.
#[derive(Clone, Debug)]
pub struct HttpLimits {
    /// Bytes of one message head (start line and fields) buffered at most.
    pub max_head: usize,
    /// Bytes of the decoded body kept in `Message.body_preview`.
    pub preview: usize,
    /// Requests waiting for their responses, per connection.
    pub max_pending: usize,
    /// Bytes of each data call searched for a message start after sync is lost.
    pub resync_scan: usize,
    /// Leave plain heads' fields unsplit until they are read ([`crate::model::Fields::deferred`]):
    /// for a report that reads few of them on another thread.
    pub defer_fields: bool,
}

impl Default for HttpLimits {
    fn default() -> Self {
        HttpLimits {
            max_head: 64 * 1024,
            preview: 1024,
            max_pending: 64,
            resync_scan: 64 * 1024,
            defer_fields: false,
        }
    }
}

/// What a connection carried, returned by [`HttpConn::finish`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HttpSummary {
    /// Exchanges pushed out over the connection's life.
    pub exchanges: u32,
    /// `Some("upgrade")` after a 101, `Some("connect")` after a 2xx to CONNECT.
    pub upgraded: Option<&'static str>,
}
