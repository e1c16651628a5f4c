//! RST grace and capture-reordering tests: ignored and final RSTs, stragglers of a reset
//! connection, segments parked behind ACKed unseen bytes, and their bounds.

use super::tests::{closes, data, flow, handshake, run, seg, Ev, ACK, FIN, PSH, RST, SYN};
use super::*;
use Dir::{ToClient as TC, ToServer as TS};

fn ms(m: i64) -> Timestamp {
    Timestamp::from_nanos(m * 1_000_000)
}

/// A segment of another connection, to move capture time on.
fn elsewhere(ms: i64) -> Segment<'static> {
    let mut s = seg(ms, true, 1, 1, ACK, b"x");
    s.src.set_port(50000);
    s
}

#[test]
fn regression_md5_rst_ignored_then_get_and_response() {
    // sv-http-sll-linktype113-retrans: the client's RST (TCP-MD5 option) is ignored by the
    // server; the GET and the 200 follow on the same connection.
    let mut s = handshake();
    s.push(seg(3, true, 1001, 5001, RST | ACK, b""));
    s.push(seg(
        40,
        true,
        1001,
        5001,
        ACK | PSH,
        b"GET / HTTP/1.1\r\n\r\n",
    ));
    s.push(seg(
        41,
        false,
        5001,
        1019,
        ACK | PSH,
        b"HTTP/1.1 200 OK\r\n\r\n",
    ));
    s.push(seg(42, false, 5020, 1019, ACK | FIN, b""));
    s.push(seg(43, true, 1019, 5021, ACK | FIN, b""));
    let (evs, st) = run(ReassemblyConfig::default(), &s);
    assert_eq!(
        flow(&evs),
        vec![
            data(TS, b"GET / HTTP/1.1\r\n\r\n"),
            data(TC, b"HTTP/1.1 200 OK\r\n\r\n"),
            Ev::End(1, TC),
            Ev::End(1, TS),
        ]
    );
    let c = closes(&evs)[0];
    assert_eq!((c.end, c.stats.rst), (EndReason::Fin, Some(ms(3))));
    assert_eq!(c.stats.dir[0].packets, 5, "the RST counts as a packet");
    assert_eq!((st.rst_overruled, st.closed_rst, st.closed_fin), (1, 0, 1));
}

#[test]
fn final_rst_closes_when_the_grace_passes() {
    let mut s = handshake();
    s.push(seg(3, true, 1001, 5001, ACK, b"req"));
    s.push(seg(10, false, 5001, 1004, RST | ACK, b""));
    s.push(elsewhere(2000));
    let (evs, st) = run(ReassemblyConfig::default(), &s);
    // Connection 1 closed (as reset, at its RST) before connection 2 opened.
    let close = evs
        .iter()
        .position(|e| matches!(e, Ev::Close(c) if c.id == 1));
    let open2 = evs.iter().position(|e| *e == Ev::Open(2));
    assert!(close < open2, "{evs:?}");
    let c = closes(&evs)[0];
    assert_eq!(
        (c.end, c.stats.rst, c.stats.last),
        (EndReason::Rst, Some(ms(10)), ms(10))
    );
    let ends: Vec<_> = flow(&evs)
        .into_iter()
        .filter(|e| matches!(e, Ev::End(1, _)))
        .collect();
    assert_eq!(ends, vec![Ev::End(1, TS), Ev::End(1, TC)]);
    assert_eq!((st.closed_rst, st.rst_overruled), (1, 0));

    // Without later packets, finish closes it as reset too.
    let (evs, st) = run(ReassemblyConfig::default(), &s[..5]);
    assert_eq!(
        (closes(&evs)[0].end, st.closed_rst, st.capture_end),
        (EndReason::Rst, 1, 0)
    );
}

#[test]
fn zero_grace_closes_at_the_rst() {
    let config = ReassemblyConfig {
        rst_grace: std::time::Duration::ZERO,
        ..ReassemblyConfig::default()
    };
    let mut s = handshake();
    s.push(seg(3, true, 1001, 5001, RST, b""));
    s.push(seg(4, true, 1001, 5001, ACK, b"late"));
    let (evs, st) = run(config, &s);
    assert_eq!((st.closed_rst, st.after_close, st.connections), (1, 1, 1));
    assert_eq!(flow(&evs), vec![Ev::End(1, TC), Ev::End(1, TS)]);
}

