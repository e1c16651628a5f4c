//! One connection: the handshake and teardown state machine, two [`Stream`]s and the
//! statistics, driving the connection's [`StreamHandler`].
//!
//! Per segment, in this order (RFC 9293 section 3.10.7 processing, as seen from outside):
//! statistics; SYN / SYN-ACK fix each direction's ISN; a RST is judged (out of window:
//! ignored; in window: the reset state, final later or overruled); the ACK field closes holes
//! of the *reverse* direction the capture missed (so the application learns of lost request
//! bytes before it sees the response), after parking this direction's segments a short while
//! in case the capture merely recorded them first; then the payload, cut bytes and FIN go to
//! this direction's stream. The policies are explained in the module doc of `reassembly`.
//! It does not keep the table or the deadline heap; it says when it wants waking ([`Step`]).

use super::park::ParkQueue;
use super::stream::{seq_diff, Accepted, Pool, Sink, Stream, MAX_WINDOW};
use super::{ConnMeta, StreamHandler};
use crate::model::{
    AppInfo, ConnStats, Connection, Dir, DirStats, EndReason, RoleSource, Segment, SynPrint,
    Timestamp,
};

pub(crate) struct Conn<H> {
    pub meta: ConnMeta,
    handler: H,
    roles: RoleSource,
    stats: ConnStats,
    dirs: [Stream; 2],
    interface: u32,
    /// Per direction, the highest ACK of its bytes that the capture had not shown when it
    /// was seen, not yet declared a gap (see "Capture order" in the module doc).
    acked: [Option<u32>; 2],
    /// The direction whose segments are parked, and until when.
    park: Option<Park>,
    /// A RST waiting out its grace period.
    reset: Option<Reset>,
    /// The parked segments: of `park.dir`, or of the RST receiver while `reset` is set.
    queue: ParkQueue,
}

#[derive(Copy, Clone, Debug)]
struct Park {
    dir: Dir,
    until: Timestamp,
    /// The ACK that began it: a gap declared at release is dated here, when it became known.
    since: Timestamp,
    /// Packets of the connection since parking began.
    seen: usize,
}

#[derive(Copy, Clone, Debug)]
struct Reset {
    sender: Dir,
    at: Timestamp,
    until: Timestamp,
}

/// What one call did, for the reassembler.
#[derive(Debug, Default)]
pub(crate) struct Step {
    /// The connection ended (both FINs, or a RST without grace period, or its grace ran out).
    pub ended: Option<EndReason>,
    /// A deadline to wake the connection at ([`Conn::wake`]).
    pub wake: Option<Timestamp>,
    /// A straggler of a reset connection: counted by the reassembler and dropped.
    pub absorbed: bool,
}

/// Forwards one direction's stream output to the handler, counting it.
struct DirSink<'a, H: StreamHandler> {
    handler: &'a mut H,
    ctx: &'a mut H::Ctx,
    meta: &'a ConnMeta,
    dir: Dir,
    ts: Timestamp,
    stats: &'a mut DirStats,
}

impl<H: StreamHandler> Sink for DirSink<'_, H> {
    fn data(&mut self, bytes: &[u8]) {
        self.stats.payload += bytes.len() as u64;
        self.handler
            .data(self.ctx, self.meta, self.dir, self.ts, bytes);
    }
    fn gap(&mut self, len: u64) {
        self.stats.gap_bytes += len;
        self.handler
            .gap(self.ctx, self.meta, self.dir, self.ts, len);
    }
    fn end(&mut self) {
        self.handler.end(self.ctx, self.meta, self.dir, self.ts);
    }
}

const DIRS: [Dir; 2] = [Dir::ToServer, Dir::ToClient];

