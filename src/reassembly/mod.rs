//! TCP reassembly: segments in capture order → per-connection in-order byte streams, gaps and
//! ends, delivered to a [`StreamHandler`], plus a [`Connection`] summary when each one ends.
//!
//! What it does: a bounded flow table keyed by the 4-tuple (either direction), the connection
//! lifecycle (SYN, SYN-ACK, FIN, RST, port reuse, idle expiry and eviction in capture time),
//! per-direction sequence tracking with a bounded out-of-order buffer, and gap detection
//! (ACKed bytes the capture missed, buffer overflow, holes at close, snaplen cuts).
//!
//! What it does not: it never validates checksums, windows or timestamps like a TCP stack
//! would (a capture point sees what the wire carried, valid or not), and it does not parse
//! payload except the first bytes of a mid-stream connection to guess roles (`roles.rs`).
//!
//! Why this shape: in-order payload (the common case) is handed to the handler straight from
//! the segment slice, so the hot path copies nothing and allocates nothing; only out-of-order
//! bytes are copied, under per-direction and global limits. Every decision is a function of
//! the capture alone, so a replay gives the same result. The overlap policy (first copy
//! captured wins) is documented in `stream.rs`.
//!
//! Capture order is not wire order. On multi-queue capture (`tcpdump -i any`, per-CPU
//! AF_PACKET ring buffers, fanout) and in merged files, a response and the ACK of a request
//! can be recorded before the request itself, sometimes with an earlier timestamp. Wireshark
//! marks such a trace "ACKed unseen segment" then "spurious retransmission" and loses the
//! request. Here, when a segment ACKs reverse-direction bytes the capture has not shown yet,
//! the gap is not declared at once: that direction's payload-carrying segments (FINs too;
//! bare ACKs need not wait) are *parked* (copied) while the reverse bytes are "ACKed but
//! unseen". If the missing bytes arrive, in any order, they are delivered first and the parked
//! segments follow in their capture order; if `reorder_window` of capture time or
//! `reorder_packets` packets of the connection pass first, or the parking limits
//! (`reorder_segments`, `reorder_bytes`, the global out-of-order budget) are hit, the gap is
//! declared (dated at the ACK that revealed it) and the parked segments are released. One
//! direction's bytes are never reordered; `finish` and any close release everything.
//!
//! A RST does not always end a connection: a receiver drops a RST outside its window (RFC
//! 5961 section 3.2 even answers most in-window ones with a challenge ACK), and a segment with
//! an unexpected TCP-MD5 option (RFC 2385) is dropped whole, RST or not. So a RST whose
//! sequence number is outside the receiver's window (as the capture knows it: from one byte
//! before the next expected byte to 2^30 (`MAX_WINDOW`) ahead) is ignored and counted; an
//! in-window RST puts the connection in a reset state for `rst_grace` of capture time. If the
//! RST's sender then sends anything but a RST or SYN, the RST is counted as overruled, what
//! the peer sent meanwhile (parked, bounded as above) is replayed and the connection goes on;
//! the peer's segments alone prove nothing (they may have been in flight). Otherwise the
//! connection ends as reset, dated at the RST, when the grace passes, at a fresh SYN on the
//! tuple or at `finish`; the peer's parked segments count as stragglers (`after_close`), as
//! they would after an immediate close. Deadlines live in a heap checked as capture time
//! advances, so this costs nothing per segment when no RST or reordering is pending.
//!
//! Order of handler calls for each segment: `gap` of the reverse direction when this segment
//! ACKs bytes the capture missed (after the parking described above), then this direction's
//! `data` / `gap` / `end`, then `close` when the segment ended the connection. `end` comes
//! only with the final FIN or the final RST, never for an overruled RST.

mod closed;
mod conn;
mod ooo;
mod park;
mod roles;
mod stream;
mod table;
mod unnat;

#[cfg(test)]
mod tests;
#[cfg(test)]
mod tests_lifecycle;
#[cfg(test)]
mod tests_props;
#[cfg(test)]
mod tests_rst_reorder;

use crate::model::{ConnId, Connection, Dir, EndReason, RoleSource, Segment, Timestamp};
use closed::{Closed, ClosedSet};
use conn::{Conn, Step};
use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::net::SocketAddr;
use std::time::Duration;
use stream::Pool;
use table::{FlowKey, Table};
pub use unnat::Unnat;

