//! The body preview: the first bytes of a body after its content coding is removed (gzip,
//! x-gzip, deflate — RFC 9110 section 8.4.1), capped.
//!
//! Input and output are both bounded: the decoder writes only into the room left in the
//! preview, and stops taking input once the preview is full, so a large or hostile body costs
//! at most a preview's worth of inflating. Decoding uses miniz_oxide's core inflater straight
//! into the preview (its non-wrapping output mode: back-references point into the preview
//! itself), so it stops as soon as the preview is full and needs no 32 KiB window; flate2's
//! streaming `Decompress` inflated each input slice whole into its window (up to 32 KiB for a
//! 1 KiB preview) and zeroed that window for every body. The gzip member header (RFC 1952
//! section 2.3) is read here (the core inflater reads zlib headers only). "deflate" is tried as
//! zlib (RFC 1950) and, when the first two bytes are not a zlib header, as raw deflate
//! (RFC 1951), as browsers do. The gzip trailer (CRC-32, ISIZE) is not checked: the preview is
//! a peek, not a verification.

use super::head::Coding;
use miniz_oxide::inflate::core::inflate_flags::{
    TINFL_FLAG_COMPUTE_ADLER32, TINFL_FLAG_HAS_MORE_INPUT, TINFL_FLAG_IGNORE_ADLER32,
    TINFL_FLAG_PARSE_ZLIB_HEADER, TINFL_FLAG_USING_NON_WRAPPING_OUTPUT_BUF,
};
use miniz_oxide::inflate::core::{decompress, DecompressorOxide};
use miniz_oxide::inflate::TINFLStatus;
use std::cell::Cell;

/// Most bytes of compressed input held while its header is incomplete (gzip FNAME/FCOMMENT
/// can be long; a real header is 10 to a few dozen bytes).
const MAX_HEADER_HOLD: usize = 1024;
/// Room reserved up front for an uncompressed preview of a body of unknown length (at most
/// the cap): a large `--preview` cap is not allocated whole for every chunked body.
const UNKNOWN_LENGTH_ROOM: usize = 16 * 1024;
/// gzip member header (RFC 1952 section 2.3.1): ID1 ID2 CM FLG MTIME(4) XFL OS.
const GZIP_FIXED: usize = 10;
const GZIP_ID: [u8; 3] = [0x1f, 0x8b, 8];
const OFF_FLG: usize = 3;
const FHCRC: u8 = 0x02;
const FEXTRA: u8 = 0x04;
const FNAME: u8 = 0x08;
const FCOMMENT: u8 = 0x10;

enum Decoder {
    Identity,
    /// Collecting the first bytes until the wrapper (gzip header, zlib or raw) is known.
    Header {
        coding: Coding,
        held: Vec<u8>,
    },
    Inflate(Inflater, Coding),
    /// Nothing more goes into the preview.
    Stopped,
}

thread_local! {
    /// The inflater of the last compressed preview this thread finished, kept for the next.
    static SPARE: Cell<Option<Box<DecompressorOxide>>> = const { Cell::new(None) };
}

/// A raw or zlib inflater, recycled per thread: a new one is ~11 KiB of tables to allocate
/// and initialise for every compressed body, while `init` only rewinds its state machine (the
/// tables are rebuilt from each block's header). Given back to the thread's spare slot when
/// dropped. (`decoder` is `None` only while being dropped.)
struct Inflater {
    decoder: Option<Box<DecompressorOxide>>,
    flags: u32,
}

impl Inflater {
    fn new(zlib: bool) -> Inflater {
        let decoder = match SPARE.take() {
            Some(mut d) => {
                d.init();
                d
            }
            None => Box::default(),
        };
        // What flate2 asked of miniz_oxide for a stream not yet finished, plus the preview as
        // the whole output buffer.
        let check = if zlib {
            TINFL_FLAG_PARSE_ZLIB_HEADER | TINFL_FLAG_COMPUTE_ADLER32
        } else {
            TINFL_FLAG_IGNORE_ADLER32
        };
        Inflater {
            decoder: Some(decoder),
            flags: check | TINFL_FLAG_HAS_MORE_INPUT | TINFL_FLAG_USING_NON_WRAPPING_OUTPUT_BUF,
        }
    }
}

