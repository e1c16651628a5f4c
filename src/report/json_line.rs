//! A minimal JSON writer for the hot report line (one per exchange): strings are escaped in one
//! pass straight into the line buffer (a `Vec<u8>`: appends cannot fail), numbers are written
//! without `fmt`.
//!
//! Why not serde here: an exchange line is ~1 KB of header text, and serde_json's escape loop
//! plus the `SafeFormatter` pass cost about 20 k instructions per line, half of a `--json` run.
//! The escaping is exactly serde_json's (`\"`, `\\`, `\b \f \n \r \t`, other C0 as `\u00xx`)
//! plus `SafeFormatter`'s (DEL, C1 and the line/bidi separators of
//! [`is_unsafe`](super::escape::is_unsafe) as `\uxxxx`); a property test holds the two to the
//! same bytes. Connection lines are written by hand too (report/json.rs); the summary keeps
//! serde.

use super::escape::is_unsafe;

/// One high bit per byte of `w` that may need escaping: below 0x20, `"`, `\`, or ≥ 0x7f
/// (word-at-a-time, SWAR). Bytes above a flagged one can be flagged falsely (a borrow or carry
/// runs upward), but the lowest flag is always exact, so it tells where the first escape is
/// without a byte loop. Plain bytes start no borrow or carry, so the lowest flag above a run
/// of plain bytes is exact too.
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

/// The `N` bytes of `b` at `i`, if there are `N`.
fn chunk<const N: usize>(b: &[u8], i: usize) -> Option<[u8; N]> {
    b.get(i..i.checked_add(N)?)?.try_into().ok()
}

/// What follows `\` for an ASCII byte that needs escaping (`u` = `\u00xx`); 0 for a byte
/// copied as is (printable ASCII other than `"` and `\`).
static ESCAPE: [u8; 128] = {
    let mut t = [0u8; 128];
    let mut b = 0;
    while b < 0x20 {
        t[b] = b'u';
        b += 1;
    }
    t[0x08] = b'b';
    t[0x0c] = b'f';
    t[b'\n' as usize] = b'n';
    t[b'\r' as usize] = b'r';
    t[b'\t' as usize] = b't';
    t[b'"' as usize] = b'"';
    t[b'\\' as usize] = b'\\';
    t[0x7f] = b'u';
    t
};

/// A line being built: a `Vec` that appends cannot fail on, and the room an escaped string
/// is written into first. That room keeps its bytes from one string to the next, so it is
/// zeroed only when it grows (to six times the longest escaped string, the most an escape can
/// take, which the limits on heads and previews bound), and the escape loop writes into a
/// slice with its positions in registers rather than through `Vec` pushes.
#[derive(Default)]
pub struct Line {
    out: Vec<u8>,
    room: Vec<u8>,
}

impl Line {
    /// Starts a new line.
    pub fn clear(&mut self) {
        self.out.clear();
    }

    /// The line so far.
    pub fn as_bytes(&self) -> &[u8] {
        &self.out
    }

    /// Appends bytes that need no escaping.
    pub fn raw(&mut self, b: &[u8]) {
        self.out.extend_from_slice(b);
    }

    pub fn byte(&mut self, b: u8) {
        self.out.push(b);
    }

    /// Appends the first `n` bytes of `text`: the whole array is copied (a fixed-size copy,
    /// no `memcpy` call) and cut back.
    pub fn prefix<const N: usize>(&mut self, text: &[u8; N], n: usize) {
        let end = self.out.len() + n.min(N);
        self.out.extend_from_slice(text);
        self.out.truncate(end);
    }

    /// Appends `s` as a JSON string, quotes included.
    ///
    /// Most strings (header names and values) need no escape: they are scanned without
    /// writing, two words at a time, and copied whole. From the first byte that needs an
    /// escape on (the body previews of JSON bodies have a `"` every few bytes),
    /// [`escape_from`] writes the string into the room, which is then copied.
    pub fn string(&mut self, s: &str) {
        let bytes = s.as_bytes();
        match first_special(bytes) {
            None => {
                self.out.reserve(bytes.len() + 2);
                self.out.push(b'"');
                self.out.extend_from_slice(bytes);
                self.out.push(b'"');
            }
            Some(at) => {
                // At most 6 bytes per input byte, the quotes, and 16 for the last speculative
                // copy of plain text.
                let need = bytes.len() * 6 + 18;
                if self.room.len() < need {
                    self.room.resize(need, 0);
                }
                let n = escape_from(&mut self.room, s, at);
                self.out
                    .extend_from_slice(self.room.get(..n).unwrap_or(&[]));
            }
        }
    }

