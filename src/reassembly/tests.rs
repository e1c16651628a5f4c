//! Stream-level tests with hand-built segments: ordering, retransmission, overlap, gaps,
//! wraparound, snaplen cuts. Also the recording handler and segment builder the other test
//! modules share.

use super::*;
use crate::model::{LinkMeta, TcpFlags};

pub(super) const SYN: u8 = TcpFlags::SYN;
pub(super) const ACK: u8 = TcpFlags::ACK;
pub(super) const FIN: u8 = TcpFlags::FIN;
pub(super) const RST: u8 = TcpFlags::RST;
pub(super) const PSH: u8 = TcpFlags::PSH;

/// Everything the reassembler told the handler, in order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) enum Ev {
    Open(ConnId),
    Data(ConnId, Dir, Vec<u8>),
    Gap(ConnId, Dir, u64),
    End(ConnId, Dir),
    Close(Box<Connection>),
}

pub(super) struct Rec;

impl StreamHandler for Rec {
    type Ctx = Vec<Ev>;
    fn open(meta: &ConnMeta, ctx: &mut Vec<Ev>) -> Self {
        ctx.push(Ev::Open(meta.id));
        Rec
    }
    fn data(&mut self, ctx: &mut Vec<Ev>, meta: &ConnMeta, dir: Dir, _: Timestamp, bytes: &[u8]) {
        // Adjacent data of one direction is merged: segmentation is not part of the contract.
        if let Some(Ev::Data(id, d, prev)) = ctx.last_mut() {
            if *id == meta.id && *d == dir {
                prev.extend_from_slice(bytes);
                return;
            }
        }
        ctx.push(Ev::Data(meta.id, dir, bytes.to_vec()));
    }
    fn gap(&mut self, ctx: &mut Vec<Ev>, meta: &ConnMeta, dir: Dir, _: Timestamp, len: u64) {
        ctx.push(Ev::Gap(meta.id, dir, len));
    }
    fn end(&mut self, ctx: &mut Vec<Ev>, meta: &ConnMeta, dir: Dir, _: Timestamp) {
        ctx.push(Ev::End(meta.id, dir));
    }
    fn close(self, ctx: &mut Vec<Ev>, conn: Connection) {
        ctx.push(Ev::Close(Box::new(conn)));
    }
}

pub(super) fn client() -> SocketAddr {
    SocketAddr::from(([10, 0, 0, 1], 40000))
}
pub(super) fn server() -> SocketAddr {
    SocketAddr::from(([10, 0, 0, 2], 9080))
}

/// A segment at `ms` milliseconds, from the client when `to_server`.
pub(super) fn seg<'a>(
    ms: i64,
    to_server: bool,
    seq: u32,
    ack: u32,
    flags: u8,
    payload: &'a [u8],
) -> Segment<'a> {
    let (src, dst) = if to_server {
        (client(), server())
    } else {
        (server(), client())
    };
    Segment {
        ts: Timestamp::from_nanos(ms * 1_000_000),
        frame: 0,
        src,
        dst,
        seq,
        ack,
        flags: TcpFlags(flags),
        window: 65535,
        tsopt: None,
        payload,
        ip_len: 40 + payload.len() as u32,
        missing: 0,
        link: LinkMeta::default(),
    }
}

