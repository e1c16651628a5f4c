//! Message body framing (RFC 9112 section 6 and 7.1): a known length, chunked transfer coding,
//! or until the connection closes. It hands body bytes to a sink and says where the body ends.
//!
//! It does not keep the body: the sink counts bytes and copies only what the preview wants.
//! Bodies of known length (and chunk data) are consumed in one step without looking at the
//! bytes, which is the hot path; only chunk-size lines, the CRLF after chunk data, and
//! trailers are read byte by byte. Bare LF line ends are tolerated (section 2.2).

/// Longest chunk-size line (size, extensions, CRLF) accepted (section 7.1.1 sets no limit;
/// real chunk extensions are a few dozen bytes).
pub(super) const MAX_CHUNK_LINE: usize = 4096;
/// Most trailer bytes accepted after the last chunk (section 7.1.2).
pub(super) const MAX_TRAILER: usize = 64 * 1024;
/// Hex digits of a chunk size that fit in a u64.
const MAX_SIZE_DIGITS: u32 = 16;

/// How a body is delimited, and how much of it is left.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) enum Body {
    /// `remaining` bytes of a body of known length.
    Length(u64),
    Chunked(Chunk),
    /// Until this direction ends (responses without a length, section 6.3 item 8).
    UntilClose,
}

/// Where the chunked decoder is (section 7.1).
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) enum Chunk {
    /// In a chunk-size line: the size so far, its digit count, whether the digits ended
    /// (extension or whitespace follows), and the line length so far.
    Size {
        size: u64,
        digits: u32,
        ext: bool,
        line: usize,
    },
    /// `n` bytes of chunk data left.
    Data(u64),
    /// After chunk data: the CRLF (`cr` = the CR was seen).
    DataEnd { cr: bool },
    /// In the trailer section: bytes of the current line, total trailer bytes.
    Trailer { line: usize, total: usize },
}

impl Chunk {
    pub(super) const START: Chunk = Chunk::Size {
        size: 0,
        digits: 0,
        ext: false,
        line: 0,
    };
}

/// A chunked framing error; the stream is out of sync after it.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub(super) struct FramingError {
    /// What was wrong, as a note (`bad-chunk`, `chunk-line-too-long`, `trailer-too-large`).
    pub note: &'static str,
}

/// What a gap did to the body.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub(super) enum GapEffect {
    /// The gap fell inside body bytes whose extent is known: still in sync. `done` = the gap
    /// ended exactly at the end of the body.
    Kept { done: bool },
    /// The gap covered framing, or ran past the end: `body` bytes of it were body.
    Lost { body: u64 },
}

impl Body {
    /// Reads from `data`: returns the bytes consumed and whether the body ended. Body bytes
    /// (de-chunked) go to `sink`.
    pub(super) fn feed(
        &mut self,
        data: &[u8],
        sink: &mut impl FnMut(&[u8]),
    ) -> Result<(usize, bool), FramingError> {
        match self {
            Body::Length(remaining) => {
                let n = take(remaining, data.len());
                sink(data.get(..n).unwrap_or(&[]));
                Ok((n, *remaining == 0))
            }
            Body::UntilClose => {
                sink(data);
                Ok((data.len(), false))
            }
            Body::Chunked(state) => chunked(state, data, sink),
        }
    }

    /// Accounts for `len` bytes that will never arrive.
    pub(super) fn gap(&mut self, len: u64) -> GapEffect {
        match self {
            Body::UntilClose => GapEffect::Kept { done: false },
            Body::Length(remaining) | Body::Chunked(Chunk::Data(remaining)) => {
                if len <= *remaining {
                    *remaining -= len;
                    let done = matches!(self, Body::Length(0));
                    if let Body::Chunked(state) = self {
                        if *state == Chunk::Data(0) {
                            *state = Chunk::DataEnd { cr: false };
                        }
                    }
                    GapEffect::Kept { done }
                } else {
                    GapEffect::Lost { body: *remaining }
                }
            }
            Body::Chunked(_) => GapEffect::Lost { body: 0 },
        }
    }
}

/// `min(remaining, available)`, subtracted from `remaining`.
fn take(remaining: &mut u64, available: usize) -> usize {
    let n = usize::try_from(*remaining).map_or(available, |r| r.min(available));
    *remaining -= n as u64;
    n
}

const BAD_CHUNK: FramingError = FramingError { note: "bad-chunk" };
const LINE_TOO_LONG: FramingError = FramingError {
    note: "chunk-line-too-long",
};
const TRAILER_TOO_LARGE: FramingError = FramingError {
    note: "trailer-too-large",
};

fn chunked(
    state: &mut Chunk,
    data: &[u8],
    sink: &mut impl FnMut(&[u8]),
) -> Result<(usize, bool), FramingError> {
    let mut at = 0;
    while let Some(rest) = data.get(at..).filter(|r| !r.is_empty()) {
        match state {
            Chunk::Data(remaining) => {
                let n = take(remaining, rest.len());
                sink(rest.get(..n).unwrap_or(&[]));
                at += n;
                if *remaining == 0 {
                    *state = Chunk::DataEnd { cr: false };
                }
                continue;
            }
            _ => {
                let Some(&b) = rest.first() else { break };
                at += 1;
                if step(state, b)? {
                    return Ok((at, true));
                }
            }
        }
    }
    Ok((at, false))
}

