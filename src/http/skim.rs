//! Skimming a message head: its length, start line and framing fields, without splitting
//! every field.
//!
//! The HTTP state machine needs only that much of a head (where the body starts and how it is
//! delimited); the other fields are for the report. Skimming lets the analysis thread leave
//! them unsplit, as bytes, and the report's thread split them with httparse when it reads one
//! (see [`crate::model::Fields::deferred`]), so on two cores the costliest step of the HTTP
//! layer runs beside the reassembly instead of after it.
//!
//! A skim must agree with what httparse would make of the same bytes under the parser's
//! configuration ([`super::head`]), so it answers only for heads where that is plain to see:
//! printable ASCII (0x20-0x7e) lines ending in CR LF, a start line with single spaces, no line
//! starting with whitespace in a response (obsolete folding), no framing field name followed by
//! anything but its colon, at most [`MAX_LINES`] lines. Then httparse finds the head ending at
//! the first empty line, and the same framing fields with the same values: a printable line it
//! cannot read as a field (no colon, a separator in the name) is skipped, not an error, with
//! our configuration. Anything else returns `None` and the caller parses in full. The property
//! test in `src/http/tests/skim.rs` holds the two to the same answers on generated and mutated heads.

use crate::model::Dir;

/// Lines of fields skimmed at most; a head with more is parsed in full (httparse's first try
/// has room for as many fields).
const MAX_LINES: usize = 64;

/// Framing fields kept at most (a head with more is parsed in full).
const MAX_FRAMING: usize = 8;

/// The start line of a head, borrowing it.
#[derive(Debug, PartialEq, Eq)]
pub(super) enum Line<'b> {
    Request { method: &'b str, target: &'b str },
    Response { status: u16, reason: &'b str },
}

/// A skimmed head.
#[derive(Debug)]
pub(super) struct Skim<'b> {
    pub line: Line<'b>,
    /// HTTP/1.`minor`.
    pub minor: u8,
    /// Bytes of the head, including the empty line.
    pub len: usize,
    framing: [(&'b [u8], &'b [u8]); MAX_FRAMING],
    framing_len: usize,
}

impl<'b> Skim<'b> {
    /// The framing fields (Content-Length, Transfer-Encoding, Content-Encoding, Upgrade) as
    /// `(name, value)`, value without surrounding spaces, in order.
    pub fn framing(&self) -> impl Iterator<Item = (&'b [u8], &'b [u8])> + '_ {
        self.framing.iter().take(self.framing_len).copied()
    }
}

/// Skims the complete head at the start of `buf`; `None` when it is not one of the plain
/// heads described above (then httparse decides).
pub(super) fn skim(buf: &[u8], dir: Dir) -> Option<Skim<'_>> {
    let cr = line_end(buf, 0)?;
    let first = buf.get(..cr)?;
    let (line, minor) = match dir {
        Dir::ToServer => request_line(first)?,
        Dir::ToClient => status_line(first)?,
    };
    let mut skim = Skim {
        line,
        minor,
        len: 0,
        framing: [(&[], &[]); MAX_FRAMING],
        framing_len: 0,
    };
    let mut pos = cr + 2;
    for _ in 0..=MAX_LINES {
        let cr = line_end(buf, pos)?;
        let text = buf.get(pos..cr)?;
        match text.first() {
            None => {
                skim.len = cr + 2;
                return Some(skim);
            }
            Some(b' ') if dir == Dir::ToClient => return None,
            Some(&b) if matches!(b | 0x20, b'c' | b't' | b'u') => match framing(text) {
                Framing::Field(field) => {
                    *skim.framing.get_mut(skim.framing_len)? = field;
                    skim.framing_len += 1;
                }
                Framing::Other => {}
                Framing::Unsure => return None,
            },
            Some(_) => {}
        }
        pos = cr + 2;
    }
    None
}

/// The first value of the field `name` (ASCII case-insensitive) in a request head that
/// [`skim`] took, as its byte range in `head`: what httparse's split would give, found by a
/// scan of the lines ([`crate::model::FindField`]).
///
/// In such a head every line is printable ASCII ending in CR LF, and with the parser's
/// configuration httparse reads a request's field line as a name of token characters, a
/// colon and a value without its surrounding spaces, and skips any other line (a space before
/// the colon, an empty name, no colon). The property tests in `src/http/tests/skim.rs` hold
/// the two to the same answers.
pub(super) fn request_field(head: &[u8], name: &str) -> Option<(usize, usize)> {
    let name = name.as_bytes();
    let mut pos = line_end(head, 0)? + 2;
    loop {
        let cr = line_end(head, pos)?;
        let line = head.get(pos..cr)?;
        if line.is_empty() {
            return None;
        }
        let colon = line
            .iter()
            .position(|&b| !is_tchar(b))
            .unwrap_or(line.len());
        if colon > 0
            && line.get(colon) == Some(&b':')
            && line.get(..colon)?.eq_ignore_ascii_case(name)
        {
            let value = line.get(colon + 1..)?;
            let from = value.iter().position(|&c| c != b' ').unwrap_or(value.len());
            let to = value
                .iter()
                .rposition(|&c| c != b' ')
                .map_or(from, |e| e + 1);
            let at = pos + colon + 1;
            return Some((at + from, at + to));
        }
        pos = cr + 2;
    }
}

/// Names of the fields framing reads (see `head::Facts`).
const FRAMING: [&[u8]; 4] = [
    b"content-length",
    b"transfer-encoding",
    b"content-encoding",
    b"upgrade",
];