    /// Appends an unsigned integer in decimal.
    pub fn uint(&mut self, n: u64) {
        // Written at the front of a fixed buffer, which is appended whole ([`Line::prefix`]).
        let mut buf = [0u8; 20];
        let len = if n == 0 { 1 } else { n.ilog10() as usize + 1 };
        let mut rest = n;
        for d in buf.iter_mut().take(len).rev() {
            *d = b'0' + (rest % 10) as u8;
            rest /= 10;
        }
        self.prefix(&buf, len);
    }
}

impl std::io::Write for Line {
    /// For serde_json's float format (appending cannot fail).
    fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
        self.raw(b);
        Ok(b.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// The byte of the lowest flag of a [`specials`] mask that is not 0.
fn lowest(m: u64) -> usize {
    (m.trailing_zeros() / 8) as usize
}

/// Is this byte copied as is (printable ASCII other than `"` and `\`)?
fn plain(b: u8) -> bool {
    ESCAPE.get(usize::from(b)) == Some(&0)
}

/// Where the first byte of `b` that is not plain is.
fn first_special(b: &[u8]) -> Option<usize> {
    let mut i = 0;
    while let Some(two) = chunk::<16>(b, i) {
        let two = u128::from_le_bytes(two);
        match (specials(two as u64), specials((two >> 64) as u64)) {
            (0, 0) => i += 16,
            (0, m) => return Some(i + 8 + lowest(m)),
            (m, _) => return Some(i + lowest(m)),
        }
    }
    if let Some(word) = chunk::<8>(b, i) {
        match specials(u64::from_le_bytes(word)) {
            0 => i += 8,
            m => return Some(i + lowest(m)),
        }
    }
    let left = b.len() - i;
    if left == 0 {
        return None;
    }
    // Fewer than 8 bytes left: in a string of 8 or more, its last 8 bytes. The `8 - left`
    // bytes before `i` are plain, and plain bytes start no borrow or carry, so the lowest
    // flag above them is exact.
    if let Some(last) = b.len().checked_sub(8).and_then(|at| chunk::<8>(b, at)) {
        return match specials(u64::from_le_bytes(last)) >> (8 * (8 - left)) {
            0 => None,
            m => Some(i + lowest(m)),
        };
    }
    b.iter().position(|&x| !plain(x))
}

/// Writes `s` as a JSON string into `to`, whose room is at least 6 bytes per byte of `s`
/// plus 18, when the first byte that is not plain is at `from`; returns its length.
///
/// Plain text goes 16 bytes at a time: the 16 bytes are copied whole, and when [`specials`]
/// flags one of them the output position stops there and its escape overwrites the rest.
/// (An escape is at most 6 bytes per input byte, so every copy stays in that room.)
fn escape_from(to: &mut [u8], s: &str, from: usize) -> usize {
    let bytes = s.as_bytes();
    let (Some(open), Some(head)) = (to.first_mut(), bytes.get(..from)) else {
        return 0;
    };
    *open = b'"';
    let Some(copy) = to.get_mut(1..from + 1) else {
        return 0;
    };
    copy.copy_from_slice(head);
    let mut o = from + 1;
    let mut i = from;
    while i < bytes.len() {
        let run = match chunk::<16>(bytes, i) {
            Some(two) => {
                let Some(at) = to.get_mut(o..o + 16) else {
                    return 0;
                };
                at.copy_from_slice(&two);
                let two = u128::from_le_bytes(two);
                match (specials(two as u64), specials((two >> 64) as u64)) {
                    (0, 0) => 16,
                    (0, m) => 8 + lowest(m),
                    (m, _) => lowest(m),
                }
            }
            None => {
                // The last bytes, fewer than 16: one by one.
                let mut n = 0;
                while let Some(&b) = bytes.get(i + n).filter(|&&b| plain(b)) {
                    if let Some(at) = to.get_mut(o + n) {
                        *at = b;
                    }
                    n += 1;
                }
                n
            }
        };
        i += run;
        o += run;
        if i >= bytes.len() || run == 16 {
            continue;
        }
        let (text, len, used) = escape(s, i);
        let Some(at) = to.get_mut(o..o + 6) else {
            return 0;
        };
        at.copy_from_slice(&text);
        o += len;
        i += used;
    }
    match to.get_mut(o) {
        Some(close) => {
            *close = b'"';
            o + 1
        }
        None => 0,
    }
}

/// The escape of the character starting at byte `i` of `s` (not a plain byte): its bytes
/// (padded to 6), how many of them count, and the character's length in `s` (at least 1).
fn escape(s: &str, i: usize) -> ([u8; 6], usize, usize) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let hex = |n: u32| HEX[(n & 0xf) as usize];
    let Some(&b) = s.as_bytes().get(i) else {
        return ([0; 6], 0, 1);
    };
    if let Some(&e) = ESCAPE.get(usize::from(b)) {
        let n = u32::from(b);
        return match e {
            0 => ([b, 0, 0, 0, 0, 0], 1, 1),
            b'u' => ([b'\\', b'u', b'0', b'0', hex(n >> 4), hex(n)], 6, 1),
            e => ([b'\\', e, 0, 0, 0, 0], 2, 1),
        };
    }
    // `i` is always at a character boundary: the scan stops only at the first byte of one.
    let Some(c) = s.get(i..).and_then(|rest| rest.chars().next()) else {
        return ([b, 0, 0, 0, 0, 0], 1, 1);
    };
    let n = c as u32;
    if is_unsafe(c) {
        // Only C1 controls and separators below U+FFFF reach this: 4 hex digits.
        let text = [b'\\', b'u', hex(n >> 12), hex(n >> 8), hex(n >> 4), hex(n)];
        return (text, 6, c.len_utf8());
    }
    let mut text = [0u8; 6];
    let len = c.encode_utf8(&mut text).len();
    (text, len, len)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ours(s: &str) -> String {
        let mut line = Line::default();
        line.string(s);
        String::from_utf8(line.as_bytes().to_vec()).unwrap()
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
            "{\"id\":0,\"author\":\"William Shakespeare\",\"year\":1595,\"type\":\"paperback\"}",
            "0123456789abcde\"",
            "0123456789abcdef\"",
            "0123456789abcdef0123456\"x",
            "\u{10ffff}\u{10ffff}\u{10ffff}\u{10ffff}\u{10ffff}",
        ] {
            assert_eq!(ours(s), serde(s), "{s:?}");
        }
    }