pub(super) fn run(config: ReassemblyConfig, segs: &[Segment<'_>]) -> (Vec<Ev>, ReassemblyStats) {
    let mut r: Reassembler<Rec> = Reassembler::new(config);
    let mut evs = Vec::new();
    for s in segs {
        r.process(s, &mut evs);
    }
    r.finish(&mut evs);
    (evs, r.stats().clone())
}

/// The closed connections, in close order.
pub(super) fn closes(evs: &[Ev]) -> Vec<&Connection> {
    evs.iter()
        .filter_map(|e| match e {
            Ev::Close(c) => Some(&**c),
            _ => None,
        })
        .collect()
}

/// Events without opens and closes.
pub(super) fn flow(evs: &[Ev]) -> Vec<Ev> {
    evs.iter()
        .filter(|e| !matches!(e, Ev::Open(_) | Ev::Close(_)))
        .cloned()
        .collect()
}

use Dir::{ToClient as TC, ToServer as TS};

pub(super) fn data(dir: Dir, bytes: &[u8]) -> Ev {
    Ev::Data(1, dir, bytes.to_vec())
}

/// Client ISN 1000, server ISN 5000; handshake at 0-2 ms.
pub(super) fn handshake() -> Vec<Segment<'static>> {
    vec![
        seg(0, true, 1000, 0, SYN, b""),
        seg(1, false, 5000, 1001, SYN | ACK, b""),
        seg(2, true, 1001, 5001, ACK, b""),
    ]
}

#[test]
fn clean_handshake_data_both_ways_fin() {
    let mut s = handshake();
    s.push(seg(
        3,
        true,
        1001,
        5001,
        ACK | PSH,
        b"GET / HTTP/1.1\r\n\r\n",
    ));
    s.push(seg(
        4,
        false,
        5001,
        1019,
        ACK | PSH,
        b"HTTP/1.1 200 OK\r\n\r\n",
    ));
    s.push(seg(5, true, 1019, 5020, ACK | FIN, b""));
    s.push(seg(6, false, 5020, 1020, ACK | FIN, b""));
    s.push(seg(7, true, 1020, 5021, ACK, b""));
    let (evs, st) = run(ReassemblyConfig::default(), &s);
    assert_eq!(
        flow(&evs),
        vec![
            data(TS, b"GET / HTTP/1.1\r\n\r\n"),
            data(TC, b"HTTP/1.1 200 OK\r\n\r\n"),
            Ev::End(1, TS),
            Ev::End(1, TC),
        ]
    );
    let c = closes(&evs)[0];
    assert_eq!(
        (c.client, c.server, c.roles, c.end),
        (client(), server(), RoleSource::Handshake, EndReason::Fin)
    );
    let ms = |m: i64| Some(Timestamp::from_nanos(m * 1_000_000));
    assert_eq!(
        (
            c.stats.syn,
            c.stats.syn_ack,
            c.stats.ack,
            c.stats.first_data
        ),
        (ms(0), ms(1), ms(2), ms(3))
    );
    assert_eq!(c.stats.handshake_rtt(), Some(2_000_000));
    assert_eq!(
        c.stats.dir[0].packets, 4,
        "the final ACK comes after close: absorbed"
    );
    assert_eq!(c.stats.dir[0].payload, 18);
    assert_eq!(c.stats.dir[1].payload, 19);
    assert_eq!(c.stats.dir[0].fin, ms(5));
    assert_eq!(c.stats.dir[0].bytes, 40 * 4 + 18);
    assert_eq!(
        (c.stats.dir[0].retransmissions, c.stats.dir[0].gap_bytes),
        (0, 0)
    );
    assert_eq!(c.interface, Some(0));
    assert_eq!((st.connections, st.closed_fin, st.after_close), (1, 1, 1));
}

#[test]
fn reordering_within_limit() {
    let mut s = handshake();
    s.push(seg(3, true, 1005, 5001, ACK, b"efgh"));
    s.push(seg(4, true, 1009, 5001, ACK, b"ijkl"));
    s.push(seg(5, true, 1001, 5001, ACK, b"abcd"));
    let (evs, _) = run(ReassemblyConfig::default(), &s);
    assert_eq!(flow(&evs), vec![data(TS, b"abcdefghijkl")]);
    assert_eq!(closes(&evs)[0].stats.dir[0].out_of_order, 2);
    assert_eq!(closes(&evs)[0].end, EndReason::CaptureEnd);
}

