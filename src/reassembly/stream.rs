//! One direction of a TCP connection: sequence tracking and the bounded out-of-order buffer.
//!
//! A [`Stream`] turns the segments one side sent into an in-order byte stream handed to a
//! [`Sink`] as data, gaps and the end. It knows nothing of flags other than FIN, of roles or of
//! the flow table; the connection state machine (`conn.rs`) drives it.
//!
//! Sequence numbers are compared modulo 2^32 as RFC 9293 section 3.4 prescribes
//! (`a < b` iff `(a - b) as i32 < 0`), so a stream crossing 2^32 reassembles like any other.
//! Positions that matter are always within [`MAX_WINDOW`] of `next`, so offsets relative to
//! `next` can be compared as plain integers.
//!
//! Overlap policy: the first copy captured wins. Bytes already delivered are never delivered
//! again, and bytes already held out of order are never replaced by a later copy; a later
//! segment only contributes the bytes nobody covered yet. The first copy is what the receiver
//! most likely accepted first (Linux `tcp_data_queue_ofo` keeps the queued skb and trims the
//! newcomer), it is Zeek's and most reassemblers' "first" policy, and it makes the result
//! independent of junk sent later. A retransmission carrying different bytes is counted like
//! any retransmission; its bytes are not compared (that would be a per-byte scan).

use super::ooo::OooBuffer;
pub(crate) use super::ooo::Pool;

/// The largest window TCP can announce (RFC 7323 section 2.3: scale 14, 2^30 bytes). A segment
/// or ACK further than this ahead of the next expected byte is not part of this stream.
pub(crate) const MAX_WINDOW: u32 = 1 << 30;

/// `a - b` in sequence space, as a signed distance (RFC 9293 section 3.4).
#[inline]
pub(crate) fn seq_diff(a: u32, b: u32) -> i32 {
    a.wrapping_sub(b) as i32
}

/// Where a stream delivers what became in order.
pub(crate) trait Sink {
    fn data(&mut self, bytes: &[u8]);
    fn gap(&mut self, len: u64);
    fn end(&mut self);
}

/// What a segment was to the stream, for the statistics.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub(crate) enum Accepted {
    /// New bytes (or nothing) at the next expected position.
    InOrder,
    /// Ahead of the next expected byte: held (or forced a skip).
    OutOfOrder,
    /// Only bytes already delivered or held (at least partly, for a partial overlap).
    Retransmission,
    /// Too far ahead to belong here.
    Ignored,
}

/// One direction's reassembly state.
#[derive(Debug, Default)]
pub(crate) struct Stream {
    started: bool,
    isn: u32,
    /// Next sequence number expected (RCV.NXT as the capture sees it).
    next: u32,
    /// Sequence number of the FIN, once seen (the first FIN wins).
    fin_at: Option<u32>,
    ended: bool,
    held: OooBuffer,
}

impl Stream {
    /// Starts at `seq`: the first byte seen is the first byte of the stream (no gap before it).
    pub fn start(&mut self, seq: u32) {
        self.started = true;
        self.isn = seq.wrapping_sub(1);
        self.next = seq;
    }

    /// Starts from a SYN: data begins at ISN + 1 (RFC 9293 section 3.4).
    pub fn start_syn(&mut self, isn: u32) {
        self.start(isn.wrapping_add(1));
        self.isn = isn;
    }

    pub fn started(&self) -> bool {
        self.started
    }
    pub fn isn(&self) -> u32 {
        self.isn
    }
    pub fn next(&self) -> u32 {
        self.next
    }
    pub fn ended(&self) -> bool {
        self.ended
    }

