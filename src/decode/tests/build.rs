//! Packet builders for the tests: correct lengths, everything else as given.

use crate::decode::Decoder;
use crate::model::{Frame, LinkMeta, TcpFlags, Timestamp};
use std::net::SocketAddr;

pub const V4_SRC: [u8; 4] = [10, 0, 0, 1];
pub const V4_DST: [u8; 4] = [10, 0, 0, 2];
pub const V6_SRC: [u8; 16] = [0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1];
pub const V6_DST: [u8; 16] = [0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2];
/// NOP, NOP, timestamp TSval 100 TSecr 200.
pub const TS_OPT: [u8; 12] = [1, 1, 8, 10, 0, 0, 0, 100, 0, 0, 0, 200];

/// A TCP segment: ports 40000 → 80, seq 1000, ack 2000, ACK|PSH, window 512.
pub fn tcp(opts: &[u8], payload: &[u8]) -> Vec<u8> {
    let mut h = vec![0u8; 20];
    h[0..2].copy_from_slice(&40000u16.to_be_bytes());
    h[2..4].copy_from_slice(&80u16.to_be_bytes());
    h[4..8].copy_from_slice(&1000u32.to_be_bytes());
    h[8..12].copy_from_slice(&2000u32.to_be_bytes());
    h[12] = (((20 + opts.len()) / 4) << 4) as u8;
    h[13] = TcpFlags::ACK | TcpFlags::PSH;
    h[14..16].copy_from_slice(&512u16.to_be_bytes());
    h.extend_from_slice(opts);
    h.extend_from_slice(payload);
    h
}

/// IPv4 with `options` (a multiple of 4), id, flags/fragment-offset word and protocol.
pub fn ipv4_full(proto: u8, id: u16, flags_frag: u16, options: &[u8], payload: &[u8]) -> Vec<u8> {
    let ihl = 20 + options.len();
    let mut h = vec![0u8; 20];
    h[0] = 0x40 | (ihl / 4) as u8;
    h[2..4].copy_from_slice(&((ihl + payload.len()) as u16).to_be_bytes());
    h[4..6].copy_from_slice(&id.to_be_bytes());
    h[6..8].copy_from_slice(&flags_frag.to_be_bytes());
    h[8] = 64;
    h[9] = proto;
    h[12..16].copy_from_slice(&V4_SRC);
    h[16..20].copy_from_slice(&V4_DST);
    h.extend_from_slice(options);
    h.extend_from_slice(payload);
    h
}

pub fn ipv4(proto: u8, payload: &[u8]) -> Vec<u8> {
    ipv4_full(proto, 1, 0x4000, &[], payload)
}

/// IPv6 whose payload (extension headers included) starts with header `next`.
pub fn ipv6(next: u8, payload: &[u8]) -> Vec<u8> {
    let mut h = vec![0u8; 40];
    h[0] = 0x60;
    h[4..6].copy_from_slice(&(payload.len() as u16).to_be_bytes());
    h[6] = next;
    h[7] = 64;
    h[8..24].copy_from_slice(&V6_SRC);
    h[24..40].copy_from_slice(&V6_DST);
    h.extend_from_slice(payload);
    h
}

/// An IPv6 extension header of 8 bytes (hop-by-hop, routing, destination options...).
pub fn ext8(next: u8) -> Vec<u8> {
    vec![next, 0, 1, 4, 0, 0, 0, 0]
}

/// IPv6 fragment header.
pub fn frag6(next: u8, offset: u16, more: bool, id: u32) -> Vec<u8> {
    let mut h = vec![next, 0];
    h.extend_from_slice(&(offset | more as u16).to_be_bytes());
    h.extend_from_slice(&id.to_be_bytes());
    h
}

/// Ethernet II: destination, source, then the EtherType words given (tags included).
pub fn eth(types: &[u16], payload: &[u8]) -> Vec<u8> {
    let mut f = vec![0xff; 6];
    f.extend_from_slice(&[2, 0, 0, 0, 0, 1]);
    for (i, t) in types.iter().enumerate() {
        if i > 0 {
            f.extend_from_slice(&[0x00, 0x64]); // TCI: VLAN 100
        }
        f.extend_from_slice(&t.to_be_bytes());
    }
    f.extend_from_slice(payload);
    f
}

/// What a test wants to see of a segment (it borrows the decoder otherwise).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Seen {
    pub src: SocketAddr,
    pub dst: SocketAddr,
    pub seq: u32,
    pub tsopt: Option<(u32, u32)>,
    pub payload: Vec<u8>,
    pub missing: u32,
    pub ip_len: u32,
    pub frame: u64,
    pub link: LinkMeta,
}

/// Decodes `data` as a frame of `link_type` at `secs`, captured whole unless `orig_len` says.
pub fn decode_at(
    d: &mut Decoder,
    link_type: u32,
    data: &[u8],
    orig_len: u32,
    secs: i64,
) -> Option<Seen> {
    let frame = Frame {
        ts: Timestamp::from_secs_nanos(secs, 0),
        link_type,
        interface: 3,
        data,
        orig_len,
    };
    d.decode(&frame, 7).map(|s| Seen {
        src: s.src,
        dst: s.dst,
        seq: s.seq,
        tsopt: s.tsopt,
        payload: s.payload.to_vec(),
        missing: s.missing,
        ip_len: s.ip_len,
        frame: s.frame,
        link: s.link,
    })
}

pub fn decode(d: &mut Decoder, link_type: u32, data: &[u8]) -> Option<Seen> {
    decode_at(d, link_type, data, data.len() as u32, 0)
}

pub fn decoder() -> Decoder {
    Decoder::new(Default::default())
}

/// Counter of `key` in a stats map (0 if absent).
pub fn n(map: &std::collections::BTreeMap<&'static str, u64>, key: &str) -> u64 {
    map.get(key).copied().unwrap_or(0)
}
