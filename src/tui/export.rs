//! What the export keys write, as bytes (pure; `update.rs` reads the frames and writes the
//! files): an exchange or a journey as the JSON lines of `analyze --json` (docs/json.md, with
//! the join's fields), and a connection's or a journey's frames as a capture file Wireshark
//! opens: classic pcap with nanosecond timestamps when every frame has one link type, pcapng
//! with one interface per link type otherwise (a journey across a node and a pod capture).

use super::data::Results;
use super::fetch::RawFrame;
use crate::reassembly::ConnMeta;
use crate::report::joined::{exchange_line, journey_line, line, JoinReport};
use std::io;

fn report(r: &Results) -> JoinReport<'_> {
    JoinReport {
        points: &r.labels,
        legs: &r.legs,
        joined: &r.joined,
        cluster: &r.cluster,
    }
}

fn meta(r: &Results, l: usize) -> ConnMeta {
    let c = &r.legs[l].conn;
    ConnMeta {
        id: c.id,
        client: c.client,
        server: c.server,
        original_dst: c.original_dst,
    }
}

fn exchange_into(out: &mut Vec<u8>, r: &Results, l: usize, e: usize) -> io::Result<()> {
    let ex = r
        .legs
        .get(l)
        .and_then(|leg| leg.exchanges.get(e))
        .ok_or_else(|| io::Error::other(format!("no exchange {e} on leg {l}")))?;
    line(out, &exchange_line(&report(r), &meta(r, l), l, e, ex)?)
}

/// The JSON line of exchange `e` of leg `l`.
pub fn exchange_json(r: &Results, l: usize, e: usize) -> io::Result<Vec<u8>> {
    let mut out = Vec::new();
    exchange_into(&mut out, r, l, e)?;
    Ok(out)
}

/// Every exchange line of journey `n`, in its order, then the journey line.
pub fn journey_json(r: &Results, n: usize) -> io::Result<Vec<u8>> {
    let journey = r
        .joined
        .journeys
        .get(n)
        .ok_or_else(|| io::Error::other(format!("no journey {}", n + 1)))?;
    let mut out = Vec::new();
    for &(l, e) in &journey.members {
        exchange_into(&mut out, r, l, e)?;
    }
    line(&mut out, &journey_line(&report(r), n))?;
    Ok(out)
}

/// Snap length written in the headers: what tcpdump uses by default.
const SNAPLEN: u32 = 262_144;

fn split_ns(ts: i64) -> (u32, u32) {
    let ts = ts.max(0);
    let secs = (ts / 1_000_000_000).min(u32::MAX as i64) as u32;
    (secs, (ts % 1_000_000_000) as u32)
}

/// Frames as a capture file (see the module doc for which format).
pub fn capture_bytes(frames: &[RawFrame]) -> Vec<u8> {
    let first = frames.first().map_or(1, |f| f.link_type);
    if frames.iter().all(|f| f.link_type == first) {
        pcap(frames, first)
    } else {
        pcapng(frames)
    }
}

/// Classic pcap, nanosecond magic (0xa1b23c4d), little-endian.
pub fn pcap(frames: &[RawFrame], link_type: u32) -> Vec<u8> {
    let mut v = Vec::with_capacity(24 + frames.iter().map(|f| 16 + f.data.len()).sum::<usize>());
    v.extend_from_slice(&0xa1b2_3c4du32.to_le_bytes());
    v.extend_from_slice(&2u16.to_le_bytes());
    v.extend_from_slice(&4u16.to_le_bytes());
    v.extend_from_slice(&0i32.to_le_bytes());
    v.extend_from_slice(&0u32.to_le_bytes());
    v.extend_from_slice(&SNAPLEN.to_le_bytes());
    v.extend_from_slice(&link_type.to_le_bytes());
    for f in frames {
        let (s, ns) = split_ns(f.ts.nanos());
        let data = &f.data[..f.data.len().min(SNAPLEN as usize)];
        v.extend_from_slice(&s.to_le_bytes());
        v.extend_from_slice(&ns.to_le_bytes());
        v.extend_from_slice(&(data.len() as u32).to_le_bytes());
        v.extend_from_slice(&f.orig_len.max(data.len() as u32).to_le_bytes());
        v.extend_from_slice(data);
    }
    v
}

