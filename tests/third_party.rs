//! Third-party captures (copied under `tests/data/third-party/` with source and licence in
//! `tests/data/README.md`), and every capture of `../shared/fixtures/pcaps` when it is beside the
//! checkout. Expected counts are the truth read from the bytes, not tshark's (the README lists
//! where tshark misses a message: cut bodies, gaps, pipelining).

mod common;

use common::{analyze, data, shared_pcaps};
use hopscope::capture::{Capture, FileReader};
use hopscope::model::AppInfo;

/// (file, requests, responses): every request and response each capture really contains.
const TRUTH: &[(&str, usize, usize)] = &[
    ("deepflow-envoy-gateway-xff-request.pcap", 1, 1),
    ("deepflow-http-keepalive-3req-chunked-sw8.pcap", 3, 3),
    (
        "deepflow-istio-sidecar-bookinfo-productpage-inbound.pcap",
        1,
        1,
    ),
    ("gopacket-http-ethernet-simple.pcap", 1, 1),
    (
        "gopacket-http-ipv6-null-loopback-keepalive-chunked.pcap",
        3,
        3,
    ),
    ("pcapparser-bigendian.pcapng", 0, 0),
    ("pcapparser-corrupt-buffertoosmall.pcapng", 0, 0),
    ("pcapparser-modified-pcap-magic-a1b2cd34.pcap", 0, 0),
    ("sv-http-file-cut-short-mid-packet.pcap", 8, 8),
    ("sv-http-ipv6-null-loopback-keepalive-post.pcap", 3, 3),
    ("sv-http-ipv6-null-loopback.pcap", 1, 1),
    ("sv-http-null-loopback-chunked.pcap", 1, 1),
    // The second response's body crosses the gap; its head is there (tshark loses it).
    ("sv-http-null-loopback-keepalive-gap.pcap", 3, 3),
    ("sv-http-pipelined-2req-one-segment.pcap", 2, 2),
    ("sv-http-sll-linktype113-3req.pcap", 3, 3),
    // The client's RST carries an MD5 option the server ignores; the GET and 200 follow.
    ("sv-http-sll-linktype113-retrans.pcap", 1, 1),
    ("sv-http-sll2-linktype276-request-only.pcap", 1, 0),
    ("sv-http-sll2-linktype276.pcap", 1, 1),
    ("sv-http-snaplen-cut-variable-caplen.pcap", 1, 1),
    ("zeek-http-100-continue-chunked.pcap", 1, 1),
    ("zeek-http-bad-tcp-checksums-offload.pcap", 1, 1),
    // One response body has lost segments; its head was captured (tshark drops it: 31/30).
    ("zeek-http-bro.org-keepalive-31req.pcap", 31, 31),
    ("zeek-http-browse-keepalive-17req.pcap", 17, 17),
    ("zeek-http-docker-api-upgrade-chunked.pcap", 6, 6),
    ("zeek-http-dvwa-chunked.pcapng", 3, 3),
    ("zeek-http-entity-content-gap.pcap", 1, 1),
    ("zeek-http-get-gzip.pcap", 1, 1),
    ("zeek-http-get-no-syn-midstream.pcap", 1, 1),
    ("zeek-http-handshake-reordered.pcap", 1, 1),
    (
        "zeek-http-ipv6-keepalive-1000req-one-dropped-response.pcap",
        1000,
        999,
    ),
    ("zeek-http-keepalive-5req-gzip.pcap", 5, 5),
    // One HTTP/1.0 exchange in VLAN + MPLS, one HTTP/0.9 behind an F5 load balancer.
    ("zeek-http-mixed-vlan-mpls.pcap", 2, 2),
    ("zeek-http-nflog-linktype239.pcap", 1, 1),
    ("zeek-http-post-large-body.pcap", 2, 2),
    ("zeek-http-qinq-double-vlan.pcap", 1, 1),
    ("zeek-http-retransmissions-m57.pcap", 1, 1),
    ("zeek-http-vlan-8021q.pcap", 1, 1),
    ("zeek-http-x-gzip.pcap", 1, 1),
    ("zeek-pcapng-multi-interface-no-http.pcapng", 0, 0),
];

