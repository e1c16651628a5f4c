//! The captures made on this machine with real tcpdump, curl, nginx and Python
//! (`tests/data/README.md` says how each was made). Expected values were read from the bytes and
//! cross-checked with tshark (`tests/data/expected/`); where tshark differs, the README says why.

mod common;

use common::{analyze, data};
use hopscope::model::{AppInfo, Dir, EndReason, RoleSource};

/// `METHOD target status` for every exchange, in report order.
fn lines(name: &str) -> Vec<String> {
    analyze(&[data(name)]).lines()
}

#[test]
fn python_http_server_get_404_head() {
    let run = analyze(&[data("python-get-404-head.pcap")]);
    assert_eq!(
        run.lines(),
        [
            "GET /index.html 200",
            "GET /nope.html 404",
            "HEAD /file.txt 200"
        ]
    );
    // HTTP/1.0 server: one connection per request, each closed with FIN.
    assert_eq!(run.got.connections.len(), 3);
    assert!(run
        .got
        .connections
        .iter()
        .all(|c| c.end == EndReason::Fin && c.roles == RoleSource::Handshake));
    let head = &run.got.exchanges[2].0;
    let resp = head.response.as_ref().unwrap();
    assert_eq!(
        resp.msg.header("content-length"),
        Some("18"),
        "HEAD keeps the length it announces"
    );
    assert_eq!(resp.msg.body_len, 0, "HEAD responses have no body");
    assert!(!head.incomplete());
}

#[test]
fn nginx_keepalive_one_connection() {
    let run = analyze(&[data("nginx-keepalive-3req.pcap")]);
    assert_eq!(
        run.lines(),
        [
            "GET /index.html 200",
            "GET /file.txt 200",
            "GET /missing 404"
        ]
    );
    assert_eq!(run.got.connections.len(), 1);
    let idx: Vec<u32> = run.got.exchanges.iter().map(|(e, _)| e.index).collect();
    assert_eq!(idx, [0, 1, 2]);
    assert_eq!(run.got.connections[0].app, AppInfo::Http { exchanges: 3 });
    let file = run.got.exchanges[1].0.response.as_ref().unwrap();
    assert_eq!(file.msg.body_preview, b"a small text file\n");
}

#[test]
fn tcpdump_any_writes_sll2_and_gives_the_same_exchanges() {
    let run = analyze(&[data("nginx-keepalive-any-sll2.pcap")]);
    assert_eq!(run.summary.interfaces[0].link_type, 276);
    assert_eq!(run.lines(), lines("nginx-keepalive-3req.pcap"));
}

#[test]
fn dumpcap_pcapng() {
    let run = analyze(&[data("nginx-keepalive-dumpcap.pcapng")]);
    assert_eq!(run.summary.files[0].format.to_string(), "pcapng");
    assert_eq!(run.lines(), ["GET /index.html 200", "GET /file.txt 200"]);
}

#[test]
fn nanosecond_pcap_keeps_nanoseconds() {
    let run = analyze(&[data("python-get-nanosecond.pcap")]);
    assert_eq!(run.lines(), ["GET /index.html 200"]);
    let first = run.summary.first.unwrap().nanos();
    assert_ne!(
        first % 1000,
        0,
        "a nanosecond capture has sub-microsecond digits"
    );
}

#[test]
fn gzip_chunked_body_is_decoded_for_the_preview() {
    let run = analyze(&[data("nginx-gzip-chunked.pcap")]);
    assert_eq!(run.lines(), ["GET /big.txt 200"]);
    let r = run.got.exchanges[0].0.response.as_ref().unwrap();
    assert_eq!(r.msg.header("content-encoding"), Some("gzip"));
    assert_eq!(r.msg.header("transfer-encoding"), Some("chunked"));
    assert!(
        r.msg.body_preview.starts_with(b"00000 details sidecar"),
        "{:?}",
        r.msg.preview_note
    );
    assert!(r.msg.complete.is_some());
}

#[test]
fn conditional_requests_get_304_without_body() {
    let run = analyze(&[data("nginx-304-conditional.pcap")]);
    assert_eq!(run.lines(), ["GET /file.txt 304", "GET /file.txt 304"]);
    assert!(run.got.exchanges.iter().all(|(e, _)| !e.incomplete()));
}

#[test]
fn expect_100_continue_through_a_proxy() {
    let run = analyze(&[data("nginx-100-continue-proxy.pcap")]);
    // nginx proxies the POST to the Python helper (no Expect on that leg), so two exchanges:
    // the proxied leg completes first, then the client's, which got 100 Continue before its 200.
    assert_eq!(run.lines(), ["POST /upload 200", "POST /upload 200"]);
    let client_leg = &run.got.exchanges[1].0;
    let q = client_leg.request.as_ref().unwrap();
    assert_eq!(q.msg.header("expect"), Some("100-continue"));
    assert_eq!(q.msg.body_len, 204_800);
    assert_eq!(client_leg.response.as_ref().unwrap().informational, [100]);
}

#[test]
fn large_body_is_counted_not_kept() {
    let run = analyze(&[data("nginx-large-body-1mib.pcap")]);
    let r = run.got.exchanges[0].0.response.as_ref().unwrap();
    assert_eq!(r.msg.body_len, 1 << 20);
    assert!(r.msg.body_preview.len() <= 1024);
    assert!(r.msg.complete.is_some());
}

#[test]
fn chunked_with_trailer() {
    let run = analyze(&[data("helper-chunked-trailer.pcap")]);
    assert_eq!(run.lines(), ["GET /chunked 200"]);
    let r = run.got.exchanges[0].0.response.as_ref().unwrap();
    assert_eq!(r.msg.body_len, 3120);
    assert!(r.msg.body_preview.starts_with(b"first chunk\nsecond chunk"));
    assert!(r.msg.complete.is_some());
}