    /// Takes a segment's sequence space: `payload` then `missing` cut bytes from `seq`, then a
    /// FIN if `fin`. In-order bytes go to `sink` straight from `payload`.
    pub fn accept(
        &mut self,
        seq: u32,
        payload: &[u8],
        missing: u32,
        fin: bool,
        pool: &mut Pool,
        sink: &mut impl Sink,
    ) -> Accepted {
        if self.started
            && !self.ended
            && seq == self.next
            && missing == 0
            && !fin
            && self.fin_at.is_none()
            && self.held.is_empty()
            && !payload.is_empty()
            && payload.len() < MAX_WINDOW as usize
        {
            // The common case, what the general path below does for it in fewer steps: new
            // bytes exactly at `next`, nothing held, no FIN known: all of it is delivered.
            self.next = seq.wrapping_add(payload.len() as u32);
            sink.data(payload);
            return Accepted::InOrder;
        }
        if !self.started {
            self.start(seq);
        }
        let payload = payload.get(..MAX_WINDOW as usize).unwrap_or(payload);
        let len = (payload.len() as u32)
            .saturating_add(missing)
            .min(MAX_WINDOW);
        let mut end = seq.wrapping_add(len);
        if self.ended {
            return if len > 0 || fin {
                Accepted::Retransmission
            } else {
                Accepted::InOrder
            };
        }
        let ahead = seq_diff(seq, self.next);
        if ahead > MAX_WINDOW as i32 {
            pool.out_of_window += 1;
            return Accepted::Ignored;
        }
        if len == 0 && !fin {
            // A bare ACK occupies no sequence space: ahead of a hole it is neither held nor a
            // retransmission (it only says the sender sent up to there).
            return Accepted::InOrder;
        }
        if fin && self.fin_at.is_none() && seq_diff(end, self.next) >= 0 {
            self.set_fin(end, pool);
        }
        if let Some(f) = self.fin_at {
            if seq_diff(end, f) > 0 {
                end = if seq_diff(seq, f) < 0 { f } else { seq };
            }
        }
        let verdict = if ahead < 0 && (len > 0 || fin) {
            Accepted::Retransmission
        } else if ahead > 0 {
            Accepted::OutOfOrder
        } else {
            Accepted::InOrder
        };
        if seq_diff(end, self.next) > 0 {
            if ahead <= 0 {
                self.deliver(seq, payload, end, pool, sink);
            } else if !self.hold(seq, payload, end, pool, sink) {
                return Accepted::Retransmission;
            }
        }
        self.check_fin(sink);
        verdict
    }

    /// The peer acknowledged up to `ack`: bytes below it that the capture did not see are lost
    /// for good (Wireshark's "ACKed unseen segment"). Returns the gap bytes emitted.
    pub fn ack_to(&mut self, ack: u32, pool: &mut Pool, sink: &mut impl Sink) -> u64 {
        if !self.started || self.ended {
            return 0;
        }
        let ahead = seq_diff(ack, self.next);
        if ahead <= 0 || ahead > MAX_WINDOW as i32 {
            return 0;
        }
        self.skip_to(ack, pool, sink)
    }

    /// True when `ack` acknowledges bytes of this stream the capture has not shown yet (within
    /// the window: a wild ACK is not evidence of anything).
    pub fn acks_unseen(&self, ack: u32) -> bool {
        let ahead = seq_diff(ack, self.next);
        self.started && !self.ended && ahead > 0 && ahead <= MAX_WINDOW as i32
    }

    /// Closing: everything held is delivered, holes below it (or below the FIN) become gaps.
    pub fn flush(&mut self, pool: &mut Pool, sink: &mut impl Sink) -> u64 {
        let target = match (self.fin_at, self.held.back()) {
            (Some(f), _) => f.wrapping_add(1),
            (None, Some(h)) => h.end(),
            (None, None) => return 0,
        };
        let gaps = if self.ended {
            0
        } else {
            self.skip_to(target, pool, sink)
        };
        self.release(pool);
        gaps
    }

    /// Marks the direction ended (RST), telling the sink once.
    pub fn abort(&mut self, pool: &mut Pool, sink: &mut impl Sink) {
        self.release(pool);
        if !self.ended {
            self.ended = true;
            sink.end();
        }
    }

    fn release(&mut self, pool: &mut Pool) {
        self.held.clear(pool);
    }

    fn set_fin(&mut self, fin: u32, pool: &mut Pool) {
        self.fin_at = Some(fin);
        self.held.truncate_at(fin, pool);
    }

