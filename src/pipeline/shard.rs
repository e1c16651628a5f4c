//! One flow shard of [`super::run_sharded`]: reassembles and parses only the connections
//! whose 4-tuple hashes to it ([`owner`]), and tags every result for the merger.
//!
//! The capture is read and decoded once, by the thread that is shard 0 (`dispatch.rs`); the
//! other shards get their segments, and the capture time of everyone else's, from it
//! (`forward.rs`). IP fragments are reassembled by that one decoder before the flow filter,
//! so a fragmented segment reaches its owner whole.
//!
//! Every result is tagged with its [`Key`]: the frame at which it was produced, its [`Class`]
//! (exchanges before closed connections, as one reassembler's pipeline drains them) and the
//! [`Phase`] of that frame's work. Within one frame the one-reassembler pipeline first expires
//! (due deadlines, idle connections; [`Reassembler::advance`]) and then processes the segment;
//! a shard calls `advance` for every segment, its own or not, so its connections expire at
//! the same segments as they would in one reassembler. A shard also reports each connection it
//! opens ([`Item::Opened`]) so the merger can number connections in global first-seen order.
//! Batches go out at least every [`WATERMARK_EVERY`] frames, empty or not, with the last frame
//! the shard has fully processed (its watermark), so the merger never waits long for a shard
//! that has nothing to say.

use super::app::{AppConn, Output};
use super::{Config, Summary};
use crate::model::{ConnId, Connection, Exchange, Segment, Timestamp};
use crate::reassembly::{ConnMeta, Reassembler, ReassemblyConfig, ReassemblyStats};
use std::net::{IpAddr, SocketAddr};
use std::sync::mpsc::{Receiver, SyncSender};

/// Results per batch before it is sent.
const BATCH: usize = 128;
/// Frames after which a shard sends its batch even if it is (nearly) empty.
pub(super) const WATERMARK_EVERY: u64 = 1024;

/// Which part of a frame's work produced a result; the order within a frame.
#[derive(Copy, Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub(super) enum Phase {
    /// Expiry before the segment: fired deadlines, idle connections.
    Expire,
    /// The segment itself (opens, evictions, reuse, data, closes).
    Segment,
    /// Capture end: connections still open, ordered by global id by the merger.
    Finish,
}

/// Where a result belongs in the single-threaded order (ties between shards are broken by
/// shard index; within a shard its results keep their order).
#[derive(Copy, Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub(super) struct Key {
    pub frame: u64,
    pub class: Class,
    pub phase: Phase,
}

/// One reassembler's pipeline drains after each segment: first every exchange the segment
/// finished (whatever phase), then every connection that closed.
#[derive(Copy, Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub(super) enum Class {
    /// Exchanges, and the bookkeeping items (opens, out-of-order bytes).
    Result,
    /// Closed connections.
    Close,
}

pub(super) enum Item {
    /// The shard opened connection `id` (its own numbering, 1..). `closed_before`: closes of
    /// older connections the same segment caused before the open (eviction, port reuse), which
    /// follow this item; the merger needs them to count connections open at once.
    Opened {
        id: ConnId,
        closed_before: u32,
    },
    /// The shard's out-of-order bytes changed: `mark` where the step measured its peak,
    /// `now` after the step.
    OooBytes {
        mark: usize,
        now: usize,
    },
    Exchange(Exchange, ConnMeta),
    Connection(Connection),
}

pub(super) struct Keyed {
    pub key: Key,
    pub item: Item,
}

impl Keyed {
    fn new(key: Key, item: Item) -> Keyed {
        Keyed { key, item }
    }
}

/// What a shard hands the merger at a time.
pub(super) struct Batch {
    pub items: Vec<Keyed>,
    /// Every result of frames up to this one is in this or an earlier batch.
    pub watermark: u64,
    /// Bytes read and total, for the progress display.
    pub progress: (u64, Option<u64>),
    /// Set on the shard's last batch: its view of the run.
    pub end: Option<Box<Summary>>,
}

impl Batch {
    fn new() -> Batch {
        Batch {
            items: Vec::with_capacity(BATCH),
            watermark: 0,
            progress: (0, None),
            end: None,
        }
    }
}

/// The shard of a connection whose segment shows `src → dst`: a hash of the 4-tuple, the same both ways
/// (the two endpoints are folded and added, then mixed with MurmurHash3's whole finalizer;
/// SipHash cost ~240 instructions a packet here, this ~20). Its first half alone left the low
/// bits a function of few input bits: ephemeral ports in a row split 61/39 by packets on the
/// bookinfo capture, against 49/51 with both halves.
pub(super) fn owner_of(src: SocketAddr, dst: SocketAddr, shards: usize) -> usize {
    let mut h = fold(src).wrapping_add(fold(dst));
    h ^= h >> 33;
    h = h.wrapping_mul(0xff51_afd7_ed55_8ccd);
    h ^= h >> 33;
    h = h.wrapping_mul(0xc4ce_b9fe_1a85_ec53);
    h ^= h >> 33;
    (h % shards as u64) as usize
}

/// An endpoint as one word: address and port.
fn fold(addr: SocketAddr) -> u64 {
    let ip = match addr.ip() {
        IpAddr::V4(ip) => u64::from(u32::from(ip)),
        IpAddr::V6(ip) => {
            let v = u128::from(ip);
            (v as u64) ^ ((v >> 64) as u64).rotate_left(17)
        }
    };
    ip ^ (u64::from(addr.port()) << 40)
}