impl<H: StreamHandler> Conn<H> {
    pub fn new(meta: ConnMeta, roles: RoleSource, seg: &Segment<'_>, ctx: &mut H::Ctx) -> Self {
        Conn {
            handler: H::open(&meta, ctx),
            meta,
            roles,
            stats: ConnStats {
                first: seg.ts,
                last: seg.ts,
                ..ConnStats::default()
            },
            dirs: [Stream::default(), Stream::default()],
            interface: seg.link.interface,
            acked: [None; 2],
            park: None,
            reset: None,
            queue: ParkQueue::default(),
        }
    }

    pub fn last(&self) -> Timestamp {
        self.stats.last
    }

    pub fn dir_of(&self, seg: &Segment<'_>) -> Dir {
        if seg.src == self.meta.client {
            Dir::ToServer
        } else {
            Dir::ToClient
        }
    }

    /// True when `seg` is a SYN opening a new connection on this 4-tuple: a SYN without ACK
    /// whose ISN is not the client's. A TCP stack never sends a fresh SYN on a connection it
    /// considers open (RFC 9293 section 3.10.7.4 answers one with a challenge ACK), so the
    /// sender started over: the old connection's end was not captured, or it is closing.
    pub fn reused_by(&self, seg: &Segment<'_>) -> bool {
        if !seg.flags.syn() || seg.flags.ack() {
            return false;
        }
        match (self.roles, self.dir_of(seg)) {
            (RoleSource::Handshake, Dir::ToServer) => {
                let client = &self.dirs[0];
                client.started() && client.isn() != seg.seq
            }
            (RoleSource::Handshake, Dir::ToClient) => false,
            (RoleSource::Heuristic, _) => true,
        }
    }

    /// What the closed-set remembers: (next, isn) per direction.
    pub fn seqs(&self) -> ([u32; 2], [u32; 2]) {
        let [c, s] = &self.dirs;
        ([c.next(), s.next()], [c.isn(), s.isn()])
    }

    /// When [`Conn::wake`] is due: the end of a RST's grace period or of a parking window.
    pub fn deadline(&self) -> Option<Timestamp> {
        self.reset.map(|r| r.until).or(self.park.map(|p| p.until))
    }

    /// The time of the RST that put the connection in the reset state, if it is in it.
    pub fn reset_at(&self) -> Option<Timestamp> {
        self.reset.map(|r| r.at)
    }

    /// True when `seg` makes a pending RST final at once: a fresh SYN on the tuple.
    pub fn reset_ended_by(&self, seg: &Segment<'_>) -> bool {
        self.reset.is_some() && seg.flags.syn() && !seg.flags.ack()
    }

    /// Takes one segment in capture order.
    pub fn segment(&mut self, seg: &Segment<'_>, ctx: &mut H::Ctx, pool: &mut Pool) -> Step {
        let mut step = Step::default();
        let Some(reset) = self.reset else {
            if let Some(p) = &mut self.park {
                p.seen += 1;
                if p.seen > pool.park_packets {
                    // Waited long enough in packets: the bytes are lost, not reordered.
                    self.unpark(seg.ts, ctx, pool, &mut step);
                    if step.ended.is_some() {
                        return step;
                    }
                }
            }
            self.live(seg, false, ctx, pool, &mut step);
            return step;
        };
        if self.dir_of(seg) == reset.sender && !seg.flags.rst() && !seg.flags.syn() {
            // The RST's sender goes on: the RST did not end the connection (the receiver
            // ignored it, or it was not the sender's). Replay what its peer sent meanwhile.
            self.reset = None;
            pool.rst_overruled += 1;
            for p in self.queue.take(pool) {
                self.live(&p.segment(), p.counted, ctx, pool, &mut step);
                if step.ended.is_some() {
                    return step;
                }
            }
            self.live(seg, false, ctx, pool, &mut step);
        } else if seg.flags.rst() || !self.queue.push(seg, false, pool) {
            step.absorbed = true;
        }
        step
    }