impl Drop for Inflater {
    fn drop(&mut self) {
        if let Some(d) = self.decoder.take() {
            SPARE.set(Some(d));
        }
    }
}

/// A preview being filled.
pub(super) struct Preview {
    out: Vec<u8>,
    cap: usize,
    decoder: Decoder,
    note: Option<&'static str>,
}

impl Preview {
    /// A preview of at most `cap` bytes; `hint` = the body length when known, so an
    /// uncompressed preview is allocated once at its final size (without one, at the cap).
    pub(super) fn new(coding: Coding, cap: usize, hint: Option<u64>) -> Preview {
        let (decoder, note) = match coding {
            // No preview wanted (the text report shows none): nothing to decode.
            _ if cap == 0 => (Decoder::Stopped, None),
            Coding::Identity => (Decoder::Identity, None),
            Coding::Gzip | Coding::Deflate => (
                Decoder::Header {
                    coding,
                    held: Vec::new(),
                },
                None,
            ),
            Coding::Other => (Decoder::Stopped, Some("encoding not decoded")),
        };
        let size = match (coding, hint) {
            (Coding::Identity, Some(n)) => usize::try_from(n).unwrap_or(cap).min(cap),
            // A chunked or close-delimited body: room for the whole preview at once rather than
            // growing it chunk by chunk (`finish` gives back what a short body did not use).
            (Coding::Identity, None) => cap.min(UNKNOWN_LENGTH_ROOM),
            _ => 0,
        };
        Preview {
            out: Vec::with_capacity(size),
            cap,
            decoder,
            note,
        }
    }

    /// Does the preview still want bytes? (Cheap: checked before each body slice.)
    pub(super) fn wants(&self) -> bool {
        !matches!(self.decoder, Decoder::Stopped)
    }

    /// Offers the next body bytes (de-chunked, in order).
    pub(super) fn push(&mut self, data: &[u8]) {
        if data.is_empty() {
            return;
        }
        match &mut self.decoder {
            Decoder::Stopped => {}
            Decoder::Identity => {
                let room = self.cap.saturating_sub(self.out.len());
                let n = room.min(data.len());
                self.out.extend_from_slice(data.get(..n).unwrap_or(&[]));
                if n < data.len() {
                    self.stop("truncated");
                }
            }
            Decoder::Header { coding, held } => {
                let take = data.len().min(MAX_HEADER_HOLD.saturating_sub(held.len()));
                held.extend_from_slice(data.get(..take).unwrap_or(&[]));
                let coding = *coding;
                match wrapper(coding, held) {
                    Wrapper::NeedMore if held.len() >= MAX_HEADER_HOLD => self.stop(error(coding)),
                    Wrapper::NeedMore => {}
                    Wrapper::Bad => self.stop(error(coding)),
                    Wrapper::Known { zlib, skip } => {
                        let held = std::mem::take(held);
                        self.decoder = Decoder::Inflate(Inflater::new(zlib), coding);
                        self.inflate(held.get(skip..).unwrap_or(&[]));
                        self.inflate(data.get(take..).unwrap_or(&[]));
                    }
                }
            }
            Decoder::Inflate(..) => self.inflate(data),
        }
    }

    fn inflate(&mut self, mut input: &[u8]) {
        while !input.is_empty() {
            let Decoder::Inflate(inflater, coding) = &mut self.decoder else {
                return;
            };
            let coding = *coding;
            let Some(d) = inflater.decoder.as_deref_mut() else {
                return;
            };
            let filled = self.out.len();
            if filled >= self.cap {
                self.stop("truncated");
                return;
            }
            // The whole preview is the output buffer (earlier bytes are the window); output goes
            // only into the room left, so the preview never grows past `cap`.
            self.out.resize(self.cap, 0);
            let (status, used, made) = decompress(d, input, &mut self.out, filled, inflater.flags);
            self.out.truncate(filled.saturating_add(made).min(self.cap));
            input = input.get(used..).unwrap_or(&[]);
            match status {
                TINFLStatus::Done => {
                    self.decoder = Decoder::Stopped;
                    return;
                }
                TINFLStatus::NeedsMoreInput => return,
                // The preview is full: the loop's first test says so.
                TINFLStatus::HasMoreOutput => {}
                _ => {
                    self.stop(error(coding));
                    return;
                }
            }
        }
    }

