//! The byte source of one input: one large buffer refilled from a file, stdin or a gzip
//! stream, with the unread tail moved to the front on each refill.
//!
//! Records are parsed in place: a frame's data is a slice of this buffer, valid until the next
//! refill, so no packet is copied. The buffer starts at [`BUFFER_SIZE`] and grows only when one
//! record is larger than that, up to [`MAX_RECORD`]; memory stays flat however long the input.
//! Gzip is detected by its magic (RFC 1952 section 2.3.1: 1f 8b) and decoded as a stream with
//! `flate2::read::MultiGzDecoder` (concatenated members, as `cat a.gz b.gz` makes), the way
//! Wireshark reads `.pcap.gz`. This module knows nothing of pcap or pcapng.

use super::error::{At, ErrorKind};
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

/// A refillable window over a byte stream.
pub(crate) struct Input {
    src: Box<dyn Read + Send>,
    buf: Vec<u8>,
    /// `buf[start..end]` is read but not yet consumed.
    start: usize,
    end: usize,
    /// Stream offset of `buf[0]`.
    base: u64,
    eof: bool,
    raw: Arc<AtomicU64>,
    gzip: bool,
}

impl Input {
    /// Wraps a source, sniffing for gzip. Reading the first bytes may fail.
    pub fn new(src: Box<dyn Read + Send>) -> Result<Input, At> {
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
        Ok(Input {
            src,
            buf: vec![0; BUFFER_SIZE],
            start: 0,
            end: 0,
            base: 0,
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
        self.base + self.start as u64
    }

    /// The unconsumed bytes now in the buffer.
    #[inline]
    pub fn avail(&self) -> &[u8] {
        self.buf.get(self.start..self.end).unwrap_or_default()
    }

    /// Makes `n` bytes available unless the stream ends first; returns how many are available
    /// (less than `n` only at end of stream). `n` above [`MAX_RECORD`] is the caller's bug and
    /// is capped.
    #[inline]
    pub fn ensure(&mut self, n: usize) -> Result<usize, At> {
        let have = self.end - self.start;
        if have >= n || self.eof {
            return Ok(have);
        }
        self.refill(n.min(MAX_RECORD))
    }

    #[cold]
    fn refill(&mut self, n: usize) -> Result<usize, At> {
        if self.start > 0 {
            self.buf.copy_within(self.start..self.end, 0);
            self.base += self.start as u64;
            self.end -= self.start;
            self.start = 0;
        }
        if n > self.buf.len() {
            // A legitimately large record: grow to fit it (bounded by MAX_RECORD).
            self.buf
                .resize(n.next_power_of_two().min(MAX_RECORD).max(n), 0);
        }
        while self.end < n {
            let Some(room) = self.buf.get_mut(self.end..) else {
                break;
            };
            match self.src.read(room) {
                Ok(0) => {
                    self.eof = true;
                    break;
                }
                Ok(got) => self.end += got,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => {
                    self.eof = true;
                    let at = self.base + self.end as u64;
                    let kind = if self.gzip {
                        ErrorKind::Gzip(e)
                    } else {
                        ErrorKind::Io(e)
                    };
                    return Err(At::new(at, kind));
                }
            }
        }
        Ok(self.end)
    }

    /// Marks `n` bytes consumed. Their contents stay valid until the next `ensure` refills.
    #[inline]
    pub fn consume(&mut self, n: usize) {
        self.start = (self.start + n).min(self.end);
    }

    /// Buffer position of the first unconsumed byte, for [`Input::slice`].
    #[inline]
    pub fn pos(&self) -> usize {
        self.start
    }

    /// Bytes at buffer position `at` (as returned by `pos`), empty if out of range.
    #[inline]
    pub fn slice(&self, at: usize, len: usize) -> &[u8] {
        self.buf.get(at..at.saturating_add(len)).unwrap_or_default()
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
        let mut input = Input::new(Box::new(io::Cursor::new(data.clone()))).unwrap();
        assert!(input.ensure(10).unwrap() >= 10);
        input.consume(BUFFER_SIZE - 5);
        // Needs a refill: the 5-byte tail moves to the front.
        assert!(input.ensure(2 * BUFFER_SIZE).unwrap() >= 2 * BUFFER_SIZE);
        assert_eq!(input.offset(), (BUFFER_SIZE - 5) as u64);
        assert_eq!(input.avail()[..5], data[BUFFER_SIZE - 5..BUFFER_SIZE]);
        input.consume(usize::MAX);
        // 3 MiB in all: 1 MiB - 5 consumed before, 2 MiB consumed now, 5 bytes left.
        assert_eq!(input.ensure(4 * BUFFER_SIZE).unwrap(), 5);
    }

    #[test]
    fn gzip_is_detected_and_counted_compressed() {
        use flate2::write::GzEncoder;
        use std::io::Write;
        let plain = vec![7u8; 100_000];
        let mut enc = GzEncoder::new(Vec::new(), flate2::Compression::default());
        enc.write_all(&plain).unwrap();
        let gz = enc.finish().unwrap();
        let mut input = Input::new(Box::new(io::Cursor::new(gz.clone()))).unwrap();
        assert!(input.gzip());
        assert_eq!(input.ensure(200_000).unwrap(), 100_000);
        assert_eq!(input.raw_read(), gz.len() as u64);
    }

    #[test]
    fn empty_and_one_byte_sources() {
        let mut input = Input::new(Box::new(io::empty())).unwrap();
        assert_eq!(input.ensure(4).unwrap(), 0);
        let mut input = Input::new(Box::new(io::Cursor::new(vec![0x1f]))).unwrap();
        assert!(!input.gzip());
        assert_eq!(input.ensure(4).unwrap(), 1);
    }
}