    /// A deadline passed (capture time `now`): the reset becomes final (`ended`), or the
    /// parked segments are released behind a gap.
    pub fn wake(&mut self, now: Timestamp, ctx: &mut H::Ctx, pool: &mut Pool) -> Step {
        let mut step = Step::default();
        if let Some(r) = self.reset {
            if now.since(r.until) > 0 {
                step.ended = Some(EndReason::Rst);
            }
        } else if let Some(p) = self.park {
            if now.since(p.until) > 0 {
                self.unpark(p.until, ctx, pool, &mut step);
            }
        }
        step
    }

    /// The normal path of one segment (`counted`: its statistics were already taken).
    fn live(
        &mut self,
        seg: &Segment<'_>,
        counted: bool,
        ctx: &mut H::Ctx,
        pool: &mut Pool,
        step: &mut Step,
    ) {
        let dir = self.dir_of(seg);
        let r = dir.reverse();
        if !counted {
            self.count(seg, dir);
        }
        let flags = seg.flags;
        let ts = seg.ts;
        if flags.syn() {
            if flags.ack() && !self.dirs[r.index()].started() {
                // SYN-ACK before (or without) the SYN: its ACK names the client's ISN + 1.
                self.dirs[r.index()].start_syn(seg.ack.wrapping_sub(1));
            }
            if !self.dirs[dir.index()].started() {
                self.dirs[dir.index()].start_syn(seg.seq);
            }
        }
        if flags.rst() {
            self.rst(seg, dir, ctx, pool, step);
            return;
        }
        if flags.ack() {
            self.ack(seg, dir, ctx, pool, step);
        }
        let carries = !seg.payload.is_empty() || seg.missing > 0 || flags.fin();
        if self.park.is_some_and(|p| p.dir == dir) {
            if !carries {
                // A pure ACK behind parked data: its ACK field was all it had.
                return;
            }
            if self.queue.push(seg, true, pool) {
                return;
            }
            // The parking limit: give up waiting, then take this segment normally.
            self.unpark(ts, ctx, pool, step);
            if step.ended.is_some() {
                return;
            }
            if self.park.is_some_and(|p| p.dir == dir) && self.queue.push(seg, true, pool) {
                return;
            }
        }
        self.accept(seg, dir, ctx, pool);
        if let Some(p) = self.park {
            let waited = p.dir.reverse();
            let want = self.acked[waited.index()];
            if waited == dir && !want.is_some_and(|a| self.dirs[dir.index()].acks_unseen(a)) {
                // The ACKed bytes arrived: release what waited for them, in order.
                pool.parks_resolved += 1;
                self.unpark(ts, ctx, pool, step);
            }
        }
        if step.ended.is_none() && self.dirs.iter().all(Stream::ended) {
            step.ended = Some(EndReason::Fin);
        }
    }

    /// The ACK field of a segment from `dir`, about the reverse direction's bytes. Bytes it
    /// ACKs that the capture has not shown yet are a gap only once the parking window passed.
    fn ack(
        &mut self,
        seg: &Segment<'_>,
        dir: Dir,
        ctx: &mut H::Ctx,
        pool: &mut Pool,
        step: &mut Step,
    ) {
        let r = dir.reverse();
        if !self.dirs[r.index()].acks_unseen(seg.ack) {
            return;
        }
        let parking = pool.park_window_ns > 0 && pool.park_segments > 0;
        match self.park {
            // It ACKs parked bytes, or bytes we already wait for: decided at release.
            Some(_) => raise(&mut self.acked[r.index()], seg.ack),
            None if parking => {
                raise(&mut self.acked[r.index()], seg.ack);
                let until =
                    Timestamp::from_nanos(seg.ts.nanos().saturating_add(pool.park_window_ns));
                self.park = Some(Park {
                    dir,
                    until,
                    since: seg.ts,
                    seen: 0,
                });
                pool.parks += 1;
                step.wake = Some(until);
            }
            None => {
                self.with_sink(r, seg.ts, ctx, |st, sink| st.ack_to(seg.ack, pool, sink));
            }
        }
    }