    fn stop(&mut self, note: &'static str) {
        self.decoder = Decoder::Stopped;
        self.note = Some(note);
    }

    /// The body lost bytes: what follows is not contiguous with the preview.
    pub(super) fn gap(&mut self) {
        if self.wants() {
            self.stop("gap");
        }
    }

    /// The preview and its note when the body ended (`cut` = it did not end normally: a gap,
    /// the capture end) after `body_len` bytes.
    pub(super) fn finish(mut self, cut: bool, body_len: u64) -> (Vec<u8>, Option<&'static str>) {
        let full = self.out.len() >= self.cap;
        let note = match (&self.decoder, self.note) {
            (_, Some(note)) => Some(note),
            // An empty body (HEAD, 304) carries no compressed stream to decode.
            (_, None) if body_len == 0 && self.out.is_empty() && !cut => None,
            (Decoder::Identity, None) if body_len > self.out.len() as u64 => Some("truncated"),
            (Decoder::Inflate(..), None) if full => Some("truncated"),
            (Decoder::Inflate(..) | Decoder::Header { .. }, None) if cut => Some("incomplete"),
            // The body ended before the compressed stream did.
            (Decoder::Inflate(_, c) | Decoder::Header { coding: c, .. }, None) => Some(error(*c)),
            (Decoder::Identity, None) if cut => Some("incomplete"),
            _ => None,
        };
        if self.out.capacity() > self.out.len().saturating_mul(2) {
            self.out.shrink_to_fit(); // an inflated preview that ended short
        }
        (self.out, note)
    }
}

fn error(coding: Coding) -> &'static str {
    match coding {
        Coding::Gzip => "gzip error",
        _ => "deflate error",
    }
}

enum Wrapper {
    NeedMore,
    Bad,
    /// Inflate with a zlib wrapper or raw, after skipping `skip` header bytes.
    Known {
        zlib: bool,
        skip: usize,
    },
}

fn wrapper(coding: Coding, held: &[u8]) -> Wrapper {
    match coding {
        Coding::Gzip => gzip_header(held),
        _ => match held {
            [cmf, flg, ..] => {
                // RFC 1950 section 2.2: CM = 8, and CMF*256 + FLG is a multiple of 31.
                let zlib = cmf & 0x0f == 8 && (u16::from(*cmf) << 8 | u16::from(*flg)) % 31 == 0;
                Wrapper::Known { zlib, skip: 0 }
            }
            _ => Wrapper::NeedMore,
        },
    }
}