#[test]
fn out_of_window_rst_is_ignored() {
    let mut s = handshake();
    s.push(seg(3, true, 1001, 5001, ACK, b"abcd"));
    s.push(seg(4, true, 900, 5001, RST, b"")); // behind what the server already has
    s.push(seg(5, false, 5001 + (1 << 31), 1005, RST, b"")); // nowhere near
    s.push(seg(6, true, 1005, 5001, ACK, b"efgh"));
    let (evs, st) = run(ReassemblyConfig::default(), &s);
    assert_eq!(flow(&evs), vec![data(TS, b"abcdefgh")]);
    let c = closes(&evs)[0];
    assert_eq!((c.end, c.stats.rst), (EndReason::CaptureEnd, None));
    assert_eq!((st.rst_out_of_window, st.rst_overruled), (2, 0));
}

#[test]
fn rst_then_stray_ack_and_in_flight_data_are_absorbed() {
    // The common case: the client resets mid-response; the server's in-flight data and ACK,
    // and the client's answering RST, are stragglers: no new connection, no data.
    let mut s = handshake();
    s.push(seg(3, true, 1001, 5001, ACK, b"req"));
    s.push(seg(4, false, 5001, 1004, ACK, b"resp-1"));
    s.push(seg(5, true, 1004, 5007, RST | ACK, b""));
    s.push(seg(6, false, 5007, 1004, ACK, b"resp-2"));
    s.push(seg(7, false, 5013, 1004, ACK, b""));
    s.push(seg(8, true, 1004, 0, RST, b""));
    s.push(elsewhere(3000));
    s.push(seg(3001, false, 5013, 1004, ACK, b"")); // after the grace: the closed set
    let (evs, st) = run(ReassemblyConfig::default(), &s);
    let c = closes(&evs)[0];
    assert_eq!((c.id, c.end, c.stats.rst), (1, EndReason::Rst, Some(ms(5))));
    assert_eq!(c.stats.dir[1].payload, 6);
    assert!(!flow(&evs).contains(&data(TC, b"resp-2")));
    assert_eq!((st.connections, st.after_close, st.closed_rst), (2, 4, 1));
}

#[test]
fn fresh_syn_makes_the_reset_final() {
    let mut s = handshake();
    s.push(seg(3, true, 1001, 5001, RST, b""));
    s.push(seg(4, true, 77_000, 0, SYN, b""));
    let (evs, st) = run(ReassemblyConfig::default(), &s);
    let cs = closes(&evs);
    assert_eq!((cs[0].end, cs[0].stats.rst), (EndReason::Rst, Some(ms(3))));
    assert_eq!((st.connections, st.closed_rst, st.reused), (2, 1, 0));
}

#[test]
fn regression_response_recorded_before_its_request() {
    // zeek-http-ipv6-atomic-fragment: the server's ACK of 15 bytes and its 88-byte answer are
    // recorded before the client's 15 bytes, which carry an earlier timestamp.
    let req = b"GET /bad.html\r\n";
    let resp = [b'r'; 88];
    let mut s = handshake();
    s.push(seg(10, false, 5001, 1016, ACK, b""));
    s.push(seg(11, false, 5001, 1016, ACK | PSH, &resp));
    s.push(seg(9, true, 1001, 5001, ACK | PSH, req));
    s.push(seg(12, false, 5089, 1016, ACK | FIN, b""));
    s.push(seg(13, true, 1016, 5090, ACK | FIN, b""));
    s.push(seg(14, false, 5090, 1017, ACK, b""));
    let (evs, st) = run(ReassemblyConfig::default(), &s);
    assert_eq!(
        flow(&evs),
        vec![
            data(TS, req),
            data(TC, &resp),
            Ev::End(1, TC),
            Ev::End(1, TS)
        ]
    );
    let c = closes(&evs)[0];
    assert_eq!(c.end, EndReason::Fin);
    for d in &c.stats.dir {
        assert_eq!((d.gap_bytes, d.retransmissions), (0, 0));
    }
    assert_eq!((st.reorder_parks, st.reorder_parks_resolved), (1, 1));
}