/// What a field line is to framing.
enum Framing<'b> {
    /// A framing field: `(name, value)`, value without surrounding spaces.
    Field((&'b [u8], &'b [u8])),
    /// Any other line.
    Other,
    /// A framing name followed by a space: httparse may read it either way (a space before
    /// the colon is accepted in responses).
    Unsure,
}

fn framing(line: &[u8]) -> Framing<'_> {
    for name in FRAMING {
        // The byte after the name first: it rules out most lines (Content-Type, Cookie,
        // Connection, ...) without a comparison of the name.
        let after = line.get(name.len());
        if !matches!(after, Some(b':' | b' ')) {
            continue;
        }
        let Some(head) = line.get(..name.len()) else {
            continue;
        };
        if !head.eq_ignore_ascii_case(name) {
            continue;
        }
        return match line.get(name.len() + 1..) {
            Some(value) if after == Some(&b':') => Framing::Field((head, trim_spaces(value))),
            _ => Framing::Unsure,
        };
    }
    Framing::Other
}

fn trim_spaces(b: &[u8]) -> &[u8] {
    let start = b.iter().position(|&c| c != b' ').unwrap_or(b.len());
    let end = b.iter().rposition(|&c| c != b' ').map_or(start, |e| e + 1);
    b.get(start..end).unwrap_or_default()
}

/// The offset of the CR of the CR LF that ends the printable ASCII (0x20-0x7e) starting at
/// `from`; `None` when the first other byte is not that CR LF.
fn line_end(buf: &[u8], from: usize) -> Option<usize> {
    let cr = from + printable_run(buf.get(from..)?);
    (buf.get(cr..cr + 2)? == b"\r\n").then_some(cr)
}

/// How many bytes at the start of `b` are printable ASCII (0x20-0x7e). Eight bytes at a time:
/// a word's bytes below 0x20 or above 0x7e set their top bits in `flags`, and the lowest set
/// flag marks the first such byte (borrows and carries only ever spill into higher bytes).
fn printable_run(b: &[u8]) -> usize {
    const ONES: u64 = u64::from_ne_bytes([0x01; 8]);
    const HIGH: u64 = u64::from_ne_bytes([0x80; 8]);
    let mut words = b.chunks_exact(8);
    let mut n = 0;
    for w in words.by_ref() {
        let mut x = [0; 8];
        x.copy_from_slice(w);
        let x = u64::from_le_bytes(x);
        let below = x.wrapping_sub(ONES * 0x20) & !x;
        let above = x.wrapping_add(ONES) | x;
        let flags = (below | above) & HIGH;
        if flags != 0 {
            return n + (flags.trailing_zeros() / 8) as usize;
        }
        n += 8;
    }
    n + words
        .remainder()
        .iter()
        .take_while(|&&c| (0x20..0x7f).contains(&c))
        .count()
}

/// `method SP target SP HTTP/1.x` with single spaces, an RFC 9110 token for a method and
/// visible ASCII for the target (the line is printable ASCII already).
fn request_line(line: &[u8]) -> Option<(Line<'_>, u8)> {
    let sp = line.iter().position(|&b| !is_tchar(b))?;
    let (method, rest) = match (line.get(..sp)?, line.get(sp..)?) {
        (m, [b' ', rest @ ..]) if !m.is_empty() => (m, rest),
        _ => return None,
    };
    let sp = rest.iter().position(|&b| b == b' ')?;
    let (target, version) = (rest.get(..sp)?, rest.get(sp + 1..)?);
    let minor = version_minor(version)?;
    if target.is_empty() {
        return None;
    }
    let method = std::str::from_utf8(method).ok()?;
    let target = std::str::from_utf8(target).ok()?;
    Some((Line::Request { method, target }, minor))
}

/// `HTTP/1.x SP 3DIGIT [SP reason]` with single spaces and a reason that does not start with
/// a space (the line is printable ASCII already).
fn status_line(line: &[u8]) -> Option<(Line<'_>, u8)> {
    let minor = version_minor(line.get(..8)?)?;
    let [b' ', a, b, c] = *line.get(8..12)? else {
        return None;
    };
    if !(a.is_ascii_digit() && b.is_ascii_digit() && c.is_ascii_digit()) {
        return None;
    }
    let status = [a, b, c]
        .iter()
        .fold(0u16, |n, &d| n * 10 + u16::from(d - b'0'));
    let reason = match line.get(12..)? {
        [] => &[][..],
        [b' ', reason @ ..] if reason.first() != Some(&b' ') => reason,
        _ => return None,
    };
    let reason = std::str::from_utf8(reason).ok()?;
    Some((Line::Response { status, reason }, minor))
}

fn version_minor(v: &[u8]) -> Option<u8> {
    match v {
        b"HTTP/1.1" => Some(1),
        b"HTTP/1.0" => Some(0),
        _ => None,
    }
}

/// RFC 9110 section 5.6.2 `tchar`.
fn is_tchar(b: u8) -> bool {
    TCHAR[usize::from(b)]
}

const TCHAR: [bool; 256] = {
    let mut t = [false; 256];
    let mut b = 0;
    while b < 256 {
        let c = b as u8;
        t[b] = c.is_ascii_alphanumeric()
            || matches!(
                c,
                b'!' | b'#'
                    | b'$'
                    | b'%'
                    | b'&'
                    | b'\''
                    | b'*'
                    | b'+'
                    | b'-'
                    | b'.'
                    | b'^'
                    | b'_'
                    | b'`'
                    | b'|'
                    | b'~'
            );
        b += 1;
    }
    t
};