    /// A RST from `dir`. Outside the receiver's window it is ignored (RFC 5961 section 3.2:
    /// the receiver would answer it with a challenge ACK at most); inside, the connection is
    /// reset, finally only once the grace period passed without its sender going on.
    fn rst(
        &mut self,
        seg: &Segment<'_>,
        dir: Dir,
        ctx: &mut H::Ctx,
        pool: &mut Pool,
        step: &mut Step,
    ) {
        let stream = &self.dirs[dir.index()];
        let ahead = seq_diff(seg.seq, stream.next());
        if stream.started() && !(-1..=MAX_WINDOW as i32).contains(&ahead) {
            pool.rst_out_of_window += 1;
            return;
        }
        self.unpark(seg.ts, ctx, pool, step);
        if step.ended.is_some() {
            return;
        }
        if seg.flags.ack() {
            let r = dir.reverse();
            self.with_sink(r, seg.ts, ctx, |st, sink| st.ack_to(seg.ack, pool, sink));
        }
        self.stats.rst.get_or_insert(seg.ts);
        if pool.rst_grace_ns <= 0 {
            self.end_reset(dir, seg.ts, ctx, pool);
            step.ended = Some(EndReason::Rst);
            return;
        }
        let until = Timestamp::from_nanos(seg.ts.nanos().saturating_add(pool.rst_grace_ns));
        self.reset = Some(Reset {
            sender: dir,
            at: seg.ts,
            until,
        });
        step.wake = Some(until);
    }

    /// Stops parking: bytes still ACKed but unseen become a gap, then the parked segments go
    /// through the normal path in capture order (one may start a new parking; the rest then
    /// park behind it, so one direction's order never changes).
    fn unpark(&mut self, ts: Timestamp, ctx: &mut H::Ctx, pool: &mut Pool, step: &mut Step) {
        let Some(p) = self.park.take() else {
            return;
        };
        let waited = p.dir.reverse();
        if let Some(a) = self.acked[waited.index()].take() {
            self.with_sink(waited, p.since, ctx, |st, sink| st.ack_to(a, pool, sink));
        }
        for parked in self.queue.take(pool) {
            let seg = parked.segment();
            self.live(&seg, parked.counted, ctx, pool, step);
            if step.ended.is_some() {
                return;
            }
        }
        if self.park.is_none() {
            // ACKs of the parked direction's bytes, seen while they were parked.
            if let Some(a) = self.acked[p.dir.index()].take() {
                self.with_sink(p.dir, ts, ctx, |st, sink| st.ack_to(a, pool, sink));
            }
        }
    }

    /// This direction's payload, cut bytes and FIN to its stream.
    fn accept(&mut self, seg: &Segment<'_>, dir: Dir, ctx: &mut H::Ctx, pool: &mut Pool) {
        let flags = seg.flags;
        let seq = seg.seq.wrapping_add(u32::from(flags.syn()));
        self.with_sink(dir, seg.ts, ctx, |st, sink| {
            match st.accept(seq, seg.payload, seg.missing, flags.fin(), pool, sink) {
                Accepted::Retransmission => sink.stats.retransmissions += 1,
                Accepted::OutOfOrder => sink.stats.out_of_order += 1,
                Accepted::InOrder | Accepted::Ignored => {}
            }
        });
    }

    /// The final end of a reset connection: held bytes delivered, both directions ended, the
    /// reverse of the RST's sender first.
    fn end_reset(&mut self, sender: Dir, ts: Timestamp, ctx: &mut H::Ctx, pool: &mut Pool) {
        for d in [sender.reverse(), sender] {
            self.with_sink(d, ts, ctx, |st, sink| {
                st.flush(pool, sink);
                st.abort(pool, sink);
            });
        }
    }