    #[test]
    fn every_special_at_every_offset() {
        // Each escape at each position of strings 0..40 bytes long, so every word, the 16-byte
        // step, the 8-byte step and the tail each meet every kind of byte at every offset.
        let specials = [
            "\"", "\\", "\n", "\x01", "\x7f", "é", "\u{85}", "\u{2028}", "😀",
        ];
        for len in 0..40 {
            for at in 0..=len {
                for sp in specials {
                    let s = format!("{}{sp}{}", "a".repeat(at), "b".repeat(len - at));
                    assert_eq!(ours(&s), serde(&s), "{s:?}");
                }
            }
        }
    }

    #[test]
    fn appends_and_starts_over() {
        let mut line = Line::default();
        line.byte(b'[');
        line.string("a\"b");
        line.uint(42);
        line.prefix(b"xyz", 2);
        line.raw(b"]");
        assert_eq!(line.as_bytes(), b"[\"a\\\"b\"42xy]");
        // A new line reuses the buffer: nothing of the old one shows.
        line.clear();
        line.string("q");
        assert_eq!(line.as_bytes(), b"\"q\"");
        // Longer than the buffer so far: it grows.
        let long = "\"".repeat(5000);
        line.clear();
        line.string(&long);
        assert_eq!(line.as_bytes(), serde(&long).as_bytes());
    }

    #[test]
    fn writes_integers() {
        for n in [0, 7, 9, 10, 99, 100, 65_535, 10_000_000_000, u64::MAX] {
            let mut line = Line::default();
            line.byte(b'x');
            line.uint(n);
            assert_eq!(line.as_bytes(), format!("x{n}").as_bytes());
        }
    }

    proptest::proptest! {
        #[test]
        fn any_string_escapes_like_serde(s in "\\PC*|[\\x00-\\x7f\\u{80}-\\u{a0}\\u{2028}-\\u{206f}]{0,40}") {
            proptest::prop_assert_eq!(ours(&s), serde(&s));
        }

        #[test]
        fn any_integer_like_display(n in proptest::num::u64::ANY) {
            let mut line = Line::default();
            line.uint(n);
            let want = n.to_string();
            proptest::prop_assert_eq!(line.as_bytes(), want.as_bytes());
        }
    }
}
