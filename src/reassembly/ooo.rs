//! The out-of-order buffer of one direction: copies of bytes that arrived ahead of the next
//! expected byte, sorted and never overlapping, and the memory [`Pool`] all buffers share.
//!
//! It only stores and trims; deciding when to deliver, skip or give up is `stream.rs`. Held
//! copies are never replaced: a new segment only adds the parts no copy covers yet (the
//! "first copy wins" policy explained in `stream.rs`).

use super::stream::seq_diff;
use std::collections::VecDeque;

/// Out-of-order and parking limits and the counters they feed, shared by every connection.
#[derive(Clone, Debug, Default)]
pub(crate) struct Pool {
    pub dir_bytes: usize,
    pub dir_segments: usize,
    pub total_bytes: usize,
    /// Parked segments per connection, and their payload bytes (`park.rs`).
    pub park_segments: usize,
    pub park_bytes: usize,
    /// How long (capture time, and in packets of the connection) segments stay parked
    /// waiting for ACKed unseen bytes.
    pub park_window_ns: i64,
    pub park_packets: usize,
    /// How long (capture time) a RST waits before it ends the connection.
    pub rst_grace_ns: i64,
    /// Bytes held by all streams and parked by all connections now.
    pub used: usize,
    /// Times a limit forced a stream to skip ahead.
    pub overflows: u64,
    /// Sequence space given up as gaps because of those skips.
    pub overflow_gap_bytes: u64,
    /// Segments too far ahead of their stream, ignored.
    pub out_of_window: u64,
    /// RSTs outside the receiver's window, ignored.
    pub rst_out_of_window: u64,
    /// RSTs their sender went on after, within the grace period.
    pub rst_overruled: u64,
    /// Times a direction's segments were parked behind ACKed unseen bytes, and how many of
    /// those the missing bytes then arrived for.
    pub parks: u64,
    pub parks_resolved: u64,
}

/// A copy of bytes that arrived ahead of `next`: `data`, then `missing` bytes the capture cut.
#[derive(Debug)]
pub(crate) struct Held {
    pub seq: u32,
    pub data: Vec<u8>,
    pub missing: u32,
}

impl Held {
    pub fn end(&self) -> u32 {
        self.seq
            .wrapping_add(self.data.len() as u32)
            .wrapping_add(self.missing)
    }
}

/// Held copies in sequence order, with their byte count.
#[derive(Debug, Default)]
pub(crate) struct OooBuffer {
    held: VecDeque<Held>,
    bytes: usize,
}

impl OooBuffer {
    pub fn is_empty(&self) -> bool {
        self.held.is_empty()
    }
    pub fn front(&self) -> Option<&Held> {
        self.held.front()
    }
    pub fn back(&self) -> Option<&Held> {
        self.held.back()
    }

    pub fn pop_front(&mut self, pool: &mut Pool) -> Option<Held> {
        let h = self.held.pop_front()?;
        self.forget(h.data.len(), pool);
        Some(h)
    }

    pub fn clear(&mut self, pool: &mut Pool) {
        self.forget(self.bytes, pool);
        self.held.clear();
    }

    /// True when `pieces` more copies with `bytes` data bytes stay within the limits.
    pub fn fits(&self, pieces: usize, bytes: usize, pool: &Pool) -> bool {
        self.held.len() + pieces <= pool.dir_segments
            && self.bytes + bytes <= pool.dir_bytes
            && pool.used + bytes <= pool.total_bytes
    }

    /// Drops everything at or beyond `fin`: those bytes cannot come before the FIN.
    pub fn truncate_at(&mut self, fin: u32, pool: &mut Pool) {
        while let Some(h) = self.held.back_mut() {
            let keep = fin.wrapping_sub(h.seq) as usize;
            if seq_diff(h.seq, fin) >= 0 {
                let gone = h.data.len();
                self.held.pop_back();
                self.forget(gone, pool);
                continue;
            }
            if keep < h.data.len() {
                let gone = h.data.len() - keep;
                h.data.truncate(keep);
                h.missing = 0;
                self.forget(gone, pool);
            } else {
                h.missing = h.missing.min((keep - h.data.len()) as u32);
            }
            break;
        }
    }

