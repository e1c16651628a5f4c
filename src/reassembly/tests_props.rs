//! Properties: reordering and duplication within the limits never change the stream;
//! arbitrary segments never panic, never deliver more than was captured, and leave no memory
//! held after `finish`. Plus an ignored throughput micro-benchmark.

use super::tests::{seg, Ev, Rec, ACK, FIN, PSH, RST, SYN};
use super::*;
use proptest::prelude::*;
use std::collections::BTreeMap;

/// Splits `len` bytes at the given cut points into `(offset, len)` pieces.
fn pieces(len: usize, cuts: &[usize]) -> Vec<(usize, usize)> {
    let mut points: Vec<usize> = cuts
        .iter()
        .map(|c| c % len.max(1))
        .filter(|&c| c > 0)
        .collect();
    points.sort_unstable();
    points.dedup();
    let mut out = Vec::new();
    let mut at = 0;
    for p in points.into_iter().chain([len]) {
        if p > at {
            out.push((at, p - at));
            at = p;
        }
    }
    out
}

fn delivered(evs: &[Ev], dir: Dir) -> (Vec<u8>, u64) {
    let (mut bytes, mut gaps) = (Vec::new(), 0);
    for e in evs {
        match e {
            Ev::Data(_, d, b) if *d == dir => bytes.extend_from_slice(b),
            Ev::Gap(_, d, n) if *d == dir => gaps += n,
            _ => {}
        }
    }
    (bytes, gaps)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    /// Any permutation of a stream's segments, with any duplicated or re-cut retransmissions,
    /// reassembles to exactly the in-order stream, across a sequence wrap too.
    #[test]
    fn permutation_and_duplication_keep_the_stream(
        body in proptest::collection::vec(any::<u8>(), 1..3000),
        cuts in proptest::collection::vec(any::<usize>(), 0..60),
        recuts in proptest::collection::vec(any::<usize>(), 0..20),
        keys in proptest::collection::vec(any::<u32>(), 100),
        isn in prop_oneof![any::<u32>(), Just(u32::MAX - 100), Just(u32::MAX)],
        fin in any::<bool>(),
    ) {
        let mut parts = pieces(body.len(), &cuts);
        // Retransmissions cut differently, carrying the same bytes.
        parts.extend(pieces(body.len(), &recuts).into_iter().step_by(2));
        let mut order: Vec<(u32, (usize, usize))> =
            parts.iter().enumerate().map(|(i, p)| (keys[i % keys.len()] ^ i as u32, *p)).collect();
        order.sort_by_key(|(k, _)| *k);
        let data_seq = isn.wrapping_add(1);
        let mut segs = vec![seg(0, true, isn, 0, SYN, b""), seg(1, false, 42, data_seq, SYN | ACK, b"")];
        for (i, (_, (off, len))) in order.iter().enumerate() {
            let last = off + len == body.len();
            let flags = ACK | PSH | if fin && last { FIN } else { 0 };
            let s = seg(2 + i as i64, true, data_seq.wrapping_add(*off as u32), 43, flags, &body[*off..off + len]);
            segs.push(s);
        }
        let (evs, st) = super::tests::run(ReassemblyConfig::default(), &segs);
        let (bytes, gaps) = delivered(&evs, Dir::ToServer);
        prop_assert_eq!(&bytes, &body);
        prop_assert_eq!(gaps, 0);
        prop_assert_eq!(st.connections, 1);
        prop_assert_eq!(evs.contains(&Ev::End(1, Dir::ToServer)), fin);
    }

    /// Arbitrary segments on a few 4-tuples never panic; per direction the delivered bytes
    /// never exceed the captured payload, the statistics match the events, every opened
    /// connection closes once, and no out-of-order memory is held after `finish`.
    #[test]
    fn arbitrary_segments_never_panic(
        raw in proptest::collection::vec(
            (0u8..4, any::<bool>(), 0u32..4000, any::<u32>(), any::<u8>(), 0usize..300, 0u32..200, any::<bool>()),
            0..120),
        base in any::<u32>(),
        small in any::<bool>(),
    ) {
        let config = if small {
            ReassemblyConfig { ooo_bytes_per_dir: 500, ooo_segments_per_dir: 3, ooo_bytes_total: 900, max_connections: 2, ..ReassemblyConfig::default() }
        } else {
            ReassemblyConfig::default()
        };
        let payload = vec![7u8; 300];
        let mut r: Reassembler<Rec> = Reassembler::new(config);
        let mut evs = Vec::new();
        let mut captured: BTreeMap<SocketAddr, u64> = BTreeMap::new();
        for (i, (port, to_server, off, ack, flags, len, missing, far)) in raw.iter().enumerate() {
            let seq = if *far { off.wrapping_mul(1 << 20) } else { base.wrapping_add(*off) };
            let mut s = seg(i as i64 * 100, *to_server, seq, *ack, flags & (SYN | ACK | FIN | RST | PSH), &payload[..*len]);
            s.src.set_port(s.src.port() + u16::from(*port));
            s.dst.set_port(s.dst.port() + u16::from(*port));
            s.missing = *missing;
            *captured.entry(s.src).or_default() += *len as u64;
            r.process(&s, &mut evs);
        }
        r.finish(&mut evs);
        prop_assert_eq!(r.pool.used, 0);
        let mut per_src: BTreeMap<SocketAddr, u64> = BTreeMap::new();
        let mut metas: BTreeMap<ConnId, ConnMeta> = BTreeMap::new();
        let mut closed = 0;
        let mut events_payload: BTreeMap<(ConnId, usize), u64> = BTreeMap::new();
        for e in &evs {
            match e {
                Ev::Data(id, d, b) => *events_payload.entry((*id, d.index())).or_default() += b.len() as u64,
                Ev::Close(c) => {
                    closed += 1;
                    metas.insert(c.id, ConnMeta { id: c.id, client: c.client, server: c.server, original_dst: c.original_dst });
                    for d in [Dir::ToServer, Dir::ToClient] {
                        let got = events_payload.get(&(c.id, d.index())).copied().unwrap_or(0);
                        prop_assert_eq!(c.stats.dir[d.index()].payload, got);
                        let src = if d == Dir::ToServer { c.client } else { c.server };
                        *per_src.entry(src).or_default() += got;
                    }
                }
                _ => {}
            }
        }
        prop_assert_eq!(closed, r.stats().connections);
        for (src, got) in per_src {
            prop_assert!(got <= captured.get(&src).copied().unwrap_or(0), "{} delivered {}", src, got);
        }
    }
}