fn block(v: &mut Vec<u8>, kind: u32, body: &[u8]) {
    let pad = (4 - body.len() % 4) % 4;
    let len = (12 + body.len() + pad) as u32;
    v.extend_from_slice(&kind.to_le_bytes());
    v.extend_from_slice(&len.to_le_bytes());
    v.extend_from_slice(body);
    v.extend(std::iter::repeat_n(0, pad));
    v.extend_from_slice(&len.to_le_bytes());
}

/// pcapng: a section header, one interface per link type (nanosecond `if_tsresol`), one
/// enhanced packet block per frame.
pub fn pcapng(frames: &[RawFrame]) -> Vec<u8> {
    let mut v = Vec::new();
    let mut shb = Vec::new();
    shb.extend_from_slice(&0x1a2b_3c4du32.to_le_bytes());
    shb.extend_from_slice(&1u16.to_le_bytes());
    shb.extend_from_slice(&0u16.to_le_bytes());
    shb.extend_from_slice(&(-1i64).to_le_bytes());
    block(&mut v, 0x0a0d_0d0a, &shb);
    let mut links: Vec<u32> = Vec::new();
    for f in frames {
        if !links.contains(&f.link_type) {
            links.push(f.link_type);
        }
    }
    for &l in &links {
        let mut idb = Vec::new();
        idb.extend_from_slice(&(l as u16).to_le_bytes());
        idb.extend_from_slice(&0u16.to_le_bytes());
        idb.extend_from_slice(&SNAPLEN.to_le_bytes());
        // if_tsresol = 9 (nanoseconds), then opt_endofopt.
        idb.extend_from_slice(&9u16.to_le_bytes());
        idb.extend_from_slice(&1u16.to_le_bytes());
        idb.extend_from_slice(&[9, 0, 0, 0]);
        idb.extend_from_slice(&[0, 0, 0, 0]);
        block(&mut v, 1, &idb);
    }
    for f in frames {
        let iface = links.iter().position(|&l| l == f.link_type).unwrap_or(0) as u32;
        let ts = f.ts.nanos().max(0) as u64;
        let data = &f.data[..f.data.len().min(SNAPLEN as usize)];
        let mut epb = Vec::with_capacity(20 + data.len());
        epb.extend_from_slice(&iface.to_le_bytes());
        epb.extend_from_slice(&((ts >> 32) as u32).to_le_bytes());
        epb.extend_from_slice(&(ts as u32).to_le_bytes());
        epb.extend_from_slice(&(data.len() as u32).to_le_bytes());
        epb.extend_from_slice(&f.orig_len.max(data.len() as u32).to_le_bytes());
        epb.extend_from_slice(data);
        block(&mut v, 6, &epb);
    }
    v
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::capture::{Capture, FileReader};
    use crate::model::Timestamp;

    fn frame(ns: i64, link: u32, data: &[u8]) -> RawFrame {
        RawFrame {
            ts: Timestamp(ns),
            link_type: link,
            orig_len: data.len() as u32 + 10,
            data: data.to_vec(),
        }
    }

    fn read_back(bytes: Vec<u8>) -> Vec<(i64, u32, Vec<u8>)> {
        let r = FileReader::from_reader("x".into(), 0, Box::new(std::io::Cursor::new(bytes)), None)
            .unwrap();
        let mut c = Capture::new(vec![r]);
        let mut got = Vec::new();
        while let Some(f) = c.next_frame() {
            got.push((f.ts.nanos(), f.link_type, f.data.to_vec()));
        }
        got
    }

    #[test]
    fn pcap_and_pcapng_read_back_with_the_project_reader() {
        let frames = [
            frame(1_700_000_000_123_456_789, 1, b"abc"),
            frame(1_700_000_001_000_000_001, 1, b"defgh"),
        ];
        let got = read_back(capture_bytes(&frames));
        assert_eq!(
            got,
            vec![
                (1_700_000_000_123_456_789, 1, b"abc".to_vec()),
                (1_700_000_001_000_000_001, 1, b"defgh".to_vec())
            ]
        );
        let mixed = [
            frame(5_000_000_007, 1, b"abc"),
            frame(6_000_000_000, 113, b"z"),
        ];
        let bytes = capture_bytes(&mixed);
        assert_eq!(&bytes[..4], &0x0a0d_0d0au32.to_le_bytes());
        let got = read_back(bytes);
        assert_eq!(
            got,
            vec![
                (5_000_000_007, 1, b"abc".to_vec()),
                (6_000_000_000, 113, b"z".to_vec())
            ]
        );
    }
}