    /// Walks the parts of `[seq, end)` (ahead of `base`, the next expected byte) that no held
    /// copy covers, returning (pieces, data bytes). With `payload` (the bytes from `seq`) it
    /// also inserts copies of those parts.
    pub fn uncovered(
        &mut self,
        base: u32,
        seq: u32,
        end: u32,
        len: usize,
        payload: Option<&[u8]>,
        pool: &mut Pool,
    ) -> (usize, usize) {
        // Every position here is within the window ahead of `base`: offsets compare linearly.
        let rel = |x: u32| x.wrapping_sub(base);
        let (start, stop) = (rel(seq), rel(end));
        let data_end = start.saturating_add(len as u32).min(stop);
        let (mut pieces, mut bytes) = (0, 0);
        let mut add = |held: &mut VecDeque<Held>, i: usize, a: u32, b: u32| {
            pieces += 1;
            bytes += data_end.min(b).saturating_sub(a) as usize;
            if let Some(p) = payload {
                held.insert(i, piece(seq, p, base.wrapping_add(a), base.wrapping_add(b)));
            }
        };
        let (mut cursor, mut i) = (start, 0);
        while cursor < stop {
            let Some(h) = self.held.get(i) else { break };
            let (hs, he) = (rel(h.seq), rel(h.end()));
            if he <= cursor {
                i += 1;
                continue;
            }
            if hs >= stop {
                break;
            }
            if hs > cursor {
                add(&mut self.held, i, cursor, hs);
                if payload.is_some() {
                    i += 1;
                }
            }
            cursor = cursor.max(he);
            i += 1;
        }
        if cursor < stop {
            add(&mut self.held, i, cursor, stop);
        }
        if payload.is_some() {
            self.bytes += bytes;
            pool.used += bytes;
        }
        (pieces, bytes)
    }

    fn forget(&mut self, bytes: usize, pool: &mut Pool) {
        self.bytes = self.bytes.saturating_sub(bytes);
        pool.used = pool.used.saturating_sub(bytes);
    }
}

/// A held copy of `[a, b)` of a segment starting at `seq`.
fn piece(seq: u32, payload: &[u8], a: u32, b: u32) -> Held {
    let (from, to) = (a.wrapping_sub(seq) as usize, b.wrapping_sub(seq) as usize);
    let len = payload.len();
    let data = payload
        .get(from.min(len)..to.min(len))
        .unwrap_or_default()
        .to_vec();
    let missing = to.saturating_sub(from).saturating_sub(data.len()) as u32;
    Held {
        seq: a,
        data,
        missing,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pool() -> Pool {
        Pool {
            dir_bytes: 100,
            dir_segments: 10,
            total_bytes: 100,
            ..Pool::default()
        }
    }

    #[test]
    fn new_copies_fill_only_the_holes() {
        let (mut b, mut p) = (OooBuffer::default(), pool());
        b.uncovered(0, 10, 14, 4, Some(b"abcd"), &mut p);
        b.uncovered(0, 20, 22, 2, Some(b"uv"), &mut p);
        // 8..24 overlaps both: only 8..10, 14..20 and 22..24 are new.
        let body: Vec<u8> = (0..16).map(|i| b'A' + i).collect();
        assert_eq!(b.uncovered(0, 8, 24, 16, None, &mut p), (3, 10));
        b.uncovered(0, 8, 24, 16, Some(&body), &mut p);
        let seqs: Vec<(u32, Vec<u8>)> = b.held.iter().map(|h| (h.seq, h.data.clone())).collect();
        assert_eq!(
            seqs,
            vec![
                (8, b"AB".to_vec()),
                (10, b"abcd".to_vec()),
                (14, b"GHIJKL".to_vec()),
                (20, b"uv".to_vec()),
                (22, b"OP".to_vec()),
            ]
        );
        assert_eq!((b.bytes, p.used), (16, 16));
        b.truncate_at(21, &mut p);
        assert_eq!((b.back().map(Held::end), b.bytes), (Some(21), 13));
        b.clear(&mut p);
        assert_eq!(p.used, 0);
    }
}
