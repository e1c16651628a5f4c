//! Socket addresses as `Display` prints them (`10.0.0.1:80`, `[::1]:80`), written straight to
//! the output. IPv4 (nearly every address in a capture) is formatted on the stack without
//! `fmt`, which cost ~1.7 k instructions per address in the JSON writer; IPv6 keeps `fmt`.

use std::io::{self, Write};
use std::net::SocketAddr;

/// Longest IPv4 socket address: `255.255.255.255:65535`.
pub const V4_MAX: usize = 21;

/// Writes what `Display` prints for `addr`.
pub fn write_addr<W: Write + ?Sized>(w: &mut W, addr: SocketAddr) -> io::Result<()> {
    match v4_text(addr) {
        Some((buf, len)) => w.write_all(buf.get(..len).unwrap_or(&[])),
        None => write!(w, "{addr}"),
    }
}

/// What `Display` prints for an IPv4 socket address, at the front of a fixed buffer, and its
/// length (so a caller can copy the whole buffer, a fixed-size copy); `None` for IPv6.
pub fn v4_text(addr: SocketAddr) -> Option<([u8; V4_MAX], usize)> {
    let SocketAddr::V4(a) = addr else {
        return None;
    };
    let mut buf = [0u8; V4_MAX];
    let [o1, o2, o3, o4] = a.ip().octets();
    // Fixed pieces within `V4_MAX`: 4 × 3 digits, 3 dots, a colon, 5 digits.
    let mut at = decimal(&mut buf, 0, u16::from(o1));
    for octet in [o2, o3, o4] {
        buf[at] = b'.';
        at = decimal(&mut buf, at + 1, u16::from(octet));
    }
    buf[at] = b':';
    at = decimal(&mut buf, at + 1, a.port());
    Some((buf, at))
}

/// Writes `n` in decimal into `buf` at `at` (room for 5 digits); returns the new end.
fn decimal(buf: &mut [u8; V4_MAX], at: usize, n: u16) -> usize {
    let len = if n == 0 { 1 } else { n.ilog10() as usize + 1 };
    let mut n = n;
    for d in buf[at..at + len].iter_mut().rev() {
        *d = b'0' + (n % 10) as u8;
        n /= 10;
    }
    at + len
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn like_display() {
        for a in [
            "0.0.0.0:0",
            "10.0.0.1:80",
            "255.255.255.255:65535",
            "192.168.1.20:9080",
            "[::1]:80",
            "[fe80::1%2]:443",
        ] {
            let addr: SocketAddr = a.parse().unwrap();
            let mut out = Vec::new();
            write_addr(&mut out, addr).unwrap();
            assert_eq!(String::from_utf8(out).unwrap(), addr.to_string());
            if let Some((buf, len)) = v4_text(addr) {
                assert_eq!(&buf[..len], addr.to_string().as_bytes());
            }
        }
    }
}
