//! The real captures of the shared fixtures, decoded and compared with tshark.
//!
//! Expected numbers were taken with tshark 4.x on this machine:
//! `tshark -r FILE -Y tcp | wc -l` (segments) and
//! `tshark -r FILE -Y tcp -T fields -e tcp.len | awk '{s+=$1} END {print s}'` (payload bytes as
//! the IP header announced them: captured + missing). Where hopscope differs on purpose, the
//! row says why.

use super::build::decoder;
use crate::decode::Decoder;
use crate::model::{Frame, Timestamp};
use std::path::PathBuf;

/// The fixtures directory, or None (the test prints a note and passes) when absent.
fn fixtures() -> Option<PathBuf> {
    let candidates = [
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared/fixtures/pcaps"),
        PathBuf::from("/work/shared/fixtures/pcaps"),
    ];
    candidates.into_iter().find(|p| p.is_dir())
}

/// Records of a plain pcap file (either byte order, micro or nanosecond magic): link type and
/// (caplen bytes, orig_len). Test-only: the capture layer owns the real reader.
fn pcap_records(file: &[u8]) -> (u32, Vec<(&[u8], u32)>) {
    let magic = u32::from_le_bytes(file[0..4].try_into().unwrap());
    let le = matches!(magic, 0xa1b2c3d4 | 0xa1b23c4d);
    let u32_at = |at: usize| {
        let b: [u8; 4] = file[at..at + 4].try_into().unwrap();
        if le {
            u32::from_le_bytes(b)
        } else {
            u32::from_be_bytes(b)
        }
    };
    let link_type = u32_at(20) & 0x0fff_ffff;
    let mut records = Vec::new();
    let mut at = 24;
    while at + 16 <= file.len() {
        let (caplen, orig) = (u32_at(at + 8) as usize, u32_at(at + 12));
        let Some(data) = file.get(at + 16..at + 16 + caplen) else {
            break;
        };
        records.push((data, orig));
        at += 16 + caplen;
    }
    (link_type, records)
}

/// (segments, payload bytes announced, payload bytes captured, snaplen_cut) of a file.
fn decode_file(d: &mut Decoder, name: &str) -> Option<(u64, u64, u64, u64)> {
    let path = fixtures()?.join(name);
    let file = std::fs::read(&path).ok()?;
    let (link_type, records) = pcap_records(&file);
    let (mut segs, mut announced, mut captured) = (0, 0, 0);
    for (i, (data, orig_len)) in records.into_iter().enumerate() {
        let frame = Frame {
            ts: Timestamp(i as i64),
            link_type,
            interface: 0,
            data,
            orig_len,
        };
        if let Some(s) = d.decode(&frame, i as u64 + 1) {
            segs += 1;
            announced += s.payload.len() as u64 + u64::from(s.missing);
            captured += s.payload.len() as u64;
            assert!(s.payload.len() as u64 + u64::from(s.missing) <= u64::from(s.ip_len));
        }
    }
    Some((segs, announced, captured, d.stats().snaplen_cut))
}