/// One byte of framing (not chunk data). Returns true when the body ended.
fn step(state: &mut Chunk, b: u8) -> Result<bool, FramingError> {
    match state {
        Chunk::Size {
            size,
            digits,
            ext,
            line,
        } => {
            *line += 1;
            if *line > MAX_CHUNK_LINE {
                return Err(LINE_TOO_LONG);
            }
            if b == b'\n' {
                if *digits == 0 {
                    return Err(BAD_CHUNK);
                }
                *state = if *size == 0 {
                    Chunk::Trailer { line: 0, total: 0 }
                } else {
                    Chunk::Data(*size)
                };
            } else if *ext {
                // chunk-ext = *( BWS ";" BWS chunk-ext-name [ BWS "=" BWS chunk-ext-val ] ),
                // skipped; the CR before LF lands here too.
            } else if let Some(v) = (b as char).to_digit(16) {
                *digits += 1;
                if *digits > MAX_SIZE_DIGITS {
                    return Err(BAD_CHUNK);
                }
                *size = (*size << 4) | u64::from(v);
            } else if *digits > 0 && matches!(b, b';' | b' ' | b'\t' | b'\r') {
                *ext = true;
            } else {
                return Err(BAD_CHUNK);
            }
            Ok(false)
        }
        Chunk::DataEnd { cr } => match b {
            b'\r' if !*cr => {
                *cr = true;
                Ok(false)
            }
            b'\n' => {
                *state = Chunk::START;
                Ok(false)
            }
            _ => Err(BAD_CHUNK),
        },
        Chunk::Trailer { line, total } => {
            *total += 1;
            if *total > MAX_TRAILER {
                return Err(TRAILER_TOO_LARGE);
            }
            match b {
                b'\n' if *line == 0 => Ok(true),
                b'\n' => {
                    *line = 0;
                    Ok(false)
                }
                // A CR at the start of a line does not make it non-empty.
                b'\r' if *line == 0 => Ok(false),
                _ => {
                    *line += 1;
                    Ok(false)
                }
            }
        }
        Chunk::Data(_) => Ok(false),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(body: &mut Body, data: &[u8]) -> (Result<(usize, bool), FramingError>, Vec<u8>) {
        let mut out = Vec::new();
        let r = body.feed(data, &mut |b| out.extend_from_slice(b));
        (r, out)
    }

    #[test]
    fn length() {
        let mut b = Body::Length(5);
        assert_eq!(run(&mut b, b"abc"), (Ok((3, false)), b"abc".to_vec()));
        assert_eq!(run(&mut b, b"defGET"), (Ok((2, true)), b"de".to_vec()));
    }

    #[test]
    fn chunked_with_extensions_and_trailers() {
        let stream = b"4;name=value\r\nWiki\r\n5 ; x\r\npedia\r\nE\r\n in\r\n\r\nchunks.\r\n0\r\nExpires: never\r\nX: y\r\n\r\nNEXT";
        let mut b = Body::Chunked(Chunk::START);
        let (r, out) = run(&mut b, stream);
        assert_eq!(r, Ok((stream.len() - 4, true)));
        assert_eq!(out, b"Wikipedia in\r\n\r\nchunks.");
    }

    #[test]
    fn chunked_bare_lf_and_bytewise() {
        let stream = b"3\nabc\n0\n\n";
        let mut b = Body::Chunked(Chunk::START);
        let mut out = Vec::new();
        for (i, byte) in stream.iter().enumerate() {
            let r = b.feed(std::slice::from_ref(byte), &mut |x| {
                out.extend_from_slice(x)
            });
            assert_eq!(r, Ok((1, i == stream.len() - 1)));
        }
        assert_eq!(out, b"abc");
    }

    #[test]
    fn chunked_errors() {
        for bad in [
            &b"x\r\n"[..],
            b"\r\n",
            b"3\r\nabcX",
            b"11111111111111111\r\n",
        ] {
            let mut b = Body::Chunked(Chunk::START);
            assert_eq!(run(&mut b, bad).0, Err(BAD_CHUNK), "{bad:?}");
        }
        let mut b = Body::Chunked(Chunk::START);
        let long = [b"1;".to_vec(), vec![b'a'; MAX_CHUNK_LINE]].concat();
        assert_eq!(run(&mut b, &long).0, Err(LINE_TOO_LONG));
    }

    #[test]
    fn gaps() {
        let mut b = Body::Length(10);
        assert_eq!(b.gap(4), GapEffect::Kept { done: false });
        assert_eq!(b.gap(6), GapEffect::Kept { done: true });
        let mut b = Body::Length(3);
        assert_eq!(b.gap(4), GapEffect::Lost { body: 3 });
        let mut b = Body::Chunked(Chunk::Data(3));
        assert_eq!(b.gap(3), GapEffect::Kept { done: false });
        assert_eq!(b, Body::Chunked(Chunk::DataEnd { cr: false }));
        assert_eq!(b.gap(1), GapEffect::Lost { body: 0 });
        assert_eq!(Body::UntilClose.gap(9), GapEffect::Kept { done: false });
    }
}