/// A request/response conversation: `rounds` of (request pieces, response pieces), every
/// segment ACKing all the peer sent before it; FINs at the end when `fin`.
fn conversation<'a>(
    req: &'a [u8],
    resp: &'a [u8],
    rounds: usize,
    cuts: &[usize],
    fin: bool,
) -> Vec<Segment<'a>> {
    let (c_isn, s_isn) = (1000u32, 5000u32);
    let mut segs = vec![
        seg(0, true, c_isn, 0, SYN, b""),
        seg(0, false, s_isn, c_isn + 1, SYN | ACK, b""),
        seg(0, true, c_isn + 1, s_isn + 1, ACK, b""),
    ];
    let (mut c, mut s) = (c_isn + 1, s_isn + 1);
    for round in 0..rounds {
        for (to_server, body) in [(true, req), (false, resp)] {
            let cut = cuts.get(round).copied().unwrap_or(0);
            for (off, len) in pieces(body.len(), &[cut, cut / 7]) {
                let piece = &body[off..off + len];
                let next = if to_server {
                    let x = seg(0, true, c, s, ACK | PSH, piece);
                    c += len as u32;
                    x
                } else {
                    let x = seg(0, false, s, c, ACK | PSH, piece);
                    s += len as u32;
                    x
                };
                segs.push(next);
            }
        }
    }
    if fin {
        segs.push(seg(0, true, c, s, ACK | FIN, b""));
        segs.push(seg(0, false, s, c + 1, ACK | FIN, b""));
        segs.push(seg(0, true, c + 1, s + 1, ACK, b""));
    }
    for (i, x) in segs.iter_mut().enumerate() {
        x.ts = Timestamp::from_nanos(i as i64 * 50_000);
    }
    segs
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    /// Capture order is not wire order: swapping two adjacent packets of different
    /// directions (timestamps and all, as per-CPU capture buffers do) delivers the same bytes
    /// per direction, with no gap and no lost connection end. (With `reorder_window` zero,
    /// the old behaviour, this fails at once.)
    #[test]
    fn adjacent_swap_across_directions_keeps_both_streams(
        req in proptest::collection::vec(any::<u8>(), 1..200),
        resp in proptest::collection::vec(any::<u8>(), 1..400),
        rounds in 1usize..4,
        cuts in proptest::collection::vec(any::<usize>(), 4),
        fin in any::<bool>(),
        at in any::<prop::sample::Index>(),
    ) {
        let segs = conversation(&req, &resp, rounds, &cuts, fin);
        let (want, _) = super::tests::run(ReassemblyConfig::default(), &segs);
        let mut swapped = segs.clone();
        let i = at.index(swapped.len() - 1);
        prop_assume!(swapped[i].src != swapped[i + 1].src);
        swapped.swap(i, i + 1);
        let (got, st) = super::tests::run(ReassemblyConfig::default(), &swapped);
        for dir in [Dir::ToServer, Dir::ToClient] {
            let body = if dir == Dir::ToServer { &req } else { &resp };
            let (bytes, gaps) = delivered(&got, dir);
            prop_assert_eq!(&bytes, &body.repeat(rounds));
            prop_assert_eq!(gaps, 0);
            prop_assert_eq!(delivered(&want, dir).0, bytes);
        }
        prop_assert_eq!(st.connections, 1);
        let ended = |evs: &[Ev]| evs.iter().filter(|e| matches!(e, Ev::End(..))).count();
        prop_assert_eq!(ended(&got), ended(&want));
    }
}

