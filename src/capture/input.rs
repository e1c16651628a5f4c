//! The byte source of one input: a buffer refilled from a file, stdin or a gzip stream.
//!
//! Records are parsed in place: a frame's data is a slice of this buffer, valid until the next
//! refill, so no packet is copied. Files and stdin are read ahead on a thread of their own
//! ([`super::prefetch`]): the buffer is then the current chunk, and on a refill the unread tail
//! (part of one record) moves into the next chunk's head room. Other sources (in-memory bytes,
//! the live capture's pipe) are read here, into one buffer whose unread tail moves to the front.
//! That buffer starts at [`BUFFER_SIZE`] and grows only when one record is larger than that,
//! up to [`MAX_RECORD`]; memory stays flat however long the input.
//! Gzip is detected by its magic (RFC 1952 section 2.3.1: 1f 8b) and decoded as a stream with
//! `flate2::read::MultiGzDecoder` (concatenated members, as `cat a.gz b.gz` makes), the way
//! Wireshark reads `.pcap.gz`. This module knows nothing of pcap or pcapng.

use super::error::{At, ErrorKind};
use super::prefetch::{Chunk, Prefetch};
use std::io::{self, Read};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

/// Initial (and usual) buffer size: large enough that refills are rare and reads are big.
pub const BUFFER_SIZE: usize = 1 << 20;
/// Largest record (pcap record or pcapng block) accepted; the buffer never grows beyond it.
pub const MAX_RECORD: usize = 64 << 20;
/// RFC 1952 section 2.3.1: ID1 ID2.
const GZIP_MAGIC: [u8; 2] = [0x1f, 0x8b];

/// Counts the bytes read from the underlying source (the compressed bytes, for gzip).
struct Counted<R> {
    inner: R,
    count: Arc<AtomicU64>,
}

impl<R: Read> Read for Counted<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.count.fetch_add(n as u64, Ordering::Relaxed);
        Ok(n)
    }
}

/// Where the bytes come from.
enum Source {
    /// Read on the parsing thread (in-memory sources, the live capture's pipe).
    Direct(Box<dyn Read + Send>),
    /// Read ahead on a thread of its own.
    Ahead(Prefetch),
}

/// A refillable window over a byte stream.
pub(crate) struct Input {
    src: Source,
    win: Window,
    eof: bool,
    raw: Arc<AtomicU64>,
    gzip: bool,
}

/// The bytes read and not yet consumed, and where they sit in the stream.
struct Window {
    buf: Vec<u8>,
    /// `buf[start..end]` is read but not yet consumed.
    start: usize,
    end: usize,
    /// Stream offset of `buf[0]`, modulo 2^64: a chunk's data starts after its head room, so
    /// at the first chunk `buf[0]` lies "before" the stream; offsets use wrapping adds.
    base: u64,
}

/// How a refill ended short of an error.
enum Filled {
    /// The bytes asked for are there.
    Enough,
    /// The stream ended first.
    End,
}

impl Input {
    /// Wraps a source, sniffing for gzip; `read_ahead` reads (and inflates) it on a thread of
    /// its own. Reading the first bytes may fail, and so may starting the thread.
    pub fn new(src: Box<dyn Read + Send>, read_ahead: bool) -> Result<Input, At> {
        let raw = Arc::new(AtomicU64::new(0));
        let mut counted = Counted {
            inner: src,
            count: Arc::clone(&raw),
        };
        let mut prefix = [0u8; 2];
        let got = read_full(&mut counted, &mut prefix).map_err(|e| At::new(0, ErrorKind::Io(e)))?;
        let prefix = prefix.get(..got).unwrap_or_default().to_vec();
        let gzip = prefix == GZIP_MAGIC;
        let chained = io::Cursor::new(prefix).chain(counted);
        let src: Box<dyn Read + Send> = if gzip {
            Box::new(flate2::read::MultiGzDecoder::new(chained))
        } else {
            Box::new(chained)
        };
        let (src, buf) = if read_ahead {
            let ahead = Prefetch::start(src).map_err(|e| At::new(0, ErrorKind::Io(e)))?;
            (Source::Ahead(ahead), Vec::new())
        } else {
            (Source::Direct(src), vec![0; BUFFER_SIZE])
        };
        Ok(Input {
            src,
            win: Window {
                buf,
                start: 0,
                end: 0,
                base: 0,
            },
            eof: false,
            raw,
            gzip,
        })
    }