/// A shard's share of the limits that bound memory over all connections, so that N shards
/// together hold no more than one reassembler would.
pub(super) fn share(config: &ReassemblyConfig, shards: usize) -> ReassemblyConfig {
    let part = |v: usize| v.div_ceil(shards).max(1);
    ReassemblyConfig {
        max_connections: part(config.max_connections),
        ooo_bytes_total: part(config.ooo_bytes_total),
        closed_max: part(config.closed_max),
        ..config.clone()
    }
}

/// One shard's reassembler and the batch of keyed results it is filling. It is told about
/// every segment in capture order: its own ([`Worker::own`]) and, for the expiry that capture
/// time alone causes, the others' ([`Worker::foreign`]).
pub(super) struct Worker {
    flows: Reassembler<AppConn>,
    out: Output,
    batch: Batch,
    ooo_held: usize,
    tx: SyncSender<Batch>,
    spent: Receiver<Batch>,
}

impl Worker {
    /// Shard results go out on `tx`; spent batches come back on `spent` to be reused.
    pub(super) fn new(
        shards: usize,
        config: &Config,
        tx: SyncSender<Batch>,
        spent: Receiver<Batch>,
    ) -> Worker {
        Worker {
            flows: Reassembler::new(share(&config.reassembly, shards)),
            out: Output {
                limits: config.http.clone(),
                ..Output::default()
            },
            batch: Batch::new(),
            ooo_held: 0,
            tx,
            spent,
        }
    }

    /// Results waiting in the current batch.
    pub(super) fn pending(&self) -> usize {
        self.batch.items.len()
    }

    /// Capture time reaches `ts` at `frame` with a segment another shard owns.
    #[inline]
    pub(super) fn foreign(&mut self, frame: u64, ts: Timestamp) {
        self.flows.advance(ts, &mut self.out);
        // Mostly nothing expires with it.
        let quiet = self.out.exchanges.is_empty()
            && self.out.connections.is_empty()
            && self.flows.ooo_bytes().0 == self.ooo_held;
        if !quiet {
            self.step(frame, None);
        }
    }

    /// A segment of this shard's connections, at `frame`.
    pub(super) fn own(&mut self, frame: u64, segment: &Segment<'_>) {
        self.flows.advance(segment.ts, &mut self.out);
        self.step(frame, Some(segment));
    }

    /// Keys what expiry produced, processes `segment` if there is one, keys what it produced.
    fn step(&mut self, frame: u64, segment: Option<&Segment<'_>>) {
        let at = |phase, class| Key {
            frame,
            class,
            phase,
        };
        let Worker {
            flows,
            out,
            batch,
            ooo_held,
            ..
        } = self;
        let items = &mut batch.items;
        let (now, _) = flows.ooo_bytes();
        if now != *ooo_held {
            let item = Item::OooBytes { mark: now, now };
            items.push(Keyed::new(at(Phase::Expire, Class::Result), item));
            *ooo_held = now;
        }
        exchanges(out, at(Phase::Expire, Class::Result), items);
        let expired = out.connections.len();
        if let Some(segment) = segment {
            // The shard's own unnat sees both halves of a redirected connection (the
            // dispatcher routed them here together, see `dispatch`) and joins them.
            let before = flows.stats().connections;
            flows.process_unnat(segment, out);
            let key = at(Phase::Segment, Class::Result);
            let id = flows.stats().connections;
            if id > before {
                let closed_before = out.connections[expired..]
                    .iter()
                    .filter(|c| c.id < id)
                    .count() as u32;
                items.push(Keyed::new(key, Item::Opened { id, closed_before }));
            }
            let (now, mark) = flows.ooo_bytes();
            if (now, mark) != (*ooo_held, *ooo_held) {
                items.push(Keyed::new(key, Item::OooBytes { mark, now }));
                *ooo_held = now;
            }
            exchanges(out, key, items);
        }
        // As one reassembler's drain: every exchange of the frame, then every close.
        for (n, c) in out.connections.drain(..).enumerate() {
            let phase = if n < expired {
                Phase::Expire
            } else {
                Phase::Segment
            };
            items.push(Keyed::new(at(phase, Class::Close), Item::Connection(c)));
        }
    }

    /// Sends the batch, every result up to `watermark` in it; false if the merger has gone.
    pub(super) fn send(&mut self, watermark: u64, progress: (u64, Option<u64>)) -> bool {
        let next = match self.spent.try_recv() {
            Ok(mut b) => {
                b.items.clear();
                b
            }
            Err(_) => Batch::new(),
        };
        let mut full = std::mem::replace(&mut self.batch, next);
        full.watermark = watermark;
        full.progress = progress;
        self.tx.send(full).is_ok()
    }

    /// Capture end: closes what is still open and sends the last batch with the summary
    /// `summary` makes from this shard's reassembly counters.
    pub(super) fn finish(
        mut self,
        watermark: u64,
        progress: (u64, Option<u64>),
        summary: impl FnOnce(&ReassemblyStats) -> Summary,
    ) {
        self.flows.finish(&mut self.out);
        let at = |class| Key {
            frame: u64::MAX,
            class,
            phase: Phase::Finish,
        };
        let items = &mut self.batch.items;
        exchanges(&mut self.out, at(Class::Result), items);
        let closes = self.out.connections.drain(..);
        items.extend(closes.map(|c| Keyed::new(at(Class::Close), Item::Connection(c))));
        self.batch.end = Some(Box::new(summary(&self.flows.stats())));
        self.send(watermark, progress);
    }
}

/// Moves the exchanges one step finished into `items`.
fn exchanges(out: &mut Output, key: Key, items: &mut Vec<Keyed>) {
    let exchanges = out.exchanges.drain(..).zip(out.exchange_conns.drain(..));
    items.extend(exchanges.map(|(e, c)| Keyed::new(key, Item::Exchange(e, c))));
}