/// `cargo test --release --lib reassembly::tests_props::throughput -- --ignored --nocapture`
#[test]
#[ignore = "micro-benchmark"]
fn throughput() {
    let payload = vec![b'x'; 1448];
    let conns = 64u32;
    let per_conn = 20_000u32;
    let mut segs = Vec::new();
    for c in 0..conns {
        for i in 0..per_conn {
            let mut s = seg(i64::from(i), i % 2 == 0, i / 2 * 1448, 1, ACK, &payload);
            s.src.set_port(s.src.port().wrapping_add(c as u16));
            s.dst.set_port(s.dst.port());
            segs.push(s);
        }
    }
    // Interleave connections as a capture would.
    segs.sort_by_key(|s| (s.ts, s.src.port()));
    struct Count;
    impl StreamHandler for Count {
        type Ctx = u64;
        fn open(_: &ConnMeta, _: &mut u64) -> Self {
            Count
        }
        fn data(&mut self, n: &mut u64, _: &ConnMeta, _: Dir, _: Timestamp, b: &[u8]) {
            *n += b.len() as u64;
        }
        fn gap(&mut self, _: &mut u64, _: &ConnMeta, _: Dir, _: Timestamp, _: u64) {}
        fn end(&mut self, _: &mut u64, _: &ConnMeta, _: Dir, _: Timestamp) {}
        fn close(self, _: &mut u64, _: Connection) {}
    }
    // Best of three passes, each over a fresh reassembler (the first also warms the pages).
    let (mut n, mut secs) = (0u64, f64::MAX);
    for _ in 0..3 {
        let mut r: Reassembler<Count> = Reassembler::new(ReassemblyConfig::default());
        n = 0;
        let start = std::time::Instant::now();
        for s in &segs {
            r.process(s, &mut n);
        }
        r.finish(&mut n);
        secs = secs.min(start.elapsed().as_secs_f64());
    }
    let pkts = segs.len() as f64;
    println!(
        "{} segments, {} MB payload in {:.3} s: {:.0} ns/segment, {:.2} GB/s",
        segs.len(),
        n / 1_000_000,
        secs,
        secs * 1e9 / pkts,
        n as f64 / secs / 1e9
    );
    assert_eq!(n, u64::from(conns * per_conn) * 1448);
}