#[test]
fn duplicates_and_retransmissions_deliver_once() {
    let mut s = handshake();
    s.push(seg(3, true, 1001, 5001, ACK, b"abcd"));
    s.push(seg(4, true, 1001, 5001, ACK, b"abcd"));
    s.push(seg(5, true, 1009, 5001, ACK, b"ijkl"));
    s.push(seg(6, true, 1009, 5001, ACK, b"ijkl"));
    s.push(seg(7, true, 1005, 5001, ACK, b"efgh"));
    let (evs, _) = run(ReassemblyConfig::default(), &s);
    assert_eq!(flow(&evs), vec![data(TS, b"abcdefghijkl")]);
    let d = &closes(&evs)[0].stats.dir[0];
    assert_eq!((d.retransmissions, d.out_of_order, d.payload), (2, 1, 12));
}

#[test]
fn partial_overlap_uses_only_new_bytes() {
    let mut s = handshake();
    s.push(seg(3, true, 1001, 5001, ACK, b"abcdef"));
    s.push(seg(4, true, 1004, 5001, ACK, b"DEFghi"));
    let (evs, _) = run(ReassemblyConfig::default(), &s);
    assert_eq!(flow(&evs), vec![data(TS, b"abcdefghi")]);
    assert_eq!(closes(&evs)[0].stats.dir[0].retransmissions, 1);
}

#[test]
fn overlap_with_different_bytes_first_copy_wins() {
    let mut s = handshake();
    // Held out of order: "EFGH" at 1005; a later copy "xxxxyyyy" at 1005 overlaps it and
    // extends it; then the in-order "abcdZZ" overlaps the held copy's first two bytes.
    s.push(seg(3, true, 1005, 5001, ACK, b"EFGH"));
    s.push(seg(4, true, 1005, 5001, ACK, b"xxxxyyyy"));
    s.push(seg(5, true, 1001, 5001, ACK, b"abcdZZ"));
    let (evs, _) = run(ReassemblyConfig::default(), &s);
    assert_eq!(flow(&evs), vec![data(TS, b"abcdEFGHyyyy")]);
}

#[test]
fn lost_segment_acked_later_is_a_gap_before_the_response() {
    let mut s = handshake();
    s.push(seg(3, true, 1001, 5001, ACK, b"GET /"));
    // 1006..1011 lost by the capture; the server ACKs it and answers.
    s.push(seg(4, true, 1011, 5001, ACK, b"\r\n\r\n"));
    s.push(seg(5, false, 5001, 1015, ACK, b"HTTP/1.1 200 OK\r\n"));
    let (evs, _) = run(ReassemblyConfig::default(), &s);
    assert_eq!(
        flow(&evs),
        vec![
            data(TS, b"GET /"),
            Ev::Gap(1, TS, 5),
            data(TS, b"\r\n\r\n"),
            data(TC, b"HTTP/1.1 200 OK\r\n"),
        ]
    );
    assert_eq!(closes(&evs)[0].stats.dir[0].gap_bytes, 5);
}

#[test]
fn reorder_buffer_overflow_skips_to_first_held() {
    let config = ReassemblyConfig {
        ooo_segments_per_dir: 2,
        ..ReassemblyConfig::default()
    };
    let mut s = handshake();
    s.push(seg(3, true, 1011, 5001, ACK, b"kl"));
    s.push(seg(4, true, 1013, 5001, ACK, b"mn"));
    s.push(seg(5, true, 1021, 5001, ACK, b"uv"));
    let (evs, st) = run(config, &s);
    assert_eq!(
        flow(&evs),
        vec![
            Ev::Gap(1, TS, 10),
            data(TS, b"klmn"),
            Ev::Gap(1, TS, 6),
            data(TS, b"uv")
        ]
    );
    assert_eq!((st.ooo_overflows, st.ooo_overflow_gap_bytes), (1, 10));
}

#[test]
fn global_limit_skips_too() {
    let config = ReassemblyConfig {
        ooo_bytes_total: 3,
        ..ReassemblyConfig::default()
    };
    let mut s = handshake();
    s.push(seg(3, true, 1003, 5001, ACK, b"cdef"));
    let (evs, st) = run(config, &s);
    assert_eq!(flow(&evs), vec![Ev::Gap(1, TS, 2), data(TS, b"cdef")]);
    assert_eq!(st.ooo_peak_bytes, 0);
}

