//! A minimal JSON writer for the hot report line (one per exchange): strings are escaped in one
//! pass straight into the output, numbers are written without `fmt` where it matters.
//!
//! Why not serde here: an exchange line is ~1 KB of header text, and serde_json's escape loop
//! plus the `SafeFormatter` pass cost about 20 k instructions per line, half of a `--json` run.
//! The escaping is exactly serde_json's (`\"`, `\\`, `\b \f \n \r \t`, other C0 as `\u00xx`)
//! plus `SafeFormatter`'s (DEL, C1 and the line/bidi separators of
//! [`is_unsafe`](super::escape::is_unsafe) as `\uxxxx`); a property test holds the two to the
//! same bytes. Connection lines are written by hand too (report/json.rs); the summary keeps
//! serde.

use super::escape::is_unsafe;
use std::io::{self, Write};

/// One high bit per byte of `w` that may need escaping: below 0x20, `"`, `\`, or ≥ 0x7f
/// (word-at-a-time, SWAR). Bytes above a flagged one can be flagged falsely (a borrow or carry
/// runs upward), but the lowest flag is always exact, so it tells where the first escape is
/// without a byte loop.
fn specials(w: u64) -> u64 {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGH: u64 = 0x8080_8080_8080_8080;
    let has_zero = |x: u64| x.wrapping_sub(ONES) & !x & HIGH;
    let below_space = w.wrapping_sub(ONES * 0x20) & !w & HIGH;
    let quote = has_zero(w ^ (ONES * u64::from(b'"')));
    let backslash = has_zero(w ^ (ONES * u64::from(b'\\')));
    // ≥ 0x7f: the high bit is set, or adding 1 to the byte sets it (0x7f).
    let high = (w | w.wrapping_add(ONES)) & HIGH;
    below_space | quote | backslash | high
}

/// The 8 bytes of `b` at `i`, if there are 8.
fn word_at(b: &[u8], i: usize) -> Option<u64> {
    let word: [u8; 8] = b.get(i..i.checked_add(8)?)?.try_into().ok()?;
    Some(u64::from_le_bytes(word))
}

/// Per byte: copied as is (printable ASCII other than `"` and `\`): the test for the last
/// bytes, fewer than a word.
static PLAIN: [bool; 256] = {
    let mut t = [false; 256];
    let mut b = 0x20;
    while b < 0x7f {
        t[b] = b != b'"' as usize && b != b'\\' as usize;
        b += 1;
    }
    t
};

fn byte_is_plain(b: u8) -> bool {
    PLAIN[usize::from(b)]
}

/// Writes `s` as a JSON string, quotes included.
///
/// Runs of plain bytes are skipped two words at a time and written with one `write_all`; at a
/// word holding something to escape, the lowest flag of [`specials`] gives its position.
pub fn string<W: Write + ?Sized>(w: &mut W, s: &str) -> io::Result<()> {
    let bytes = s.as_bytes();
    w.write_all(b"\"")?;
    let mut start = 0;
    let mut i = 0;
    while let Some(lo) = word_at(bytes, i) {
        let mut found = specials(lo);
        if found == 0 {
            match word_at(bytes, i + 8) {
                Some(hi) => match specials(hi) {
                    0 => {
                        i += 16;
                        continue;
                    }
                    m => {
                        i += 8;
                        found = m;
                    }
                },
                None => {
                    i += 8;
                    continue;
                }
            }
        }
        let at = i + (found.trailing_zeros() / 8) as usize;
        w.write_all(bytes.get(start..at).unwrap_or(&[]))?;
        i = at + escape_at(w, s, at)?;
        start = i;
    }
    while let Some(&b) = bytes.get(i) {
        if byte_is_plain(b) {
            i += 1;
            continue;
        }
        w.write_all(bytes.get(start..i).unwrap_or(&[]))?;
        i += escape_at(w, s, i)?;
        start = i;
    }
    w.write_all(bytes.get(start..).unwrap_or(&[]))?;
    w.write_all(b"\"")
}

/// Writes the escape of the character starting at byte `i` of `s` (not a plain byte) and
/// returns its length in bytes.
fn escape_at<W: Write + ?Sized>(w: &mut W, s: &str, i: usize) -> io::Result<usize> {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let bytes = s.as_bytes();
    let b = bytes[i];
    if b < 0x80 {
        match b {
            b'"' => w.write_all(b"\\\"")?,
            b'\\' => w.write_all(b"\\\\")?,
            0x08 => w.write_all(b"\\b")?,
            0x0c => w.write_all(b"\\f")?,
            b'\n' => w.write_all(b"\\n")?,
            b'\r' => w.write_all(b"\\r")?,
            b'\t' => w.write_all(b"\\t")?,
            _ => w.write_all(&[
                b'\\',
                b'u',
                b'0',
                b'0',
                HEX[usize::from(b >> 4)],
                HEX[usize::from(b & 0xf)],
            ])?,
        }
        return Ok(1);
    }
    let c = s[i..].chars().next().unwrap_or_default();
    if is_unsafe(c) {
        write!(w, "\\u{:04x}", c as u32)?;
    } else {
        w.write_all(&bytes[i..i + c.len_utf8()])?;
    }
    Ok(c.len_utf8())
}

/// Writes an unsigned integer in decimal.
pub fn uint<W: Write + ?Sized>(w: &mut W, mut n: u64) -> io::Result<()> {
    let mut buf = [0u8; 20];
    let mut i = buf.len();
    loop {
        i -= 1;
        buf[i] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    w.write_all(&buf[i..])
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ours(s: &str) -> String {
        let mut out = Vec::new();
        string(&mut out, s).unwrap();
        String::from_utf8(out).unwrap()
    }

    /// What the serde path writes for the same string.
    fn serde(s: &str) -> String {
        let mut out = Vec::new();
        super::super::json::serde_string(&mut out, s).unwrap();
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn escapes_like_serde_json_with_safe_formatter() {
        for s in [
            "",
            "plain ascii text that is longer than eight bytes",
            "quote\" back\\slash \n\r\t\x08\x0c \x01\x1f \x7f",
            "héllo 世界 \u{85}\u{9b} \u{2028}\u{2029}\u{202e}\u{2066}\u{2069} \u{1f600}",
            "12345678\"2345678\\",
        ] {
            assert_eq!(ours(s), serde(s), "{s:?}");
        }
    }

    #[test]
    fn writes_integers() {
        for n in [0, 7, 10, 65_535, u64::MAX] {
            let mut out = Vec::new();
            uint(&mut out, n).unwrap();
            assert_eq!(out, n.to_string().into_bytes());
        }
    }

    proptest::proptest! {
        #[test]
        fn any_string_escapes_like_serde(s in "\\PC*|[\\x00-\\x7f\\u{80}-\\u{a0}\\u{2028}-\\u{206f}]{0,40}") {
            proptest::prop_assert_eq!(ours(&s), serde(&s));
        }
    }
}