/// A connection's identity, handed to every handler call.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct ConnMeta {
    pub id: ConnId,
    pub client: SocketAddr,
    pub server: SocketAddr,
    /// Where the client meant to connect, when a NAT inside the capture point made the
    /// replies come from there (see `unnat.rs`); known from the SYN-ACK on.
    pub original_dst: Option<SocketAddr>,
}

/// What the reassembler drives: one value per connection.
pub trait StreamHandler: Sized {
    type Ctx;
    fn open(meta: &ConnMeta, ctx: &mut Self::Ctx) -> Self;
    /// In-order bytes of one direction. `bytes` borrows the segment when it came in order.
    fn data(&mut self, ctx: &mut Self::Ctx, meta: &ConnMeta, dir: Dir, ts: Timestamp, bytes: &[u8]);
    /// `len` bytes of this direction will never arrive (capture loss, snaplen cut, reorder limit).
    fn gap(&mut self, ctx: &mut Self::Ctx, meta: &ConnMeta, dir: Dir, ts: Timestamp, len: u64);
    /// This direction ended (FIN reached in order, or RST): no more data from it.
    fn end(&mut self, ctx: &mut Self::Ctx, meta: &ConnMeta, dir: Dir, ts: Timestamp);
    /// The connection is finished; `conn.app` is `AppInfo::Unknown`, the handler fills it.
    fn close(self, ctx: &mut Self::Ctx, conn: Connection);
}

/// Limits of the reassembler. Every buffer and table is bounded by one of these.
#[derive(Clone, Debug)]
pub struct ReassemblyConfig {
    /// Out-of-order bytes held per direction before skipping ahead (a gap).
    pub ooo_bytes_per_dir: usize,
    /// Out-of-order segments held per direction.
    pub ooo_segments_per_dir: usize,
    /// Out-of-order bytes held over all connections.
    pub ooo_bytes_total: usize,
    /// Open connections; beyond it the least recently active one is evicted.
    pub max_connections: usize,
    /// A connection with no packet for this long (capture time) ends as idle.
    pub idle_timeout: Duration,
    /// How long a closed 4-tuple absorbs stragglers (final ACK, late RST, retransmitted FIN).
    pub closed_window: Duration,
    /// Closed 4-tuples remembered at most.
    pub closed_max: usize,
    /// How long (capture time) an in-window RST waits before it ends the connection; data or
    /// ACKs from its sender within it mean the connection went on. Zero: a RST ends at once.
    pub rst_grace: Duration,
    /// How long (capture time) a direction's segments wait for reverse-direction bytes they
    /// ACK that the capture has not shown yet, before those bytes are declared a gap. Zero:
    /// declared at once.
    pub reorder_window: Duration,
    /// Packets of the connection after which that wait ends too (whichever comes first).
    pub reorder_packets: usize,
    /// Segments parked per connection at most (for `reorder_window` or `rst_grace`).
    pub reorder_segments: usize,
    /// Payload bytes parked per connection at most.
    pub reorder_bytes: usize,
}

impl Default for ReassemblyConfig {
    fn default() -> Self {
        ReassemblyConfig {
            // Linux's default maximum receive buffer (net.ipv4.tcp_rmem) is 6 MiB; 1 MiB of
            // reordering per direction covers real loss recovery at the capture point.
            ooo_bytes_per_dir: 1 << 20,
            ooo_segments_per_dir: 512,
            ooo_bytes_total: 64 << 20,
            max_connections: 65_536,
            // Zeek's tcp_inactivity_timeout.
            idle_timeout: Duration::from_secs(300),
            // 2*MSL as Linux applies it (TCP_TIMEWAIT_LEN).
            closed_window: Duration::from_secs(60),
            closed_max: 4096,
            // Long enough for the sender's next packet after a RST a receiver ignored (an RTT
            // or an application think time), short next to TIME-WAIT.
            rst_grace: Duration::from_secs(1),
            // Per-CPU capture buffers (`tcpdump -i any`, AF_PACKET fanout) and merged files
            // reorder by well under a millisecond; 10 ms leaves room.
            reorder_window: Duration::from_millis(10),
            // Capture reordering displaces a packet by a few packets of its connection; a
            // real loss shows the peer going on (more ACKs, more data) within as many.
            reorder_packets: 4,
            reorder_segments: 8,
            reorder_bytes: 16 << 10,
        }
    }
}