#[test]
fn every_request_and_response_is_found() {
    let mut wrong = Vec::new();
    for &(name, requests, responses) in TRUTH {
        let run = analyze(&[data(&format!("third-party/{name}"))]);
        let got = (run.requests(), run.responses());
        if got != (requests, responses) {
            wrong.push(format!(
                "{name}: expected {requests}/{responses}, got {}/{}",
                got.0, got.1
            ));
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

#[test]
fn pipelined_pair_in_one_segment() {
    let run = analyze(&[data("third-party/sv-http-pipelined-2req-one-segment.pcap")]);
    assert_eq!(run.lines(), ["GET /bar/ 200", "GET /foo/ 200"]);
}

#[test]
fn hundred_continue_then_chunked() {
    let run = analyze(&[data("third-party/zeek-http-100-continue-chunked.pcap")]);
    let r = run.got.exchanges[0].0.response.as_ref().unwrap();
    assert_eq!(r.informational, [100]);
    assert_eq!(r.status, 200);
    assert!(r.msg.complete.is_some());
}

#[test]
fn docker_upgrade_stops_http_parsing() {
    let run = analyze(&[data(
        "third-party/zeek-http-docker-api-upgrade-chunked.pcap",
    )]);
    let upgraded: Vec<_> = run
        .got
        .exchanges
        .iter()
        .filter(|(e, _)| e.notes.contains(&"upgrade"))
        .collect();
    assert_eq!(upgraded.len(), 1);
    assert_eq!(upgraded[0].0.response.as_ref().unwrap().status, 101);
    assert!(run
        .got
        .connections
        .iter()
        .any(|c| matches!(c.app, AppInfo::Upgraded { .. })));
}

#[test]
fn the_dropped_response_is_the_only_one_missing() {
    // The capture lost the first response's head (238 bytes; its body is there). That request
    // must be the one left unanswered, and every other request answered by its own response.
    let run = analyze(&[data(
        "third-party/zeek-http-ipv6-keepalive-1000req-one-dropped-response.pcap",
    )]);
    assert_eq!(run.got.connections.len(), 1);
    let exchanges: Vec<_> = run.got.exchanges.iter().map(|(e, _)| e).collect();
    let missing: Vec<_> = exchanges.iter().filter(|e| e.response.is_none()).collect();
    assert_eq!(missing.len(), 1);
    assert_eq!(missing[0].index, 0);
    assert!(missing[0].notes.contains(&"gap"), "{:?}", missing[0].notes);
    // The client waits for each response before the next request (no pipelining here), so in
    // step means: a response starts after its request and before the next request.
    for pair in exchanges.windows(2) {
        let (this, next) = (pair[0], pair[1]);
        let Some(resp) = &this.response else { continue };
        let asked = this.request.as_ref().unwrap().msg.first_byte;
        let next_asked = next.request.as_ref().unwrap().msg.first_byte;
        assert!(
            asked < resp.msg.first_byte && resp.msg.first_byte < next_asked,
            "exchange {} out of step",
            this.index
        );
    }
}

#[test]
fn cut_file_keeps_what_came_before_and_names_the_offset() {
    let run = analyze(&[data("third-party/sv-http-file-cut-short-mid-packet.pcap")]);
    assert_eq!(run.summary.frames, 2696);
    assert_eq!(run.summary.errors.len(), 1);
    let msg = run.summary.errors[0].to_string();
    assert!(
        msg.contains("offset 2715459") && msg.contains("cut short"),
        "{msg}"
    );
    assert!(
        msg.contains("sv-http-file-cut-short-mid-packet.pcap"),
        "{msg}"
    );
}

#[test]
fn not_a_capture_is_refused_with_what_was_expected() {
    let path = data("third-party/pcapparser-corrupt-eof.bin");
    let Err(e) = FileReader::open(&path, 0) else {
        panic!("garbage opened as a capture")
    };
    let msg = e.to_string();
    assert!(msg.contains("offset 0") && msg.contains("pcapng"), "{msg}");
}

#[test]
fn nflog_duplicates_are_retransmissions_not_new_data() {
    let run = analyze(&[data("third-party/zeek-http-nflog-linktype239.pcap")]);
    assert_eq!(run.summary.interfaces[0].link_type, 239);
    assert_eq!(run.lines().len(), 1);
    assert!(!run.got.exchanges[0].0.incomplete());
}

/// Every capture in the shared fixture folder, the GPL ones included (read in place, never
/// copied): no panic, and every file either reads to the end or reports where it stopped.
#[test]
fn shared_fixture_folder_never_panics() {
    let Some(dir) = shared_pcaps() else { return };
    let mut names: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x != "md"))
        .collect();
    names.sort();
    assert!(
        names.len() >= 40,
        "{} captures in {}",
        names.len(),
        dir.display()
    );
    for path in names {
        let Ok(reader) = FileReader::open(&path, 0) else {
            assert!(
                path.ends_with("pcapparser-corrupt-eof.bin"),
                "{} did not open",
                path.display()
            );
            continue;
        };
        let mut capture = Capture::new(vec![reader]);
        let mut sink = common::Collected::default();
        let summary =
            hopscope::pipeline::run(&mut capture, &Default::default(), &mut sink, &mut |_, _| {})
                .unwrap();
        let cut = path.ends_with("sv-http-file-cut-short-mid-packet.pcap");
        assert_eq!(
            summary.errors.len(),
            usize::from(cut),
            "{}: {:?}",
            path.display(),
            summary.errors
        );
    }
}