/// Length of the gzip member header at the start of `b` (RFC 1952 section 2.3).
fn gzip_header(b: &[u8]) -> Wrapper {
    let mut at = GZIP_FIXED;
    for (i, &id) in GZIP_ID.iter().enumerate() {
        match b.get(i) {
            None => return Wrapper::NeedMore,
            Some(&x) if x != id => return Wrapper::Bad,
            Some(_) => {}
        }
    }
    let Some(&flg) = b.get(OFF_FLG) else {
        return Wrapper::NeedMore;
    };
    if b.len() < GZIP_FIXED {
        return Wrapper::NeedMore;
    }
    if flg & FEXTRA != 0 {
        let (Some(&lo), Some(&hi)) = (b.get(at), b.get(at + 1)) else {
            return Wrapper::NeedMore;
        };
        at += 2 + usize::from(u16::from_le_bytes([lo, hi]));
    }
    for flag in [FNAME, FCOMMENT] {
        if flg & flag != 0 {
            match b.get(at..).and_then(|r| r.iter().position(|&c| c == 0)) {
                Some(nul) => at += nul + 1,
                None => return Wrapper::NeedMore,
            }
        }
    }
    if flg & FHCRC != 0 {
        at += 2;
    }
    if b.len() < at {
        return Wrapper::NeedMore;
    }
    Wrapper::Known {
        zlib: false,
        skip: at,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use flate2::write::{DeflateEncoder, GzEncoder, ZlibEncoder};
    use flate2::Compression;
    use std::io::Write;

    fn compress<W: Write>(mut enc: W, data: &[u8]) -> W {
        enc.write_all(data).unwrap();
        enc
    }

    pub(crate) fn gzip(data: &[u8]) -> Vec<u8> {
        let mut e = GzEncoder::new(Vec::new(), Compression::default());
        e.write_all(data).unwrap();
        e.finish().unwrap()
    }

    fn run(
        coding: Coding,
        body: &[u8],
        cap: usize,
        step: usize,
    ) -> (Vec<u8>, Option<&'static str>) {
        let mut p = Preview::new(coding, cap, None);
        for piece in body.chunks(step.max(1)) {
            p.push(piece);
        }
        p.finish(false, body.len() as u64)
    }

    #[test]
    fn identity() {
        assert_eq!(
            run(Coding::Identity, b"hello", 10, 2),
            (b"hello".to_vec(), None)
        );
        assert_eq!(
            run(Coding::Identity, b"hello", 5, 2),
            (b"hello".to_vec(), None)
        );
        assert_eq!(
            run(Coding::Identity, b"hello", 4, 3),
            (b"hell".to_vec(), Some("truncated"))
        );
    }

    #[test]
    fn gzip_zlib_raw() {
        let text = b"the quick brown fox jumps over the lazy dog ".repeat(100);
        let z = compress(ZlibEncoder::new(Vec::new(), Compression::default()), &text)
            .finish()
            .unwrap();
        let raw = compress(
            DeflateEncoder::new(Vec::new(), Compression::default()),
            &text,
        )
        .finish()
        .unwrap();
        for step in [1, 3, 7, 1000] {
            for (coding, body) in [
                (Coding::Gzip, gzip(&text)),
                (Coding::Deflate, z.clone()),
                (Coding::Deflate, raw.clone()),
            ] {
                let (out, note) = run(coding, &body, 1024, step);
                assert_eq!(out, &text[..1024]);
                assert_eq!(note, Some("truncated"), "{coding:?} step {step}");
                let (out, note) = run(coding, &body, 10_000, step);
                assert_eq!((out.as_slice(), note), (&text[..], None));
            }
        }
    }

    #[test]
    fn gzip_header_flags() {
        // FNAME + FCOMMENT + FEXTRA, built by hand around a raw deflate stream.
        let raw = compress(
            DeflateEncoder::new(Vec::new(), Compression::default()),
            b"abc",
        )
        .finish()
        .unwrap();
        let mut body = vec![
            0x1f,
            0x8b,
            8,
            FNAME | FCOMMENT | FEXTRA,
            0,
            0,
            0,
            0,
            0,
            3,
            2,
            0,
            b'x',
            b'y',
        ];
        body.extend_from_slice(b"name\0comment\0");
        body.extend_from_slice(&raw);
        assert_eq!(run(Coding::Gzip, &body, 100, 1), (b"abc".to_vec(), None));
    }

    #[test]
    fn recycled_inflater_starts_fresh() {
        // The thread's spare inflater is reused: one left mid-stream, one left after an error
        // and one used as zlib must each decode the next body as a new one would.
        let body = gzip(b"abcdefghij abcdefghij abcdefghij");
        let cut = body.get(..body.len() / 2).unwrap_or(&[]);
        let mut bad = gzip(b"hello hello hello");
        bad[GZIP_FIXED] = 0x07;
        let mut zlib = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::default());
        std::io::Write::write_all(&mut zlib, b"zz").unwrap();
        let zlib = zlib.finish().unwrap();
        for before in [cut, &bad[..], &zlib[..]] {
            let coding = if before == &zlib[..] {
                Coding::Deflate
            } else {
                Coding::Gzip
            };
            drop(run(coding, before, 100, 3));
            assert_eq!(
                run(Coding::Gzip, &body, 100, 7),
                (b"abcdefghij abcdefghij abcdefghij".to_vec(), None)
            );
        }
    }

    #[test]
    fn corrupt() {
        assert_eq!(
            run(Coding::Gzip, b"not gzip at all", 100, 4).1,
            Some("gzip error")
        );
        let mut body = gzip(b"hello hello hello");
        body[GZIP_FIXED] = 0x07; // BFINAL = 1, BTYPE = 11: reserved (RFC 1951 section 3.2.3)
        assert_eq!(run(Coding::Gzip, &body, 100, 100).1, Some("gzip error"));
        assert_eq!(
            run(Coding::Deflate, &[0xff; 20], 100, 5).1,
            Some("deflate error")
        );
        assert_eq!(
            run(Coding::Other, b"xx", 100, 5),
            (Vec::new(), Some("encoding not decoded"))
        );
    }
}
