//! TLS without decryption: recognises a ClientHello at the start of a connection and reads the
//! names in it — SNI (RFC 6066 section 3) and ALPN (RFC 7301) — plus the offered versions.
//!
//! On Istio mTLS legs the SNI names the destination cluster
//! (`outbound_.9080_.v1_.reviews.default.svc.cluster.local`) and ALPN says what the sidecar
//! speaks inside (`istio-peer-exchange`, `istio`, `h2`, `http/1.1`), which is enough to tell
//! which service a leg goes to without keys.
//!
//! Past the hello, records are framed but not read (`records`): the times at which each side
//! sent application data (`flow`, [`crate::model::Bursts`]) are what ties an encrypted leg to
//! the plaintext request that rode it.
//!
//! It does not parse the ServerHello, certificates, or anything encrypted, and it does not
//! validate the hello beyond the lengths it needs: every length is checked against the bytes
//! present, so hostile input gives `NotHello`, never a panic. SSLv2-compatible hellos are not
//! recognised.

mod flow;
mod hello;
pub mod records;

pub use flow::{TlsFlow, HELLO_MAX};
pub use hello::{parse_client_hello, Hello};

use crate::http::Sniff;

/// TLS record header (RFC 8446 section 5.1): ContentType(1) ProtocolVersion(2) length(2).
pub(crate) const RECORD_HEADER: usize = 5;
/// ContentType handshake(22).
pub(crate) const CONTENT_HANDSHAKE: u8 = 0x16;
/// HandshakeType client_hello(1) (RFC 8446 section 4).
pub(crate) const HANDSHAKE_CLIENT_HELLO: u8 = 0x01;
/// Largest record fragment accepted: 2^14 plus the 2048 bytes TLSCiphertext may add; a
/// plaintext handshake record should stay under 2^14, we are lenient.
pub(crate) const MAX_RECORD: usize = (1 << 14) + 2048;

/// Does `prefix` (the client's first bytes) start a TLS handshake record carrying a
/// ClientHello? `Request` when it does, `Maybe` while too short to tell, `No` otherwise.
pub fn sniff(prefix: &[u8]) -> Sniff {
    // Byte checks in order: type, version major, version minor (SSL 3.0 to TLS 1.3's legacy
    // 0x0303; 0x0304 tolerated), length (nonzero, bounded), handshake type.
    for (i, &b) in prefix.iter().take(RECORD_HEADER + 1).enumerate() {
        let ok = match i {
            0 => b == CONTENT_HANDSHAKE,
            1 => b == 0x03,
            2 => b <= 0x04,
            4 => {
                let hi = prefix.get(3).copied().unwrap_or(0);
                let len = usize::from(u16::from_be_bytes([hi, b]));
                len > 0 && len <= MAX_RECORD
            }
            5 => b == HANDSHAKE_CLIENT_HELLO,
            _ => true,
        };
        if !ok {
            return Sniff::No;
        }
    }
    if prefix.len() > RECORD_HEADER {
        Sniff::Request
    } else {
        Sniff::Maybe
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sniffs_client_hello() {
        assert_eq!(sniff(b"\x16\x03\x01\x02\x00\x01\x00"), Sniff::Request);
        assert_eq!(sniff(b"\x16\x03\x03\x00\x10\x01"), Sniff::Request);
        assert_eq!(sniff(b""), Sniff::Maybe);
        assert_eq!(sniff(b"\x16\x03\x01\x02\x00"), Sniff::Maybe);
        assert_eq!(sniff(b"\x16\x03\x01\x02\x00\x02"), Sniff::No); // ServerHello
        assert_eq!(sniff(b"\x17\x03\x03"), Sniff::No);
        assert_eq!(sniff(b"\x16\x03\x05"), Sniff::No);
        assert_eq!(sniff(b"\x16\x03\x01\x00\x00\x01"), Sniff::No);
        assert_eq!(sniff(b"\x16\x03\x01\xff\xff\x01"), Sniff::No);
        assert_eq!(sniff(b"GET / HTTP/1.1"), Sniff::No);
    }
}