    /// Runs `f` on one direction's stream with a sink to the handler.
    fn with_sink<R>(
        &mut self,
        dir: Dir,
        ts: Timestamp,
        ctx: &mut H::Ctx,
        f: impl FnOnce(&mut Stream, &mut DirSink<'_, H>) -> R,
    ) -> R {
        let Conn {
            handler,
            meta,
            stats,
            dirs,
            ..
        } = self;
        let i = dir.index();
        let mut sink = DirSink {
            handler,
            ctx,
            meta,
            dir,
            ts,
            stats: &mut stats.dir[i],
        };
        f(&mut dirs[i], &mut sink)
    }

    /// Statistics and handshake timestamps of one segment.
    fn count(&mut self, seg: &Segment<'_>, dir: Dir) {
        let flags = seg.flags;
        let st = &mut self.stats;
        st.last = st.last.max(seg.ts);
        let ds = &mut st.dir[dir.index()];
        ds.packets += 1;
        ds.bytes += u64::from(seg.ip_len);
        if seg.window == 0 && !flags.syn() && !flags.rst() {
            ds.zero_windows += 1;
        }
        if flags.fin() && ds.fin.is_none() {
            ds.fin = Some(seg.ts);
        }
        if !seg.payload.is_empty() && st.first_data.is_none() {
            st.first_data = Some(seg.ts);
        }
        if flags.syn() {
            let seen = if flags.ack() {
                &mut st.syn_ack
            } else {
                &mut st.syn
            };
            let stream = &self.dirs[dir.index()];
            if seen.is_some() && stream.started() && stream.isn() == seg.seq {
                st.dir[dir.index()].retransmissions += 1;
            }
            if !flags.ack() && st.syn_print.is_none() {
                st.syn_print = Some(SynPrint {
                    isn: seg.seq,
                    tsval: seg.tsopt.map(|t| t.0),
                });
            }
            seen.get_or_insert(seg.ts);
        } else if dir == Dir::ToServer && flags.ack() && !flags.rst() && st.ack.is_none() {
            // The client's ACK of the SYN-ACK completes the handshake (RFC 9293 3.5).
            let server = &self.dirs[Dir::ToClient.index()];
            if st.syn_ack.is_some() && server.started() && seg.ack == server.isn().wrapping_add(1) {
                st.ack = Some(seg.ts);
            }
        }
    }

    /// Ends the connection: parked segments are released (a reset connection drops them:
    /// they are stragglers, their count is returned), held bytes are delivered, holes become
    /// gaps, the handler gets the summary.
    pub fn close(
        mut self,
        reason: EndReason,
        ts: Timestamp,
        ctx: &mut H::Ctx,
        pool: &mut Pool,
    ) -> u64 {
        let dropped = if let Some(reset) = self.reset.take() {
            let dropped = self.queue.take(pool).len() as u64;
            self.end_reset(reset.sender, ts, ctx, pool);
            dropped
        } else {
            self.unpark(ts, ctx, pool, &mut Step::default());
            // A replayed segment may have parked again (a new wait): nothing waits any more.
            while self.park.is_some() {
                self.unpark(ts, ctx, pool, &mut Step::default());
            }
            0
        };
        for dir in DIRS {
            self.with_sink(dir, ts, ctx, |st, sink| st.flush(pool, sink));
        }
        let conn = Connection {
            id: self.meta.id,
            client: self.meta.client,
            server: self.meta.server,
            roles: self.roles,
            stats: self.stats,
            end: reason,
            app: AppInfo::Unknown,
            interface: Some(self.interface),
            original_dst: self.meta.original_dst,
        };
        self.handler.close(ctx, conn);
        dropped
    }
}

/// Raises a pending ACK mark to `ack` (sequence-space maximum).
fn raise(mark: &mut Option<u32>, ack: u32) {
    match mark {
        Some(m) if seq_diff(ack, *m) <= 0 => {}
        _ => *mark = Some(ack),
    }
}