#[test]
fn pipelined_requests_in_one_segment_pair_in_order() {
    let run = analyze(&[data("nginx-pipelined-3req.pcap")]);
    assert_eq!(
        run.lines(),
        [
            "GET /index.html 200",
            "GET /missing.html 404",
            "GET /file.txt 200"
        ]
    );
    // All three requests started in the same packet.
    let starts: Vec<_> = run
        .got
        .exchanges
        .iter()
        .map(|(e, _)| e.request.as_ref().unwrap().msg.first_byte)
        .collect();
    assert!(starts.windows(2).all(|w| w[0] == w[1]));
}

#[test]
fn client_reset_mid_response_is_reported_cut() {
    let run = analyze(&[data("nginx-client-rst-mid-response.pcap")]);
    assert_eq!(run.lines(), ["GET /large.bin 200"]);
    let (ex, _) = &run.got.exchanges[0];
    assert!(ex.incomplete());
    let r = ex.response.as_ref().unwrap();
    assert!(r.msg.complete.is_none());
    assert!(r.msg.body_len > 0 && r.msg.body_len < 1 << 20);
    assert!(run.got.connections.iter().any(|c| c.end == EndReason::Rst));
}

#[test]
fn tls_client_hello_names_the_istio_service() {
    let run = analyze(&[data("tls-istio-sni-alpn.pcap")]);
    assert!(run.got.exchanges.is_empty());
    let tls: Vec<_> = run
        .got
        .connections
        .iter()
        .filter(|c| matches!(c.app, AppInfo::Tls { .. }))
        .collect();
    assert_eq!(tls.len(), 1);
    let AppInfo::Tls { sni, alpn, bursts } = &tls[0].app else {
        unreachable!()
    };
    assert_eq!(
        sni.as_deref(),
        Some("outbound_.9080_.v1_.reviews.default.svc.cluster.local")
    );
    assert_eq!(alpn, &["istio-peer-exchange", "istio"]);
    // The application-data bursts, as tshark shows the records (`-e tls.record.length`): the
    // server's encrypted flight after its ServerHello and CCS (49+859+281+69 bytes + 4
    // headers), the client's Finished (69 + 5, its CCS left out), two NewSessionTickets and
    // the server's close_notify (266+266+19 + 3 headers), the client's close_notify (19 + 5).
    let first = tls[0].stats.first;
    // Offsets: the client's after its 391-byte hello and 6-byte CCS, the server's after its
    // 127-byte ServerHello and CCS, then each previous burst.
    let got: Vec<(Dir, i64, u64, u64)> = bursts
        .list
        .iter()
        .map(|b| (b.dir, b.first.since(first) / 1000, b.offset, b.bytes))
        .collect();
    assert_eq!(
        got,
        [
            (Dir::ToClient, 2787, 133, 1278),
            (Dir::ToServer, 4362, 397, 74),
            (Dir::ToClient, 4816, 1411, 566),
            (Dir::ToServer, 5182, 471, 24),
        ]
    );
    assert_eq!(bursts.dropped, 0);
}

#[test]
fn several_inputs_merge_by_time() {
    let a = data("nginx-keepalive-3req.pcap");
    let b = data("python-get-404-head.pcap");
    let run = analyze(&[a, b]);
    assert_eq!(run.summary.files.len(), 2);
    assert_eq!(run.requests(), 6);
    let per_file: u64 = run.summary.files.iter().map(|f| f.packets).sum();
    assert_eq!(
        run.summary.frames, per_file,
        "every frame of both files was read"
    );
    assert!(run.summary.files.iter().all(|f| f.packets > 0));
}

#[test]
fn sample_capture_matches_the_generator() {
    // captures/README.md: `synth --size 200KiB --seed 20` printed 33 connections, 81 requests,
    // 81 responses; tshark (with out-of-order reassembly on) agrees.
    let run = analyze(&[
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("captures/bookinfo-sample.pcap")
    ]);
    assert_eq!(run.got.connections.len(), 33);
    assert_eq!((run.requests(), run.responses()), (81, 81));
    assert!(run.got.exchanges.iter().all(|(e, _)| !e.incomplete()));
}

/// `tcpdump -i any` inside a sidecar pod's netns (make-redirect.sh): the app's packets go to
/// 127.0.0.1:15001, the replies come from the ClusterIP. Without joining the two views every
/// request would be unanswered and every response orphaned.
#[test]
fn sidecar_redirect_halves_are_one_connection_with_its_original_destination() {
    let run = analyze(&[data("sidecar-redirect-15001-any.pcap")]);
    assert_eq!(
        run.lines(),
        ["GET /reviews 200", "GET /reviews 200", "GET /nothing 404"]
    );
    let redirect: std::net::SocketAddr = "127.0.0.1:15001".parse().unwrap();
    let cluster_ip: std::net::SocketAddr = "10.96.100.10:9080".parse().unwrap();
    assert_eq!(run.got.connections.len(), 3);
    for c in &run.got.connections {
        assert_eq!(c.server, redirect);
        assert_eq!(c.original_dst, Some(cluster_ip), "{c:?}");
        assert_eq!(c.end, hopscope::model::EndReason::Fin);
        assert!(c.stats.syn_print.is_some() && c.stats.handshake_rtt().is_some());
        assert!(c.stats.dir[1].payload > 0, "replies reached the connection");
    }
    for (_, meta) in &run.got.exchanges {
        assert_eq!(meta.original_dst, Some(cluster_ip));
    }
}
