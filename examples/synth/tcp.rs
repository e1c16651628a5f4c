//! TCP connections with real sequence tracking: handshake, data split into MSS-sized
//! segments, delayed ACKs, a little reordering and retransmission, FIN or RST close.
//!
//! Behaviour follows RFC 9293 (sequence space, FIN consumes one number), RFC 1122 4.2.3.2
//! (ACK at least every second full-sized segment) and Linux defaults (PSH on the last
//! segment of a write, timestamps on every segment, RST|ACK on abortive close). It emits
//! through `Out`, which owns the clock: every packet takes the current capture time and
//! the clock only moves forward, so the file is in timestamp order like a real capture.

use crate::packet::{self, Endpoint, Tcp, ACK, FIN, PSH, RST, SYN};
use crate::pcap::Writer;
use crate::rng::Rng;
use std::collections::BTreeMap;
use std::io;

/// Per-mille chance that a multi-segment write has two adjacent segments swapped.
const REORDER_PER_MILLE: u64 = 8;
/// Per-mille chance that a data segment is sent twice (spurious retransmission).
const RETRANSMIT_PER_MILLE: u64 = 3;
/// Window field after the handshake (scaled by 2^WSCALE: about 64 KiB).
const WINDOW: u16 = 502;
const WSCALE: u8 = 7;

/// What the run produced, printed as the summary.
#[derive(Default)]
pub struct Stats {
    pub connections: u64,
    pub fin_closes: u64,
    pub rst_closes: u64,
    pub requests: u64,
    pub responses: u64,
    pub payload_bytes: u64,
    pub retransmissions: u64,
    /// Payload bytes sent again by retransmissions (on the wire, not in the streams).
    pub retransmitted_bytes: u64,
    pub reorders: u64,
    pub status: BTreeMap<u16, u64>,
}

/// The capture being written and its clock.
pub struct Out {
    pub w: Writer,
    pub clock_us: u64,
    pub stats: Stats,
    pub rng: Rng,
    buf: Vec<u8>,
}

impl Out {
    pub fn new(w: Writer, start_us: u64, rng: Rng) -> Out {
        Out {
            w,
            clock_us: start_us,
            stats: Stats::default(),
            rng,
            buf: Vec::with_capacity(1 << 17),
        }
    }

    /// Moves the clock forward.
    pub fn tick(&mut self, us: u64) {
        self.clock_us += us;
    }