#[test]
fn segment_and_byte_counts_match_tshark() {
    if fixtures().is_none() {
        println!("note: fixtures not found, skipping");
        return;
    }
    // (file, tshark segments, tshark Σ tcp.len)
    let cases: &[(&str, u64, u64)] = &[
        ("zeek-http-vlan-8021q.pcap", 14, 5143),
        ("zeek-http-qinq-double-vlan.pcap", 14, 5143),
        ("zeek-http-mixed-vlan-mpls.pcap", 47, 12979),
        ("zeek-http-nflog-linktype239.pcap", 13, 1682),
        ("zeek-http-ipv6-atomic-fragment.pcap", 36, 412),
        ("zeek-http-bad-tcp-checksums-offload.pcap", 10, 506),
        ("sv-http-sll2-linktype276.pcap", 159, 2598957),
        ("sv-http-sll-linktype113-3req.pcap", 422, 5830),
        ("sv-http-ipv6-null-loopback.pcap", 14, 791),
        (
            "gopacket-http-ipv6-null-loopback-keepalive-chunked.pcap",
            24,
            56331,
        ),
        ("tcpflow-http-ipv6-raw-linktype12.pcap", 81, 34770),
        (
            "tcpflow-http-ipv6-raw-linktype101-keepalive-chunked.pcap",
            115,
            44653,
        ),
        ("sv-http-snaplen-cut-variable-caplen.pcap", 75, 54379),
        ("tcpflow-http-vlan.pcap", 12, 396),
        ("deepflow-envoy-gateway-xff-request.pcap", 2, 2147),
        ("deepflow-http-keepalive-3req-chunked-sw8.pcap", 20, 4343),
        (
            "deepflow-istio-sidecar-bookinfo-productpage-inbound.pcap",
            2,
            348,
        ),
        ("gopacket-http-ethernet-simple.pcap", 10, 450),
        // The last record is cut by the end of the file; tshark and the iterator stop there.
        ("sv-http-file-cut-short-mid-packet.pcap", 2696, 2526699),
        ("sv-http-ipv6-null-loopback-keepalive-post.pcap", 28, 2817),
        ("sv-http-null-loopback-chunked.pcap", 12, 217),
        ("sv-http-null-loopback-keepalive-gap.pcap", 31, 538),
        ("sv-http-pipelined-2req-one-segment.pcap", 12, 650),
        ("sv-http-sll-linktype113-retrans.pcap", 12, 714),
        ("sv-http-sll2-linktype276-request-only.pcap", 5, 82),
        ("tcpflow-http-chunked-gzip.pcap", 7, 768),
        ("zeek-http-100-continue-chunked.pcap", 66, 63324),
        ("zeek-http-bro.org-keepalive-31req.pcap", 751, 453271),
        ("zeek-http-browse-keepalive-17req.pcap", 121, 11065),
        ("zeek-http-docker-api-upgrade-chunked.pcap", 200, 4749),
        ("zeek-http-entity-content-gap.pcap", 13, 3695),
        ("zeek-http-get-gzip.pcap", 14, 421),
        ("zeek-http-get-no-syn-midstream.pcap", 11, 5143),
        ("zeek-http-handshake-reordered.pcap", 14, 5143),
        (
            "zeek-http-ipv6-keepalive-1000req-one-dropped-response.pcap",
            4102,
            996757,
        ),
        ("zeek-http-keepalive-5req-gzip.pcap", 49, 42362),
        ("zeek-http-post-large-body.pcap", 38, 244780),
        ("zeek-http-retransmissions-m57.pcap", 52, 37360),
        ("zeek-http-x-gzip.pcap", 7, 420),
    ];
    for &(name, segments, bytes) in cases {
        let mut d = decoder();
        let (segs, announced, _, _) = decode_file(&mut d, name).expect(name);
        assert_eq!(
            (segs, announced),
            (segments, bytes),
            "{name}: {:?}",
            d.stats()
        );
    }
}

#[test]
fn snaplen_files() {
    if fixtures().is_none() {
        println!("note: fixtures not found, skipping");
        return;
    }
    // The records say caplen 54..1342 < len, but len is 2 * caplen - 14 (an artifact of the
    // tool that wrote the file) and every IP total length matches the captured bytes: nothing
    // is missing. tshark agrees (its tcp.len sum equals the bytes captured).
    let mut d = decoder();
    let (_, announced, captured, cut) =
        decode_file(&mut d, "sv-http-snaplen-cut-variable-caplen.pcap").unwrap();
    assert_eq!((captured, announced, cut), (54379, 54379, 0));
    // Snaplen 40: every frame is cut inside the TCP header. tshark still shows the 303 frames
    // as (truncated) TCP; hopscope has no segment to give, and says why.
    let mut d = decoder();
    let (segs, ..) = decode_file(&mut d, "tcpflow-http-snaplen40-headers-only.pcap").unwrap();
    assert_eq!(segs, 0);
    let skipped: u64 = d.stats().skipped.values().sum();
    assert_eq!(
        d.stats().skipped.get("tcp header cut by snaplen"),
        Some(&303),
        "{:?}",
        d.stats()
    );
    assert!(skipped >= 303);
}

