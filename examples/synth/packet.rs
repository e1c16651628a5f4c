//! Builds one Ethernet II + IPv4 + TCP frame into a reusable buffer.
//!
//! Layouts from RFC 894 (Ethernet), RFC 791 (IPv4, header checksum RFC 1071) and RFC 9293
//! (TCP; options RFC 6691 MSS, RFC 2018 SACK-permitted, RFC 7323 timestamps and window
//! scale). The option order in SYNs is Linux's (net/ipv4/tcp_output.c tcp_options_write):
//! MSS, SACK-permitted, timestamps, NOP, window scale. It writes only; TCP checksums are
//! real (RFC 1071 over the pseudo-header) so tshark's optional check would pass too.

use std::net::Ipv4Addr;

pub const IPV4_HEADER: usize = 20;
pub const TCP_HEADER: usize = 20;
/// NOP, NOP, timestamps (RFC 7323 appendix A layout): 12 bytes on every non-SYN segment.
pub const TCP_TS_OPTIONS: usize = 12;
/// MSS(4) + SACK-permitted(2) + timestamps(10) + NOP(1) + window scale(3).
pub const TCP_SYN_OPTIONS: usize = 20;
const ETHERTYPE_IPV4: u16 = 0x0800;
const IPPROTO_TCP: u8 = 6;
const IP_DONT_FRAGMENT: u16 = 0x4000;

pub const FIN: u8 = 0x01;
pub const SYN: u8 = 0x02;
pub const RST: u8 = 0x04;
pub const PSH: u8 = 0x08;
pub const ACK: u8 = 0x10;

/// One endpoint as it appears on the wire.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Endpoint {
    pub mac: [u8; 6],
    pub ip: Ipv4Addr,
    pub port: u16,
}

/// Header fields of one segment.
pub struct Tcp {
    pub seq: u32,
    pub ack: u32,
    pub flags: u8,
    pub window: u16,
    pub ts_val: u32,
    pub ts_ecr: u32,
    /// For SYN / SYN-ACK: (mss, window scale shift).
    pub syn: Option<(u16, u8)>,
}

/// RFC 1071 one's-complement sum, 16-bit big-endian words, odd tail padded with zero.
fn sum16(mut acc: u64, bytes: &[u8]) -> u64 {
    let mut words = bytes.chunks_exact(8);
    for w in &mut words {
        let v = u64::from_be_bytes([w[0], w[1], w[2], w[3], w[4], w[5], w[6], w[7]]);
        acc += (v >> 48) + ((v >> 32) & 0xffff) + ((v >> 16) & 0xffff) + (v & 0xffff);
    }
    let mut rest = words.remainder().chunks_exact(2);
    for w in &mut rest {
        acc += u64::from(u16::from_be_bytes([w[0], w[1]]));
    }
    if let [last] = rest.remainder() {
        acc += u64::from(*last) << 8;
    }
    acc
}

fn fold(mut acc: u64) -> u16 {
    while acc > 0xffff {
        acc = (acc & 0xffff) + (acc >> 16);
    }
    !(acc as u16)
}

/// Writes the frame into `buf` (cleared first). `ip_id` is the IPv4 identification.
pub fn build(
    buf: &mut Vec<u8>,
    src: &Endpoint,
    dst: &Endpoint,
    ip_id: u16,
    tcp: &Tcp,
    payload: &[u8],
) {
    let opts = if tcp.syn.is_some() {
        TCP_SYN_OPTIONS
    } else {
        TCP_TS_OPTIONS
    };
    let tcp_len = TCP_HEADER + opts + payload.len();
    let ip_total = IPV4_HEADER + tcp_len;
    buf.clear();
    // Ethernet II.
    buf.extend_from_slice(&dst.mac);
    buf.extend_from_slice(&src.mac);
    buf.extend_from_slice(&ETHERTYPE_IPV4.to_be_bytes());
    // IPv4, no options.
    let ip_start = buf.len();
    buf.push(0x45);
    buf.push(0); // DSCP/ECN
    buf.extend_from_slice(&(ip_total as u16).to_be_bytes());
    buf.extend_from_slice(&ip_id.to_be_bytes());
    buf.extend_from_slice(&IP_DONT_FRAGMENT.to_be_bytes());
    buf.push(64); // TTL
    buf.push(IPPROTO_TCP);
    buf.extend_from_slice(&[0, 0]); // checksum, filled below
    buf.extend_from_slice(&src.ip.octets());
    buf.extend_from_slice(&dst.ip.octets());
    let ip_sum = fold(sum16(0, &buf[ip_start..ip_start + IPV4_HEADER]));
    buf[ip_start + 10..ip_start + 12].copy_from_slice(&ip_sum.to_be_bytes());
    // TCP.
    let tcp_start = buf.len();
    buf.extend_from_slice(&src.port.to_be_bytes());
    buf.extend_from_slice(&dst.port.to_be_bytes());
    buf.extend_from_slice(&tcp.seq.to_be_bytes());
    buf.extend_from_slice(&tcp.ack.to_be_bytes());
    buf.push((((TCP_HEADER + opts) / 4) as u8) << 4);
    buf.push(tcp.flags);
    buf.extend_from_slice(&tcp.window.to_be_bytes());
    buf.extend_from_slice(&[0, 0, 0, 0]); // checksum (filled below), urgent pointer
    match tcp.syn {
        Some((mss, wscale)) => {
            buf.extend_from_slice(&[2, 4]);
            buf.extend_from_slice(&mss.to_be_bytes());
            buf.extend_from_slice(&[4, 2, 8, 10]);
            buf.extend_from_slice(&tcp.ts_val.to_be_bytes());
            buf.extend_from_slice(&tcp.ts_ecr.to_be_bytes());
            buf.extend_from_slice(&[1, 3, 3, wscale]);
        }
        None => {
            buf.extend_from_slice(&[1, 1, 8, 10]);
            buf.extend_from_slice(&tcp.ts_val.to_be_bytes());
            buf.extend_from_slice(&tcp.ts_ecr.to_be_bytes());
        }
    }
    buf.extend_from_slice(payload);
    // Pseudo-header: source, destination, zero, protocol, TCP length (RFC 9293 3.1).
    let mut acc = sum16(0, &buf[ip_start + 12..ip_start + 20]);
    acc += u64::from(IPPROTO_TCP) + tcp_len as u64;
    acc = sum16(acc, &buf[tcp_start..]);
    let tcp_sum = fold(acc);
    buf[tcp_start + 16..tcp_start + 18].copy_from_slice(&tcp_sum.to_be_bytes());
}
