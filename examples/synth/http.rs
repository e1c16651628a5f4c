//! HTTP/1.1 message text: request and response heads, Content-Length or chunked bodies.
//!
//! Framing per RFC 9112 (section 6 message body length, 7.1 chunked coding with a
//! trailer section) and dates per RFC 9110 5.6.7 (IMF-fixdate). It only formats bytes
//! into a reused buffer; which headers go on which leg is `bookinfo`'s business.

use std::fmt::Write as _;

/// How a response body is framed on the wire.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Framing {
    Length,
    /// Chunks of at most this many bytes, then `0\r\n\r\n` (or a trailer).
    Chunked(usize),
}

/// Appends a request head ending in the empty line.
pub fn request_head(out: &mut Vec<u8>, method: &str, target: &str, headers: &[(&str, &str)]) {
    let mut s = String::with_capacity(768);
    let _ = write!(s, "{method} {target} HTTP/1.1\r\n");
    for (k, v) in headers {
        let _ = write!(s, "{k}: {v}\r\n");
    }
    s.push_str("\r\n");
    out.extend_from_slice(s.as_bytes());
}

/// Appends a full response: status line, headers, framing header, body.
pub fn response(
    out: &mut Vec<u8>,
    status: u16,
    headers: &[(&str, &str)],
    body: &[u8],
    framing: Framing,
) {
    let mut s = String::with_capacity(512);
    let _ = write!(s, "HTTP/1.1 {status} {}\r\n", reason(status));
    for (k, v) in headers {
        let _ = write!(s, "{k}: {v}\r\n");
    }
    match framing {
        Framing::Length => {
            let _ = write!(s, "content-length: {}\r\n\r\n", body.len());
            out.extend_from_slice(s.as_bytes());
            out.extend_from_slice(body);
        }
        Framing::Chunked(size) => {
            s.push_str("transfer-encoding: chunked\r\n\r\n");
            out.extend_from_slice(s.as_bytes());
            for chunk in body.chunks(size.max(1)) {
                out.extend_from_slice(format!("{:x}\r\n", chunk.len()).as_bytes());
                out.extend_from_slice(chunk);
                out.extend_from_slice(b"\r\n");
            }
            out.extend_from_slice(b"0\r\n\r\n");
        }
    }
}

pub fn reason(status: u16) -> &'static str {
    match status {
        200 => "OK",
        302 => "FOUND",
        304 => "Not Modified",
        404 => "NOT FOUND",
        503 => "Service Unavailable",
        _ => "Unknown",
    }
}

/// IMF-fixdate for `secs` since the epoch, e.g. `Tue, 14 May 2024 09:00:00 GMT`.
pub fn imf_date(secs: u64) -> String {
    const DAYS: [&str; 7] = ["Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed"];
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    let days = secs / 86_400;
    let rem = secs % 86_400;
    // Civil-from-days (Howard Hinnant, "chrono-compatible low-level date algorithms").
    let z = days as i64 + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!(
        "{}, {:02} {} {} {:02}:{:02}:{:02} GMT",
        DAYS[(days % 7) as usize],
        d,
        MONTHS[(m - 1) as usize],
        y,
        rem / 3600,
        rem / 60 % 60,
        rem % 60
    )
}
