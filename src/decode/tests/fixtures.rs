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