#[test]
fn hole_at_fin_is_a_gap_then_end() {
    let mut s = handshake();
    s.push(seg(3, true, 1001, 5001, ACK, b"ab"));
    s.push(seg(4, true, 1005, 5001, ACK | FIN, b"ef"));
    let (evs, _) = run(ReassemblyConfig::default(), &s);
    assert_eq!(
        flow(&evs),
        vec![
            data(TS, b"ab"),
            Ev::Gap(1, TS, 2),
            data(TS, b"ef"),
            Ev::End(1, TS)
        ]
    );
    assert_eq!(closes(&evs)[0].end, EndReason::CaptureEnd);
}

#[test]
fn sequence_wraparound() {
    let isn = u32::MAX - 5;
    let s = vec![
        seg(0, true, isn, 0, SYN, b""),
        seg(1, false, 7, isn.wrapping_add(1), SYN | ACK, b""),
        seg(3, true, isn.wrapping_add(5), 8, ACK, b"efgh"), // crosses 2^32, out of order
        seg(4, true, isn.wrapping_add(1), 8, ACK, b"abcd"),
        seg(5, true, isn.wrapping_add(9), 8, ACK, b"ijkl"),
        seg(6, true, isn.wrapping_add(3), 8, ACK, b"cdXX"), // retransmission across the wrap
    ];
    let (evs, _) = run(ReassemblyConfig::default(), &s);
    assert_eq!(flow(&evs), vec![data(TS, b"abcdefghijkl")]);
    assert_eq!(closes(&evs)[0].stats.dir[0].retransmissions, 1);
}

#[test]
fn snaplen_missing_bytes_are_a_gap_never_data() {
    let mut s = handshake();
    let mut cut = seg(3, true, 1001, 5001, ACK, b"abcd");
    cut.missing = 96;
    s.push(cut);
    s.push(seg(4, true, 1101, 5001, ACK, b"next"));
    let (evs, _) = run(ReassemblyConfig::default(), &s);
    assert_eq!(
        flow(&evs),
        vec![data(TS, b"abcd"), Ev::Gap(1, TS, 96), data(TS, b"next")]
    );
    let d = &closes(&evs)[0].stats.dir[0];
    assert_eq!((d.payload, d.gap_bytes, d.out_of_order), (8, 96, 0));
}

#[test]
fn zero_window_counted_on_non_syn_non_rst() {
    let mut s = handshake();
    s[0].window = 0;
    let mut z = seg(3, false, 5001, 1001, ACK, b"");
    z.window = 0;
    s.push(z);
    let (evs, _) = run(ReassemblyConfig::default(), &s);
    let c = closes(&evs)[0];
    assert_eq!(
        (c.stats.dir[0].zero_windows, c.stats.dir[1].zero_windows),
        (0, 1)
    );
}

#[test]
fn far_segments_and_bogus_acks_are_ignored() {
    let mut s = handshake();
    s.push(seg(3, true, 1001 + (1 << 31), 5001, ACK, b"far")); // not this stream
    s.push(seg(4, false, 5001, 1001 + (1 << 30) + 1, ACK, b"")); // acks beyond any window
    s.push(seg(5, true, 1001 + (1 << 30) + 100, 5001, ACK, b"ahead")); // beyond 2^30
    s.push(seg(6, true, 1001, 5001, ACK, b"ok"));
    let (evs, st) = run(ReassemblyConfig::default(), &s);
    assert_eq!(flow(&evs), vec![data(TS, b"ok")]);
    assert_eq!(closes(&evs)[0].stats.dir[0].gap_bytes, 0);
    assert_eq!(
        st.out_of_window, 1,
        "2^31 away counts as old; 2^30 + 100 ahead is out of window"
    );
    assert_eq!(closes(&evs)[0].stats.dir[0].retransmissions, 1);
}
