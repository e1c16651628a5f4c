//! kube-proxy's chain-name digest, shared by its iptables (`KUBE-SVC-<16>`, domain.md 1.3) and
//! nftables (`service-<8>-…`, domain.md 2.2) modes: RFC 4648 base32 (upper case, Go's
//! `base32.StdEncoding`) of sha256 of the name, cut to a prefix.

use sha2::{Digest, Sha256};

/// The first `len` base32 characters of sha256(`input`) (at most 52, the whole digest).
pub fn sha256_base32(input: &str, len: usize) -> String {
    base32(&Sha256::digest(input.as_bytes()), len)
}

/// RFC 4648 base32 of `data` without padding, at most `len` characters.
pub fn base32(data: &[u8], len: usize) -> String {
    const ALPHABET: &[u8; 32] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
    let mut out = String::with_capacity(len.min(data.len() * 8 / 5 + 1));
    let (mut acc, mut bits) = (0u32, 0u32);
    for &b in data {
        acc = (acc << 8) | u32::from(b);
        bits += 8;
        while bits >= 5 && out.len() < len {
            bits -= 5;
            out.push(char::from(ALPHABET[((acc >> bits) & 31) as usize]));
        }
        acc &= (1 << bits) - 1;
        if out.len() == len {
            return out;
        }
    }
    if bits > 0 && out.len() < len {
        out.push(char::from(ALPHABET[((acc << (5 - bits)) & 31) as usize]));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base32_rfc4648_vectors() {
        // RFC 4648 section 10 (padding dropped).
        assert_eq!(base32(b"", 52), "");
        assert_eq!(base32(b"f", 52), "MY");
        assert_eq!(base32(b"fo", 52), "MZXQ");
        assert_eq!(base32(b"foobar", 52), "MZXW6YTBOI");
        assert_eq!(base32(&[0xff; 10], 16), "7777777777777777");
        assert_eq!(base32(b"foobar", 4), "MZXW");
    }
}