#[test]
fn every_frame_lands_in_one_bucket() {
    let Some(dir) = fixtures() else {
        println!("note: fixtures not found, skipping");
        return;
    };
    let mut names: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .collect();
    names.sort();
    for path in names
        .iter()
        .filter(|p| p.extension().is_some_and(|e| e == "pcap"))
    {
        let file = std::fs::read(path).unwrap();
        if file.len() < 24
            || !matches!(
                &file[0..4],
                [0xd4, 0xc3, 0xb2, 0xa1]
                    | [0xa1, 0xb2, 0xc3, 0xd4]
                    | [0x4d, 0x3c, 0xb2, 0xa1]
                    | [0xa1, 0xb2, 0x3c, 0x4d]
            )
        {
            continue;
        }
        let (link_type, records) = pcap_records(&file);
        let mut d = decoder();
        for (i, (data, orig_len)) in records.iter().enumerate() {
            let frame = Frame {
                ts: Timestamp(0),
                link_type,
                interface: 0,
                data,
                orig_len: *orig_len,
            };
            let _ = d.decode(&frame, i as u64 + 1);
        }
        let s = d.stats();
        let total = s.tcp
            + s.other.values().sum::<u64>()
            + s.skipped.values().sum::<u64>()
            + s.fragments.fragments
            - s.fragments.reassembled;
        assert_eq!(total, records.len() as u64, "{}: {s:?}", path.display());
    }
}

#[test]
fn link_meta_and_atomic_fragments() {
    let Some(dir) = fixtures() else {
        println!("note: fixtures not found, skipping");
        return;
    };
    // tshark -T fields -e sll.ifindex -e sll.pkttype: 85 × (2, 0), 74 × (2, 4).
    let file = std::fs::read(dir.join("sv-http-sll2-linktype276.pcap")).unwrap();
    let (link_type, records) = pcap_records(&file);
    let mut d = decoder();
    let mut seen = std::collections::BTreeMap::new();
    for (data, orig_len) in records {
        let frame = Frame {
            ts: Timestamp(0),
            link_type,
            interface: 5,
            data,
            orig_len,
        };
        if let Some(s) = d.decode(&frame, 1) {
            assert_eq!(s.link.interface, 5);
            *seen.entry((s.link.if_index, s.link.pkt_type)).or_insert(0) += 1;
        }
    }
    let want = [((Some(2), Some(0)), 85), ((Some(2), Some(4)), 74)];
    assert_eq!(seen, want.into_iter().collect());
    // tshark -Y ipv6.fraghdr: 5 frames, all atomic (offset 0, M = 0).
    let mut d = decoder();
    decode_file(&mut d, "zeek-http-ipv6-atomic-fragment.pcap").unwrap();
    assert_eq!(
        (d.stats().fragments.atomic, d.stats().fragments.fragments),
        (5, 0)
    );
}

/// `cargo test dump_fixture_stats -- --ignored --nocapture`: what each capture held.
#[test]
#[ignore]
fn dump_fixture_stats() {
    let Some(dir) = fixtures() else { return };
    let mut names: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .collect();
    names.sort();
    for path in names
        .iter()
        .filter(|p| p.extension().is_some_and(|e| e == "pcap"))
    {
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        let mut d = decoder();
        if let Some((segs, announced, captured, cut)) = decode_file(&mut d, &name) {
            let s = d.stats();
            println!("{name}: tcp {segs} bytes {announced}/{captured} cut {cut} other {:?} skipped {:?} frag {:?}", s.other, s.skipped, s.fragments);
        }
    }
}