    pub fn gzip(&self) -> bool {
        self.gzip
    }

    /// Bytes read from the underlying source so far (compressed bytes for gzip).
    pub fn raw_read(&self) -> u64 {
        self.raw.load(Ordering::Relaxed)
    }

    /// Stream offset of the first unconsumed byte.
    #[inline]
    pub fn offset(&self) -> u64 {
        self.win.offset()
    }

    /// The unconsumed bytes now in the buffer.
    #[inline]
    pub fn avail(&self) -> &[u8] {
        let w = &self.win;
        w.buf.get(w.start..w.end).unwrap_or_default()
    }

    /// Makes `n` bytes available unless the stream ends first; returns how many are available
    /// (less than `n` only at end of stream). `n` above [`MAX_RECORD`] is the caller's bug and
    /// is capped.
    #[inline]
    pub fn ensure(&mut self, n: usize) -> Result<usize, At> {
        let have = self.win.len();
        if have >= n || self.eof {
            return Ok(have);
        }
        self.refill(n.min(MAX_RECORD))
    }

    #[cold]
    fn refill(&mut self, n: usize) -> Result<usize, At> {
        let filled = match &mut self.src {
            Source::Direct(src) => self.win.read_from(src.as_mut(), n),
            Source::Ahead(ahead) => self.win.take_from(ahead, n),
        };
        match filled {
            Ok(Filled::Enough) => {}
            Ok(Filled::End) => self.eof = true,
            Err(e) => {
                self.eof = true;
                let at = self.win.base.wrapping_add(self.win.end as u64);
                let kind = if self.gzip {
                    ErrorKind::Gzip(e)
                } else {
                    ErrorKind::Io(e)
                };
                return Err(At::new(at, kind));
            }
        }
        Ok(self.win.len())
    }

    /// Marks `n` bytes consumed. Their contents stay valid until the next `ensure` refills.
    #[inline]
    pub fn consume(&mut self, n: usize) {
        let w = &mut self.win;
        w.start = w.start.saturating_add(n).min(w.end);
    }

    /// Buffer position of the first unconsumed byte, for [`Input::slice`].
    #[inline]
    pub fn pos(&self) -> usize {
        self.win.start
    }

    /// Bytes at buffer position `at` (as returned by `pos`), empty if out of range.
    #[inline]
    pub fn slice(&self, at: usize, len: usize) -> &[u8] {
        self.win
            .buf
            .get(at..at.saturating_add(len))
            .unwrap_or_default()
    }
}

impl Window {
    #[inline]
    fn len(&self) -> usize {
        self.end - self.start
    }

    #[inline]
    fn offset(&self) -> u64 {
        self.base.wrapping_add(self.start as u64)
    }

