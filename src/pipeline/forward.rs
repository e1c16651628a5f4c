//! Segments on their way from the reading thread to another flow shard: one batch holds, in
//! capture order, the segments that shard owns (headers plus their payload copied into one
//! arena) and the capture time of everyone else's, which it needs for expiry.
//!
//! Why copy: a decoded segment borrows the reader's buffer, which the next read overwrites.
//! Copying the payload (~800 bytes a packet on Bookinfo, one `memcpy`) costs far less than the
//! second read and decode of the whole capture it replaces, and the arena is reused, so the
//! hot path does not allocate.

use super::shard::Worker;
use crate::model::{LinkMeta, Segment, TcpFlags, Timestamp};
use std::net::SocketAddr;

/// Payload bytes after which a batch is sent, so a batch in flight stays a few hundred KiB
/// (one more segment may overshoot it by at most its own payload).
const ARENA_BYTES: usize = 256 * 1024;

/// A segment without its payload, which sits at `start..start + len` of the arena.
#[derive(Copy, Clone)]
struct Header {
    ts: Timestamp,
    frame: u64,
    src: SocketAddr,
    dst: SocketAddr,
    seq: u32,
    ack: u32,
    flags: TcpFlags,
    window: u16,
    tsopt: Option<(u32, u32)>,
    start: u32,
    len: u32,
    ip_len: u32,
    missing: u32,
    link: LinkMeta,
}

/// One segment of the capture, as the receiving shard sees it.
enum Event {
    /// Another shard's segment: only capture time moves on.
    Foreign { frame: u64, ts: Timestamp },
    /// This shard's segment.
    Own { frame: u64, header: Header },
}

/// What the reading thread hands one shard at a time.
pub(super) struct Forward {
    events: Vec<Event>,
    payload: Vec<u8>,
    /// The last frame read when the batch was sent: the shard has seen every segment up to
    /// it once the batch is replayed.
    pub watermark: u64,
    /// Set on the last batch: the capture has ended.
    pub end: bool,
}

impl Forward {
    pub(super) fn new() -> Forward {
        Forward {
            events: Vec::new(),
            payload: Vec::new(),
            watermark: 0,
            end: false,
        }
    }

    /// Empties a spent batch for reuse, keeping its memory.
    pub(super) fn clear(&mut self) {
        self.events.clear();
        self.payload.clear();
        self.watermark = 0;
        self.end = false;
    }

    /// True when the batch should be sent.
    #[inline]
    pub(super) fn is_full(&self) -> bool {
        self.payload.len() >= ARENA_BYTES
    }

    #[inline]
    pub(super) fn foreign(&mut self, frame: u64, ts: Timestamp) {
        self.events.push(Event::Foreign { frame, ts });
    }

    /// Copies `seg` in. Its payload length fits in u32 (a frame's captured length is one).
    pub(super) fn own(&mut self, frame: u64, seg: &Segment<'_>) {
        let start = self.payload.len() as u32;
        self.payload.extend_from_slice(seg.payload);
        let header = Header {
            ts: seg.ts,
            frame: seg.frame,
            src: seg.src,
            dst: seg.dst,
            seq: seg.seq,
            ack: seg.ack,
            flags: seg.flags,
            window: seg.window,
            tsopt: seg.tsopt,
            start,
            len: seg.payload.len() as u32,
            ip_len: seg.ip_len,
            missing: seg.missing,
            link: seg.link,
        };
        self.events.push(Event::Own { frame, header });
    }

    /// Hands every segment to `worker`, in the order they were read.
    pub(super) fn replay(&self, worker: &mut Worker) {
        for event in &self.events {
            match *event {
                Event::Foreign { frame, ts } => worker.foreign(frame, ts),
                Event::Own { frame, header: h } => {
                    let at = h.start as usize;
                    let payload = self.payload.get(at..at + h.len as usize).unwrap_or(&[]);
                    let segment = Segment {
                        ts: h.ts,
                        frame: h.frame,
                        src: h.src,
                        dst: h.dst,
                        seq: h.seq,
                        ack: h.ack,
                        flags: h.flags,
                        window: h.window,
                        tsopt: h.tsopt,
                        payload,
                        ip_len: h.ip_len,
                        missing: h.missing,
                        link: h.link,
                    };
                    worker.own(frame, &segment);
                }
            }
        }
    }
}