/// What the reassembler did over a whole run.
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct ReassemblyStats {
    pub segments: u64,
    /// Connections opened (each got an id).
    pub connections: u64,
    /// How they ended.
    pub closed_fin: u64,
    pub closed_rst: u64,
    pub idle: u64,
    pub reused: u64,
    pub capture_end: u64,
    pub evicted: u64,
    /// Most connections open at once.
    pub open_peak: u64,
    /// Segments of a recently closed connection (final ACK, late RST, retransmitted FIN),
    /// counted and ignored.
    pub after_close: u64,
    /// Segments too far ahead of their stream to belong to it, ignored.
    pub out_of_window: u64,
    /// Times an out-of-order limit forced a stream to skip ahead.
    pub ooo_overflows: u64,
    /// Sequence space given up as gaps by those skips.
    pub ooo_overflow_gap_bytes: u64,
    /// Most out-of-order bytes held at once over all connections.
    pub ooo_peak_bytes: u64,
    /// RSTs outside the receiver's window, ignored.
    pub rst_out_of_window: u64,
    /// In-window RSTs the connection went on after (their sender sent more within the grace).
    pub rst_overruled: u64,
    /// Times a direction's segments were parked because they ACKed reverse-direction bytes
    /// the capture had not shown yet.
    pub reorder_parks: u64,
    /// Of those, the times the missing bytes then arrived (no gap).
    pub reorder_parks_resolved: u64,
}

/// The reassembler: flow table, limits, statistics.
pub struct Reassembler<H: StreamHandler> {
    config: ReassemblyConfig,
    table: Table<Conn<H>>,
    closed: ClosedSet,
    pool: Pool,
    next_id: ConnId,
    stats: ReassemblyStats,
    /// When connections want to be woken (RST grace, parking window): (when, id, slot).
    /// Entries of connections that moved on or closed are skipped when they come up.
    deadlines: BinaryHeap<Reverse<(Timestamp, ConnId, u32)>>,
    /// Out-of-order bytes held when the last segment was taken in (where `ooo_peak_bytes` is
    /// measured).
    ooo_mark: usize,
    /// Until when (inclusive) [`Reassembler::expire`] has nothing to do: the earliest of the
    /// deadline heap's top, the least recently active connection's last activity plus the idle
    /// timeout and the oldest live closed tuple plus its window. Recomputed after every change
    /// to those; expiry is a function of `now` against these three alone, so capture time
    /// stepping backwards needs no care.
    quiet_until: Timestamp,
    /// The NAT views of redirected connections (see `unnat.rs`).
    unnat: Unnat,
    /// `config.idle_timeout` in nanoseconds.
    idle_ns: i64,
}

fn nanos(d: Duration) -> i64 {
    i64::try_from(d.as_nanos()).unwrap_or(i64::MAX)
}

impl<H: StreamHandler> Reassembler<H> {
    pub fn new(config: ReassemblyConfig) -> Self {
        Reassembler {
            closed: ClosedSet::new(config.closed_max, nanos(config.closed_window)),
            pool: Pool {
                dir_bytes: config.ooo_bytes_per_dir,
                dir_segments: config.ooo_segments_per_dir,
                total_bytes: config.ooo_bytes_total,
                park_segments: config.reorder_segments,
                park_bytes: config.reorder_bytes,
                park_window_ns: nanos(config.reorder_window),
                park_packets: config.reorder_packets,
                rst_grace_ns: nanos(config.rst_grace),
                ..Pool::default()
            },
            table: Table::new(),
            idle_ns: nanos(config.idle_timeout),
            config,
            next_id: 1,
            stats: ReassemblyStats::default(),
            deadlines: BinaryHeap::new(),
            ooo_mark: 0,
            quiet_until: Timestamp(i64::MAX),
            unnat: Unnat::new(),
        }
    }

    /// Takes the next segment in capture order.
    /// Presents the reply half of a connection NATed inside the capture point (a sidecar's
    /// REDIRECT) under the 4-tuple of its client half; call it on every segment, before
    /// [`Reassembler::process`] and before any choice that depends on the 4-tuple (the flow
    /// shards), so every shard sees the same views.
    #[inline]
    pub fn unnat(&mut self, seg: &mut Segment<'_>) {
        self.unnat.view(seg);
    }

    /// [`Reassembler::unnat`] then [`Reassembler::process`], for a segment the caller cannot
    /// change; copies it only when its source is rewritten.
    #[inline]
    pub fn process_unnat(&mut self, seg: &Segment<'_>, ctx: &mut H::Ctx) {
        let src = self.unnat.observe(seg);
        if src == seg.src {
            self.process(seg, ctx);
        } else {
            let mut shown = seg.clone();
            shown.src = src;
            self.process(&shown, ctx);
        }
    }