    /// Moves the clock by a random amount in `lo..=hi` microseconds.
    pub fn wait(&mut self, lo: u64, hi: u64) {
        let d = self.rng.range(lo, hi);
        self.tick(d);
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Dir {
    ToServer,
    ToClient,
}

/// One side's send state.
struct Side {
    ep: Endpoint,
    /// Next sequence number to send (SND.NXT).
    nxt: u32,
    ts_base: u32,
    ip_id: u16,
}

pub struct Conn {
    c: Side,
    s: Side,
    /// Payload bytes per segment (MSS minus the 12 bytes of timestamp option).
    seg: usize,
    mss: u16,
    /// Requests carried so far, and how many before the client closes it.
    pub served: u32,
    pub budget: u32,
}

impl Conn {
    /// Three-way handshake (RFC 9293 3.5): SYN, SYN-ACK, ACK, with `rtt_us` between them.
    pub fn open(
        out: &mut Out,
        client: Endpoint,
        server: Endpoint,
        mss: u16,
        budget: u32,
        rtt_us: u64,
    ) -> Conn {
        let mut side = |ep| Side {
            ep,
            nxt: out.rng.next_u32(),
            ts_base: out.rng.next_u32(),
            ip_id: out.rng.next_u32() as u16,
        };
        let (c, s) = (side(client), side(server));
        let mut conn = Conn {
            c,
            s,
            seg: usize::from(mss) - packet::TCP_TS_OPTIONS,
            mss,
            served: 0,
            budget,
        };
        out.stats.connections += 1;
        conn.emit(
            out,
            Dir::ToServer,
            SYN,
            conn.c.nxt.wrapping_sub(0),
            &[],
            true,
        );
        conn.c.nxt = conn.c.nxt.wrapping_add(1);
        out.wait(rtt_us / 2, rtt_us);
        conn.emit(out, Dir::ToClient, SYN | ACK, conn.s.nxt, &[], true);
        conn.s.nxt = conn.s.nxt.wrapping_add(1);
        out.wait(rtt_us / 2, rtt_us);
        conn.emit(out, Dir::ToServer, ACK, conn.c.nxt, &[], false);
        conn
    }

    fn sides(&mut self, dir: Dir) -> (&mut Side, &mut Side) {
        match dir {
            Dir::ToServer => (&mut self.c, &mut self.s),
            Dir::ToClient => (&mut self.s, &mut self.c),
        }
    }

    /// Emits one segment from the sender of `dir` with sequence `seq`; it acknowledges all
    /// the peer has sent (every earlier peer segment was delivered before this one).
    fn emit(&mut self, out: &mut Out, dir: Dir, flags: u8, seq: u32, payload: &[u8], syn: bool) {
        let now_ms = (out.clock_us / 1000) as u32;
        let mss = self.mss;
        let (from, to) = self.sides(dir);
        from.ip_id = from.ip_id.wrapping_add(1);
        let tcp = Tcp {
            seq,
            ack: if flags & ACK != 0 { to.nxt } else { 0 },
            flags,
            window: if syn { 64_240 } else { WINDOW },
            ts_val: from.ts_base.wrapping_add(now_ms),
            ts_ecr: if flags == SYN {
                0
            } else {
                to.ts_base.wrapping_add(now_ms)
            },
            syn: if syn { Some((mss, WSCALE)) } else { None },
        };
        packet::build(&mut out.buf, &from.ep, &to.ep, from.ip_id, &tcp, payload);
        let ts = out.clock_us;
        let r = out.w.packet(ts, &out.buf);
        if let Err(e) = r {
            fail(e);
        }
    }

    /// A pure ACK from the sender of `dir`.
    pub fn ack(&mut self, out: &mut Out, dir: Dir) {
        let seq = self.sides(dir).0.nxt;
        self.emit(out, dir, ACK, seq, &[], false);
    }

    /// Sends `data` as one write: MSS-sized segments, PSH on the last, the receiver ACKing
    /// every second segment. `gap_us` is the time between back-to-back segments.
    pub fn send(&mut self, out: &mut Out, dir: Dir, data: &[u8], gap_us: u64) {
        let start = self.sides(dir).0.nxt;
        let segs = data.len().div_ceil(self.seg).max(1);
        let swap_at = if segs >= 3 && out.rng.chance(REORDER_PER_MILLE) {
            Some(out.rng.range(0, segs as u64 - 2) as usize)
        } else {
            None
        };
        let rev = match dir {
            Dir::ToServer => Dir::ToClient,
            Dir::ToClient => Dir::ToServer,
        };
        let mut i = 0;
        while i < segs {
            let order: &[usize] = if swap_at == Some(i) { &[1, 0] } else { &[0] };
            for &k in order {
                let j = i + k;
                let lo = j * self.seg;
                let hi = (lo + self.seg).min(data.len());
                let chunk = &data[lo..hi];
                let seq = start.wrapping_add(lo as u32);
                let flags = if j + 1 == segs { ACK | PSH } else { ACK };
                self.emit(out, dir, flags, seq, chunk, false);
                if out.rng.chance(RETRANSMIT_PER_MILLE) {
                    out.stats.retransmissions += 1;
                    out.stats.retransmitted_bytes += chunk.len() as u64;
                    out.wait(200, 3_000);
                    self.emit(out, dir, flags, seq, chunk, false);
                }
                out.tick(gap_us);
            }
            if order.len() == 2 {
                out.stats.reorders += 1;
            }
            let done = i + order.len();
            // Advance SND.NXT to the end of what has now been sent in order.
            let end = (done * self.seg).min(data.len());
            self.sides(dir).0.nxt = start.wrapping_add(end as u32);
            if done.is_multiple_of(2) && done < segs {
                // RFC 1122 4.2.3.2: ACK every second full-sized segment.
                self.ack(out, rev);
            }
            i = done;
        }
        out.stats.payload_bytes += data.len() as u64;
    }

    /// Orderly close started by the sender of `dir`: FIN, FIN-ACK, ACK.
    pub fn close_fin(&mut self, out: &mut Out, dir: Dir, rtt_us: u64) {
        let rev = match dir {
            Dir::ToServer => Dir::ToClient,
            Dir::ToClient => Dir::ToServer,
        };
        let seq = self.sides(dir).0.nxt;
        self.emit(out, dir, FIN | ACK, seq, &[], false);
        self.sides(dir).0.nxt = seq.wrapping_add(1);
        out.wait(rtt_us / 2, rtt_us);
        let seq = self.sides(rev).0.nxt;
        self.emit(out, rev, FIN | ACK, seq, &[], false);
        self.sides(rev).0.nxt = seq.wrapping_add(1);
        out.wait(rtt_us / 2, rtt_us);
        self.ack(out, dir);
        out.stats.fin_closes += 1;
    }

    /// Abortive close (SO_LINGER 0, or Envoy resetting an idle upstream): one RST|ACK.
    pub fn close_rst(&mut self, out: &mut Out, dir: Dir) {
        let seq = self.sides(dir).0.nxt;
        self.emit(out, dir, RST | ACK, seq, &[], false);
        out.stats.rst_closes += 1;
    }
}

/// A write error ends the run: the output file is unusable anyway.
fn fail(e: io::Error) -> ! {
    eprintln!("synth: write failed: {e}");
    std::process::exit(1);
}
