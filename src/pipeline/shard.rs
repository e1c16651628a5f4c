//! One flow shard of [`super::run_sharded`]: reads the whole capture, decodes every frame, and
//! reassembles and parses only the connections whose 4-tuple hashes to it.
//!
//! Why every shard reads and decodes everything: capture and decode cost ~500 instructions a
//! packet against ~3.6 k for the rest, so repeating them is cheaper than a dispatcher thread
//! handing segments (with their payload) to the shards; IP fragments are reassembled by each
//! shard's decoder before the flow filter, so a fragmented segment reaches its owner whole.
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
use crate::capture::Capture;
use crate::decode::Decoder;
use crate::model::{ConnId, Connection, Exchange, Segment};
use crate::reassembly::{ConnMeta, Reassembler, ReassemblyConfig};
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

/// The shard a segment's connection belongs to: a hash of its 4-tuple, the same both ways
/// (the two endpoints are folded and added, then mixed with MurmurHash3's whole finalizer;
/// SipHash cost ~240 instructions a packet here, this ~20). Its first half alone left the low
/// bits a function of few input bits: ephemeral ports in a row split 61/39 by packets on the
/// bookinfo capture, against 49/51 with both halves.
pub(super) fn owner(seg: &Segment<'_>, shards: usize) -> usize {
    let mut h = fold(seg.src).wrapping_add(fold(seg.dst));
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

/// Runs shard `index` of `shards` over `capture`, sending batches on `tx` and reusing the
/// spent ones that come back on `spent`. Stops quietly when the merger has gone away.
pub(super) fn work(
    index: usize,
    shards: usize,
    mut capture: Capture,
    config: &Config,
    tx: &SyncSender<Batch>,
    spent: &Receiver<Batch>,
) {
    let mut decoder = Decoder::new(config.decode.clone());
    let mut flows: Reassembler<AppConn> = Reassembler::new(share(&config.reassembly, shards));
    let mut out = Output {
        limits: config.http.clone(),
        ..Output::default()
    };
    let mut summary = Summary::default();
    let mut batch = Batch::new();
    let mut frame_no: u64 = 0;
    let mut sent_at: u64 = 0;
    let mut ooo_held = 0usize;

    let send = |batch: &mut Batch, capture: &Capture, frame_no: u64| -> bool {
        let next = match spent.try_recv() {
            Ok(mut b) => {
                b.items.clear();
                b
            }
            Err(_) => Batch::new(),
        };
        let mut full = std::mem::replace(batch, next);
        full.watermark = frame_no;
        full.progress = capture.progress();
        tx.send(full).is_ok()
    };

    while let Some(frame) = capture.next_frame() {
        frame_no += 1;
        summary.add_frame(&frame);
        if let Some(mut segment) = decoder.decode(&frame, frame_no) {
            // Before the owner is chosen: both halves of a redirected connection must hash
            // to the same shard.
            flows.unnat(&mut segment);
            let mine = owner(&segment, shards) == index;
            flows.advance(segment.ts, &mut out);
            // A foreign segment only moves capture time on; mostly nothing expires with it.
            let quiet = !mine
                && out.exchanges.is_empty()
                && out.connections.is_empty()
                && flows.ooo_bytes().0 == ooo_held;
            if quiet {
                if frame_no - sent_at >= WATERMARK_EVERY {
                    if !send(&mut batch, &capture, frame_no) {
                        return;
                    }
                    sent_at = frame_no;
                }
                continue;
            }
            let at = |phase, class| Key {
                frame: frame_no,
                class,
                phase,
            };
            let items = &mut batch.items;
            let (now, _) = flows.ooo_bytes();
            if now != ooo_held {
                let item = Item::OooBytes { mark: now, now };
                items.push(Keyed::new(at(Phase::Expire, Class::Result), item));
                ooo_held = now;
            }
            exchanges(&mut out, at(Phase::Expire, Class::Result), items);
            let expired = out.connections.len();
            if mine {
                let before = flows.stats().connections;
                flows.process(&segment, &mut out);
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
                if (now, mark) != (ooo_held, ooo_held) {
                    items.push(Keyed::new(key, Item::OooBytes { mark, now }));
                    ooo_held = now;
                }
                exchanges(&mut out, key, items);
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
        if batch.items.len() >= BATCH || frame_no - sent_at >= WATERMARK_EVERY {
            if !send(&mut batch, &capture, frame_no) {
                return;
            }
            sent_at = frame_no;
        }
    }
    flows.finish(&mut out);
    let at = |class| Key {
        frame: u64::MAX,
        class,
        phase: Phase::Finish,
    };
    exchanges(&mut out, at(Class::Result), &mut batch.items);
    let closes = out.connections.drain(..);
    let closes = closes.map(|c| Keyed::new(at(Class::Close), Item::Connection(c)));
    batch.items.extend(closes);
    summary.finish(&mut capture, decoder.stats(), flows.stats());
    batch.end = Some(Box::new(summary));
    send(&mut batch, &capture, frame_no);
}

/// Moves the exchanges one step finished into `items`.
fn exchanges(out: &mut Output, key: Key, items: &mut Vec<Keyed>) {
    let exchanges = out.exchanges.drain(..).zip(out.exchange_conns.drain(..));
    items.extend(exchanges.map(|(e, c)| Keyed::new(key, Item::Exchange(e, c))));
}
