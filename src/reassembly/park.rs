//! Parked segments: owned copies of whole segments a connection sets aside for a short while
//! in capture time, then replays through its normal path in capture order.
//!
//! Two things park (the policies are in `conn.rs`): a direction's payload segments while the
//! reverse direction has bytes ACKed that the capture has not shown yet (capture order is not
//! wire order), and the RST receiver's segments while a RST waits out its grace period. It only
//! stores, bounds and counts; it decides nothing. Bounded per connection by a segment count and
//! a byte count, and by the shared [`Pool`] total, so parking never holds unboundedly.

use super::ooo::Pool;
use crate::model::Segment;
use std::collections::VecDeque;

/// A copy of a segment; `counted` says whether the connection statistics already saw it.
#[derive(Debug)]
pub(crate) struct Parked {
    seg: Segment<'static>,
    data: Vec<u8>,
    pub counted: bool,
}

impl Parked {
    /// The segment again, borrowing the copied payload.
    pub fn segment(&self) -> Segment<'_> {
        Segment {
            payload: &self.data,
            ..self.seg.clone()
        }
    }
}

/// Parked segments of one connection, oldest first.
#[derive(Debug, Default)]
pub(crate) struct ParkQueue {
    segs: VecDeque<Parked>,
    bytes: usize,
}

impl ParkQueue {
    #[cfg(test)]
    pub fn len(&self) -> usize {
        self.segs.len()
    }

    /// Copies `seg` in when it fits the limits; false (nothing copied) when it does not.
    pub fn push(&mut self, seg: &Segment<'_>, counted: bool, pool: &mut Pool) -> bool {
        let len = seg.payload.len();
        if self.segs.len() >= pool.park_segments
            || self.bytes + len > pool.park_bytes
            || pool.used + len > pool.total_bytes
        {
            return false;
        }
        self.bytes += len;
        pool.used += len;
        self.segs.push_back(Parked {
            seg: Segment {
                payload: &[],
                ..seg.clone()
            },
            data: seg.payload.to_vec(),
            counted,
        });
        true
    }

    /// Everything parked, oldest first; the queue is empty afterwards.
    pub fn take(&mut self, pool: &mut Pool) -> VecDeque<Parked> {
        pool.used = pool.used.saturating_sub(self.bytes);
        self.bytes = 0;
        std::mem::take(&mut self.segs)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::reassembly::tests::{seg, ACK};

    #[test]
    fn bounded_by_count_bytes_and_pool() {
        let mut pool = Pool {
            total_bytes: 100,
            park_segments: 2,
            park_bytes: 10,
            ..Pool::default()
        };
        let mut q = ParkQueue::default();
        assert!(q.push(&seg(0, true, 1, 1, ACK, b"abcdef"), true, &mut pool));
        assert!(!q.push(&seg(1, true, 7, 1, ACK, b"ghijkl"), true, &mut pool));
        assert!(q.push(&seg(2, true, 7, 1, ACK, b"gh"), false, &mut pool));
        assert!(!q.push(&seg(3, true, 9, 1, ACK, b""), true, &mut pool));
        assert_eq!((q.len(), pool.used), (2, 8));
        let got = q.take(&mut pool);
        assert_eq!(pool.used, 0);
        let first = got.front().map(Parked::segment);
        assert_eq!(
            first.map(|s| (s.seq, s.payload.to_vec())),
            Some((1, b"abcdef".to_vec()))
        );
        assert_eq!(got.back().map(|p| p.counted), Some(false));
    }
}
