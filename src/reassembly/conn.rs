//! One connection: the handshake and teardown state machine, two [`Stream`]s and the
//! statistics, driving the connection's [`StreamHandler`].
//!
//! Per segment, in this order (RFC 9293 section 3.10.7 processing, as seen from outside):
//! statistics; SYN / SYN-ACK fix each direction's ISN; the ACK field closes holes of the
//! *reverse* direction the capture missed (so the application learns of lost request bytes
//! before it sees the response); a RST ends both directions; otherwise the payload, cut bytes
//! and FIN go to this direction's stream. It does not keep the table or expire anything.

use super::stream::{Accepted, Pool, Sink, Stream};
use super::{ConnMeta, StreamHandler};
use crate::model::{
    AppInfo, ConnStats, Connection, Dir, DirStats, EndReason, RoleSource, Segment, Timestamp,
};

pub(crate) struct Conn<H> {
    pub meta: ConnMeta,
    handler: H,
    roles: RoleSource,
    stats: ConnStats,
    dirs: [Stream; 2],
    interface: u32,
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

    /// Takes one segment; returns how the connection ended if this segment ended it.
    pub fn segment(
        &mut self,
        seg: &Segment<'_>,
        ctx: &mut H::Ctx,
        pool: &mut Pool,
    ) -> Option<EndReason> {
        let dir = self.dir_of(seg);
        let (d, r) = (dir.index(), dir.reverse().index());
        self.count(seg, dir);
        let flags = seg.flags;
        if flags.syn() {
            if flags.ack() && !self.dirs[r].started() {
                // SYN-ACK before (or without) the SYN: its ACK names the client's ISN + 1.
                self.dirs[r].start_syn(seg.ack.wrapping_sub(1));
            }
            if !self.dirs[d].started() {
                self.dirs[d].start_syn(seg.seq);
            }
        }
        let ts = seg.ts;
        let Conn {
            handler,
            meta,
            stats,
            dirs,
            ..
        } = self;
        let [s0, s1] = &mut stats.dir;
        let (st_d, st_r) = if d == 0 { (s0, s1) } else { (s1, s0) };
        let [c, s] = dirs;
        let (stream_d, stream_r) = if d == 0 { (c, s) } else { (s, c) };
        let mut sink_r = DirSink {
            handler: &mut *handler,
            ctx: &mut *ctx,
            meta,
            dir: dir.reverse(),
            ts,
            stats: st_r,
        };
        if flags.ack() {
            stream_r.ack_to(seg.ack, pool, &mut sink_r);
        }
        if flags.rst() {
            stream_r.flush(pool, &mut sink_r);
            stream_r.abort(pool, &mut sink_r);
            let mut sink_d = DirSink {
                handler,
                ctx,
                meta,
                dir,
                ts,
                stats: st_d,
            };
            stream_d.flush(pool, &mut sink_d);
            stream_d.abort(pool, &mut sink_d);
            return Some(EndReason::Rst);
        }
        let mut sink_d = DirSink {
            handler,
            ctx,
            meta,
            dir,
            ts,
            stats: st_d,
        };
        let seq = seg.seq.wrapping_add(u32::from(flags.syn()));
        match stream_d.accept(
            seq,
            seg.payload,
            seg.missing,
            flags.fin(),
            pool,
            &mut sink_d,
        ) {
            Accepted::Retransmission => sink_d.stats.retransmissions += 1,
            Accepted::OutOfOrder => sink_d.stats.out_of_order += 1,
            Accepted::InOrder | Accepted::Ignored => {}
        }
        (stream_d.ended() && stream_r.ended()).then_some(EndReason::Fin)
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
        if flags.rst() && st.rst.is_none() {
            st.rst = Some(seg.ts);
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
            seen.get_or_insert(seg.ts);
        } else if dir == Dir::ToServer && flags.ack() && !flags.rst() && st.ack.is_none() {
            // The client's ACK of the SYN-ACK completes the handshake (RFC 9293 3.5).
            let server = &self.dirs[Dir::ToClient.index()];
            if st.syn_ack.is_some() && server.started() && seg.ack == server.isn().wrapping_add(1) {
                st.ack = Some(seg.ts);
            }
        }
    }

    /// Ends the connection: held bytes are delivered, holes become gaps, the handler gets the
    /// summary.
    pub fn close(mut self, reason: EndReason, ts: Timestamp, ctx: &mut H::Ctx, pool: &mut Pool) {
        let Conn {
            handler,
            meta,
            stats,
            dirs,
            ..
        } = &mut self;
        for (i, stream) in dirs.iter_mut().enumerate() {
            let Some(stats) = stats.dir.get_mut(i) else {
                continue;
            };
            let mut sink = DirSink {
                handler: &mut *handler,
                ctx: &mut *ctx,
                meta,
                dir: DIRS[i],
                ts,
                stats,
            };
            stream.flush(pool, &mut sink);
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
        };
        self.handler.close(ctx, conn);
    }
}
