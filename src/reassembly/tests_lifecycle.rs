//! Connection lifecycle tests: roles, reordered handshake, port reuse, RST, idle expiry,
//! eviction, stragglers after close.

use super::tests::{client, closes, data, flow, handshake, run, seg, Ev, ACK, FIN, PSH, RST, SYN};
use super::*;
use Dir::{ToClient as TC, ToServer as TS};

fn addr(last: u8, port: u16) -> SocketAddr {
    SocketAddr::from(([10, 0, 0, last], port))
}

fn at(mut s: Segment<'_>, src: SocketAddr, dst: SocketAddr) -> Segment<'_> {
    s.src = src;
    s.dst = dst;
    s
}

#[test]
fn mid_stream_roles_by_payload_beat_ports() {
    // The sender uses port 80 but sends a request: it is the client.
    let (a, b) = (addr(1, 80), addr(2, 45000));
    let s = vec![
        at(seg(0, true, 77, 9, ACK, b"GET / HTTP/1.1\r\n"), a, b),
        at(seg(1, true, 9, 93, ACK, b"HTTP/1.1 200 OK\r\n"), b, a),
    ];
    let (evs, _) = run(ReassemblyConfig::default(), &s);
    let c = closes(&evs)[0];
    assert_eq!((c.client, c.server, c.roles), (a, b, RoleSource::Heuristic));
    assert_eq!(
        flow(&evs),
        vec![
            data(TS, b"GET / HTTP/1.1\r\n"),
            data(TC, b"HTTP/1.1 200 OK\r\n")
        ]
    );

    // A status line from the higher port: that side is the server.
    let s = vec![at(seg(0, true, 1, 1, ACK, b"HTTP/1.0 404 x\r\n"), b, a)];
    let c = closes(&run(ReassemblyConfig::default(), &s).0)[0].clone();
    assert_eq!((c.client, c.server), (a, b));
}

#[test]
fn mid_stream_roles_by_port() {
    // Known server port beats lower port; otherwise the lower port is the server.
    let (app, envoy) = (addr(1, 8080), addr(2, 15006));
    let (eph, low) = (addr(3, 50000), addr(4, 7000));
    for (src, dst, want_server) in [
        (app, envoy, None),
        (eph, envoy, Some(envoy)),
        (low, eph, Some(low)),
    ] {
        let s = vec![at(seg(0, true, 1, 1, ACK, b"\x00\x01binary"), src, dst)];
        let c = closes(&run(ReassemblyConfig::default(), &s).0)[0].clone();
        let want = want_server.unwrap_or(app);
        assert_eq!(c.server, want, "{src} -> {dst}");
    }
}

#[test]
fn syn_ack_before_syn_fixes_roles() {
    let s = vec![
        seg(1, false, 5000, 1001, SYN | ACK, b""),
        seg(0, true, 1000, 0, SYN, b""),
        seg(2, true, 1001, 5001, ACK | PSH, b"hi"),
    ];
    let (evs, _) = run(ReassemblyConfig::default(), &s);
    let c = closes(&evs)[0];
    assert_eq!((c.client, c.roles), (client(), RoleSource::Handshake));
    assert_eq!(
        c.stats.dir[0].retransmissions, 0,
        "a reordered SYN is no retransmission"
    );
    assert!(c.stats.syn.is_some() && c.stats.ack.is_some());
    assert_eq!(flow(&evs), vec![data(TS, b"hi")]);
}

#[test]
fn retransmitted_syn_is_a_retransmission() {
    let mut s = handshake();
    s.insert(1, seg(0, true, 1000, 0, SYN, b""));
    let (evs, st) = run(ReassemblyConfig::default(), &s);
    assert_eq!(st.connections, 1);
    assert_eq!(closes(&evs)[0].stats.dir[0].retransmissions, 1);
}

#[test]
fn new_syn_on_the_tuple_ends_the_old_connection_as_reused() {
    let mut s = handshake();
    s.push(seg(3, true, 1001, 5001, ACK, b"one"));
    s.push(seg(4, true, 1004, 5001, ACK | FIN, b""));
    s.push(seg(10, true, 777_000, 0, SYN, b""));
    s.push(seg(11, false, 888_000, 777_001, SYN | ACK, b""));
    s.push(seg(12, true, 777_001, 888_001, ACK, b"two"));
    let (evs, st) = run(ReassemblyConfig::default(), &s);
    let cs = closes(&evs);
    assert_eq!((cs[0].id, cs[0].end), (1, EndReason::Reused));
    assert_eq!(
        (cs[1].id, cs[1].end, cs[1].roles),
        (2, EndReason::CaptureEnd, RoleSource::Handshake)
    );
    assert_eq!(st.reused, 1);
    assert!(flow(&evs).contains(&Ev::Data(2, TS, b"two".to_vec())));
}

#[test]
fn new_syn_after_a_clean_close_is_a_new_connection() {
    let mut s = handshake();
    s.push(seg(3, true, 1001, 5001, ACK | FIN, b""));
    s.push(seg(4, false, 5001, 1002, ACK | FIN, b""));
    s.push(seg(5, true, 1002, 5002, ACK, b"")); // final ACK: absorbed
    s.push(seg(6, true, 1000, 0, SYN, b"")); // the old SYN again: absorbed
    s.push(seg(7, true, 9_000, 0, SYN, b"")); // new ISN: new connection
    let (evs, st) = run(ReassemblyConfig::default(), &s);
    assert_eq!((st.connections, st.closed_fin, st.after_close), (2, 1, 2));
    assert_eq!(closes(&evs)[1].end, EndReason::CaptureEnd);
}

#[test]
fn rst_ends_both_directions() {
    let mut s = handshake();
    s.push(seg(3, true, 1001, 5001, ACK, b"req"));
    s.push(seg(4, true, 1010, 5001, ACK, b"held")); // hole 1004..1010
    s.push(seg(5, false, 5001, 1004, RST | ACK, b""));
    s.push(seg(6, false, 5001, 1004, RST, b"")); // repeated RST: absorbed
    let (evs, st) = run(ReassemblyConfig::default(), &s);
    assert_eq!(
        flow(&evs),
        vec![
            data(TS, b"req"),
            Ev::Gap(1, TS, 6),
            data(TS, b"held"),
            Ev::End(1, TS),
            Ev::End(1, TC),
        ]
    );
    let c = closes(&evs)[0];
    assert_eq!(c.end, EndReason::Rst);
    assert!(c.stats.rst.is_some());
    assert_eq!((st.closed_rst, st.after_close, st.connections), (1, 1, 1));
}

#[test]
fn idle_expiry_by_capture_time() {
    let config = ReassemblyConfig {
        idle_timeout: std::time::Duration::from_secs(1),
        ..ReassemblyConfig::default()
    };
    let other = addr(9, 41000);
    let s = vec![
        seg(0, true, 1, 1, ACK, b"a"),
        at(seg(500, true, 1, 1, ACK, b"b"), other, addr(2, 9080)),
        at(seg(1400, true, 2, 1, ACK, b"c"), other, addr(2, 9080)),
        seg(1500, true, 2, 1, ACK, b"d"),
    ];
    let (evs, st) = run(config, &s);
    let cs = closes(&evs);
    // Connection 1 idled out at 1.4 s (last packet at 0): "d" starts connection 3.
    assert_eq!((cs[0].id, cs[0].end), (1, EndReason::Idle));
    assert_eq!((st.idle, st.connections), (1, 3));
    assert_eq!(cs[0].stats.last, Timestamp::from_nanos(0));
}

#[test]
fn eviction_when_the_table_is_full() {
    let config = ReassemblyConfig {
        max_connections: 2,
        ..ReassemblyConfig::default()
    };
    let s: Vec<_> = (0..3u8)
        .map(|i| {
            at(
                seg(i64::from(i), true, 1, 1, ACK, b"x"),
                addr(10 + i, 40000),
                addr(2, 80),
            )
        })
        .chain([at(
            seg(5, true, 2, 1, ACK, b"y"),
            addr(11, 40000),
            addr(2, 80),
        )])
        .collect();
    let (evs, st) = run(config, &s);
    let cs = closes(&evs);
    assert_eq!((cs[0].id, cs[0].end), (1, EndReason::Evicted));
    assert_eq!((st.evicted, st.open_peak, st.connections), (1, 2, 3));
}

#[test]
fn stray_final_ack_after_close_opens_nothing() {
    let mut s = handshake();
    s.push(seg(3, false, 5001, 1001, ACK | FIN, b""));
    s.push(seg(4, true, 1001, 5002, ACK | FIN, b""));
    s.push(seg(5, false, 5002, 1002, ACK, b""));
    s.push(seg(6, true, 1001, 5002, ACK | FIN, b"")); // retransmitted FIN
    let (evs, st) = run(ReassemblyConfig::default(), &s);
    assert_eq!((st.connections, st.after_close), (1, 2));
    assert_eq!(closes(&evs).len(), 1);
    assert_eq!(flow(&evs), vec![Ev::End(1, TC), Ev::End(1, TS)]);
}

#[test]
fn straggler_window_is_capture_time() {
    let config = ReassemblyConfig {
        closed_window: std::time::Duration::from_secs(1),
        ..ReassemblyConfig::default()
    };
    let mut s = handshake();
    s.push(seg(3, true, 1001, 5001, RST, b""));
    s.push(seg(5000, true, 1001, 5001, ACK, b"late")); // window over: new connection
    let (_, st) = run(config, &s);
    assert_eq!((st.connections, st.after_close), (2, 0));
}

#[test]
fn fin_then_ack_of_unseen_fin_closes() {
    // The server's FIN was not captured, but the client ACKs it: its data is a gap of one.
    let mut s = handshake();
    s.push(seg(3, true, 1001, 5001, ACK | FIN, b""));
    s.push(seg(4, false, 5001, 1002, ACK, b"bye"));
    let (evs, _) = run(ReassemblyConfig::default(), &s);
    assert_eq!(flow(&evs), vec![Ev::End(1, TS), data(TC, b"bye")]);
    assert_eq!(closes(&evs)[0].end, EndReason::CaptureEnd);
}
