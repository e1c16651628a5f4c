//! The in-process pipe from the capture thread to the analysis: chunks of pcap bytes over a
//! bounded channel, read back as one `io::Read` byte stream by the offline reader
//! ([`FileReader::from_reader`](crate::capture::FileReader::from_reader)).
//!
//! Why a channel and not an OS pipe: no system call per chunk, no file descriptors, and the
//! chunks are handed over without copying (the reader copies once, into the reader's buffer).
//! Spent chunks travel back to the writer to be reused, so a steady capture allocates nothing.
//!
//! Bounded: at most `in_flight` chunks wait. When the analysis lags, [`PipeWriter::send`]
//! blocks, the capture thread stops draining libpcap, and the kernel's ring buffer absorbs the
//! burst; if it overflows the kernel counts the drops (reported as `dropped`), the way a slow
//! `tcpdump -w - | reader` behaves. Memory stays at `in_flight` chunks whatever the rate.

use std::io::{self, Read};
use std::sync::mpsc::{self, Receiver, Sender, SyncSender};

/// A chunk is sent once it holds this many bytes (or sooner, see the capture loop).
pub const CHUNK_BYTES: usize = 64 * 1024;

/// The reader went away (the analysis stopped, e.g. on a closed stdout).
#[derive(Debug, PartialEq, Eq)]
pub struct Closed;

/// The capture thread's end.
pub struct PipeWriter {
    tx: SyncSender<Vec<u8>>,
    spent: Receiver<Vec<u8>>,
}

/// The analysis' end: a byte stream that ends when the writer is dropped.
pub struct PipeReader {
    rx: Receiver<Vec<u8>>,
    spent: Sender<Vec<u8>>,
    current: Vec<u8>,
    pos: usize,
}

/// A pipe holding at most `in_flight` chunks in transit (at least one).
pub fn pipe(in_flight: usize) -> (PipeWriter, PipeReader) {
    let (tx, rx) = mpsc::sync_channel(in_flight.max(1));
    let (spent_tx, spent_rx) = mpsc::channel();
    (
        PipeWriter {
            tx,
            spent: spent_rx,
        },
        PipeReader {
            rx,
            spent: spent_tx,
            current: Vec::new(),
            pos: 0,
        },
    )
}

impl PipeWriter {
    /// Sends the bytes of `chunk` (blocking while the pipe is full) and leaves `chunk` empty,
    /// holding a spent buffer when one came back. An empty chunk is not sent.
    pub fn send(&mut self, chunk: &mut Vec<u8>) -> Result<(), Closed> {
        if chunk.is_empty() {
            return Ok(());
        }
        let next = match self.spent.try_recv() {
            Ok(mut b) => {
                b.clear();
                b
            }
            Err(_) => Vec::with_capacity(CHUNK_BYTES + CHUNK_BYTES / 4),
        };
        let full = std::mem::replace(chunk, next);
        self.tx.send(full).map_err(|_| Closed)
    }
}

impl Read for PipeReader {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if buf.is_empty() {
            return Ok(0);
        }
        while self.pos >= self.current.len() {
            let next = match self.rx.recv() {
                Ok(next) => next,
                // Every writer dropped: the end of the stream.
                Err(_) => return Ok(0),
            };
            let spent = std::mem::replace(&mut self.current, next);
            self.pos = 0;
            if spent.capacity() > 0 {
                // The writer may be gone already; then the buffer is simply dropped.
                let _ = self.spent.send(spent);
            }
        }
        let rest = self.current.get(self.pos..).unwrap_or_default();
        let n = rest.len().min(buf.len());
        if let (Some(dst), Some(src)) = (buf.get_mut(..n), rest.get(..n)) {
            dst.copy_from_slice(src);
        }
        self.pos += n;
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bytes_arrive_in_order_and_the_stream_ends_with_the_writer() {
        let (mut w, mut r) = pipe(2);
        let sender = std::thread::spawn(move || {
            for i in 0..100u8 {
                let mut chunk = vec![i; usize::from(i) * 37 + 1];
                w.send(&mut chunk).unwrap();
                assert!(chunk.is_empty(), "send leaves the chunk empty");
                // An empty chunk is not sent (the reader must not see a spurious end).
                w.send(&mut chunk).unwrap();
            }
        });
        let mut got = Vec::new();
        r.read_to_end(&mut got).unwrap();
        sender.join().unwrap();
        let want: Vec<u8> = (0..100u8)
            .flat_map(|i| std::iter::repeat_n(i, usize::from(i) * 37 + 1))
            .collect();
        assert_eq!(got, want);
    }

    #[test]
    fn small_reads_take_a_chunk_piece_by_piece() {
        let (mut w, mut r) = pipe(1);
        w.send(&mut vec![1, 2, 3, 4, 5]).unwrap();
        drop(w);
        let mut b = [0u8; 2];
        assert_eq!(r.read(&mut b).unwrap(), 2);
        assert_eq!(b, [1, 2]);
        assert_eq!(r.read(&mut b).unwrap(), 2);
        assert_eq!(b, [3, 4]);
        assert_eq!(r.read(&mut b).unwrap(), 1);
        assert_eq!(r.read(&mut b).unwrap(), 0);
    }

    #[test]
    fn a_gone_reader_closes_the_pipe() {
        let (mut w, r) = pipe(1);
        drop(r);
        assert_eq!(w.send(&mut vec![1]), Err(Closed));
    }

    #[test]
    fn spent_chunks_are_reused() {
        let (mut w, mut r) = pipe(4);
        let mut chunk = Vec::with_capacity(1000);
        chunk.push(1);
        w.send(&mut chunk).unwrap();
        chunk.push(2);
        w.send(&mut chunk).unwrap();
        let mut b = [0u8; 8];
        // Reading into the second chunk sends the first one back.
        assert_eq!(r.read(&mut b).unwrap(), 1);
        assert_eq!(r.read(&mut b).unwrap(), 1);
        chunk.push(3);
        w.send(&mut chunk).unwrap();
        assert_eq!(chunk.capacity(), 1000, "the first chunk's buffer came back");
    }
}
