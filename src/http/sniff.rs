//! Does a direction's byte stream start an HTTP/1.x message here?
//!
//! Used twice: by the pipeline to decide a connection's protocol from its first bytes, and by
//! [`super::HttpConn`] to find the next message start after a gap (resynchronisation). Only a
//! few bytes are compared: a known method token then SP (RFC 9112 section 3: `request-line =
//! method SP request-target SP HTTP-version`), or `HTTP/1.` (section 4: `status-line`).
//! It does not validate the rest of the line; httparse does that when the head is parsed.

use crate::model::Dir;

/// What the first bytes of a direction look like.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum Sniff {
    /// A request line starts here (client side), or a TLS ClientHello (see `tls::sniff`).
    Request,
    /// A status line starts here (server side).
    Response,
    /// Too short to tell, but could still become one.
    Maybe,
    /// Not an HTTP/1.x message start.
    No,
}

/// Method tokens recognised at a request start: RFC 9110 section 9, PATCH (RFC 5789), WebDAV
/// (RFC 4918, 3253, 3744, 4791, 5323, 5842), and the common cache extension PURGE.
/// `PRI` (the HTTP/2 preface, RFC 9113 section 3.4) is deliberately absent.
pub const METHODS: &[&[u8]] = &[
    b"GET",
    b"HEAD",
    b"POST",
    b"PUT",
    b"DELETE",
    b"CONNECT",
    b"OPTIONS",
    b"TRACE",
    b"PATCH",
    b"PURGE",
    b"PROPFIND",
    b"PROPPATCH",
    b"MKCOL",
    b"COPY",
    b"MOVE",
    b"LOCK",
    b"UNLOCK",
    b"SEARCH",
    b"REPORT",
    b"MKACTIVITY",
    b"CHECKOUT",
    b"MERGE",
    b"MKCALENDAR",
    b"ACL",
    b"BIND",
    b"UNBIND",
    b"REBIND",
    b"VERSION-CONTROL",
    b"MKWORKSPACE",
    b"UNCHECKOUT",
    b"LABEL",
    b"UPDATE",
    b"BASELINE-CONTROL",
    b"LINK",
    b"UNLINK",
    b"QUERY",
];

/// The status-line prefix of every HTTP/1.x response (RFC 9112 section 2.3).
const STATUS_PREFIX: &[u8] = b"HTTP/1.";

/// Does `prefix` start an HTTP/1.x message in direction `dir`?
pub fn sniff(prefix: &[u8], dir: Dir) -> Sniff {
    match dir {
        Dir::ToServer => sniff_request(prefix),
        Dir::ToClient => sniff_response(prefix),
    }
}

fn sniff_request(prefix: &[u8]) -> Sniff {
    let mut maybe = false;
    for method in METHODS {
        match compare(prefix, method) {
            Some(true) => match prefix.get(method.len()) {
                Some(b' ') => return Sniff::Request,
                Some(_) => {}
                None => maybe = true,
            },
            Some(false) => {}
            None => maybe = true,
        }
    }
    if maybe {
        Sniff::Maybe
    } else {
        Sniff::No
    }
}

fn sniff_response(prefix: &[u8]) -> Sniff {
    match compare(prefix, STATUS_PREFIX) {
        Some(true) => Sniff::Response,
        Some(false) => Sniff::No,
        None => Sniff::Maybe,
    }
}

/// `Some(true)` when `data` starts with `token`, `Some(false)` when it cannot, `None` when
/// `data` is a proper prefix of `token` (too short to tell).
fn compare(data: &[u8], token: &[u8]) -> Option<bool> {
    if data.len() >= token.len() {
        Some(data.get(..token.len()) == Some(token))
    } else {
        if token.get(..data.len()) == Some(data) {
            None
        } else {
            Some(false)
        }
    }
}

/// Position of the first plausible message start in `data` for direction `dir`: at offset 0
/// or just after a LF, looking at most `limit` bytes into `data`. Used to resynchronise after a
/// gap; a body that happens to contain "\nGET " fools it, which is why it is only a fallback.
pub(super) fn find_start(data: &[u8], dir: Dir, limit: usize) -> Option<usize> {
    let wanted = match dir {
        Dir::ToServer => Sniff::Request,
        Dir::ToClient => Sniff::Response,
    };
    if sniff(data, dir) == wanted {
        return Some(0);
    }
    let window = data.get(..limit.min(data.len()))?;
    let mut from = 0;
    while let Some(lf) = window.get(from..)?.iter().position(|&b| b == b'\n') {
        let start = from + lf + 1;
        if sniff(data.get(start..)?, dir) == wanted {
            return Some(start);
        }
        from = start;
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests() {
        assert_eq!(sniff(b"GET / HTTP/1.1\r\n", Dir::ToServer), Sniff::Request);
        assert_eq!(sniff(b"PROPFIND /x", Dir::ToServer), Sniff::Request);
        assert_eq!(sniff(b"GE", Dir::ToServer), Sniff::Maybe);
        assert_eq!(sniff(b"", Dir::ToServer), Sniff::Maybe);
        assert_eq!(sniff(b"GET", Dir::ToServer), Sniff::Maybe);
        assert_eq!(sniff(b"GETX /", Dir::ToServer), Sniff::No);
        assert_eq!(sniff(b"PRI * HTTP/2.0\r\n", Dir::ToServer), Sniff::No);
        assert_eq!(sniff(b"PR", Dir::ToServer), Sniff::Maybe); // PROPFIND, PROPPATCH
        assert_eq!(sniff(b"PRI", Dir::ToServer), Sniff::No);
        assert_eq!(sniff(b"\x16\x03\x01", Dir::ToServer), Sniff::No);
        assert_eq!(sniff(b"HTTP/1.1 200", Dir::ToServer), Sniff::No);
    }

    #[test]
    fn responses() {
        assert_eq!(
            sniff(b"HTTP/1.1 200 OK\r\n", Dir::ToClient),
            Sniff::Response
        );
        assert_eq!(sniff(b"HTTP/1.0 404", Dir::ToClient), Sniff::Response);
        assert_eq!(sniff(b"HTTP/", Dir::ToClient), Sniff::Maybe);
        assert_eq!(sniff(b"HTTP/2 200", Dir::ToClient), Sniff::No);
        assert_eq!(sniff(b"GET / HTTP/1.1", Dir::ToClient), Sniff::No);
    }

    #[test]
    fn finds_start_after_line() {
        let data = b"garbage\r\nmore\nGET / HTTP/1.1\r\n";
        assert_eq!(find_start(data, Dir::ToServer, 1024), Some(14));
        assert_eq!(find_start(data, Dir::ToServer, 10), None);
        assert_eq!(find_start(b"HTTP/1.1 200", Dir::ToClient, 0), Some(0));
        assert_eq!(find_start(b"x\nHTTP/1.1 200", Dir::ToClient, 64), Some(2));
        assert_eq!(find_start(b"x\n", Dir::ToClient, 64), None);
    }
}