    /// Reads `src` into this buffer, behind the unread tail moved to the front, until `n`
    /// bytes are unread or the stream ends.
    fn read_from(&mut self, src: &mut dyn Read, n: usize) -> io::Result<Filled> {
        self.compact();
        if n > self.buf.len() {
            // A legitimately large record: grow to fit it (bounded by MAX_RECORD).
            self.buf
                .resize(n.next_power_of_two().min(MAX_RECORD).max(n), 0);
        }
        while self.end < n {
            let Some(room) = self.buf.get_mut(self.end..) else {
                break;
            };
            match src.read(room) {
                Ok(0) => return Ok(Filled::End),
                Ok(got) => self.end += got,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
        Ok(Filled::Enough)
    }

    /// Takes chunks from the read-ahead thread until `n` bytes are unread or the stream ends.
    fn take_from(&mut self, ahead: &Prefetch, n: usize) -> io::Result<Filled> {
        while self.len() < n {
            match ahead.next() {
                Chunk::Data { buf, at, len } => ahead.give_back(self.take_chunk(buf, at, len)),
                Chunk::End => return Ok(Filled::End),
                Chunk::Failed(e) => return Err(e),
            }
        }
        Ok(Filled::Enough)
    }

    /// Makes a chunk from the read-ahead thread current; returns the buffer now spent.
    fn take_chunk(&mut self, mut chunk: Vec<u8>, head: usize, len: usize) -> Vec<u8> {
        let tail = self.len();
        if tail <= head {
            // The usual case: the tail (part of one record) goes into the head room.
            let at = head - tail;
            if let (Some(to), Some(from)) =
                (chunk.get_mut(at..head), self.buf.get(self.start..self.end))
            {
                to.copy_from_slice(from);
            }
            let tail_offset = self.offset();
            let spent = std::mem::replace(&mut self.buf, chunk);
            self.base = tail_offset.wrapping_sub(at as u64);
            self.start = at;
            self.end = head + len;
            return spent;
        }
        // A record longer than the head room: append the chunk to the current buffer, which
        // stays below MAX_RECORD + CHUNK (the caller never asks for more than MAX_RECORD).
        self.compact();
        let need = self.end + len;
        if self.buf.len() < need {
            self.buf.resize(need, 0);
        }
        if let (Some(to), Some(from)) = (
            self.buf.get_mut(self.end..need),
            chunk.get(head..head + len),
        ) {
            to.copy_from_slice(from);
        }
        self.end = need;
        chunk
    }

    /// Moves the unconsumed bytes to the front of the buffer.
    fn compact(&mut self) {
        if self.start > 0 {
            self.buf.copy_within(self.start..self.end, 0);
            self.base = self.base.wrapping_add(self.start as u64);
            self.end -= self.start;
            self.start = 0;
        }
    }
}

/// Reads until `buf` is full or the stream ends; returns the bytes read.
fn read_full(r: &mut impl Read, buf: &mut [u8]) -> io::Result<usize> {
    let mut got = 0;
    while got < buf.len() {
        match r.read(buf.get_mut(got..).unwrap_or_default()) {
            Ok(0) => break,
            Ok(n) => got += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(got)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refill_moves_tail_and_grows_for_large_records() {
        let data: Vec<u8> = (0..3 * BUFFER_SIZE).map(|i| i as u8).collect();
        let mut input = Input::new(Box::new(io::Cursor::new(data.clone())), false).unwrap();
        assert!(input.ensure(10).unwrap() >= 10);
        input.consume(BUFFER_SIZE - 5);
        // Needs a refill: the 5-byte tail moves to the front.
        assert!(input.ensure(2 * BUFFER_SIZE).unwrap() >= 2 * BUFFER_SIZE);
        assert_eq!(input.offset(), (BUFFER_SIZE - 5) as u64);
        assert_eq!(input.avail()[..5], data[BUFFER_SIZE - 5..BUFFER_SIZE]);
        input.consume(usize::MAX);
        let left = data.len() as u64 - input.offset();
        assert_eq!(input.ensure(4 * BUFFER_SIZE).unwrap() as u64, left);
    }

    /// Hands out at most `step(i)` bytes on the i-th read, then fails if `fail` says so.
    struct Jagged {
        data: Vec<u8>,
        at: usize,
        reads: usize,
        fail: bool,
    }

    impl Read for Jagged {
        fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
            self.reads += 1;
            let rest = self.data.get(self.at..).unwrap_or_default();
            if rest.is_empty() && self.fail {
                return Err(io::Error::other("device gone"));
            }
            // Sizes from a few bytes to a few hundred KiB, so tails of every length cross
            // chunk boundaries.
            let step = 1 + (self.reads * 7919) % (300 << 10);
            let n = rest.len().min(buf.len()).min(step);
            buf[..n].copy_from_slice(&rest[..n]);
            self.at += n;
            Ok(n)
        }
    }

    fn jagged(len: usize, fail: bool) -> (Vec<u8>, Box<Jagged>) {
        let data: Vec<u8> = (0..len).map(|i| (i * 31 + i / 251) as u8).collect();
        let src = Jagged {
            data: data.clone(),
            at: 0,
            reads: 0,
            fail,
        };
        (data, Box::new(src))
    }

    /// Reads records of varied sizes (some longer than a chunk's head room, one longer than
    /// the direct buffer) and checks every byte and offset, both ways of reading.
    #[test]
    fn records_come_out_whole_and_in_place_read_ahead_or_not() {
        let sizes = [
            16,
            1,
            1500,
            70_000,
            300 << 10,
            3,
            2 * BUFFER_SIZE + 5,
            64,
            9000,
        ];
        for read_ahead in [false, true] {
            let (data, src) = jagged(6 * BUFFER_SIZE + 123, false);
            let mut input = Input::new(src, read_ahead).unwrap();
            let mut at = 0usize;
            for (i, size) in sizes.iter().cycle().enumerate() {
                let have = input.ensure(*size).unwrap();
                assert_eq!(
                    input.offset(),
                    at as u64,
                    "read_ahead {read_ahead}, record {i}"
                );
                let want = &data[at..(at + size).min(data.len())];
                assert!(have >= want.len());
                assert_eq!(
                    &input.avail()[..want.len()],
                    want,
                    "read_ahead {read_ahead}"
                );
                let pos = input.pos();
                assert_eq!(input.slice(pos, want.len()), want);
                input.consume(want.len());
                at += want.len();
                if at == data.len() {
                    break;
                }
            }
            assert_eq!(input.ensure(1).unwrap(), 0);
        }
    }

    #[test]
    fn a_failing_source_is_reported_at_the_offset_it_failed() {
        for read_ahead in [false, true] {
            let (data, src) = jagged(BUFFER_SIZE + 10, true);
            let mut input = Input::new(src, read_ahead).unwrap();
            let mut at = 0;
            let err = loop {
                match input.ensure(4096) {
                    Ok(have) => {
                        assert_eq!(
                            input.avail()[..have.min(4096)],
                            data[at..at + have.min(4096)]
                        );
                        at += have.min(4096);
                        input.consume(4096);
                    }
                    Err(e) => break e,
                }
            };
            assert_eq!(err.offset, data.len() as u64, "read_ahead {read_ahead}");
            assert!(matches!(err.kind, ErrorKind::Io(_)));
        }
    }

    #[test]
    fn gzip_is_detected_and_counted_compressed() {
        use flate2::write::GzEncoder;
        use std::io::Write;
        let plain = vec![7u8; 100_000];
        let mut enc = GzEncoder::new(Vec::new(), flate2::Compression::default());
        enc.write_all(&plain).unwrap();
        let gz = enc.finish().unwrap();
        let mut input = Input::new(Box::new(io::Cursor::new(gz.clone())), false).unwrap();
        assert!(input.gzip());
        assert_eq!(input.ensure(200_000).unwrap(), 100_000);
        assert_eq!(input.raw_read(), gz.len() as u64);
    }

    #[test]
    fn empty_and_one_byte_sources() {
        let mut input = Input::new(Box::new(io::empty()), false).unwrap();
        assert_eq!(input.ensure(4).unwrap(), 0);
        let mut input = Input::new(Box::new(io::Cursor::new(vec![0x1f])), false).unwrap();
        assert!(!input.gzip());
        assert_eq!(input.ensure(4).unwrap(), 1);
    }
}