    fn check_fin(&mut self, sink: &mut impl Sink) {
        if !self.ended && self.fin_at == Some(self.next) {
            self.next = self.next.wrapping_add(1);
            self.ended = true;
            sink.end();
        }
    }

    /// Delivers `[next, end)` of a segment starting at or before `next`, yielding to held bytes
    /// where they overlap (first copy wins), then drains what became in order.
    fn deliver(
        &mut self,
        seq: u32,
        payload: &[u8],
        end: u32,
        pool: &mut Pool,
        sink: &mut impl Sink,
    ) {
        loop {
            self.drain(pool, sink);
            if seq_diff(end, self.next) <= 0 {
                break;
            }
            let stop = match self.held.front() {
                Some(h) if seq_diff(h.seq, end) < 0 => h.seq,
                _ => end,
            };
            emit(seq, payload, self.next, stop, sink);
            self.next = stop;
        }
        self.drain(pool, sink);
    }

    /// Delivers held copies that reached `next`.
    fn drain(&mut self, pool: &mut Pool, sink: &mut impl Sink) {
        while let Some(h) = self.held.front() {
            if seq_diff(h.seq, self.next) > 0 {
                break;
            }
            let Some(h) = self.held.pop_front(pool) else {
                break;
            };
            let end = h.end();
            if seq_diff(end, self.next) > 0 {
                emit(h.seq, &h.data, self.next, end, sink);
                self.next = end;
            }
        }
    }

    /// Moves `next` to `target` (never past the FIN), delivering held bytes and emitting
    /// every hole as a gap. Returns the gap bytes.
    fn skip_to(&mut self, mut target: u32, pool: &mut Pool, sink: &mut impl Sink) -> u64 {
        if let Some(f) = self.fin_at {
            if seq_diff(target, f) > 0 {
                target = f;
            }
        }
        let mut gaps = 0;
        loop {
            self.drain(pool, sink);
            if seq_diff(target, self.next) <= 0 {
                break;
            }
            let hole_end = match self.held.front() {
                Some(h) if seq_diff(h.seq, target) < 0 => h.seq,
                _ => target,
            };
            let len = u64::from(hole_end.wrapping_sub(self.next));
            sink.gap(len);
            gaps += len;
            self.next = hole_end;
        }
        self.check_fin(sink);
        gaps
    }

    /// Holds the not-yet-covered parts of `[seq, end)` (ahead of `next`). When a limit is hit,
    /// skips to the first held segment (its hole becomes a gap) until the copy fits or the
    /// segment itself is in order. Returns false when every byte was already held.
    fn hold(
        &mut self,
        seq: u32,
        payload: &[u8],
        end: u32,
        pool: &mut Pool,
        sink: &mut impl Sink,
    ) -> bool {
        loop {
            if seq_diff(end, self.next) <= 0 {
                return true;
            }
            if seq_diff(seq, self.next) <= 0 {
                self.deliver(seq, payload, end, pool, sink);
                return true;
            }
            let next = self.next;
            let (pieces, bytes) = self
                .held
                .uncovered(next, seq, end, payload.len(), None, pool);
            if pieces == 0 {
                return false;
            }
            if self.held.fits(pieces, bytes, pool) {
                self.held
                    .uncovered(next, seq, end, payload.len(), Some(payload), pool);
                return true;
            }
            pool.overflows += 1;
            let target = self.held.front().map_or(seq, |h| h.seq);
            pool.overflow_gap_bytes += self.skip_to(target, pool, sink);
        }
    }
}

/// Sends `[a, b)` of a segment starting at `seq`: the payload part as data, the part beyond
/// the payload (cut by snaplen) as a gap.
fn emit(seq: u32, payload: &[u8], a: u32, b: u32, sink: &mut impl Sink) {
    let (from, to) = (a.wrapping_sub(seq) as usize, b.wrapping_sub(seq) as usize);
    let len = payload.len();
    if let Some(bytes) = payload.get(from.min(len)..to.min(len)) {
        if !bytes.is_empty() {
            sink.data(bytes);
        }
    }
    if to > len {
        sink.gap(to.saturating_sub(from.max(len)) as u64);
    }
}