    pub fn process(&mut self, seg: &Segment<'_>, ctx: &mut H::Ctx) {
        self.stats.segments += 1;
        if seg.ts > self.quiet_until {
            self.expire(seg.ts, ctx);
        }
        let key = FlowKey::new(seg.src, seg.dst);
        let mut found = self.table.find(&key);
        if let Some(slot) = found {
            if self.table.get(slot).is_some_and(|c| c.reset_ended_by(seg)) {
                // A fresh SYN: the reset was final; the closed set judges the SYN.
                self.end(slot, EndReason::Rst, seg.ts, ctx);
                found = None;
            }
        }
        let slot = match found {
            Some(slot) if self.table.get(slot).is_some_and(|c| c.reused_by(seg)) => {
                self.end(slot, EndReason::Reused, seg.ts, ctx);
                self.open(key, seg, ctx)
            }
            Some(slot) => slot,
            None if self.closed.absorbs(&key, seg) => {
                self.stats.after_close += 1;
                self.requiet();
                return;
            }
            None => self.open(key, seg, ctx),
        };
        self.table.touch(slot);
        let step = match self.table.get_mut(slot) {
            Some(conn) => {
                if seg.flags.syn() && seg.flags.ack() && conn.meta.original_dst.is_none() {
                    let m = &mut conn.meta;
                    m.original_dst = self.unnat.original_dst(m.client, m.server);
                }
                conn.segment(seg, ctx, &mut self.pool)
            }
            None => Step::default(),
        };
        self.ooo_mark = self.pool.used;
        self.stats.ooo_peak_bytes = self.stats.ooo_peak_bytes.max(self.pool.used as u64);
        self.apply(slot, step, seg.ts, ctx);
        self.requiet();
    }

    /// Acts on what a connection reported.
    fn apply(&mut self, slot: u32, step: Step, ts: Timestamp, ctx: &mut H::Ctx) {
        if step.absorbed {
            self.stats.after_close += 1;
        }
        if let Some(reason) = step.ended {
            self.end(slot, reason, ts, ctx);
        } else if let (Some(when), Some(conn)) = (step.wake, self.table.get(slot)) {
            self.deadlines.push(Reverse((when, conn.meta.id, slot)));
        }
    }

    /// The capture ended: every open connection is closed (`EndReason::CaptureEnd`), in the
    /// order they were opened.
    pub fn finish(&mut self, ctx: &mut H::Ctx) {
        let mut open: Vec<(ConnId, u32)> = self
            .table
            .slots()
            .filter_map(|s| Some((self.table.get(s)?.meta.id, s)))
            .collect();
        open.sort_unstable();
        for (_, slot) in open {
            let ts = self.table.get(slot).map(Conn::last).unwrap_or_default();
            self.end(slot, EndReason::CaptureEnd, ts, ctx);
        }
        self.closed.clear();
        self.deadlines.clear();
        self.requiet();
    }

    /// Lets capture time reach `now` without a segment of this reassembler: what `process`
    /// does first for every segment (due deadlines, idle expiry, old closed tuples). A flow
    /// shard calls it for the segments other shards own, so its connections expire at the
    /// same segments as in one reassembler over all flows.
    /// Nearly free (one comparison) while nothing can be due.
    #[inline]
    pub fn advance(&mut self, now: Timestamp, ctx: &mut H::Ctx) {
        if now > self.quiet_until {
            self.expire(now, ctx);
            self.requiet();
        }
    }

    /// Recomputes `quiet_until`. Each bound errs early, never late: a stale deadline or a
    /// saturated sum only costs a needless [`Reassembler::expire`].
    fn requiet(&mut self) {
        let mut until = i64::MAX;
        if let Some(&Reverse((when, _, _))) = self.deadlines.peek() {
            until = until.min(when.0);
        }
        if let Some(last) = self
            .table
            .oldest()
            .and_then(|s| self.table.get(s))
            .map(Conn::last)
        {
            until = until.min(last.0.saturating_add(self.idle_ns));
        }
        if let Some(due) = self.closed.quiet_until() {
            until = until.min(due.0);
        }
        self.quiet_until = Timestamp(until);
    }

