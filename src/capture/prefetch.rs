//! Read-ahead: a thread that reads an input (and inflates it, for gzip) into chunks while the
//! analysis parses the previous ones, so the read system calls and the kernel's page-cache
//! copies leave the analysis thread, the critical path.
//!
//! Why a thread and not mmap: inputs may be pipes (stdin, `tcpdump -w -`) or gzip streams, and
//! with mmap the page faults would still land on the analysing thread.
//!
//! Each chunk's data starts at or after [`HEAD`] bytes into its buffer, at a 64-byte-aligned
//! address ([`READ_ALIGN`]). [`super::input::Input`] puts the unconsumed tail of the previous
//! chunk (part of one record) into that head room, so records stay contiguous with no copy of
//! the chunk itself; only a record longer than the head room (rare: pcap records are at most a
//! snaplen, 262144 bytes) takes a copying path.
//!
//! The alignment matters more than anything else here. Linux copies page-cache pages into a
//! 16-byte-aligned destination (what `malloc` returns) four to five times slower than into a
//! 64-byte-aligned one when the file offset is page-aligned, as read-ahead's is: 0.65-0.8 s
//! against 0.13-0.16 s of system time per GiB on our 2-core VM (docs/performance.md, round 8).
//!
//! Memory is bounded: at most [`IN_FLIGHT`] chunks wait in the channel, one is being filled
//! and one is held by the parser; spent chunks come back for reuse, so no chunk is allocated
//! per read after the first few.
//!
//! A chunk is sent after each successful `read`, not when full, so a slow pipe (live capture
//! writing a record at a time) is not held back to fill a chunk.

use std::io::{self, Read};
use std::sync::mpsc::{channel, sync_channel, Receiver, Sender, SyncSender};

/// Bytes read per chunk. Measured on the 1 GiB Bookinfo capture: 256 KiB and 512 KiB alike,
/// 128 KiB (more hand-offs) and 1-2 MiB (data out of cache when parsed) slower.
pub const CHUNK: usize = 512 << 10;
/// Room before each chunk's data for the previous chunk's unconsumed tail.
pub const HEAD: usize = 256 << 10;
/// Alignment of each chunk's data (a cache line).
pub const READ_ALIGN: usize = 64;
/// Length of a chunk buffer: head room, data, and slack for aligning the data.
const BUF_LEN: usize = HEAD + CHUNK + READ_ALIGN;
/// Chunks read ahead of the parser.
const IN_FLIGHT: usize = 2;

/// What the read-ahead thread delivers.
pub enum Chunk {
    /// `buf[at..at + len]` holds the next bytes of the stream; `at` >= [`HEAD`].
    Data { buf: Vec<u8>, at: usize, len: usize },
    /// The source ended.
    End,
    /// The source failed; nothing follows.
    Failed(io::Error),
}

/// The parser's end of a read-ahead thread.
pub struct Prefetch {
    filled: Receiver<Chunk>,
    spent: Sender<Vec<u8>>,
}

impl Prefetch {
    /// Starts a thread reading `src` until it ends, fails, or this end is dropped.
    pub fn start(src: Box<dyn Read + Send>) -> io::Result<Prefetch> {
        let (filled_tx, filled) = sync_channel::<Chunk>(IN_FLIGHT);
        let (spent, spent_rx) = channel::<Vec<u8>>();
        std::thread::Builder::new()
            .name("hopscope-read".into())
            .spawn(move || fill(src, &filled_tx, &spent_rx))?;
        Ok(Prefetch { filled, spent })
    }

    /// The next chunk, waiting for it. The thread always sends an end or a failure last, so
    /// a channel closed without one means the thread died: a failure, never a clean end
    /// that would pass a cut stream off as whole.
    pub fn next(&self) -> Chunk {
        self.filled
            .recv()
            .unwrap_or_else(|_| Chunk::Failed(io::Error::other("the read-ahead thread stopped")))
    }

    /// Hands a chunk buffer back for reuse (dropped if it is not chunk-shaped).
    pub fn give_back(&self, buf: Vec<u8>) {
        if buf.len() == BUF_LEN {
            // The thread may have stopped; then the buffer is simply dropped.
            let _ = self.spent.send(buf);
        }
    }
}

/// Where a chunk's data starts: the first [`READ_ALIGN`]-aligned address at or after
/// `buf[HEAD]`.
fn data_at(buf: &[u8]) -> usize {
    let misalign = (buf.as_ptr() as usize + HEAD) % READ_ALIGN;
    HEAD + (READ_ALIGN - misalign) % READ_ALIGN
}

/// The thread's loop: read, send, repeat; stops at the end, on an error, or when the parser
/// is gone (its receiver dropped).
fn fill(mut src: Box<dyn Read + Send>, out: &SyncSender<Chunk>, spent: &Receiver<Vec<u8>>) {
    loop {
        let mut buf = spent.try_recv().unwrap_or_else(|_| vec![0; BUF_LEN]);
        let at = data_at(&buf);
        let room = buf.get_mut(at..at + CHUNK).unwrap_or_default();
        let msg = match src.read(room) {
            Ok(0) => Chunk::End,
            Ok(len) => Chunk::Data { buf, at, len },
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => Chunk::Failed(e),
        };
        let last = !matches!(msg, Chunk::Data { .. });
        if out.send(msg).is_err() || last {
            return;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chunks_are_aligned_and_bounded_and_carry_the_stream_in_order() {
        let data: Vec<u8> = (0..3 * CHUNK + 17).map(|i| (i * 7) as u8).collect();
        let ahead = Prefetch::start(Box::new(io::Cursor::new(data.clone()))).unwrap();
        let mut got = Vec::new();
        loop {
            match ahead.next() {
                Chunk::Data { buf, at, len } => {
                    assert!(at >= HEAD && at + len <= buf.len());
                    assert_eq!(buf[at..].as_ptr() as usize % READ_ALIGN, 0);
                    got.extend_from_slice(&buf[at..at + len]);
                    ahead.give_back(buf);
                }
                Chunk::End => break,
                Chunk::Failed(e) => panic!("{e}"),
            }
        }
        assert_eq!(got, data);
    }

    /// A reader that dies mid-stream (here, a panic in the source) is a failure, not an end.
    #[test]
    fn a_dead_reader_is_a_failure() {
        struct Dies;
        impl Read for Dies {
            fn read(&mut self, _: &mut [u8]) -> io::Result<usize> {
                panic!("source gone (expected by the test)");
            }
        }
        let ahead = Prefetch::start(Box::new(Dies)).unwrap();
        assert!(matches!(ahead.next(), Chunk::Failed(_)));
    }
}
