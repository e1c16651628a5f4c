//! Terminal safety: captured bytes never reach a terminal raw.
//!
//! Everything that came off the wire (targets, header values, hosts, SNI, body previews) is
//! passed through [`escape`] before it is printed as text. Control characters (C0, DEL, C1) and
//! backslashes become visible escapes, so an `ESC [ 2 J` in a header shows as `\x1b[2J` instead
//! of clearing the screen. Printable Unicode is kept. JSON output gets the same treatment for
//! DEL and C1 in `json.rs` (serde_json already escapes C0).

use std::borrow::Cow;
use std::fmt::Write;

/// True when `c` must not be written to a terminal as is.
pub fn is_unsafe(c: char) -> bool {
    c.is_control()
        || c == '\\'
        || matches!(c, '\u{2028}' | '\u{2029}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
}

/// Escapes control and bidi-override characters (`\x1b`, `\u{202e}`) and backslashes (`\\`).
/// Borrows when nothing needs escaping, which is the common case.
pub fn escape(s: &str) -> Cow<'_, str> {
    // Nearly every captured string is printable ASCII without `\\`: a byte test each rules
    // out escapes there before characters are decoded.
    let plain_ascii = |b: &u8| matches!(b, 0x20..=0x7e) && *b != b'\\';
    if s.as_bytes().iter().all(plain_ascii) || !s.chars().any(is_unsafe) {
        return Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            '\n' => out.push_str("\\n"),
            c if (c as u32) < 0x100 && is_unsafe(c) => {
                let _ = write!(out, "\\x{:02x}", c as u32);
            }
            c if is_unsafe(c) => {
                let _ = write!(out, "\\u{{{:x}}}", c as u32);
            }
            c => out.push(c),
        }
    }
    Cow::Owned(out)
}

/// Bytes shown as text: valid UTF-8 is escaped as above, other bytes as `\xNN`.
pub fn escape_bytes(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len());
    for chunk in bytes.utf8_chunks() {
        out.push_str(&escape(chunk.valid()));
        for b in chunk.invalid() {
            let _ = write!(out, "\\x{b:02x}");
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_terminal_controls() {
        assert_eq!(escape("/api/v1"), Cow::Borrowed("/api/v1"));
        assert_eq!(escape("a\x1b[2Jb"), "a\\x1b[2Jb");
        assert_eq!(escape("\u{9b}31m"), "\\x9b31m");
        assert_eq!(escape("x\u{202e}y"), "x\\u{202e}y");
        assert_eq!(escape("back\\slash\x07"), "back\\\\slash\\x07");
        assert_eq!(escape("héllo 世界"), "héllo 世界");
    }

    #[test]
    fn escapes_invalid_utf8() {
        assert_eq!(escape_bytes(b"ok\xff\x1b"), "ok\\xff\\x1b");
    }

    proptest::proptest! {
        #[test]
        fn never_emits_controls(s in ".*") {
            let e = escape(&s);
            proptest::prop_assert!(!e.chars().any(|c| c.is_control()));
        }
    }
}