    /// Out-of-order and parked bytes held now, and when the last segment was taken in (the
    /// point `ooo_peak_bytes` is measured at): a flow shard reports both so the peak over all
    /// shards can be counted.
    pub fn ooo_bytes(&self) -> (usize, usize) {
        (self.pool.used, self.ooo_mark)
    }

    /// What the reassembler did so far. The counters kept in the buffer pool are copied in
    /// here, when asked, rather than after every segment.
    pub fn stats(&self) -> ReassemblyStats {
        let p = &self.pool;
        ReassemblyStats {
            out_of_window: p.out_of_window,
            ooo_overflows: p.overflows,
            ooo_overflow_gap_bytes: p.overflow_gap_bytes,
            rst_out_of_window: p.rst_out_of_window,
            rst_overruled: p.rst_overruled,
            reorder_parks: p.parks,
            reorder_parks_resolved: p.parks_resolved,
            ..self.stats.clone()
        }
    }

    /// Due deadlines fire (RSTs become final, parked segments are released); idle
    /// connections end; old closed tuples are forgotten. Only due deadlines and the least
    /// recently active entries are looked at, so this is O(log n) amortized per segment.
    fn expire(&mut self, now: Timestamp, ctx: &mut H::Ctx) {
        while let Some(&Reverse((when, id, slot))) = self.deadlines.peek() {
            if now.since(when) <= 0 {
                break;
            }
            self.deadlines.pop();
            let Some(conn) = self.table.get_mut(slot) else {
                continue;
            };
            if conn.meta.id != id || conn.deadline() != Some(when) {
                continue;
            }
            let step = conn.wake(now, ctx, &mut self.pool);
            self.apply(slot, step, when, ctx);
        }
        let idle = self.idle_ns;
        while let Some(slot) = self.table.oldest() {
            let Some(last) = self.table.get(slot).map(Conn::last) else {
                break;
            };
            if now.since(last) <= idle {
                break;
            }
            self.end(slot, EndReason::Idle, last, ctx);
        }
        self.closed.expire(now);
    }

    fn open(&mut self, key: FlowKey, seg: &Segment<'_>, ctx: &mut H::Ctx) -> u32 {
        while self.table.len() >= self.config.max_connections.max(1) {
            let Some(oldest) = self.table.oldest() else {
                break;
            };
            let ts = self.table.get(oldest).map(Conn::last).unwrap_or(seg.ts);
            self.end(oldest, EndReason::Evicted, ts, ctx);
        }
        let (client_is_src, roles) = match (seg.flags.syn(), seg.flags.ack()) {
            (true, false) => (true, RoleSource::Handshake),
            (true, true) => (false, RoleSource::Handshake),
            _ => (roles::sender_is_client(seg), RoleSource::Heuristic),
        };
        let (client, server) = if client_is_src {
            (seg.src, seg.dst)
        } else {
            (seg.dst, seg.src)
        };
        let meta = ConnMeta {
            id: self.next_id,
            client,
            server,
            original_dst: None,
        };
        self.next_id += 1;
        self.stats.connections += 1;
        let slot = self.table.insert(key, Conn::new(meta, roles, seg, ctx));
        self.stats.open_peak = self.stats.open_peak.max(self.table.len() as u64);
        slot
    }

    /// Ends a connection. One in the reset state ends as reset, at its RST, whatever ended it
    /// (its grace ran out, a fresh SYN, idle, eviction, end of capture).
    fn end(&mut self, slot: u32, reason: EndReason, ts: Timestamp, ctx: &mut H::Ctx) {
        let Some((key, conn)) = self.table.remove(slot) else {
            return;
        };
        let (reason, ts) = match conn.reset_at() {
            Some(at) => (EndReason::Rst, at),
            None => (reason, ts),
        };
        let counter = match reason {
            EndReason::Fin => &mut self.stats.closed_fin,
            EndReason::Rst => &mut self.stats.closed_rst,
            EndReason::Idle => &mut self.stats.idle,
            EndReason::Reused => &mut self.stats.reused,
            EndReason::CaptureEnd => &mut self.stats.capture_end,
            EndReason::Evicted => &mut self.stats.evicted,
        };
        *counter += 1;
        if matches!(reason, EndReason::Fin | EndReason::Rst) {
            let (next, isn) = conn.seqs();
            let closed = Closed {
                at: ts,
                client: conn.meta.client,
                next,
                isn,
            };
            self.closed.insert(key, closed);
        }
        self.stats.after_close += conn.close(reason, ts, ctx, &mut self.pool);
    }
}
