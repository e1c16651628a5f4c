//! Throughput of [`HttpConn`] on a large synthetic keep-alive stream (ignored by default; run
//! `cargo test --release --lib http::tests::bench -- --ignored --nocapture`). The clock is
//! read only here, to report the figure.

use super::*;
use std::time::Instant;

/// A Bookinfo-like keep-alive connection: `n` GETs, each answered with a JSON-sized body of
/// `body` bytes (every fourth chunked). Returns both byte streams and, per exchange, where its
/// request and response end in them.
fn stream(n: usize, body: usize) -> (Vec<u8>, Vec<u8>, Vec<(usize, usize)>) {
    let mut client = Vec::new();
    let mut server = Vec::new();
    let mut ends = Vec::new();
    let payload = vec![b'x'; body];
    for i in 0..n {
        client.extend_from_slice(
            format!(
                "GET /reviews/{i} HTTP/1.1\r\nHost: reviews:9080\r\nUser-Agent: python-requests/2.31\r\nAccept: */*\r\nx-request-id: 5f1c2a9e-1a2b-4c3d-9e8f-{i:012}\r\nx-b3-traceid: 80f198ee56343ba864fe8b2a57d3eff7\r\nx-b3-spanid: e457b5a2e4d86bd1\r\nx-b3-sampled: 1\r\n\r\n"
            )
            .as_bytes(),
        );
        if i % 4 == 3 {
            server.extend_from_slice(b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\nx-envoy-upstream-service-time: 7\r\nserver: envoy\r\ntransfer-encoding: chunked\r\n\r\n");
            for piece in payload.chunks(8192) {
                server.extend_from_slice(format!("{:x}\r\n", piece.len()).as_bytes());
                server.extend_from_slice(piece);
                server.extend_from_slice(b"\r\n");
            }
            server.extend_from_slice(b"0\r\n\r\n");
        } else {
            server.extend_from_slice(
                format!("HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {body}\r\ndate: Mon, 01 Dec 2025 18:00:00 GMT\r\nx-envoy-upstream-service-time: 7\r\nserver: envoy\r\n\r\n").as_bytes(),
            );
            server.extend_from_slice(&payload);
        }
        ends.push((client.len(), server.len()));
    }
    (client, server, ends)
}

/// The data calls: each request, then its response, cut into `mss`-byte segments.
fn segments(ends: &[(usize, usize)], mss: usize) -> Vec<(Dir, usize, usize)> {
    let mut out = Vec::new();
    let (mut c, mut s) = (0, 0);
    for &(ce, se) in ends {
        for (dir, from, to) in [(Dir::ToServer, c, ce), (Dir::ToClient, s, se)] {
            let mut at = from;
            while at < to {
                let end = (at + mss).min(to);
                out.push((dir, at, end));
                at = end;
            }
        }
        (c, s) = (ce, se);
    }
    out
}

fn measure(n: usize, body: usize, mss: usize) {
    let (client, server, ends) = stream(n, body);
    let segs = segments(&ends, mss);
    let total = client.len() + server.len();
    let mut best = f64::MAX;
    for _ in 0..3 {
        let start = Instant::now();
        let mut h = HttpConn::new(1, HttpLimits::default());
        let mut out = Vec::new();
        let mut count = 0;
        for (ts, &(dir, from, to)) in segs.iter().enumerate() {
            let bytes = if dir == Dir::ToServer {
                &client[from..to]
            } else {
                &server[from..to]
            };
            h.data(dir, Timestamp(ts as i64), bytes, &mut out);
            count += out.len();
            out.clear(); // the pipeline drains after every segment
        }
        h.finish(&mut out);
        best = best.min(start.elapsed().as_secs_f64());
        assert_eq!(count + out.len(), n);
        assert!(out.is_empty());
    }
    println!(
        "body {body:>6} B, mss {mss:>5}: {:>4.0} MB, {:>6.1} ms = {:.2} GB/s, {:.2} M exchanges/s",
        total as f64 / 1e6,
        best * 1e3,
        total as f64 / best / 1e9,
        n as f64 / best / 1e6
    );
}

#[test]
#[ignore = "benchmark: run in release with --ignored --nocapture"]
fn bench_keep_alive() {
    let only: Option<usize> = std::env::var("BENCH_BODY")
        .ok()
        .and_then(|v| v.parse().ok());
    for (n, body) in [
        (200_000, 300),
        (100_000, 2_000),
        (20_000, 20_000),
        (2_000, 500_000),
    ] {
        if only.is_some_and(|o| o != body) {
            continue;
        }
        for mss in [1448, 65_483] {
            measure(n, body, mss);
        }
    }
}

#[test]
fn synthetic_stream_pairs_exactly() {
    for (body, mss) in [(300, 1448), (2_000, 1448), (20_000, 1448), (300, 65_483)] {
        let (client, server, ends) = stream(40, body);
        let evs: Vec<Ev> = segments(&ends, mss)
            .into_iter()
            .map(|(dir, from, to)| {
                if dir == Dir::ToServer {
                    c(&client[from..to])
                } else {
                    s(&server[from..to])
                }
            })
            .collect();
        let out = run(&evs);
        let bad: Vec<_> = out
            .iter()
            .filter(|e| e.incomplete() || !e.notes.is_empty())
            .take(3)
            .collect();
        assert!(bad.is_empty(), "body {body} mss {mss}: {bad:#?}");
        assert_eq!(out.len(), 40);
    }
}