#[test]
fn acked_bytes_truly_lost_are_a_gap_after_the_window() {
    let mut s = handshake();
    s.push(seg(3, false, 5001, 1016, ACK | PSH, b"answer"));
    s.push(elsewhere(30)); // the window passes in capture time
    s.push(seg(31, true, 1001, 5007, ACK, b"too late: retr."));
    let (evs, st) = run(ReassemblyConfig::default(), &s);
    let ours: Vec<_> = flow(&evs)
        .into_iter()
        .filter(|e| !matches!(e, Ev::Data(2, ..)))
        .collect();
    assert_eq!(ours, vec![Ev::Gap(1, TS, 15), data(TC, b"answer")]);
    let c = closes(&evs)[0];
    assert_eq!(c.stats.dir[0].retransmissions, 1);
    assert_eq!((st.reorder_parks, st.reorder_parks_resolved), (1, 0));

    // Or a few packets of the connection pass, whatever the time.
    let mut s = handshake();
    s.push(seg(3, false, 5001, 1016, ACK | PSH, b"a"));
    for i in 0..5 {
        s.push(seg(3, true, 1016, 5002, ACK, b"")); // the client goes on
        s.push(seg(3, false, 5002 + i, 1016, ACK, b"b"));
    }
    let (evs, _) = run(ReassemblyConfig::default(), &s);
    assert_eq!(flow(&evs)[0], Ev::Gap(1, TS, 15));
}

#[test]
fn parking_is_bounded() {
    let config = ReassemblyConfig {
        reorder_segments: 2,
        ..ReassemblyConfig::default()
    };
    let mut s = handshake();
    s.push(seg(3, false, 5001, 1011, ACK, b"aa"));
    s.push(seg(3, false, 5003, 1011, ACK, b"bb"));
    s.push(seg(3, false, 5005, 1011, ACK, b"cc")); // no room: the gap now, then in order
    s.push(seg(3, true, 1001, 5007, ACK, b"late req!!"));
    let mut r: Reassembler<super::tests::Rec> = Reassembler::new(config);
    let mut evs = Vec::new();
    for x in &s[..5] {
        r.process(x, &mut evs);
    }
    assert_eq!(r.pool.used, 4, "two segments parked");
    r.process(&s[5], &mut evs);
    assert_eq!(r.pool.used, 0);
    r.process(&s[6], &mut evs);
    r.finish(&mut evs);
    assert_eq!(flow(&evs), vec![Ev::Gap(1, TS, 10), data(TC, b"aabbcc")]);

    // Bytes too: a segment bigger than the limit is never parked.
    let config = ReassemblyConfig {
        reorder_bytes: 2,
        ..ReassemblyConfig::default()
    };
    let mut s = handshake();
    s.push(seg(3, false, 5001, 1003, ACK, b"big"));
    s.push(seg(3, false, 5004, 1003, ACK, b"!"));
    s.push(seg(4, true, 1001, 5005, ACK, b"hi"));
    let (evs, _) = run(config, &s);
    assert_eq!(flow(&evs), vec![Ev::Gap(1, TS, 2), data(TC, b"big!")]);
}

#[test]
fn parked_bytes_acked_by_the_peer_are_no_gap() {
    // While the server's answer is parked, the client's ACK of it must not declare it lost.
    let mut s = handshake();
    s.push(seg(3, false, 5001, 1004, ACK, b"answer"));
    s.push(seg(4, true, 1004, 5007, ACK, b"")); // ACKs the parked answer
    s.push(seg(2, true, 1001, 5001, ACK, b"req"));
    let (evs, _) = run(ReassemblyConfig::default(), &s);
    assert_eq!(flow(&evs), vec![data(TS, b"req"), data(TC, b"answer")]);
    assert!(closes(&evs)[0].stats.dir.iter().all(|d| d.gap_bytes == 0));
}
